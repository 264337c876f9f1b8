"""certs.issue: root CA and end-entity certificate contents (docs/spec/pki.md §3, §4)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.errors import CertError
from certs.issue import issue_certificate, issue_root_ca
from certs.keys import generate_key
from certs.roles import Role
from tests.certs.conftest import NOW, VALID_USCC


def ext(cert, kind):
    return cert.extensions.get_extension_for_class(kind)


def test_issue_root_ca_profile(beijing):
    cert = beijing.cert
    assert cert.subject == cert.issuer
    assert (
        cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        == "eledger beijing root CA"
    )
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "eledger"
    assert (
        cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "beijing"
    )
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "urn:eledger:beijing:ca:root"
    ]
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    cert.verify_directly_issued_by(cert)


def test_issue_root_ca_uses_given_window_and_serial():
    key = generate_key()
    cert = issue_root_ca("hebei", key, not_before=NOW, not_after=NOW + timedelta(days=2), serial=77)
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == NOW + timedelta(days=2)
    assert cert.serial_number == 77


@pytest.mark.parametrize("role", [Role.VALIDATOR, Role.OBSERVER])
def test_issue_certificate_node_has_tls_names_and_both_ekus(beijing, issue, role):
    cert = issue(beijing, role, "beijing-1").cert
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        f"urn:eledger:beijing:{role.value}:beijing-1"
    ]
    assert san.get_values_for_type(x509.DNSName) == ["beijing-1.beijing.eledger", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert set(ext(cert, x509.ExtendedKeyUsage).value) == {
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    }
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == (
        ext(beijing.cert, x509.SubjectKeyIdentifier).value.digest
    )


def test_issue_certificate_node_adds_extra_hosts_once(beijing):
    key = generate_key()
    cert = issue_certificate(
        ca_cert=beijing.cert,
        ca_key=beijing.key,
        public_key=key.public_key(),
        role=Role.VALIDATOR,
        name="beijing-2",
        not_before=NOW,
        not_after=NOW + timedelta(days=1),
        hosts=["10.0.0.7", "node2.example.org", "localhost"],
    )
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [
        "beijing-2.beijing.eledger",
        "localhost",
        "node2.example.org",
    ]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "10.0.0.7"]


def test_issue_certificate_issuer_carries_uscc_and_non_repudiation(beijing, issue):
    cert = issue(beijing, Role.ISSUER, "haidian-market").cert
    (value,) = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    assert value.value == f"NTRCN-{VALID_USCC}"
    usage = ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == []


def test_issue_certificate_takes_region_from_ca(tianjin, issue):
    cert = issue(tianjin, Role.STAFF, "window-3").cert
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "urn:eledger:tianjin:staff:window-3"
    ]


def test_issue_certificate_accepts_role_string(beijing):
    key = generate_key()
    cert = issue_certificate(
        ca_cert=beijing.cert,
        ca_key=beijing.key,
        public_key=key.public_key(),
        role="partner",
        name="gw",
        not_before=NOW,
        not_after=NOW + timedelta(days=1),
    )
    assert (
        "partner"
        in ext(cert, x509.SubjectAlternativeName).value.get_values_for_type(
            x509.UniformResourceIdentifier
        )[0]
    )


@pytest.mark.parametrize(
    "role, uscc, fragment",
    [
        (Role.ISSUER, None, "needs the department's USCC"),
        (Role.ISSUER, "91350100M000100Y44", "check character"),
        (Role.STAFF, VALID_USCC, "only issuer certificates carry a USCC"),
    ],
)
def test_issue_certificate_enforces_uscc_rules(beijing, role, uscc, fragment):
    key = generate_key()
    with pytest.raises(CertError, match=fragment) as info:
        issue_certificate(
            ca_cert=beijing.cert,
            ca_key=beijing.key,
            public_key=key.public_key(),
            role=role,
            name="d",
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
            uscc=uscc,
        )
    assert info.value.code == "cert.bad_uscc"


def test_issue_certificate_refuses_hosts_for_non_node(beijing):
    key = generate_key()
    with pytest.raises(CertError, match="only validator and observer") as info:
        issue_certificate(
            ca_cert=beijing.cert,
            ca_key=beijing.key,
            public_key=key.public_key(),
            role=Role.STAFF,
            name="s",
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
            hosts=["example.org"],
        )
    assert info.value.code == "cert.bad_name"


@pytest.mark.parametrize(
    "not_before, not_after, fragment",
    [
        (NOW, NOW, "window is empty"),
        (NOW, NOW - timedelta(seconds=1), "window is empty"),
        (NOW, NOW + timedelta(days=4000), "not inside the CA's"),
        (NOW - timedelta(days=2), NOW, "not inside the CA's"),
        (NOW.replace(tzinfo=None), NOW.replace(tzinfo=None) + timedelta(days=1), "timezone-aware"),
    ],
)
def test_issue_certificate_rejects_bad_windows(beijing, not_before, not_after, fragment):
    key = generate_key()
    with pytest.raises(CertError, match=fragment) as info:
        issue_certificate(
            ca_cert=beijing.cert,
            ca_key=beijing.key,
            public_key=key.public_key(),
            role=Role.STAFF,
            name="s",
            not_before=not_before,
            not_after=not_after,
        )
    assert info.value.code == "cert.bad_validity"


def test_issue_certificate_rejects_key_of_another_ca(beijing, tianjin):
    key = generate_key()
    with pytest.raises(CertError, match="does not belong to the CA certificate") as info:
        issue_certificate(
            ca_cert=beijing.cert,
            ca_key=tianjin.key,
            public_key=key.public_key(),
            role=Role.STAFF,
            name="s",
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
        )
    assert info.value.code == "cert.malformed"


def test_issue_certificate_rejects_end_entity_as_ca(beijing, issue):
    node = issue(beijing, Role.VALIDATOR, "beijing-1")
    key = generate_key()
    with pytest.raises(CertError, match="not an eledger root CA") as info:
        issue_certificate(
            ca_cert=node.cert,
            ca_key=node.key,
            public_key=key.public_key(),
            role=Role.STAFF,
            name="s",
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
        )
    assert info.value.code == "cert.malformed"


def test_issue_root_ca_rejects_bad_region():
    with pytest.raises(CertError) as info:
        issue_root_ca("Bei Jing", generate_key(), not_before=NOW, not_after=NOW + timedelta(days=1))
    assert info.value.code == "cert.bad_name"
