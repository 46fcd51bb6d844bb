"""Write files all-or-nothing: a temporary file in the same folder, fsync, then an atomic rename.

Every file nasaudit writes (tables, JSON, figures, the report, checkpoints) goes through here.

A full disk or a killed process leaves either the old file or the new one, never a half-written or empty one
(hardening issue R2 2/7, item 7).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePath
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


# ---------------------------------------------------------------------- staying inside a folder
#: a path component nasaudit writes into a run folder and links from its report: a plain name
_PLAIN_NAME = re.compile(r"(?!\.\.?$)[\w.][\w.+=,@-]*")
#: the most a report input (a table or figure of a run) may hold
MAX_READ_BYTES = 512 * 2**20


def relative_parts(relative: str | PurePath, what: str) -> tuple[str, ...]:
    """The components of ``relative``, a path inside a folder (``00-compare/summary.csv``); anything else
    (absolute, ``.`` or ``..``, a URL such as ``javascript:...``, a backslash, an odd name) is one ``DataError``
    naming ``what``."""
    text = str(relative)
    parts = tuple(text.split("/"))
    if not text or not all(_PLAIN_NAME.fullmatch(part) for part in parts):
        raise DataError(f"{what} {text[:80]!r} is not a plain relative path inside the run folder")
    return parts


def inside(root: str | Path, relative: str | PurePath, what: str) -> Path:
    """``root / relative`` after checking that ``relative`` stays inside ``root`` (``relative_parts``) and that no
    existing component below ``root`` is a symbolic link; ``root`` itself may be one (the user named it)."""
    path = Path(root)
    for part in relative_parts(relative, what):
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            break
        except OSError as err:
            raise DataError(f"cannot read {what} {path}: {err.strerror or err}") from None
        if stat.S_ISLNK(mode):
            raise DataError(f"{what} {path} is a symbolic link; nasaudit reads and writes only inside the run "
                            "folder, never through links")
    return Path(root) / str(relative)


def read_inside(root: str | Path, relative: str | PurePath, what: str, *, missing_ok: bool = False,
                max_bytes: int = MAX_READ_BYTES) -> bytes | None:
    """The bytes of the regular file ``root / relative``, opened component by component without following a
    symbolic link (``O_NOFOLLOW``) below ``root``; ``None`` for a missing file when ``missing_ok``. A link, a
    folder, a device or FIFO, a file over ``max_bytes`` or a path leaving ``root`` is one ``DataError``."""
    parts = relative_parts(relative, what)
    shown = Path(root) / str(relative)
    no_follow = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fds: list[int] = []
    try:
        fds.append(os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)))
        for part in parts[:-1]:
            fds.append(os.open(part, no_follow | getattr(os, "O_DIRECTORY", 0), dir_fd=fds[-1]))
        fds.append(os.open(parts[-1], no_follow | getattr(os, "O_NONBLOCK", 0), dir_fd=fds[-1]))
        info = os.fstat(fds[-1])
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{what} {shown} is not a regular file")
        if info.st_size > max_bytes:
            raise DataError(f"{what} {shown} holds {info.st_size} bytes, more than the {max_bytes} allowed")
        with os.fdopen(os.dup(fds[-1]), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise DataError(f"{what} {shown} is missing") from None
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            inside(root, relative, what)  # names the link when one is there
            raise DataError(f"{what} {shown} passes through a symbolic link or a file") from None
        raise DataError(f"cannot read {what} {shown}: {err.strerror or err}") from None
    finally:
        for fd in fds:
            os.close(fd)
