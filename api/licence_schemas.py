"""Shapes of the verification service over HTTP: verify, licence reads, use lists and receipts
(docs/spec/api.md §1.3, §2.11–§2.18).

Pydantic models distinct from the domain values they render (ledger.verify.Verdict, licence
records, use records, ledger.receipt.Receipt): request models are what `api.bodies.read_model`
checks a body against (strictly: no coercion, no unknown member, no null); answer models say
what an answer holds and generate the OpenAPI schema, and the tests check every answer against
them. Each carries an example (api/examples.py). Binary values are base64url without padding
(encoding.md §4). This module must never read the ledger nor reach the node.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from api import examples
from api.schemas import HeaderJson, Omitted, Schema, SignatureJson, TxJson, inline_json_schema, omitted
from api.document_schemas import DocumentObject
from api.spelling import REGION_PATTERN, B64, Bytes32, ChainId, Count, Date, DatedTime, LicenceIdText, Region, SignatureValue, Time
from ledger.block import MAX_BLOCK_TXS
from ledger.commit import MAX_ROUND
from ledger.encoding import MAX_SAFE_INTEGER
from ledger.qr import MAX_PAYLOAD_CHARS, PREFIX
from ledger.receipt import FORMAT as RECEIPT_FORMAT
from ledger.receipt import MAX_INCLUSION
from ledger.uses import CALLER_NAME_RE, CALLER_ROLES, MAX_RECORDS, PRESENTED, VERDICTS
from ledger.validators import MAX_VALIDATORS

#: domain.md §10.1, as JSON Schema patterns.
ITEM_CODE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
ITEM_NAME_PATTERN = r"^[^\x00-\x1f\x7f]{1,128}$"
SERIAL_PATTERN = r"^[A-Za-z0-9._:/-]{1,64}$"
_BASE45 = r"[0-9A-Z $%*+./:-]"
#: qr.md §1, §3: the version prefix, then base45 (RFC 9285) in groups of 3 characters, the last
#: of 2 or 3. What the base45 holds (a zlib stream of a CBOR map) no pattern states.
QR_PATTERN = f"^{PREFIX}(?:{_BASE45}{{3}})*(?:{_BASE45}{{2}})?$"
QR_DESCRIPTION = "the payload of the document's QR code (qr.md), as scanned; a longer one is refused qr.too_large"


def optional(description: str, **schema: object) -> Any:
    """A request member that may be left out (never null: api.bodies refuses null). Typed
    `X | None`; its schema is X's, with `schema` added, not required, without `null`."""

    def only_value(field: dict[str, Any]) -> None:
        field.pop("default", None)
        choices = field.pop("anyOf", None)
        if choices is not None:
            (value,) = [c for c in choices if c.get("type") != "null"]
            for key, item in value.items():
                field.setdefault(key, item)  # the member's own description wins over its type's
        field.update(schema)

    return Field(default=None, description=description, json_schema_extra=only_value)


def _examples(*items: object, **schema: object) -> ConfigDict:
    """The config of a model with these examples, and `schema` added to its JSON schema (what
    JSON Schema states of the members together)."""
    return ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": list(items), **schema})


# -- purpose of use (domain.md §10.1) ---------------------------------------------------------


class PurposeJson(Schema):
    """Why the caller verifies: the service item (事项编码 / 事项名称) and the business serial
    number (业务流水号) of the case it serves."""

    model_config = _examples(examples.PURPOSE)

    item_code: str = Field(pattern=ITEM_CODE_PATTERN, description="事项编码: the service item's code")
    item_name: str = Field(pattern=ITEM_NAME_PATTERN, description="事项名称: the service item's name, 1..128 characters, no control character")
    serial: str = Field(pattern=SERIAL_PATTERN, description="业务流水号: the business serial number of the case")


# -- licence records and their public metadata (domain.md §5, §9.5) ---------------------------


class EnterpriseHolderJson(Schema):
    kind: Literal["enterprise"]
    uscc: str = Field(description="the enterprise's USCC")


class PersonHolderJson(Schema):
    kind: Literal["person"]
    commitment: B64 = Field(description="the salted commitment to the person's name and ID number (domain.md §6); never the data")


