"""Issuing certificates: region root CAs and role end-entity certificates (docs/spec/pki.md §3–§4).

Builds X.509 v3 certificates of the eledger profile and signs them with ECDSA P-256/SHA-256.
Validity windows are always explicit arguments: this module never reads the clock. It never
writes files (see `certs.layout`) and never sees a private key other than the signing CA's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certs.errors import CertError
from certs.identity import USCC_IDENTIFIER_PREFIX, read_ca_region
from certs.roles import (
    CA_NAME,
    CA_ROLE,
    KEY_USAGE_BITS,
    PROFILES,
    Role,
    check_name,
    check_region,
    format_service_name,
    format_urn,
    parse_role,
)
from certs.uscc import validate_uscc

ORGANIZATION = "eledger"
NODE_HOSTS = ("localhost", "127.0.0.1")


def format_ca_common_name(region: str) -> str:
    """The root CA's common name, e.g. "eledger beijing root CA"."""
    return f"{ORGANIZATION} {region} root CA"


def issue_root_ca(
    region: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    not_before: datetime,
    not_after: datetime,
    serial: int | None = None,
) -> x509.Certificate:
    """A self-signed root CA certificate for `region` (§3).

    Subject CN "eledger <region> root CA", O "eledger", OU <region>; basicConstraints CA:TRUE
    pathlen:0 and keyUsage keyCertSign+cRLSign (both critical); SAN URI
    `urn:eledger:<region>:ca:root`. Raises CertError "cert.bad_name" for a bad region and
    "cert.bad_validity" for an empty or naive validity window.
    """
    check_region(region)
    _check_window(not_before, not_after)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, format_ca_common_name(region)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, region),
        ]
    )
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage({"key_cert_sign", "crl_sign"}), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(format_urn(region, CA_ROLE, CA_NAME))]
            ),
            critical=False,
        )
    )
    return builder.sign(key, hashes.SHA256())


def issue_certificate(
    *,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    role: Role | str,
    name: str,
    not_before: datetime,
    not_after: datetime,
    uscc: str | None = None,
    hosts: Sequence[str] = (),
    serial: int | None = None,
) -> x509.Certificate:
    """An end-entity certificate for `name` with `role`, in the region of `ca_cert` (§4).

    The region is taken from the CA's identity URI, so a CA can only issue for its own region.
    `uscc` is required for `Role.ISSUER` and refused for other roles. `hosts` adds DNS names
    or IP addresses to a node certificate (validator, observer) beyond localhost, 127.0.0.1
    and `<name>.<region>.eledger`; other roles take none. The window must lie inside the CA's.

    Raises CertError: "cert.bad_name" (name, host), "cert.wrong_role" (unknown role),
    "cert.bad_uscc" (missing, misplaced or invalid USCC), "cert.bad_validity" (window),
    "cert.malformed" (`ca_cert` is not an eledger root CA or `ca_key` is not its key).
    """
    role = parse_role(role) if isinstance(role, str) else role
    check_name(name)
    region = read_ca_region(ca_cert)
    if ca_key.public_key() != ca_cert.public_key():
        raise CertError(
            "the CA private key does not belong to the CA certificate; check the --ca directory",
            code="cert.malformed",
            subject=ca_cert.subject.rfc4514_string(),
        )
    _check_window(not_before, not_after)
    if not_before < ca_cert.not_valid_before_utc or not_after > ca_cert.not_valid_after_utc:
        raise CertError(
            f"validity {not_before.isoformat()} .. {not_after.isoformat()} is not inside the "
            f"CA's {ca_cert.not_valid_before_utc.isoformat()} .. "
            f"{ca_cert.not_valid_after_utc.isoformat()}; shorten it or renew the CA",
            code="cert.bad_validity",
            not_before=not_before.isoformat(),
            not_after=not_after.isoformat(),
        )
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, region),
    ]
    if role is Role.ISSUER:
        if uscc is None:
            raise CertError(
                "an issuer (department) certificate needs the department's USCC; pass uscc",
                code="cert.bad_uscc",
                field="uscc",
            )
        attributes.append(
            x509.NameAttribute(
                NameOID.ORGANIZATION_IDENTIFIER, USCC_IDENTIFIER_PREFIX + validate_uscc(uscc)
            )
        )
    elif uscc is not None:
        raise CertError(
            f"only issuer certificates carry a USCC, not {role.value}; drop uscc",
            code="cert.bad_uscc",
            field="uscc",
        )
    profile = PROFILES[role]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(profile.key_usage), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                sorted(profile.extended_key_usage, key=lambda o: o.dotted_string)
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName(_subject_alt_names(region, role, name, hosts)),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_authority_key_identifier(ca_cert), critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256())


def _subject_alt_names(
    region: str, role: Role, name: str, hosts: Sequence[str]
) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(format_urn(region, role, name))]
    if not role.is_node:
        if hosts:
            raise CertError(
                f"only validator and observer certificates carry host names, not {role.value}",
                code="cert.bad_name",
                field="hosts",
            )
        return names
    seen: set[x509.GeneralName] = set(names)
    for host in (format_service_name(region, name), *NODE_HOSTS, *hosts):
        entry = _host_name(host)
        if entry not in seen:
            seen.add(entry)
            names.append(entry)
    return names


def _host_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.split(".")
    if not all(labels) or any(len(label) > 63 for label in labels) or not host.isascii():
        raise CertError(
            f"bad host name {host!r}: give a DNS name (a.b.c) or an IP address",
            code="cert.bad_name",
            field="hosts",
            actual=host,
        )
    return x509.DNSName(host.lower())


def _authority_key_identifier(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _key_usage(bits: frozenset[str] | set[str]) -> x509.KeyUsage:
    flags = {bit: bit in bits for bit in KEY_USAGE_BITS}
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


def _check_window(not_before: datetime, not_after: datetime) -> None:
    if not_before.tzinfo is None or not_after.tzinfo is None:
        raise CertError(
            "validity times must be timezone-aware (UTC)",
            code="cert.bad_validity",
            not_before=str(not_before),
            not_after=str(not_after),
        )
    if not_before >= not_after:
        raise CertError(
            f"validity window is empty: not_before {not_before.isoformat()} is not before "
            f"not_after {not_after.isoformat()}",
            code="cert.bad_validity",
            not_before=not_before.isoformat(),
            not_after=not_after.isoformat(),
        )
