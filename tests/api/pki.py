"""A network with a real PKI for the API tests that authenticate callers: `eledger certs init`
material and a genesis whose regions are those CAs (node.network.create_network), its chain as a
LocalNodeService, every role's certificate as PEM, and an ASGI wrapper that presents a client
certificate the way the node's HTTPS server does (the ASGI TLS extension)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from certs.issue import issue_certificate
from certs.keys import generate_key, read_certificate, read_private_key
from certs.layout import read_pki_manifest
from certs.roles import Role
from node.network import Network, create_network
from tests.ledger.conftest import Net


@dataclass
class Pki:
    network: Network
    net: Net

    @property
    def dir(self) -> Path:
        return self.network.dir / "pki"

    def pem(self, region: str, role: Role | str) -> str:
        """The PEM certificate of the first credential of `role` in `region`."""
        entry = read_pki_manifest(self.dir, aggregate=True).find(region, Role(role))[0]
        return (self.dir / entry.certificate).read_text()

    def issue(self, region: str, role: Role | str, name: str, *, start: datetime, days: float, uscc: str | None = None) -> str:
        """A new certificate of `role` for `name` from `region`'s CA, valid from `start` for `days`."""
        ca = read_certificate(self.dir / region / "ca.crt")
        cert = issue_certificate(
            ca_cert=ca, ca_key=read_private_key(self.dir / region / "ca.key"), public_key=generate_key().public_key(),
            role=Role(role), name=name, not_before=start, not_after=start + timedelta(days=days), uscc=uscc,
        )
        return cert.public_bytes(Encoding.PEM).decode("ascii")


def make_pki(directory: Path) -> Pki:
    network = create_network(directory, datetime.now(timezone.utc))
    genesis = network.genesis
    net = Net(genesis, [network.validator_keys[v.name] for v in genesis.validators], dict(network.admin_keys))
    return Pki(network, net)


def presenting(app, pem: str | None):
    """`app` as reached over TLS with the client certificate `pem` (None: without one)."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http":
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = {"client_cert_chain": [pem] if pem else [], "tls_version": 0x0304}
            scope = {**scope, "extensions": extensions}
        await app(scope, receive, send)

    return wrapped