class ReasonJson(Schema):
    code: str = Field(description="reason code (domain.md §1)")
    note: str | None


class RecordCommitmentJson(Schema):
    deadline: Date
    state: Literal["pending", "confirmed", "failed", "void"]


class StoredSealSignatureJson(Schema):
    seal_id: str
    signer: B64 = Field(description="key id of the signer")
    signing_time: Time
    signature: SignatureJson


class LicenceRecordJson(Schema):
    """A licence record `lic/<id>` exactly as stored (domain.md §5)."""

    model_config = _examples(examples.RECORD)

    id: LicenceIdText
    region: Region = Field(description="the issuing organisation's region")
    holder: EnterpriseHolderJson | PersonHolderJson = Field(discriminator="kind")
    document_hash: B64
    issue_date: Date
    valid_from: Date
    valid_until: Date | None
    status: Literal["valid", "suspended", "revoked", "annulled", "cancelled"] = Field(description="the stored status (lapsed is derived, never stored)")
    reason: ReasonJson | None
    commitment: RecordCommitmentJson | None
    supersedes: LicenceIdText | None
    superseded_by: LicenceIdText | None
    seal_signature: StoredSealSignatureJson
    issued_at: Time
    updated_at: Time


class TypeJson(Schema):
    code: str
    name: str | None = Field(description="the type's registered name; null when the state at hand cannot tell it")


class IssuerJson(Schema):
    uscc: str
    name: str | None = Field(description="the issuing organisation's name; null when the state at hand cannot tell it")
    region: Region


class EnterpriseJson(Schema):
    kind: Literal["enterprise"]
    uscc: str


class PersonJson(Schema):
    kind: Literal["person"]


class ValidityJson(Schema):
    valid_from: Date
    valid_until: Date | None = Field(description="null: permanent")
    in_force: bool = Field(description="whether the window covers `at_time`")


class StatusJson(Schema):
    code: Literal["valid", "suspended", "revoked", "annulled", "cancelled", "lapsed"] = Field(description="the status at `at_time` (lapsed derived)")
    name: str = Field(description="its Chinese name: 有效, 暂扣, 吊销, 撤销, 注销, 失效")
    reason: ReasonJson | None
    updated_at: Time


class CommitmentJson(Schema):
    state: Literal["pending", "confirmed", "failed", "void"]
    deadline: Date
    overdue: bool


class LicenceJson(Schema):
    """What may be told about a licence (domain.md §9.5): nothing of a person but the kind."""

    model_config = _examples(examples.LICENCE)

    id: LicenceIdText
    version: str = Field(pattern=r"^[0-9]{3}$")
    type: TypeJson
    issuer: IssuerJson
    holder: EnterpriseJson | PersonJson = Field(discriminator="kind")
    issue_date: Date
    validity: ValidityJson
    status: StatusJson
    supersedes: LicenceIdText | None
    superseded_by: LicenceIdText | None
    commitment: CommitmentJson | None
    issued_at: Time
    at_time: Time


class AsOf(Schema):
    """The committed block whose state the answer reflects (the view's tip)."""

    model_config = _examples(examples.AS_OF)

    height: Count
    block_hash: Bytes32
    state_root: Bytes32
    time: Time = Field(description="the block's time")


# -- use records and receipts (domain.md §10.1, receipts.md) ----------------------------------


class CallerJson(Schema):
    region: Region
    role: Literal[tuple(sorted(CALLER_ROLES))]  # type: ignore[valid-type]
    name: str = Field(pattern=f"^{CALLER_NAME_RE.pattern}$", description="the certificate's subject name (pki.md §2.1)")
    certificate: Bytes32 = Field(description="SHA-256 of the caller certificate's DER")


