"""certs.roles: naming rules, the identity URI and the per-role profiles."""

from __future__ import annotations

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import given, settings
from hypothesis import strategies as st

from certs.errors import CertError
from certs.roles import (
    PROFILES,
    Role,
    check_name,
    check_region,
    format_service_name,
    format_urn,
    parse_role,
    parse_urn,
)

names = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
regions = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(regions, st.sampled_from(list(Role)), names)
def test_parse_urn_inverts_format_urn(region, role, name):
    assert parse_urn(format_urn(region, role, name)) == (region, role.value, name)


def test_format_urn_for_root_ca():
    assert format_urn("beijing", "ca", "root") == "urn:eledger:beijing:ca:root"


@pytest.mark.parametrize(
    "urn",
    [
        "urn:eledger:beijing:validator",
        "urn:eledger:beijing:validator:beijing-1:extra",
        "urn:other:beijing:validator:beijing-1",
        "urn:eledger:Beijing:validator:beijing-1",
        "urn:eledger:beijing:king:beijing-1",
        "urn:eledger:beijing:staff:-bad",
    ],
)
def test_parse_urn_rejects_malformed(urn):
    with pytest.raises(CertError) as info:
        parse_urn(urn)
    assert info.value.code == "cert.malformed"


@pytest.mark.parametrize(
    "region", ["b", "Beijing", "1beijing", "bei_jing", "beijing-", "a" * 33, ""]
)
def test_check_region_rejects_bad_names(region):
    with pytest.raises(CertError) as info:
        check_region(region)
    assert info.value.code == "cert.bad_name" and info.value.field == "region"


@pytest.mark.parametrize("name", ["", "-x", "x-", "UPPER", "a.b", "a:b", "a" * 64, "市场监管"])
def test_check_name_rejects_bad_names(name):
    with pytest.raises(CertError) as info:
        check_name(name)
    assert info.value.code == "cert.bad_name"


def test_check_name_accepts_single_label_of_63():
    assert check_name("a" * 63) == "a" * 63


def test_parse_role_lists_valid_roles_on_error():
    assert parse_role("region-admin") is Role.REGION_ADMIN
    with pytest.raises(CertError, match="validator, observer, issuer") as info:
        parse_role("admin")
    assert info.value.code == "cert.wrong_role"


def test_profiles_give_server_auth_to_nodes_only():
    for role, profile in PROFILES.items():
        assert ExtendedKeyUsageOID.CLIENT_AUTH in profile.extended_key_usage
        assert (ExtendedKeyUsageOID.SERVER_AUTH in profile.extended_key_usage) == role.is_node
        assert "key_cert_sign" not in profile.key_usage
    assert set(PROFILES) == set(Role)


def test_auditor_reads_like_staff():
    """pki.md §4.1: an auditor authenticates and reads; it signs nothing others rely on."""
    assert parse_role("auditor") is Role.AUDITOR and not Role.AUDITOR.is_node
    assert PROFILES[Role.AUDITOR] == PROFILES[Role.STAFF]
    assert PROFILES[Role.AUDITOR].key_usage == {"digital_signature"}
    assert PROFILES[Role.AUDITOR].extended_key_usage == {ExtendedKeyUsageOID.CLIENT_AUTH}


def test_format_service_name():
    assert format_service_name("hebei", "hebei-2") == "hebei-2.hebei.eledger"
