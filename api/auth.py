"""Who is asking, and may they: the caller of a request from its TLS client certificate, and the
one table of which roles may use which routes (docs/spec/api.md §6).

The node's HTTPS server asks for a client certificate but does not require one, and passes the
certificate the caller presented to the app (`scope["extensions"]["tls"]["client_cert_chain"]`,
the ASGI TLS extension). `Authenticator.identify` validates it against the genesis regions' CAs
(certs.validate, pki.md §5.1) at the current time and checks that the ledger has not revoked it
(`cert.revoke`, domain.md §3) nor, for a department, the key it carries (`org.key_revoke`). The
caller's role and region come from the certificate only, never from a request. Without a
certificate the caller is anonymous. A route names its entry of `ROUTES`; `caller_for(route)` is
the dependency that refuses a caller the entry does not allow, with a precise problem (§6).

Validation of a certificate is remembered by its bytes; time is checked on every request, and
revocations once per certificate and committed height (a later block may revoke it), so a
caller already cleared at the current height is identified without reading anything. Never logs a certificate, never trusts a member of the request for identity.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import Depends, Request

from api.workers import in_worker
from api.errors import ApiError
from certs.errors import CertError
from certs.identity import Identity
from certs.roles import Role
from certs.validate import validate_certificate
from ledger.crypto import PublicKey, Suite
from ledger.governance import read_cert_revocation
from ledger.identity import KeyStatus
from ledger.identity import Identity as LedgerIdentity
from ledger.identity import key_state_key
from ledger.view import ChainView

ANONYMOUS = "anonymous"

#: §6: the roles allowed on each route, by the route's name (None: anyone, certificate or not).
ROUTES: dict[str, frozenset[str] | None] = {
    "status": None,
    "health": None,
    "metrics": None,
    "blocks": None,
    "headers": None,
    "log": None,
    "transaction": None,
    "registry": None,
    "scenarios": None,
    "seal": None,
    "submit": frozenset({Role.ISSUER, Role.REGION_ADMIN}),
    "verify": frozenset({Role.PARTNER, Role.STAFF, Role.ISSUER, Role.AUDITOR, Role.REGION_ADMIN}),
    "licence": frozenset({Role.PARTNER, Role.STAFF, Role.ISSUER, Role.AUDITOR, Role.REGION_ADMIN}),
    "bundle": frozenset({Role.PARTNER, Role.STAFF, Role.ISSUER, Role.AUDITOR, Role.REGION_ADMIN}),
    "seal_verify": frozenset({Role.PARTNER, Role.STAFF, Role.ISSUER, Role.AUDITOR, Role.REGION_ADMIN}),
    "uses": frozenset({Role.ISSUER, Role.AUDITOR, Role.REGION_ADMIN}),
    "uses_holder": None,
    "receipt": frozenset({Role.PARTNER, Role.STAFF, Role.ISSUER, Role.AUDITOR, Role.REGION_ADMIN}),
}
#: §6: callers whose verifications must state a purpose of use and are recorded (用证留痕).
RECORDED_ROLES = frozenset({Role.PARTNER, Role.STAFF})
CACHE_SIZE = 4096


@dataclass(frozen=True)
class Caller:
    """The caller of a request. `role` is ANONYMOUS or a certs.roles.Role value; the rest are
    None for an anonymous caller. `certificate` is the SHA-256 of the certificate's DER."""

    role: str
    region: str | None = None
    name: str | None = None
    certificate: bytes | None = None
    serial: str | None = None
    uscc: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.role == ANONYMOUS

    @property
    def recorded(self) -> bool:
        """Whether this caller's verifications carry a purpose and are recorded."""
        return self.role in RECORDED_ROLES

    def to_record(self) -> dict[str, object]:
        """The `caller` member of a use record (domain.md §10.1)."""
        return {"region": self.region, "role": self.role, "name": self.name, "certificate": self.certificate}


ANONYMOUS_CALLER = Caller(ANONYMOUS)


def refuse(message: str, code: str, **fields: object) -> ApiError:
    return ApiError(message, code=code, **fields)