class UseRecordJson(Schema):
    """A use record (用证留痕, domain.md §10.1): no personal data of a holder."""

    model_config = _examples(examples.USE_RECORD)

    asking_region: Region
    caller: CallerJson
    height: int = Field(ge=1, le=MAX_SAFE_INTEGER, description="the committed height the verdict reflects")
    licence_id: LicenceIdText
    node: Region = Field(description="the validator that answered")
    presented: Literal[tuple(sorted(PRESENTED))]  # type: ignore[valid-type]
    purpose: PurposeJson
    seq: Count = Field(description="the node's number for the record")
    time: Time = Field(description="when the node answered, by its clock")
    verdict: Literal[tuple(sorted(VERDICTS))]  # type: ignore[valid-type]


class PlaceJson(Schema):
    height: int = Field(ge=1, le=MAX_SAFE_INTEGER)
    tx_index: int = Field(ge=0, lt=MAX_BLOCK_TXS)
    record_index: int = Field(ge=0, lt=MAX_RECORDS)


class PrecommitsJson(Schema):
    round: int = Field(ge=0, le=MAX_ROUND)
    signatures: dict[str, SignatureValue] = Field(
        max_length=MAX_VALIDATORS, json_schema_extra={"propertyNames": {"pattern": REGION_PATTERN}}, description="precommit signatures by genesis validator name",
    )


class RecordProofJson(Schema):
    tx: TxJson = Field(description="the use.record transaction")
    log_index: Count
    inclusion: list[Bytes32] = Field(max_length=MAX_INCLUSION, description="RFC 9162 inclusion path at `header`")
    header: HeaderJson
    previous: HeaderJson | None
    commit: PrecommitsJson


class ReceiptJson(Schema):
    """A receipt (receipts.md §1): the use record signed by the answering validator; in its
    committed form (receipts.md §2) also `place` and `proof`, which come together."""

    model_config = _examples(examples.RECEIPT, dependentRequired={"place": ["proof"], "proof": ["place"]})

    format: Literal[RECEIPT_FORMAT]  # type: ignore[valid-type]
    chain_id: ChainId
    record: UseRecordJson
    signature: SignatureJson
    place: PlaceJson | Omitted = omitted("committed form only (receipts.md §2)")
    proof: RecordProofJson | Omitted = omitted("committed form only (receipts.md §2)")


class CommittedReceiptJson(Schema):
    """A receipt in its committed form (receipts.md §2): where the record is and the proof."""

    model_config = _examples(examples.COMMITTED_RECEIPT)

    format: Literal[RECEIPT_FORMAT]  # type: ignore[valid-type]
    chain_id: ChainId
    record: UseRecordJson
    signature: SignatureJson
    place: PlaceJson
    proof: RecordProofJson


# -- POST /v1/verify (api.md §2.11) --------------------------------------------------------------


class VerifyRequest(Schema):
    """A licence to judge: by `licence_id`, by the holder's `document`, or by its `qr` payload
    (exactly one of `document` and `qr`, or neither with `licence_id`; an id beside either must
    name the same licence)."""

    model_config = _examples(
        examples.VERIFY_BY_ID, examples.VERIFY_BY_QR,
        anyOf=[{"required": ["licence_id"]}, {"required": ["document"]}, {"required": ["qr"]}], **{"not": {"required": ["document", "qr"]}},
    )

    licence_id: LicenceIdText | None = optional("the licence's identifier, any version")
    document: DocumentObject | None = optional("the licence document the holder presents (domain.md §7)")
    qr: str | None = optional(QR_DESCRIPTION, pattern=QR_PATTERN, maxLength=MAX_PAYLOAD_CHARS)
    asking_region: Region | None = optional("where the licence is to count; default the caller's region")
    at_time: DatedTime | None = optional("the time asked about (ms); default the node's current time")
    purpose: PurposeJson | None = optional("the purpose of use: required of partner and staff callers")


class CheckJson(Schema):
    name: str
    ok: bool | None
    outcome: Literal["passed", "failed", "undecided", "not_applicable"]
    detail: str = Field(description="for people; never a person's name or ID number")


class RecognitionJson(Schema):
    region: Region
    from_region: Region
    type: str
    as_type: str
    conditions: str
    declared_at: Time


