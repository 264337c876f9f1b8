"""certs.validate: chain, time, profile, role and region checks (docs/spec/pki.md §5.1)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from certs.errors import CertError
from certs.identity import read_identity
from certs.issue import issue_certificate, issue_root_ca
from certs.keys import generate_key
from certs.roles import Role
from tests.certs.conftest import NOW, make_authority, rebuild

AT = NOW + timedelta(days=10)


def rejects(code: str, cert: x509.Certificate, **kwargs) -> CertError:
    kwargs.setdefault("at", AT)
    with pytest.raises(CertError) as info:
        validate(cert, **kwargs)
    assert info.value.code == code, str(info.value)
    return info.value


def validate(cert, *, roots, at=AT, **kwargs):
    from certs.validate import validate_certificate

    return validate_certificate(cert, roots=roots, at=at, **kwargs)


def make_ca(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    path_length: int | None,
    region: str = "beijing",
) -> x509.Certificate:
    """A CA certificate outside `issue_root_ca`'s profile (sub-CAs, roots without pathlen)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = signer if signer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=900))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"urn:eledger:{region}:ca:root")]
            ),
            critical=False,
        )
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def issue_under(ca_cert, ca_key, role=Role.STAFF, name="holder-1", days=100):
    key = generate_key()
    return issue_certificate(
        ca_cert=ca_cert,
        ca_key=ca_key,
        public_key=key.public_key(),
        role=role,
        name=name,
        not_before=NOW,
        not_after=NOW + timedelta(days=days),
    )


# -- happy paths ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_validate_certificate_accepts_each_role(beijing, tianjin, issue, role):
    leaf = issue(beijing, role, "holder-2")
    identity = validate(leaf.cert, roots=[tianjin.cert, beijing.cert], role=role, region="beijing")
    assert identity == read_identity(leaf.cert)
    assert (identity.region, identity.role, identity.name) == ("beijing", role, "holder-2")


def test_validate_certificate_accepts_at_window_edges(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    validate(leaf.cert, roots=[beijing.cert], at=leaf.cert.not_valid_before_utc)
    validate(leaf.cert, roots=[beijing.cert], at=leaf.cert.not_valid_after_utc)


def test_validate_certificate_tolerates_repeated_roots(beijing, issue):
    leaf = issue(beijing, Role.PARTNER)
    assert validate(leaf.cert, roots=[beijing.cert, beijing.cert]).role is Role.PARTNER


def test_validate_certificate_follows_intermediate_when_root_allows(issue):
    root_key, sub_key = generate_key(), generate_key()
    root = make_ca("open root", root_key, signer=None, path_length=None)
    sub = make_ca("sub CA", sub_key, signer=(root, root_key), path_length=0)
    leaf = issue_under(sub, sub_key)
    assert validate(leaf, roots=[root], intermediates=[sub]).region == "beijing"


# -- time -----------------------------------------------------------------------------------


def test_validate_certificate_rejects_expired(beijing, issue):
    leaf = issue(beijing, Role.VALIDATOR, not_after=NOW + timedelta(days=5))
    error = rejects(
        "cert.expired", leaf.cert, roots=[beijing.cert], at=NOW + timedelta(days=5, microseconds=1)
    )
    assert "expired at" in str(error) and error.not_after == (NOW + timedelta(days=5)).isoformat()


def test_validate_certificate_rejects_not_yet_valid(beijing, issue):
    leaf = issue(beijing, Role.ISSUER, not_before=NOW + timedelta(days=30))
    error = rejects("cert.not_yet_valid", leaf.cert, roots=[beijing.cert])
    assert error.at == AT.isoformat()


def test_validate_certificate_checks_root_validity_too(issue):
    short = make_authority("hebei", days=20)
    leaf = issue_under(short.cert, short.key, days=10)
    outliving = rebuild(leaf, short.key, not_after=NOW + timedelta(days=90))
    error = rejects("cert.expired", outliving, roots=[short.cert], at=NOW + timedelta(days=30))
    assert "root CA" in error.subject


def test_validate_certificate_requires_aware_time(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    with pytest.raises(ValueError, match="timezone-aware"):
        validate(leaf.cert, roots=[beijing.cert], at=datetime(2025, 3, 2))


# -- trust ----------------------------------------------------------------------------------


def test_validate_certificate_rejects_other_regions_ca(beijing, tianjin, issue):
    leaf = issue(tianjin, Role.VALIDATOR, "tianjin-1")
    error = rejects("cert.untrusted_issuer", leaf.cert, roots=[beijing.cert])
    assert "not one of the trusted roots" in str(error)
    assert validate(leaf.cert, roots=[beijing.cert, tianjin.cert]).region == "tianjin"


def test_validate_certificate_rejects_impostor_ca_with_same_subject(beijing):
    impostor_key = generate_key()
    impostor = issue_root_ca(
        "beijing",
        impostor_key,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=400),
    )
    assert impostor.subject == beijing.cert.subject
    leaf = issue_under(impostor, impostor_key, Role.REGION_ADMIN, "beijing-admin")
    error = rejects("cert.untrusted_issuer", leaf, roots=[beijing.cert])
    assert "different key" in str(error)
    error = rejects("cert.untrusted_issuer", leaf, roots=[beijing.cert], intermediates=[impostor])
    assert "self-signed" in str(error)


def test_validate_certificate_rejects_impostor_without_key_identifier(beijing):
    impostor_key = generate_key()
    impostor = issue_root_ca(
        "beijing",
        impostor_key,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=400),
    )
    leaf = issue_under(impostor, impostor_key)
    stripped = rebuild(leaf, impostor_key, drop=(x509.AuthorityKeyIdentifier,))
    rejects("cert.bad_signature", stripped, roots=[beijing.cert])


