"""certs.identity: reading the identity a certificate claims (form only, no trust)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from certs.errors import CertError
from certs.identity import read_ca_region, read_identity
from certs.keys import generate_key
from certs.roles import Role
from tests.certs.conftest import NOW, VALID_USCC, rebuild


@pytest.mark.parametrize("role", list(Role))
def test_read_identity_reports_every_role(beijing, issue, role):
    leaf = issue(beijing, role, "holder-7")
    identity = read_identity(leaf.cert)
    assert (identity.region, identity.role, identity.name) == ("beijing", role, "holder-7")
    assert identity.urn == f"urn:eledger:beijing:{role.value}:holder-7"
    assert identity.public_key_der == leaf.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert identity.serial == leaf.cert.serial_number
    der = leaf.cert.public_bytes(serialization.Encoding.DER)
    assert identity.fingerprint == hashlib.sha256(der).hexdigest()
    assert identity.not_after == NOW + timedelta(days=365)
    assert identity.not_before == NOW - timedelta(days=1)
    assert identity.uscc == (VALID_USCC if role is Role.ISSUER else None)


def test_read_identity_rejects_root_ca(beijing):
    with pytest.raises(CertError, match="root CA of beijing, not an end-entity") as info:
        read_identity(beijing.cert)
    assert info.value.code == "cert.malformed"


def test_read_ca_region(beijing, issue):
    assert read_ca_region(beijing.cert) == "beijing"
    with pytest.raises(CertError, match="not an eledger root CA"):
        read_ca_region(issue(beijing, Role.STAFF).cert)


@pytest.mark.parametrize(
    "uris",
    [
        [],
        ["urn:eledger:beijing:staff:a", "urn:eledger:beijing:issuer:b"],
    ],
)
def test_read_identity_requires_exactly_one_urn(beijing, issue, uris):
    leaf = issue(beijing, Role.STAFF)
    names = [x509.UniformResourceIdentifier(u) for u in uris] + [x509.DNSName("x.example")]
    forged = rebuild(leaf.cert, beijing.key, replace=((x509.SubjectAlternativeName(names), False),))
    with pytest.raises(CertError, match=f"carries {len(uris)} eledger identity URIs") as info:
        read_identity(forged)
    assert info.value.code == "cert.malformed"


def test_read_identity_ignores_foreign_uris(beijing, issue):
    leaf = issue(beijing, Role.STAFF, "s")
    names = [
        x509.UniformResourceIdentifier("https://example.org/s"),
        x509.UniformResourceIdentifier("urn:eledger:beijing:staff:s"),
    ]
    other = rebuild(leaf.cert, beijing.key, replace=((x509.SubjectAlternativeName(names), False),))
    assert read_identity(other).name == "s"


def test_read_identity_requires_valid_uscc_on_issuer(beijing, issue):
    leaf = issue(beijing, Role.ISSUER, "d")
    wrong_check = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "d"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "NTRCN-91350100M000100Y44"),
        ]
    )
    with pytest.raises(CertError, match="bad USCC") as info:
        read_identity(rebuild(leaf.cert, beijing.key, subject=wrong_check))
    assert info.value.code == "cert.malformed"
    missing = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "d")])
    with pytest.raises(CertError, match="organizationIdentifier NTRCN-<USCC>"):
        read_identity(rebuild(leaf.cert, beijing.key, subject=missing))
    lower = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "NTRCN-" + VALID_USCC.lower())]
    )
    with pytest.raises(CertError, match="canonical upper case"):
        read_identity(rebuild(leaf.cert, beijing.key, subject=lower))


def test_read_identity_of_certificate_without_san(beijing):
    key = generate_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bare")]))
        .issuer_name(beijing.cert.subject)
        .public_key(key.public_key())
        .serial_number(5)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(beijing.key, hashes.SHA256())
    )
    with pytest.raises(CertError, match="carries 0 eledger identity URIs"):
        read_identity(cert)
