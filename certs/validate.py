"""Certificate validation: chain to a region root, validity, role profile (docs/spec/pki.md §5).

`validate_certificate` answers "whom does this certificate identify, and may I trust it at
time `at`?" It walks the chain itself so that every failure has a precise code, then lets
`cryptography.x509.verification` re-check the same chain against RFC 5280 as a second opinion.
It never reads the clock (`at` is a parameter), never touches files or the network, and never
returns a partial answer: it returns an `Identity` or raises `CertError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import ExtensionOID

from certs.errors import CertError
from certs.identity import Identity, extension, read_ca_region, read_identity
from certs.roles import KEY_USAGE_BITS, PROFILES, Role, parse_role

#: §5.1: at most this many intermediate CAs between an end-entity and its root.
MAX_INTERMEDIATES = 4
#: §5.1 step 6: critical extensions this validator understands; any other one is rejected.
KNOWN_CRITICAL = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    }
)


def validate_certificate(
    cert: x509.Certificate,
    *,
    roots: Sequence[x509.Certificate],
    at: datetime,
    role: Role | str | None = None,
    region: str | None = None,
    intermediates: Sequence[x509.Certificate] = (),
) -> Identity:
    """The `Identity` of end-entity `cert` if it is trustworthy at time `at` (§5.1).

    Checks, in this order: the certificate's eledger identity; a chain to exactly one of
    `roots` through `intermediates` (issuer name and key id, CA basicConstraints and
    keyCertSign, signature, path length); the validity window of every certificate in the
    chain at `at`; the role's key usage profile; the claimed region against the root's; the
    requested `role` and `region`; finally RFC 5280 path validation by
    `cryptography.x509.verification`.

    `role` may be a `Role` or its string value. Precondition: `at` is timezone-aware
    (ValueError otherwise). Raises CertError with code
    "cert.malformed", "cert.untrusted_issuer", "cert.not_a_ca", "cert.bad_signature",
    "cert.path_too_long", "cert.not_yet_valid", "cert.expired", "cert.wrong_usage",
    "cert.region_mismatch", "cert.wrong_role", "cert.wrong_region" or "cert.policy_violation".
    """
    if at.tzinfo is None:
        raise ValueError("validate_certificate: `at` must be a timezone-aware datetime")
    identity = read_identity(cert)
    chain = _build_chain(cert, list(roots), list(intermediates))
    for member in chain:
        _check_critical_extensions(member)
        _check_validity(member, at)
    _check_profile(cert, identity.role)
    root_region = read_ca_region(chain[-1])
    if identity.region != root_region:
        raise CertError(
            f"{_subject(cert)} claims region {identity.region!r} but was issued by the "
            f"{root_region!r} root CA; a region CA only issues for its own region",
            code="cert.region_mismatch",
            subject=_subject(cert),
            expected=root_region,
            actual=identity.region,
        )
    if role is not None and identity.role is not parse_role(role):
        role = parse_role(role)
        raise CertError(
            f"{_subject(cert)} has role {identity.role.value!r}; this requires role {role.value!r}",
            code="cert.wrong_role",
            subject=_subject(cert),
            expected=role.value,
            actual=identity.role.value,
        )
    if region is not None and identity.region != region:
        raise CertError(
            f"{_subject(cert)} belongs to region {identity.region!r}; this requires region "
            f"{region!r}",
            code="cert.wrong_region",
            subject=_subject(cert),
            expected=region,
            actual=identity.region,
        )
    _verify_rfc5280(cert, chain, at)
    return identity


def _build_chain(
    leaf: x509.Certificate, roots: list[x509.Certificate], intermediates: list[x509.Certificate]
) -> list[x509.Certificate]:
    """[leaf, intermediates..., root], or raise (§5.1 steps 2–4)."""
    chain = [leaf]
    while True:
        current = chain[-1]
        if current.issuer == current.subject and current not in roots:
            raise CertError(
                f"{_subject(current)} is self-signed and is not one of the trusted roots "
                f"({_names(roots)}); it may imitate a region CA",
                code="cert.untrusted_issuer",
                subject=_subject(current),
            )
        root = _find_issuer(current, roots)
        if root is not None:
            chain.append(root)
            break
        unused = [c for c in intermediates if c not in chain]
        parent = _find_issuer(current, unused)
        if parent is None:
            raise _untrusted(current, roots)
        chain.append(parent)
        if len(chain) - 1 > MAX_INTERMEDIATES:
            raise CertError(
                f"chain of {_subject(leaf)} has more than {MAX_INTERMEDIATES} intermediate CAs",
                code="cert.path_too_long",
                subject=_subject(leaf),
            )
    for index, ca in enumerate(chain[1:], start=1):
        path_length = ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
        if path_length is not None and index - 1 > path_length:
            raise CertError(
                f"{_subject(ca)} allows {path_length} intermediate CAs below it but the chain of "
                f"{_subject(leaf)} has {index - 1}; get the certificate issued by the root itself",
                code="cert.path_too_long",
                subject=_subject(ca),
            )
    return chain


def _find_issuer(
    cert: x509.Certificate, candidates: list[x509.Certificate]
) -> x509.Certificate | None:
    """The CA among `candidates` that signed `cert`; None if none has its issuer name and key id.

    Raises "cert.not_a_ca" if only non-CAs match, "cert.bad_signature" if matching CAs do not
    verify the signature.
    """
    key_id = _authority_key_id(cert)
    matching = [
        c
        for c in candidates
        if c.subject == cert.issuer and (key_id is None or _subject_key_id(c) in (None, key_id))
    ]
    if not matching:
        return None
    authorities = [c for c in matching if _is_ca(c)]
    if not authorities:
        raise CertError(
            f"{_subject(cert)} was signed by {_subject(matching[0])}, which is not a CA "
            "(needs basicConstraints CA:TRUE and keyUsage keyCertSign); only region CAs issue",
            code="cert.not_a_ca",
            subject=_subject(cert),
            issuer=_subject(matching[0]),
        )
    for authority in authorities:
        try:
            cert.verify_directly_issued_by(authority)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return authority
    raise CertError(
        f"the signature of {_subject(cert)} does not verify under the key of "
        f"{_subject(authorities[0])}; the certificate was altered or forged",
        code="cert.bad_signature",
        subject=_subject(cert),
        issuer=_subject(authorities[0]),
    )


def _untrusted(cert: x509.Certificate, roots: list[x509.Certificate]) -> CertError:
    same_name = [r for r in roots if r.subject == cert.issuer]
    if same_name:
        return CertError(
            f"{_subject(cert)} names trusted root {_subject(same_name[0])} as issuer but was "
            "signed by a different key (authority key id mismatch): an impostor or a re-keyed "
            "CA; obtain a certificate from the current region CA",
            code="cert.untrusted_issuer",
            subject=_subject(cert),
            issuer=cert.issuer.rfc4514_string(),
        )
    return CertError(
        f"issuer {cert.issuer.rfc4514_string()} of {_subject(cert)} is not one of the trusted "
        f"roots ({_names(roots)}); obtain a certificate from a trusted region CA or add that "
        "region's CA to the trust anchor",
        code="cert.untrusted_issuer",
        subject=_subject(cert),
        issuer=cert.issuer.rfc4514_string(),
    )


def _check_validity(cert: x509.Certificate, at: datetime) -> None:
    if at < cert.not_valid_before_utc:
        raise CertError(
            f"{_subject(cert)} is not valid before {cert.not_valid_before_utc.isoformat()} "
            f"(checked at {at.isoformat()}); check the clock or wait",
            code="cert.not_yet_valid",
            subject=_subject(cert),
            at=at.isoformat(),
            not_before=cert.not_valid_before_utc.isoformat(),
        )
    if at > cert.not_valid_after_utc:
        raise CertError(
            f"{_subject(cert)} expired at {cert.not_valid_after_utc.isoformat()} "
            f"(checked at {at.isoformat()}); issue a new certificate",
            code="cert.expired",
            subject=_subject(cert),
            at=at.isoformat(),
            not_after=cert.not_valid_after_utc.isoformat(),
        )


def _check_critical_extensions(cert: x509.Certificate) -> None:
    if cert.version is not x509.Version.v3:
        raise CertError(
            f"{_subject(cert)} is not an X.509 v3 certificate",
            code="cert.malformed",
            subject=_subject(cert),
        )
    for ext in cert.extensions:
        if ext.critical and ext.oid not in KNOWN_CRITICAL:
            raise CertError(
                f"{_subject(cert)} has critical extension {ext.oid.dotted_string}, which "
                "eledger does not process (RFC 5280 §4.2 requires rejecting it)",
                code="cert.malformed",
                subject=_subject(cert),
                extension=ext.oid.dotted_string,
            )


def _check_profile(cert: x509.Certificate, role: Role) -> None:
    """§4.1: an end-entity of `role` has exactly its role's key usages and a P-256 key."""
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CertError(
            f"{_subject(cert)} has a key that is not ECDSA P-256",
            code="cert.malformed",
            subject=_subject(cert),
        )
    constraints = _basic_constraints(cert)
    if constraints is None or constraints.ca:
        raise CertError(
            f"{_subject(cert)} must carry basicConstraints CA:FALSE as an end-entity",
            code="cert.wrong_usage",
            subject=_subject(cert),
        )
    profile = PROFILES[role]
    usage = extension(cert, x509.KeyUsage)
    bits = frozenset(b for b in KEY_USAGE_BITS if usage is not None and getattr(usage, b))
    if bits != profile.key_usage:
        raise CertError(
            f"{_subject(cert)} has key usage {sorted(bits)}; a {role.value} certificate has "
            f"exactly {sorted(profile.key_usage)}",
            code="cert.wrong_usage",
            subject=_subject(cert),
            expected=sorted(profile.key_usage),
            actual=sorted(bits),
        )
    extended = extension(cert, x509.ExtendedKeyUsage)
    purposes = frozenset(extended) if extended is not None else frozenset()
    if purposes != profile.extended_key_usage:
        raise CertError(
            f"{_subject(cert)} has extended key usage {_oids(purposes)}; a {role.value} "
            f"certificate has exactly {_oids(profile.extended_key_usage)}",
            code="cert.wrong_usage",
            subject=_subject(cert),
            expected=_oids(profile.extended_key_usage),
            actual=_oids(purposes),
        )


