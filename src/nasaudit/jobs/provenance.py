"""Provenance of a result: package version, git commit, the command line that produced it, and the content hash
of the files it read."""

from __future__ import annotations

import hashlib
import os
import shlex
import socket
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import nasaudit


def package_version() -> str:
    """The installed nasaudit version."""
    return nasaudit.__version__


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the nasaudit checkout this process imports, with ``+dirty`` for local changes; None
    outside a git checkout."""
    root = Path(nasaudit.__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def command_line() -> str:
    """This process's command line, shell-quoted so that it can be pasted back: ``nasaudit bench build ...``
    for a console script, ``python -m package ...`` or ``python script.py ...`` otherwise."""
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if script and not script.endswith(".py"):
        return shlex.join([script, *sys.argv[1:]])
    return shlex.join([Path(sys.orig_argv[0]).name, *sys.orig_argv[1:]])


def worker_name() -> str:
    """``host:pid`` of the process running a job."""
    return f"{socket.gethostname()}:{os.getpid()}"


@lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks (cached per path, size and modification time)."""
    stat = Path(path).stat()
    return _file_digest(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
