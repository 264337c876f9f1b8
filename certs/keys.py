"""Key pairs and PEM files of the PKI (docs/spec/pki.md §5.2).

Generates ECDSA P-256 keys, writes private keys with mode 0600 and certificates with 0644,
both with O_EXCL (never overwriting) and fsync, and reads them back. It must never print,
log or put private key bytes into an exception message.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certs.errors import CertError
from ledger.files import write_new_file

PRIVATE_KEY_MODE = 0o600
CERTIFICATE_MODE = 0o644


def generate_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 private key (DESIGN §4: the default suite)."""
    return ec.generate_private_key(ec.SECP256R1())


def fingerprint_certificate(cert: x509.Certificate) -> str:
    """Lower-case hex SHA-256 of the certificate's DER encoding (64 characters)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def encode_public_key(key: ec.EllipticCurvePublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of `key` (what `Identity.public_key_der` holds)."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode`, write `data`, fsync file and directory; never overwrite.

    Raises CertError "cert.exists" if `path` exists, "cert.not_found" if its directory does not;
    other OS errors propagate.
    """
    try:
        write_new_file(path, data, mode)
    except FileExistsError:
        raise CertError(
            f"{path} already exists; refusing to overwrite it (remove it or choose another path)",
            code="cert.exists",
            path=str(path),
        ) from None
    except FileNotFoundError:
        raise CertError(
            f"directory {path.parent} does not exist; create it first",
            code="cert.not_found",
            path=str(path),
        ) from None


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write `key` as unencrypted PKCS#8 PEM to a new file of mode 0600.

    Raises CertError "cert.exists" if `path` exists, "cert.not_found" if its directory does not.
    """
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_new(Path(path), pem, PRIVATE_KEY_MODE)


def read_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Read a PEM ECDSA P-256 private key written by `write_private_key`.

    Raises CertError "cert.not_found" if missing, "cert.malformed" if it is not such a key
    (the message names the file, never its content).
    """
    data = _read(Path(path))
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CertError(
            f"{path} is not an unencrypted PEM private key", code="cert.malformed", path=str(path)
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CertError(
            f"{path} holds a key that is not ECDSA P-256", code="cert.malformed", path=str(path)
        )
    return key


def write_certificate(path: Path, cert: x509.Certificate) -> None:
    """Write `cert` as PEM to a new file of mode 0644; raises like `write_private_key`."""
    _write_new(Path(path), cert.public_bytes(serialization.Encoding.PEM), CERTIFICATE_MODE)


def read_certificate(path: Path) -> x509.Certificate:
    """Read one PEM (or DER) certificate.

    Raises CertError "cert.not_found" if missing, "cert.malformed" if it does not parse.
    """
    data = _read(Path(path))
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertError(
            f"{path} is not a PEM or DER X.509 certificate: {exc}",
            code="cert.malformed",
            path=str(path),
        ) from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertError(f"{path} does not exist", code="cert.not_found", path=str(path)) from None
    except IsADirectoryError:
        raise CertError(
            f"{path} is a directory, not a file", code="cert.not_found", path=str(path)
        ) from None
