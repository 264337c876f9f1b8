"""The ASGI TLS extension of a connection: what the application learns about its TLS session.

Computed once per connection, when its handshake completes, and shared by the scopes of all its
requests (ASGI TLS extension 0.2, asgiref specs/tls.rst): the peer's certificate as PEM (the
caller is authenticated by it; Python's ssl module gives the leaf only, not the chain the client
sent), the TLS version and the cipher suite as their IANA numbers. This module does not judge a
certificate: OpenSSL checked it against the context's roots, and the application maps it to an
identity. It never logs or copies key material.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

from cryptography import x509

#: RFC 8446 §4.2.1 / RFC 5246 version numbers, by the names `SSLObject.version()` gives.
TLS_VERSIONS = {"TLSv1.3": 0x0304, "TLSv1.2": 0x0303, "TLSv1.1": 0x0302, "TLSv1": 0x0301}


def read_cipher_ids(context: ssl.SSLContext) -> dict[str, int]:
    """IANA cipher suite numbers by OpenSSL name, for the suites `context` may negotiate.

    OpenSSL's cipher id is 0x0300XXXX where XXXX is the two-byte IANA value."""
    return {cipher["name"]: cipher["id"] & 0xFFFF for cipher in context.get_ciphers()}


def read_tls_extension(ssl_object: ssl.SSLObject, cipher_ids: Mapping[str, int]) -> dict[str, object]:
    """The `scope["extensions"]["tls"]` dict for a connection whose handshake completed.

    `client_cert_chain` is `[PEM of the peer certificate]`, or `[]` when the client sent none;
    `client_cert_name` its subject as an RFC 4514 string (or None); `client_cert_error` is None
    (a certificate that fails verification fails the handshake); `server_cert` is None (the ssl
    module does not expose our own certificate); `tls_version` and `cipher_suite` are integers,
    or None for a value this module cannot name.
    """
    der = ssl_object.getpeercert(binary_form=True)
    chain: list[str] = []
    name: str | None = None
    if der:
        chain.append(ssl.DER_cert_to_PEM_cert(der))
        try:
            name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        except ValueError:
            name = None  # OpenSSL accepted what cryptography cannot parse: the app will refuse it
    cipher = ssl_object.cipher()
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": cipher_ids.get(cipher[0]) if cipher else None,
    }
