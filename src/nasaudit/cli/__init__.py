"""The ``nasaudit`` command line."""
