"""Private key files: PKCS#8 PEM, mode 0600 from the moment they exist (docs/spec/crypto.md §6).

The one place in ledger.crypto that touches the file system. Writing never overwrites, never
leaves a partial file behind and fsyncs file and directory; reading refuses a file that group or
others may access. Key material must never appear in an error message or a log.
"""

from __future__ import annotations

import os
import stat

from ledger.crypto.keys import PrivateKey
from ledger.errors import CryptoError
from ledger.files import write_new_file

KEY_FILE_MODE = 0o600
MAX_KEY_FILE_SIZE = 64 * 1024


def write_private_key(path: str | os.PathLike[str], key: PrivateKey) -> None:
    """Create `path` with mode 0600 and write `key` as unencrypted PKCS#8 PEM, fsynced.

    The file is created with O_CREAT|O_EXCL, so an existing file (or a symlink) at `path` is
    never replaced. Raises CryptoError "crypto.key_exists" if `path` exists and
    "crypto.key_io" for any other OS error (the partial file is removed).
    """
    name = os.fspath(path)
    try:
        write_new_file(path, key.to_pem(), KEY_FILE_MODE)
    except FileExistsError as exc:
        raise CryptoError(f"refusing to overwrite the existing key file {name!s}", code="crypto.key_exists", path=name) from exc
    except OSError as exc:
        raise CryptoError(f"cannot write key file {name!s}: {exc.strerror}", code="crypto.key_io", path=name) from exc


def read_private_key(path: str | os.PathLike[str]) -> PrivateKey:
    """Load the private key in `path` (unencrypted PKCS#8 PEM of any suite).

    Raises CryptoError "crypto.key_not_found", "crypto.key_io" (unreadable, not a regular file,
    larger than 64 KiB), "crypto.key_permissions" if group or others have any access (fix with
    `chmod 600`), or what `PrivateKey.from_pem` raises.
    """
    name = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise CryptoError(f"key file {name!s} does not exist", code="crypto.key_not_found", path=name) from exc
    except OSError as exc:
        raise CryptoError(f"cannot open key file {name!s}: {exc.strerror}", code="crypto.key_io", path=name) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CryptoError(f"key file {name!s} is not a regular file", code="crypto.key_io", path=name)
        if info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            raise CryptoError(
                f"key file {name!s} has mode {mode:04o}; group and others must have no access: chmod 600 {name!s}",
                code="crypto.key_permissions",
                path=name,
                mode=f"{mode:04o}",
            )
        data = b""
        while len(data) <= MAX_KEY_FILE_SIZE and (chunk := os.read(fd, MAX_KEY_FILE_SIZE + 1 - len(data))):
            data += chunk
        if len(data) > MAX_KEY_FILE_SIZE:
            raise CryptoError(f"key file {name!s} is larger than {MAX_KEY_FILE_SIZE} bytes", code="crypto.key_io", path=name)
    finally:
        os.close(fd)
    return PrivateKey.from_pem(data)