def _verify_rfc5280(cert: x509.Certificate, chain: list[x509.Certificate], at: datetime) -> None:
    """§5.1 step 9: the same chain through `cryptography`'s RFC 5280 path validator."""
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([chain[-1]]))
        .time(at)
        .max_chain_depth(MAX_INTERMEDIATES + 1)
        .build_client_verifier()
    )
    try:
        verifier.verify(cert, chain[1:-1])
    except verification.VerificationError as exc:
        raise CertError(
            f"{_subject(cert)} fails RFC 5280 path validation: {exc}",
            code="cert.policy_violation",
            subject=_subject(cert),
        ) from None


def _is_ca(cert: x509.Certificate) -> bool:
    constraints = _basic_constraints(cert)
    usage = extension(cert, x509.KeyUsage)
    return bool(constraints and constraints.ca and usage is not None and usage.key_cert_sign)


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    return extension(cert, x509.BasicConstraints)


def _authority_key_id(cert: x509.Certificate) -> bytes | None:
    value = extension(cert, x509.AuthorityKeyIdentifier)
    return value.key_identifier if value is not None else None


def _subject_key_id(cert: x509.Certificate) -> bytes | None:
    value = extension(cert, x509.SubjectKeyIdentifier)
    return value.digest if value is not None else None


def _oids(oids: frozenset[x509.ObjectIdentifier]) -> list[str]:
    return sorted(o.dotted_string for o in oids)


def _names(certs: list[x509.Certificate]) -> str:
    return "; ".join(_subject(c) for c in certs) or "none"


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()