class VerifyAnswer(Schema):
    """The verdict (domain.md §9.4), the licence's public metadata, the height it reflects and,
    for a recorded verification, the receipt of its use record."""

    model_config = _examples(examples.VERIFY_ANSWER)

    verdict: Literal["valid", "invalid", "indeterminate"]
    licence_id: LicenceIdText
    presented: Literal["id", "document", "qr"]
    asking_region: Region
    at_time: Time
    height: int = Field(ge=1)
    checks: list[CheckJson]
    seal_checks: list[CheckJson]
    recognition: RecognitionJson | None
    record: LicenceRecordJson | None = Field(description="the record judged; null when absent")
    licence: LicenceJson | None = Field(description="its public metadata at `at_time`; null when absent")
    as_of: AsOf
    receipt: ReceiptJson | None = Field(description="the receipt of the use record; null when the verification is not recorded")


# -- licence reads (api.md §2.12–§2.14) -------------------------------------------------------------


class LicenceAnswer(Schema):
    """One version of a licence: its record and public metadata."""

    model_config = _examples(examples.LICENCE_ANSWER)

    record: LicenceRecordJson
    licence: LicenceJson
    as_of: AsOf


class HistoryItemJson(Schema):
    height: int = Field(ge=1)
    index: int = Field(ge=0, description="the transaction's position in its block")
    kind: str = Field(description="the licence transaction's kind")
    id: LicenceIdText = Field(description="the version it made or acted on")
    status: Literal["valid", "suspended", "revoked", "annulled", "cancelled"]
    commitment: Literal["pending", "confirmed", "failed", "void"] | None
    reason: str | None
    time: Time = Field(description="the block's time")
    tx: B64 = Field(description="the transaction's id")


class HistoryPage(Schema):
    """A page of a licence's history (追溯, domain.md §8.3), oldest first."""

    model_config = _examples(examples.HISTORY_PAGE)

    items: list[HistoryItemJson]
    next_cursor: str | None = Field(description="give it as `after` for the next page; null: no more")
    as_of: AsOf


class LicencePage(Schema):
    """A page of licences found (domain.md §8.2): their latest versions' metadata."""

    model_config = _examples(examples.LICENCE_PAGE)

    items: list[LicenceJson]
    next_cursor: str | None = Field(description="give it as `after` for the next page; null: no more")
    as_of: AsOf


# -- uses and receipts (api.md §2.16–§2.18) ---------------------------------------------------------


class HolderProof(Schema):
    """What shows the caller holds the licence's current document: the document itself, or the
    payload of its QR code (exactly one)."""

    model_config = _examples({"document": examples.DOCUMENT}, {"qr": examples.QR}, oneOf=[{"required": ["document"]}, {"required": ["qr"]}])

    document: DocumentObject | None = optional("the licence document (domain.md §7)")
    qr: str | None = optional(QR_DESCRIPTION, pattern=QR_PATTERN, maxLength=MAX_PAYLOAD_CHARS)


class UsePage(Schema):
    """A page of a licence's use records, by node and seq."""

    model_config = _examples(examples.USE_PAGE)

    items: list[UseRecordJson]
    next_cursor: str | None = Field(description="`<node>:<seq>` of the last record; give it as `after`; null: no more")
    as_of: AsOf


class UseAnswer(Schema):
    """A committed use record and its place."""

    model_config = _examples(examples.USE_ANSWER)

    id: str = Field(description="`<node>:<seq>`")
    record: UseRecordJson
    place: PlaceJson
    block_time: Time = Field(description="the time of block `place.height`")
    as_of: AsOf


# -- OpenAPI entries ----------------------------------------------------------------------------------


def request_body(model: type[Schema], description: str, named: dict[str, object]) -> dict[str, Any]:
    """The `requestBody` of a route whose JSON body is read by api.bodies.read_model against
    `model`, with `named` examples."""
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": inline_json_schema(model), "examples": {k: {"value": v} for k, v in named.items()}}},
    }


def answer(model: type[Schema], description: str, named: dict[str, object], media_type: str = "application/json") -> dict[str, Any]:
    """An OpenAPI `responses` entry whose body is `model`, with `named` examples."""
    return {"model": model, "description": description, "content": {media_type: {"examples": {k: {"value": v} for k, v in named.items()}}}}
