"""TLS 1.3 contexts with mutual authentication from eledger credentials (docs/spec/pki.md §7).

Builds `ssl.SSLContext`s for nodes and API clients: TLS 1.3 only, peer certificate required
and checked by OpenSSL against the region roots (strict X.509 mode), then mapped to an
`Identity` by `read_peer_identity`, which applies eledger's own role and region checks.
It creates no sockets and never reads the clock: callers pass `at`.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.errors import CertError
from certs.identity import Identity
from certs.roles import Role
from certs.validate import validate_certificate


def create_server_context(
    cert_path: Path, key_path: Path, roots: Sequence[x509.Certificate]
) -> ssl.SSLContext:
    """A TLS 1.3 server context presenting `cert_path`/`key_path` and requiring a client
    certificate that chains to one of `roots`.

    Raises CertError "cert.not_found" if a file is missing; ssl.SSLError if the key does not
    match the certificate.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.verify_mode = ssl.CERT_REQUIRED
    _configure(context, cert_path, key_path, roots)
    return context


def create_api_server_context(
    cert_path: Path, key_path: Path, roots: Sequence[x509.Certificate]
) -> ssl.SSLContext:
    """A TLS 1.3 server context for a node's HTTPS API (docs/spec/api.md §6): it presents the
    node's certificate and asks the client for one that chains to `roots`, but also accepts a
    client without one (anonymous callers reach the public routes; the application decides per
    route). A client certificate that does not chain to `roots` fails the handshake.

    Raises like `create_server_context`.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.verify_mode = ssl.CERT_OPTIONAL
    _configure(context, cert_path, key_path, roots)
    return context


def create_client_context(
    cert_path: Path, key_path: Path, roots: Sequence[x509.Certificate]
) -> ssl.SSLContext:
    """A TLS 1.3 client context presenting `cert_path`/`key_path`, verifying the server's
    certificate against `roots` and its host name (connect with `server_hostname` set to the
    node's service name `<name>.<region>.eledger`, "localhost" or "127.0.0.1").

    Raises like `create_server_context`.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _configure(context, cert_path, key_path, roots)
    return context


def read_peer_identity(
    connection: ssl.SSLSocket | ssl.SSLObject,
    *,
    roots: Sequence[x509.Certificate],
    at: datetime,
    role: Role | None = None,
    region: str | None = None,
) -> Identity:
    """The validated `Identity` of the peer of a completed TLS handshake (§7).

    Raises CertError "cert.malformed" if the peer sent no certificate, and whatever
    `validate_certificate` raises for its certificate.
    """
    der = connection.getpeercert(binary_form=True)
    if not der:
        raise CertError(
            "the TLS peer presented no certificate; it must authenticate with its eledger "
            "certificate",
            code="cert.malformed",
        )
    return validate_certificate(
        x509.load_der_x509_certificate(der), roots=roots, at=at, role=role, region=region
    )


def _configure(
    context: ssl.SSLContext, cert_path: Path, key_path: Path, roots: Sequence[x509.Certificate]
) -> None:
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    for path in (cert_path, key_path):
        if not Path(path).is_file():
            raise CertError(f"{path} does not exist", code="cert.not_found", path=str(path))
    context.load_cert_chain(certfile=str(cert_path), keyfile=str(key_path))
    if not roots:
        raise CertError("no trusted roots given for TLS", code="cert.not_found")
    bundle = "".join(r.public_bytes(serialization.Encoding.PEM).decode("ascii") for r in roots)
    context.load_verify_locations(cadata=bundle)
