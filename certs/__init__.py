"""eledger's X.509 PKI: region root CAs and role certificates (DESIGN §4, docs/spec/pki.md).

The public API is re-exported here; `certs.cli.certs_app` is the `eledger certs` command.
`certs` depends on `cryptography` and `ledger.errors` only; it never reads the clock outside
`certs.cli` and never prints or logs private keys.
"""

from certs.errors import CertError
from certs.identity import Identity, read_ca_region, read_identity
from certs.issue import issue_certificate, issue_root_ca
from certs.keys import (
    fingerprint_certificate,
    generate_key,
    read_certificate,
    read_private_key,
    write_certificate,
    write_private_key,
)
from certs.layout import DEFAULT_REGIONS, init_pki, issue_credential, load_roots, read_pki_manifest
from certs.manifest import Manifest, ManifestEntry
from certs.roles import Role, format_service_name, format_urn, parse_urn
from certs.tls import create_client_context, create_server_context, read_peer_identity
from certs.uscc import validate_uscc
from certs.validate import validate_certificate

__all__ = [
    "DEFAULT_REGIONS",
    "CertError",
    "Identity",
    "Manifest",
    "ManifestEntry",
    "Role",
    "create_client_context",
    "create_server_context",
    "fingerprint_certificate",
    "format_service_name",
    "format_urn",
    "generate_key",
    "init_pki",
    "issue_certificate",
    "issue_credential",
    "issue_root_ca",
    "load_roots",
    "parse_urn",
    "read_ca_region",
    "read_certificate",
    "read_identity",
    "read_peer_identity",
    "read_pki_manifest",
    "read_private_key",
    "validate_certificate",
    "validate_uscc",
    "write_certificate",
    "write_private_key",
]