def test_validate_certificate_rejects_self_signed_leaf(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    selfish = rebuild(
        leaf.cert, leaf.key, issuer=leaf.cert.subject, drop=(x509.AuthorityKeyIdentifier,)
    )
    rejects("cert.untrusted_issuer", selfish, roots=[beijing.cert])


def test_validate_certificate_rejects_tampered_signature(beijing, issue):
    der = bytearray(issue(beijing, Role.VALIDATOR).cert.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01
    tampered = x509.load_der_x509_certificate(bytes(der))
    error = rejects("cert.bad_signature", tampered, roots=[beijing.cert])
    assert "altered or forged" in str(error)


def test_validate_certificate_rejects_tampered_content(beijing, issue):
    der = issue(beijing, Role.STAFF, "holder-1").cert.public_bytes(serialization.Encoding.DER)
    assert der.count(b"staff:holder-1") == 1
    tampered = x509.load_der_x509_certificate(der.replace(b"staff:holder-1", b"staff:holder-9"))
    assert read_identity(tampered).name == "holder-9"
    rejects("cert.bad_signature", tampered, roots=[beijing.cert])


def test_validate_certificate_rejects_non_ca_issuer(beijing, issue):
    node = issue(beijing, Role.VALIDATOR, "beijing-1")
    child = rebuild(
        issue(beijing, Role.STAFF).cert,
        node.key,
        issuer=node.cert.subject,
        replace=(
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(node.key.public_key()), False),
        ),
    )
    error = rejects("cert.not_a_ca", child, roots=[beijing.cert], intermediates=[node.cert])
    assert "not a CA" in str(error)
    rejects("cert.not_a_ca", child, roots=[node.cert])


def test_validate_certificate_rejects_intermediate_under_pathlen_zero(beijing):
    sub_key = generate_key()
    sub = make_ca("beijing sub CA", sub_key, signer=(beijing.cert, beijing.key), path_length=None)
    leaf = issue_under(sub, sub_key)
    error = rejects("cert.path_too_long", leaf, roots=[beijing.cert], intermediates=[sub])
    assert "allows 0 intermediate CAs" in str(error)


def test_validate_certificate_limits_chain_length():
    keys = [generate_key() for _ in range(7)]
    chain = [make_ca("ca-0", keys[0], signer=None, path_length=None)]
    for i in range(1, 7):
        chain.append(make_ca(f"ca-{i}", keys[i], signer=(chain[-1], keys[i - 1]), path_length=None))
    leaf = issue_under(chain[-1], keys[-1])
    rejects("cert.path_too_long", leaf, roots=[chain[0]], intermediates=chain[1:])


# -- profile, role, region ------------------------------------------------------------------


def test_validate_certificate_rejects_region_claim_of_other_ca(beijing, issue):
    leaf = issue(beijing, Role.VALIDATOR, "x-1")
    claim = x509.SubjectAlternativeName(
        [x509.UniformResourceIdentifier("urn:eledger:tianjin:validator:x-1")]
    )
    forged = rebuild(leaf.cert, beijing.key, replace=((claim, False),))
    error = rejects("cert.region_mismatch", forged, roots=[beijing.cert])
    assert (error.expected, error.actual) == ("beijing", "tianjin")


def test_validate_certificate_rejects_wrong_role(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    error = rejects("cert.wrong_role", leaf.cert, roots=[beijing.cert], role=Role.VALIDATOR)
    assert (error.expected, error.actual) == ("validator", "staff")
    rejects("cert.wrong_role", leaf.cert, roots=[beijing.cert], role="partner")
    assert validate(leaf.cert, roots=[beijing.cert], role="staff").role is Role.STAFF


def test_validate_certificate_rejects_wrong_region(beijing, tianjin, issue):
    leaf = issue(tianjin, Role.PARTNER, "tianjin-gateway")
    error = rejects(
        "cert.wrong_region", leaf.cert, roots=[beijing.cert, tianjin.cert], region="beijing"
    )
    assert (error.expected, error.actual) == ("beijing", "tianjin")


def test_validate_certificate_rejects_staff_with_server_auth(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    both = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    forged = rebuild(leaf.cert, beijing.key, replace=((both, False),))
    rejects("cert.wrong_usage", forged, roots=[beijing.cert])


def test_validate_certificate_rejects_missing_non_repudiation_on_issuer(beijing, issue):
    leaf = issue(beijing, Role.ISSUER)
    plain = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    forged = rebuild(leaf.cert, beijing.key, replace=((plain, True),))
    error = rejects("cert.wrong_usage", forged, roots=[beijing.cert])
    assert error.expected == ["content_commitment", "digital_signature"]


def test_validate_certificate_rejects_ca_flag_on_end_entity(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    forged = rebuild(
        leaf.cert, beijing.key, replace=((x509.BasicConstraints(ca=True, path_length=0), True),)
    )
    rejects("cert.wrong_usage", forged, roots=[beijing.cert])


def test_validate_certificate_rejects_unknown_critical_extension(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    odd = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00")
    forged = rebuild(leaf.cert, beijing.key, add=((odd, True),))
    error = rejects("cert.malformed", forged, roots=[beijing.cert])
    assert error.extension == "1.3.6.1.4.1.55555.1"


def test_validate_certificate_rejects_non_p256_key(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    forged = rebuild(leaf.cert, beijing.key, public_key=p384)
    error = rejects("cert.malformed", forged, roots=[beijing.cert])
    assert "P-256" in str(error)


# -- RFC 5280 second opinion ----------------------------------------------------------------


def test_validate_certificate_rejects_missing_authority_key_id(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    forged = rebuild(leaf.cert, beijing.key, drop=(x509.AuthorityKeyIdentifier,))
    rejects("cert.policy_violation", forged, roots=[beijing.cert])


def test_validate_certificate_rejects_forbidden_signature_hash(beijing, issue):
    leaf = issue(beijing, Role.STAFF)
    forged = rebuild(leaf.cert, beijing.key, algorithm=hashes.SHA224())
    error = rejects("cert.policy_violation", forged, roots=[beijing.cert])
    assert "signature algorithm" in str(error)