class Authenticator:
    """Identifies callers by certificate against `roots` (the genesis regions' CA certificates);
    `clock` gives the current time (aware)."""

    def __init__(self, roots: Sequence[x509.Certificate], clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.roots = list(roots)
        self.clock = clock
        self._known: OrderedDict[str, tuple[Identity, bytes] | CertError] = OrderedDict()
        self._cleared: OrderedDict[tuple[str, int], Caller] = OrderedDict()
        self._lock = threading.Lock()

    def identify(self, chain: Sequence[str], view: ChainView | None) -> Caller:
        """The caller presenting `chain` (PEM certificates, the caller's first; empty: anonymous),
        checked against the ledger state `view` (revocations). Raises ApiError
        "auth.certificate_refused" (with `reason`, the cert.* code) or "auth.revoked"."""
        if not chain:
            return ANONYMOUS_CALLER
        pem = chain[0]
        known = self._validated(pem)
        if isinstance(known, CertError):
            raise refuse(f"the client certificate is refused: {known}", "auth.certificate_refused", reason=known.code)
        identity, der = known
        now = self.clock()
        if not identity.not_before <= now <= identity.not_after:
            code = "cert.expired" if now > identity.not_after else "cert.not_yet_valid"
            raise refuse(f"the client certificate is valid from {identity.not_before:%Y-%m-%d %H:%M} to {identity.not_after:%Y-%m-%d %H:%M} UTC, not now", "auth.certificate_refused", reason=code)
        serial = format(identity.serial, "x")
        caller = Caller(identity.role.value, identity.region, identity.name, hashlib.sha256(der).digest(), serial, identity.uscc)
        if view is not None:
            self._check_revocation(identity, serial, view)
            self._clear(pem, view.height, caller)
        return caller

    def cleared(self, chain: Sequence[str], height: int) -> Caller | None:
        """The caller of `chain` if `identify` already cleared it at ledger height `height` and
        its certificate is still within its validity now; else None (call `identify`). Reads
        nothing, so the event loop may call it."""
        if not chain:
            return ANONYMOUS_CALLER
        with self._lock:
            caller = self._cleared.get((chain[0], height))
            if caller is None:
                return None
            self._cleared.move_to_end((chain[0], height))
            known = self._known.get(chain[0])
        if not isinstance(known, tuple) or not known[0].not_before <= self.clock() <= known[0].not_after:
            return None
        return caller

    def _clear(self, pem: str, height: int, caller: Caller) -> None:
        with self._lock:
            self._cleared[(pem, height)] = caller
            while len(self._cleared) > CACHE_SIZE:
                self._cleared.popitem(last=False)

    def _validated(self, pem: str) -> tuple[Identity, bytes] | CertError:
        with self._lock:
            known = self._known.get(pem)
            if known is not None:
                self._known.move_to_end(pem)
                return known
        try:
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            known = (validate_certificate(cert, roots=self.roots, at=self.clock()), cert.public_bytes(Encoding.DER))
        except CertError as exc:
            known = exc
        except (ValueError, UnicodeEncodeError):
            known = CertError("the client certificate cannot be read", code="cert.malformed")
        if isinstance(known, CertError) and known.code in ("cert.expired", "cert.not_yet_valid"):
            return known  # time-bound: judged again next time
        with self._lock:
            self._known[pem] = known
            while len(self._known) > CACHE_SIZE:
                self._known.popitem(last=False)
        return known

    @staticmethod
    def _check_revocation(identity: Identity, serial: str, view: ChainView) -> None:
        state = view.state()
        revoked = read_cert_revocation(state, identity.region, serial)
        if revoked is not None:
            raise refuse(
                f"the client certificate (serial {serial} of {identity.region}) was revoked on the ledger at {revoked['revoked_at']}",
                "auth.revoked", serial=serial,
            )
        if identity.role is Role.ISSUER:
            key_id = PublicKey.from_spki(Suite.P256, identity.public_key_der).key_id
            raw = state.get(key_state_key(key_id))
            if raw is not None and LedgerIdentity.from_bytes(raw).status is KeyStatus.REVOKED:
                raise refuse("the key of this department certificate was revoked on the ledger (org.key_revoke)", "auth.revoked", serial=serial)


def client_certificates(request: Request) -> list[str]:
    """The PEM certificates the caller presented over TLS (the ASGI TLS extension)."""
    tls = request.scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return [c for c in chain if isinstance(c, str)]


def caller_for(route: str, *, identify: bool = True) -> Callable[..., object]:
    """The dependency of a route named `route` in ROUTES: the Caller, or ApiError
    "auth.certificate_required" (anonymous where a role is needed) / "auth.forbidden" (a role
    the route does not allow). With `identify` False (only for a route open to anyone), the
    caller is not identified at all: the probes answer without reading a certificate or the
    chain (api.md §7)."""
    allowed = ROUTES[route]
    if not identify and allowed is not None:
        raise ValueError(f"route {route} needs a role; its callers must be identified")

    async def dependency(request: Request) -> Caller:
        if not identify:
            return ANONYMOUS_CALLER
        chain = client_certificates(request)
        if not chain:
            if allowed is not None:
                raise refuse(f"this route needs a client certificate of one of the roles {', '.join(sorted(allowed))}", "auth.certificate_required")
            return ANONYMOUS_CALLER
        authenticator: Authenticator = request.app.state.authenticator
        service = request.app.state.service
        view = service.view()
        caller = authenticator.cleared(chain, view.height)
        if caller is None:  # not yet cleared at this height: validate and read the revocations
            caller = await in_worker(authenticator.identify, chain, view)
        if allowed is not None and caller.role not in allowed:
            raise refuse(f"a {caller.role} certificate may not use this route; it needs one of {', '.join(sorted(allowed))}", "auth.forbidden", role=caller.role)
        return caller

    dependency.route = route  # type: ignore[attr-defined]  # which entry of ROUTES (the matrix test reads it)
    dependency.identifies = identify  # type: ignore[attr-defined]  # whether it reads a certificate (the OpenAPI test reads it)
    return dependency


def CallerOf(route: str, *, identify: bool = True) -> object:  # noqa: N802 - an Annotated alias per route, as in deps.py
    """`Annotated[Caller, Depends(caller_for(route, identify=identify))]`."""
    return Annotated[Caller, Depends(caller_for(route, identify=identify))]

