"""Who a node talks to: peer addresses, the admission rule of docs/spec/consensus.md §9, the
redial schedule and the counters kept per peer.

`PeerInfo` is where a peer listens and who it must prove to be. `PeerPolicy` decides whether the
holder of a TLS certificate may be a peer: the certificate must validate (docs/spec/pki.md §5.1)
against a region CA of the genesis, and name either a validator the policy lists (by name and
region) or an observer of a genesis region. `Backoff` says how long to wait before redialling.
This module reads the clock only through the `clock` it is given, opens no connection, and
never sees a private key.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography import x509

from certs.identity import Identity, read_ca_region
from certs.roles import Role, check_name, check_region, format_service_name
from certs.tls import read_peer_identity
from ledger.errors import LedgerError
from ledger.genesis import Genesis


class PeerError(LedgerError):
    """A peer is refused, or a peer address or trust anchor is unusable.

    Codes: "peer.wrong_role" (neither validator nor observer), "peer.unknown_validator" (a
    validator certificate for a name and region not listed), "peer.name_conflict" (an observer
    using a validator's name), "peer.unexpected" (not the peer that was dialled or listed),
    "peer.self" (our own name), "peer.bad_address" (port), "peer.duplicate" (a name listed
    twice), "peer.bad_genesis_ca" (a genesis CA certificate that is unreadable or belongs to
    another region).
    """

    code = "peer.refused"


def _now_utc() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class PeerInfo:
    """A peer to dial: its node name and region (as in its certificate) and its address.

    Raises CertError "cert.bad_name" for a bad name or region (docs/spec/pki.md §2.1) and
    PeerError "peer.bad_address" for a port outside 1..65535.
    """

    name: str
    region: str
    host: str
    port: int

    def __post_init__(self) -> None:
        check_name(self.name)
        check_region(self.region)
        port = self.port
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise PeerError(
                f"peer {self.name}: port {self.port!r} is not in 1..65535",
                code="peer.bad_address",
                field="port",
                actual=repr(self.port),
            )

    @property
    def service_name(self) -> str:
        """The TLS server name to verify when dialling: `<name>.<region>.eledger` (pki.md §4.2)."""
        return format_service_name(self.region, self.name)


def read_genesis_roots(genesis: Genesis) -> tuple[x509.Certificate, ...]:
    """The root CA certificates of the genesis regions, in genesis order.

    Raises PeerError "peer.bad_genesis_ca" if one is not a DER certificate or is the CA of a
    region other than the one that lists it (which would let that region's certificates in).
    """
    roots = []
    for region in genesis.regions:
        try:
            cert = x509.load_der_x509_certificate(region.ca_cert)
            ca_region = read_ca_region(cert)
        except (ValueError, LedgerError) as exc:
            raise PeerError(
                f"genesis region {region.name}: its CA certificate is unreadable: {exc}",
                code="peer.bad_genesis_ca",
                region=region.name,
            ) from None
        if ca_region != region.name:
            raise PeerError(
                f"genesis region {region.name} lists the CA certificate of region {ca_region}",
                code="peer.bad_genesis_ca",
                region=region.name,
                actual=ca_region,
            )
        roots.append(cert)
    return tuple(roots)


@dataclass(frozen=True)
class PeerPolicy:
    """The §9 admission rule: trusted `roots`, and the (region, name) of admitted validators.

    `clock` gives the time at which certificates must be valid (timezone-aware).
    """

    roots: tuple[x509.Certificate, ...]
    validators: frozenset[tuple[str, str]]
    clock: Callable[[], datetime] = field(default=_now_utc, compare=False)

    @classmethod
    def from_genesis(
        cls, genesis: Genesis, *, clock: Callable[[], datetime] = _now_utc
    ) -> PeerPolicy:
        """Admit the genesis validators and observers of the genesis regions (§9).

        Raises like `read_genesis_roots`.
        """
        validators = frozenset((v.region, v.name) for v in genesis.validators)
        return cls(read_genesis_roots(genesis), validators, clock)

    @classmethod
    def from_peers(
        cls,
        genesis: Genesis,
        peers: Iterable[PeerInfo],
        *,
        clock: Callable[[], datetime] = _now_utc,
    ) -> PeerPolicy:
        """Like `from_genesis`, but admit as validators exactly the listed `peers` (for a
        validator set that changed since genesis). Raises like `read_genesis_roots`."""
        validators = frozenset((p.region, p.name) for p in peers)
        return cls(read_genesis_roots(genesis), validators, clock)

    def admit(self, connection: ssl.SSLObject | ssl.SSLSocket) -> Identity:
        """The identity of the peer of a completed TLS handshake, if it may be a peer.

        Raises CertError (docs/spec/pki.md §6) if its certificate does not validate against
        `roots` now, and PeerError like `check_identity`.
        """
        identity = read_peer_identity(connection, roots=self.roots, at=self.clock())
        self.check_identity(identity)
        return identity

    def check_identity(self, identity: Identity) -> None:
        """Raise PeerError unless a validated `identity` may be a peer: "peer.wrong_role" for
        roles other than validator and observer, "peer.unknown_validator" for a validator not
        listed, "peer.name_conflict" for an observer named like a listed validator."""
        key = (identity.region, identity.name)
        if identity.role is Role.VALIDATOR:
            if key not in self.validators:
                raise PeerError(
                    f"validator {identity.name} of {identity.region} is not a listed validator",
                    code="peer.unknown_validator",
                    name=identity.name,
                    region=identity.region,
                )
        elif identity.role is Role.OBSERVER:
            if any(name == identity.name for _, name in self.validators):
                raise PeerError(
                    f"observer {identity.name} of {identity.region} uses a validator's name",
                    code="peer.name_conflict",
                    name=identity.name,
                    region=identity.region,
                )
        else:
            raise PeerError(
                f"{identity.role.value} {identity.name} of {identity.region} may not be a peer; "
                "only validator and observer certificates may",
                code="peer.wrong_role",
                name=identity.name,
                role=identity.role.value,
            )


@dataclass(frozen=True)
class Backoff:
    """§9 reconnect delays: the nominal delay doubles from `initial` to `maximum` seconds and
    each delay is multiplied by a uniform factor in [1 - jitter, 1 + jitter]."""

    initial: float = 0.2
    maximum: float = 10.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The delay before redial number `attempt` (0 after a success), drawn from `rng`."""
        nominal = min(self.maximum, self.initial * 2 ** min(attempt, 64))
        return nominal * (1 + self.jitter * (2 * rng.random() - 1))


@dataclass(frozen=True)
class PeerStats:
    """A snapshot of one peer's counters. `outbound` is the direction of the connection in use
    (None when not connected); `errors` counts by error code."""

    connected: bool
    outbound: bool | None
    queued: int
    received: int
    sent: int
    dropped: int
    connects: int
    errors: Mapping[str, int]
