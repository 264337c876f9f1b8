"""Shared fixtures for the certs tests: fixed times, region CAs and an end-entity factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from certs.issue import issue_certificate, issue_root_ca
from certs.keys import generate_key
from certs.roles import Role

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
VALID_USCC = "91350100M000100Y43"


@dataclass(frozen=True)
class Authority:
    region: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Leaf:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def make_authority(region: str, *, days: int = 3650) -> Authority:
    key = generate_key()
    cert = issue_root_ca(
        region, key, not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=days)
    )
    return Authority(region, cert, key)


@pytest.fixture(scope="module")
def beijing() -> Authority:
    return make_authority("beijing")


@pytest.fixture(scope="module")
def tianjin() -> Authority:
    return make_authority("tianjin")


@pytest.fixture(scope="module")
def issue() -> Callable[..., Leaf]:
    """issue(authority, role, name="x-1", not_before=NOW-1d, not_after=NOW+365d, uscc=auto)."""

    def _issue(
        authority: Authority,
        role: Role,
        name: str = "holder-1",
        *,
        not_before: datetime = NOW - timedelta(days=1),
        not_after: datetime = NOW + timedelta(days=365),
        uscc: str | None = None,
    ) -> Leaf:
        key = generate_key()
        cert = issue_certificate(
            ca_cert=authority.cert,
            ca_key=authority.key,
            public_key=key.public_key(),
            role=role,
            name=name,
            not_before=not_before,
            not_after=not_after,
            uscc=uscc if uscc is not None else (VALID_USCC if role is Role.ISSUER else None),
        )
        return Leaf(cert, key)

    return _issue


def rebuild(
    cert: x509.Certificate,
    signer_key: ec.EllipticCurvePrivateKey,
    *,
    subject: x509.Name | None = None,
    issuer: x509.Name | None = None,
    public_key: ec.EllipticCurvePublicKey | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    replace: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    drop: tuple[type, ...] = (),
    add: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    algorithm: hashes.HashAlgorithm | None = None,
) -> x509.Certificate:
    """A copy of `cert` with the given fields changed, signed by `signer_key` (for forgeries)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject or cert.subject)
        .issuer_name(issuer or cert.issuer)
        .public_key(public_key or cert.public_key())
        .serial_number(cert.serial_number)
        .not_valid_before(not_before or cert.not_valid_before_utc)
        .not_valid_after(not_after or cert.not_valid_after_utc)
    )
    replacements = {type(value): (value, critical) for value, critical in replace}
    for extension in cert.extensions:
        kind = type(extension.value)
        if kind in drop:
            continue
        value, critical = replacements.get(kind, (extension.value, extension.critical))
        builder = builder.add_extension(value, critical)
    for value, critical in add:
        builder = builder.add_extension(value, critical)
    return builder.sign(signer_key, algorithm or hashes.SHA256())
