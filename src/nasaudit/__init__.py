"""nasaudit: audit cell-based Neural Architecture Search spaces, supernets and search strategies."""

__version__ = "0.1.0"
