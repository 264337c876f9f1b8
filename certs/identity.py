"""What a certificate says about its holder: the `Identity` (docs/spec/pki.md §2.2, §4.3).

Reads the identity URI, role, region, name and (for issuers) USCC out of a certificate of the
eledger profile. Reading is not trusting: these functions check form only, never the chain,
signature or time; `certs.validate.validate_certificate` does that and returns the same
`Identity` only for a certificate it trusts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from certs.errors import CertError
from certs.keys import encode_public_key, fingerprint_certificate
from certs.roles import CA_ROLE, URN_PREFIX, Role, parse_urn
from certs.uscc import validate_uscc

#: ETSI EN 319 412-1 §5.1.4 semantics identifier: national trade register, China (§4.3).
USCC_IDENTIFIER_PREFIX = "NTRCN-"


@dataclass(frozen=True)
class Identity:
    """The holder of an end-entity certificate.

    `public_key_der` is the DER SubjectPublicKeyInfo; `fingerprint` is the lower-case hex
    SHA-256 of the certificate's DER; `uscc` is set for `Role.ISSUER` only. Times are UTC.
    """

    region: str
    role: Role
    name: str
    public_key_der: bytes
    serial: int
    fingerprint: str
    not_before: datetime
    not_after: datetime
    uscc: str | None = None

    @property
    def urn(self) -> str:
        """The identity URI `urn:eledger:<region>:<role>:<name>` the certificate carries."""
        return f"{URN_PREFIX}{self.region}:{self.role.value}:{self.name}"


def read_identity(cert: x509.Certificate) -> Identity:
    """The `Identity` an end-entity certificate claims, without checking whom to trust.

    Raises CertError "cert.malformed" if the certificate has not exactly one eledger identity
    URI, names a root CA instead of a role, or is an issuer certificate without a valid USCC.
    """
    region, role_text, name = _parse_identity_urn(cert)
    if role_text == CA_ROLE:
        raise CertError(
            f"{_subject(cert)} is the root CA of {region}, not an end-entity certificate; "
            "use a node, department, staff, partner or admin certificate",
            code="cert.malformed",
            subject=_subject(cert),
        )
    role = Role(role_text)
    return Identity(
        region=region,
        role=role,
        name=name,
        public_key_der=encode_public_key(cert.public_key()),
        serial=cert.serial_number,
        fingerprint=fingerprint_certificate(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        uscc=_read_uscc(cert) if role is Role.ISSUER else None,
    )


def read_ca_region(cert: x509.Certificate) -> str:
    """The region of an eledger root CA certificate (its `urn:eledger:<region>:ca:root` URI).

    Raises CertError "cert.malformed" if `cert` carries no such URI.
    """
    region, role_text, _ = _parse_identity_urn(cert)
    if role_text != CA_ROLE:
        raise CertError(
            f"{_subject(cert)} is a {role_text} certificate, not an eledger root CA",
            code="cert.malformed",
            subject=_subject(cert),
        )
    return region


def extension(cert: x509.Certificate, kind: type) -> object | None:
    """The value of `cert`'s extension of class `kind`, or None if absent; CertError
    "cert.malformed" if the extensions cannot be decoded."""
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    except ValueError as exc:
        raise CertError(
            f"{_subject(cert)} has undecodable extensions: {exc}",
            code="cert.malformed",
            subject=_subject(cert),
        ) from None


def _parse_identity_urn(cert: x509.Certificate) -> tuple[str, str, str]:
    san = extension(cert, x509.SubjectAlternativeName) or x509.SubjectAlternativeName([])
    urns = [
        u
        for u in san.get_values_for_type(x509.UniformResourceIdentifier)
        if u.startswith(URN_PREFIX)
    ]
    if len(urns) != 1:
        raise CertError(
            f"{_subject(cert)} carries {len(urns)} eledger identity URIs; an eledger certificate "
            "carries exactly one urn:eledger:<region>:<role>:<name> in its subjectAltName",
            code="cert.malformed",
            subject=_subject(cert),
        )
    return parse_urn(urns[0])


def _read_uscc(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    texts = [v.value for v in values if isinstance(v.value, str)]
    if len(texts) != 1 or not texts[0].startswith(USCC_IDENTIFIER_PREFIX):
        raise CertError(
            f"issuer certificate {_subject(cert)} must carry exactly one organizationIdentifier "
            f"{USCC_IDENTIFIER_PREFIX}<USCC>",
            code="cert.malformed",
            subject=_subject(cert),
        )
    code = texts[0][len(USCC_IDENTIFIER_PREFIX) :]
    try:
        canonical = validate_uscc(code)
    except CertError as exc:
        raise CertError(
            f"issuer certificate {_subject(cert)} carries a bad USCC: {exc}",
            code="cert.malformed",
            subject=_subject(cert),
        ) from None
    if canonical != code:
        raise CertError(
            f"issuer certificate {_subject(cert)} carries a USCC not in canonical upper case",
            code="cert.malformed",
            subject=_subject(cert),
        )
    return canonical


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()
