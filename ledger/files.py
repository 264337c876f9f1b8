"""Durable file writes: create-once files and atomic replacement, fsynced with their directory.

The one implementation of "nothing acknowledged is ever lost" (DESIGN §2.3) for small files:
key files, certificates, manifests, genesis. Pure I/O helpers: they never read the clock, never
log, never put file contents into an error, and never translate OS exceptions; each caller maps
FileExistsError, FileNotFoundError and OSError to its own error type and code.
"""

from __future__ import annotations

import contextlib
import os
import secrets

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def sync_directory(directory: str | os.PathLike[str]) -> None:
    """fsync `directory` so that entries created, renamed or removed in it survive a crash.

    Raises the OSError of `os.open` or `os.fsync` unchanged (FileNotFoundError if it is missing).
    """
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new_file(path: str | os.PathLike[str], data: bytes, mode: int) -> None:
    """Create `path` with exactly `mode` (whatever the umask), write `data`, fsync file and directory.

    Never replaces anything: an existing file or symlink (even a dangling one) at `path` makes it
    raise FileExistsError; a missing parent directory raises FileNotFoundError; other failures
    raise their OSError. Once the file was created, any failure removes it before re-raising, so
    a partial file is never left behind.
    """
    _create_file(path, data, mode)
    try:
        sync_directory(_parent(path))
    except BaseException:
        _remove_quietly(path)
        raise


def replace_file(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Atomically make `path` hold `data` with exactly `mode`, creating or replacing it.

    Writes a hidden temporary file with a random suffix in the same directory, fsyncs it,
    renames it over `path` with os.replace and fsyncs the directory: after a crash `path` holds
    either its old or its new content, never a mix. On failure before the rename the temporary
    file is removed and `path` is untouched. Raises the OSError unchanged.
    """
    name = os.path.abspath(os.fspath(path))
    directory, base = os.path.split(name)
    temporary = os.path.join(directory, f".{base}.{secrets.token_hex(8)}.tmp")
    _create_file(temporary, data, mode)
    try:
        os.replace(temporary, name)
    except BaseException:
        _remove_quietly(temporary)
        raise
    sync_directory(directory)


def _create_file(path: str | os.PathLike[str], data: bytes, mode: int) -> None:
    # O_EXCL also refuses a symlink at `path`; fchmod undoes the umask so the mode is exact.
    fd = os.open(path, _CREATE_FLAGS, mode)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _remove_quietly(path)
        raise


def _parent(path: str | os.PathLike[str]) -> str:
    return os.path.dirname(os.path.abspath(os.fspath(path)))


def _remove_quietly(path: str | os.PathLike[str]) -> None:
    # Cleanup after a failure: the original exception is the one the caller must see.
    with contextlib.suppress(OSError):
        os.unlink(path)
