"""Roles, names and the certificate profile of each role (docs/spec/pki.md §2–§4).

This module is the single place that says how a certificate carries its role and region
(the SAN URI `urn:eledger:<region>:<role>:<name>`) and which key usages each role gets.
It is pure data and parsing: it never creates keys, reads files or reads the clock.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from certs.errors import CertError

URN_PREFIX = "urn:eledger:"
#: The role field of a root CA's URN (`urn:eledger:<region>:ca:root`); not a `Role`.
CA_ROLE = "ca"
CA_NAME = "root"
#: Service names of node certificates are `<name>.<region>.<SERVICE_DOMAIN>` (§4.2).
SERVICE_DOMAIN = "eledger"

_REGION_RE = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class Role(enum.StrEnum):
    """The roles of DESIGN §4 and the auditor of DESIGN §1; the value is what the URN carries."""

    VALIDATOR = "validator"
    OBSERVER = "observer"
    ISSUER = "issuer"
    STAFF = "staff"
    PARTNER = "partner"
    REGION_ADMIN = "region-admin"
    AUDITOR = "auditor"

    @property
    def is_node(self) -> bool:
        """True for roles whose certificate is a TLS server and client (validator, observer)."""
        return self in (Role.VALIDATOR, Role.OBSERVER)


@dataclass(frozen=True)
class Profile:
    """What a role's end-entity certificate must carry (docs/spec/pki.md §4.1).

    `key_usage` names the KeyUsage bits that are set; every other bit is clear.
    """

    extended_key_usage: frozenset[ObjectIdentifier]
    key_usage: frozenset[str]


_NODE = Profile(
    extended_key_usage=frozenset(
        {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    ),
    key_usage=frozenset({"digital_signature"}),
)
_SIGNER = Profile(
    extended_key_usage=frozenset({ExtendedKeyUsageOID.CLIENT_AUTH}),
    key_usage=frozenset({"digital_signature", "content_commitment"}),
)
_READER = Profile(
    extended_key_usage=frozenset({ExtendedKeyUsageOID.CLIENT_AUTH}),
    key_usage=frozenset({"digital_signature"}),
)

#: §4.1: issuers and region admins sign records others rely on (non-repudiation bit set).
PROFILES: dict[Role, Profile] = {
    Role.VALIDATOR: _NODE,
    Role.OBSERVER: _NODE,
    Role.ISSUER: _SIGNER,
    Role.REGION_ADMIN: _SIGNER,
    Role.STAFF: _READER,
    Role.PARTNER: _READER,
    Role.AUDITOR: _READER,
}

KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def parse_role(value: str) -> Role:
    """The `Role` named `value`; raises CertError "cert.wrong_role" naming the valid roles."""
    try:
        return Role(value)
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise CertError(
            f"unknown role {value!r}; use one of: {valid}", code="cert.wrong_role", actual=value
        ) from None


def check_region(region: str) -> str:
    """Return `region` if it is a valid region name (§2.1), else raise CertError "cert.bad_name".

    A region name is 2–32 characters of lowercase letters, digits and inner hyphens, starting
    with a letter (e.g. "beijing", "xiongan").
    """
    if not isinstance(region, str) or _REGION_RE.fullmatch(region) is None:
        raise CertError(
            f"bad region name {region!r}: use 2-32 lowercase letters, digits or inner hyphens, "
            "starting with a letter",
            code="cert.bad_name",
            field="region",
            actual=region,
        )
    return region


def check_name(name: str) -> str:
    """Return `name` if it is a valid subject name (§2.1), else raise CertError "cert.bad_name".

    A subject name is one DNS label: 1–63 lowercase letters, digits and inner hyphens
    (e.g. "beijing-1", "haidian-market-regulation"), so it is safe in URNs, DNS names and
    file names alike.
    """
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        raise CertError(
            f"bad subject name {name!r}: use 1-63 lowercase letters, digits or inner hyphens",
            code="cert.bad_name",
            field="name",
            actual=name,
        )
    return name


def format_urn(region: str, role: Role | str, name: str) -> str:
    """The identity URN `urn:eledger:<region>:<role>:<name>` (§2.2).

    `role` is a `Role` or `CA_ROLE`; raises CertError "cert.bad_name" for a bad region or name.
    """
    role_text = role.value if isinstance(role, Role) else role
    if role_text != CA_ROLE:
        role_text = parse_role(role_text).value
    return f"{URN_PREFIX}{check_region(region)}:{role_text}:{check_name(name)}"


def parse_urn(urn: str) -> tuple[str, str, str]:
    """Split an identity URN into (region, role text, name); the inverse of `format_urn`.

    The role text is a `Role` value or `CA_ROLE`. Raises CertError "cert.malformed" when the
    URN does not have exactly the §2.2 form.
    """
    parts = urn.split(":")
    if len(parts) != 5 or not urn.startswith(URN_PREFIX):
        raise CertError(
            f"identity URI {urn!r} is not of the form urn:eledger:<region>:<role>:<name>",
            code="cert.malformed",
            field="subject_alt_name",
            actual=urn,
        )
    region, role_text, name = parts[2], parts[3], parts[4]
    try:
        check_region(region)
        check_name(name)
        if role_text != CA_ROLE:
            parse_role(role_text)
    except CertError as exc:
        raise CertError(
            f"identity URI {urn!r} is malformed: {exc}", code="cert.malformed", actual=urn
        ) from None
    return region, role_text, name


def format_service_name(region: str, name: str) -> str:
    """The DNS name of a node certificate: `<name>.<region>.eledger` (§4.2)."""
    return f"{check_name(name)}.{check_region(region)}.{SERVICE_DOMAIN}"
