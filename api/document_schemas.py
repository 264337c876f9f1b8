"""Shapes of what a holder presents in a request body: the licence document (domain.md §7) and
a seal signature (domain.md §4), for the OpenAPI document (docs/spec/api.md §1.3, §2.9, §2.11,
§2.16).

They say member by member what `LicenceDocument.from_json` and `SealSignature.from_json` accept,
so a request built from the schema is refused only for what a schema cannot state (a check
character: the formats of api.md §1.2; members that must agree with each other; the hash and
the signature). The routes keep reading these values with the ledger's parsers, whose
`document.*` and `seal_signature.*` codes name the member at fault: `DocumentObject` is validated
as any JSON object and only documented as a document. Must never parse or judge a document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from api.schemas import Omitted, Schema, SignatureJson, inline_json_schema, omitted
from api.spelling import Bytes32, Date, LicenceIdText, Time, TypeCode, Uscc, b64
from ledger.document import FORMAT, MAX_FIELD_NAME, MAX_FIELD_VALUE, MAX_FIELDS, MAX_ID_NUMBER, MAX_NAME, SALT_SIZE
from ledger.seals import SEALED_KINDS

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]


class SealSignatureJson(Schema):
    """A seal signature (domain.md §4): the seal, the document hash it covers, the key that made
    it and when; `kind` for a first version's document, which is also its licence.issue."""

    seal_id: str = Field(pattern=r"^[0-9A-Z]{8,32}$")
    document_hash: Bytes32
    signer: Bytes32 = Field(description="key id of the signing key")
    signing_time: Time
    signature: SignatureJson
    kind: Literal[tuple(sorted(SEALED_KINDS))] | Omitted = omitted("the transaction kind the statement also authenticates")  # type: ignore[valid-type]


class IssuerPartJson(Schema):
    uscc: Uscc = Field(description="the issuer's USCC, as in the licence id")
    name: Name


class EnterpriseHolderPartJson(Schema):
    kind: Literal["enterprise"]
    uscc: Uscc
    name: Name


class PersonHolderPartJson(Schema):
    """A natural person in full: the document is the holder's; only a salted commitment of this
    reaches the ledger (domain.md §6)."""

    kind: Literal["person"]
    name: Name
    id_number: str = Field(min_length=1, max_length=MAX_ID_NUMBER)
    salt: b64(SALT_SIZE)  # type: ignore[valid-type]


class LicencePartJson(Schema):
    """The `licence` member (domain.md §7). `type` and `issuer.uscc` are those of `id`."""

    id: LicenceIdText
    type: TypeCode
    type_name: Name
    issuer: IssuerPartJson
    holder: EnterpriseHolderPartJson | PersonHolderPartJson = Field(discriminator="kind")
    fields: dict[Annotated[str, Field(min_length=1, max_length=MAX_FIELD_NAME)], Annotated[str, Field(max_length=MAX_FIELD_VALUE)]] = Field(
        max_length=MAX_FIELDS, description="the licence's own fields, by name",
    )
    issue_date: Date
    valid_from: Date
    valid_until: Date | None = Field(description="null: permanent; not before valid_from")
    commitment_deadline: Date | None = Field(description="a notification commitment's deadline (null: none); not before issue_date")


class LicenceDocumentJson(Schema):
    """A licence document (domain.md §7): the licence and the issuing seal's signature over its
    hash. At most 64 KiB in canonical form."""

    format: Literal[FORMAT]  # type: ignore[valid-type]
    licence: LicencePartJson
    seal_signature: SealSignatureJson


#: A request member holding a licence document: any JSON object to validation (the ledger reads
#: it: `document.*` codes), a licence document to the OpenAPI document.
DocumentObject = Annotated[dict[str, Any], WithJsonSchema(inline_json_schema(LicenceDocumentJson))]
