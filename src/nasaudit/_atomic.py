"""Write files all-or-nothing: a temporary file in the same folder, fsync, then an atomic rename.

Every file nasaudit writes (tables, JSON, figures, the report, checkpoints) goes through here.

A full disk or a killed process leaves either the old file or the new one, never a half-written or empty one
(hardening issue R2 2/7, item 7).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from nasaudit.errors import DataError

#: the process umask, read once at import, so renamed files get the permissions ``open`` would give them
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; on a clean exit fsync it and rename it to ``path``.

    ``mode`` is ``"w"`` (text, ``encoding``) or ``"wb"``. Parent folders are created. On any error the
    temporary file is removed; an ``OSError`` (disk full, read-only folder, parent is a file) becomes a
    one-line ``DataError`` naming ``path``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', not {mode!r}")
    target = Path(path)
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode, encoding=None if mode == "wb" else encoding, newline=None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        tmp = None
    except OSError as err:
        raise DataError(f"cannot write {target}: {err.strerror or err}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def atomic_write(path: str | Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` atomically; return the path."""
    if isinstance(data, bytes):
        with atomic_open(path, "wb") as handle:
            handle.write(data)
    else:
        with atomic_open(path, "w", encoding=encoding) as handle:
            handle.write(data)
    return Path(path)


def atomic_table(frame: Any, path: str | Path) -> Path:
    """Write a pandas DataFrame atomically without its index: parquet for ``.parquet``/``.pq``, else CSV."""
    target = Path(path)
    with atomic_open(target, "wb") as handle:
        if target.suffix.lower() in (".parquet", ".pq"):
            frame.to_parquet(handle, index=False)
        else:
            frame.to_csv(handle, index=False)
    return target
