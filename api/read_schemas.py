"""Answer shapes of the API's read routes (docs/spec/api.md §2.5–§2.10, §7): a transaction's
place and proofs, log consistency, signed headers, seals and sealed documents, the registry, and
the probes. Kept apart from api.schemas (submissions, blocks, status, problems), which they
reuse.

Pydantic models that say what travels and make the OpenAPI document, each with an example;
binary values are base64url (encoding.md §4). Never parse ledger values here (the ledger does),
never reach the node.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.document_schemas import DocumentObject, SealSignatureJson
from api.schemas import CommitJson, HeaderJson, Omitted, Schema, TxJson, omitted
from api.spelling import B64, Bytes32, Time, Uscc

HASH = "ZZVt_58zaBN55SV55pDQR3TuDJZZ1SyGcCPZHWuSARQ"
KEY_ID = "r1W3nLqQ9fS0m3mXb6sZpX5mKqJq7kqv2y0Vt8wq1Ho"
SIGNATURE = "q" * 86
USCC = "11220000013544541J"
TYPE = "11100000000013338W032"


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [example]})


# -- transactions and the log (api.md §2.5, §2.6) ------------------------------------------------


class LogInclusion(Schema):
    """An RFC 9162 inclusion proof of the transaction's leaf (hashing.md §2.2) in the log of
    `log_size` leaves, the log after block `height`, whose header carries `log_root`."""

    height: int = Field(ge=0, description="the block whose header's log this is")
    log_size: int = Field(ge=1)
    log_root: B64 = Field(description="that header's `log_root`")
    proof: list[B64] = Field(max_length=64, description="PATH(log_index, D[log_size]), leaf level first")


class TxInclusions(Schema):
    block: LogInclusion = Field(description="at the header of the block that committed it")
    tip: LogInclusion = Field(description="at the header of this node's last committed block")


class TxCommitted(Schema):
    """A committed transaction: where it is, the transaction itself, and its inclusion proofs.
    The answer is canonical JSON: re-encoding `tx` gives the bytes of the log's leaf."""

    model_config = _example({
        "tx_id": HASH, "status": "committed", "height": 12, "index": 0, "time": 1767225612000, "log_index": 30,
        "tx": {"chain_id": "devnet", "kind": "document.anchor", "body": {"document_hash": HASH, "label": ""}, "signer": KEY_ID,
               "nonce": "ZZVt_58zaBN55SV55pDQRw", "signature": {"suite": "p256", "value": SIGNATURE}},
        "inclusion": {
            "block": {"height": 12, "log_size": 31, "log_root": HASH, "proof": [HASH, HASH]},
            "tip": {"height": 15, "log_size": 40, "log_root": HASH, "proof": [HASH, HASH, HASH]},
        },
    })

    tx_id: B64
    status: Literal["committed"]
    height: int = Field(ge=1, description="the block that committed it")
    index: int = Field(ge=0, description="its position in that block's transactions")
    time: int = Field(description="that block's time, ms since the epoch")
    log_index: int = Field(ge=0, description="its leaf in the global log")
    tx: TxJson
    inclusion: TxInclusions


class TxPending(Schema):
    """Held in this node's mempool, not committed as of block `tip_height`."""

    model_config = _example({"tx_id": HASH, "status": "pending", "tip_height": 15})

    tx_id: B64
    status: Literal["pending"]
    tip_height: int = Field(ge=0, description="the last block this node had committed when it looked")


class LogPointJson(Schema):
    size: int = Field(ge=0, description="leaves in the log")
    root: B64 = Field(description="the log's root at that size (RFC 9162)")
    height: int | Omitted = omitted("the first block whose header has this `log_size` (absent when none has: the size falls inside a block)")


class LogConsistency(Schema):
    """The log at `to.size` extends the log at `from.size` (hashing.md §2.3)."""

    model_config = _example({
        "from": {"size": 31, "root": HASH, "height": 12}, "to": {"size": 40, "root": HASH, "height": 15}, "proof": [HASH, HASH, HASH],
    })

    from_: LogPointJson = Field(alias="from")
    to: LogPointJson
    proof: list[B64] = Field(max_length=128, description="PROOF(from.size, D[to.size]); empty when the sizes are equal or from.size is 0")


class HeaderAtHeight(Schema):
    """A committed block's header and the commit certificate that committed it, as stored."""

    model_config = _example({
        "commit": {"height": 12, "round": 0, "block_hash": HASH, "signatures": [{"validator": KEY_ID, "signature": {"suite": "p256", "value": SIGNATURE}}]},
        "hash": HASH,
        "header": {
            "chain_id": "devnet", "height": 12, "time": 1767225612000, "previous_hash": HASH, "tx_root": HASH, "log_size": 31, "log_root": HASH,
            "state_root": HASH, "validators_hash": HASH, "next_validators_hash": HASH, "proposer": KEY_ID, "last_commit_hash": HASH,
        },
        "height": 12,
    })

    commit: CommitJson
    hash: B64 = Field(description="the block's hash (its header's hash)")
    header: HeaderJson
    height: int


# -- seals (api.md §2.8, §2.9) ------------------------------------------------------------------


class SealJson(Schema):
    """A registered seal (domain.md §4), revoked or not."""

    seal_id: str = Field(pattern=r"^[0-9A-Z]{8,32}$")
    owner: str = Field(description="USCC of the organisation that owns it")
    name: str
    type: Literal["official", "contract", "finance", "licence", "personal"]
    image_hash: B64
    signers: list[B64] = Field(description="key ids that may sign with it")
    valid_from: int
    valid_until: int
    status: Literal["active", "revoked"]
    registered_at: int
    revoked_at: int | None


class DepartmentJson(Schema):
    """An admitted organisation (issuing department), its `org/` record (domain.md §3)."""

    uscc: str
    name: str
    region: str
    status: Literal["active", "suspended"]
    licence_types: list[str] = Field(description="codes of the licence types it may issue")
    keys: list[B64] = Field(description="key ids of its issuer keys")


class SealAnswer(Schema):
    model_config = _example({
        "height": 15,
        "seal": {
            "seal_id": "BJSCJ0000001", "owner": USCC, "name": "licence seal", "type": "licence", "image_hash": HASH, "signers": [KEY_ID],
            "valid_from": 1767225600000, "valid_until": 1798761600000, "status": "active", "registered_at": 1767225605000, "revoked_at": None,
        },
        "owner": {"uscc": USCC, "name": "Example Market Regulation Bureau", "region": "beijing", "status": "active", "licence_types": [TYPE], "keys": [KEY_ID]},
    })

    height: int = Field(description="the committed height read")
    seal: SealJson
    owner: DepartmentJson | None = Field(description="the organisation's record (null if it is not admitted)")


class SealedHash(Schema):
    """A document hash and the seal signature over it."""

    document_hash: Bytes32 = Field(description="the hash of the document presented")
    seal_signature: SealSignatureJson
    owner: Uscc | Omitted = omitted("USCC of the organisation whose seal it must be (adds the check seal.owner)")
    at_time: Time | Omitted = omitted("the time (ms) the document is presented: revocations at or before it count")


class SealedDocument(Schema):
    """A licence document (domain.md §7): its hash, seal signature and issuer are its own."""

    document: DocumentObject = Field(description="a licence document")
    at_time: Time | Omitted = omitted("the time (ms) the document is presented: revocations at or before it count")


class CheckJson(Schema):
    name: str
    ok: bool | None
    outcome: Literal["passed", "failed", "undecided"]
    detail: str


class RecordedJson(Schema):
    kind: Literal["seal.sign", "licence"]
    at: int = Field(description="when the ledger recorded the signature (block time, ms)")
    licence_id: str | Omitted = omitted("the licence version whose record carries it (kind licence)")


class SealVerdictJson(Schema):
    """The GB/T 38540 checks of domain.md §4, each step's outcome, and the verdict."""

    model_config = _example({
        "height": 15, "verdict": "valid", "document_hash": HASH, "seal_id": "BJSCJ0000001", "signer": KEY_ID, "signing_time": 1767225605000,
        "owner": USCC, "at_time": 1767225606000, "recorded": {"kind": "licence", "at": 1767225606000, "licence_id": "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"},
        "checks": [
            {"name": "seal.registered", "ok": True, "outcome": "passed", "detail": f"seal BJSCJ0000001 of {USCC} is registered"},
            {"name": "seal.signature", "ok": True, "outcome": "passed", "detail": "the signature verifies with the signer key"},
        ],
        "seal": None,
    })

    height: int = Field(description="the committed height whose state judged it")
    verdict: Literal["valid", "invalid", "indeterminate"]
    document_hash: B64
    seal_id: str
    signer: B64
    signing_time: int
    owner: str | None = Field(description="the organisation the seal had to belong to (null: any)")
    at_time: int | None = Field(description="the time it was judged for (null: its signing time)")
    recorded: RecordedJson | None = Field(description="where the ledger recorded this very signature (null: nowhere)")
    checks: list[CheckJson]
    seal: SealJson | None


# -- the registry (api.md §2.10) ----------------------------------------------------------------

CURSOR_DESCRIPTION = "the cursor of the next page (give it as `after`); null when the listing is complete"


class LicenceTypeJson(Schema):
    code: str
    name: str
    region: str = Field(description="the region that registered it")
    validity_required: bool


class LicenceTypePage(Schema):
    model_config = _example({"height": 15, "items": [{"code": TYPE, "name": "食品经营许可证", "region": "beijing", "validity_required": True}], "next_cursor": None})

    height: int
    items: list[LicenceTypeJson]
    next_cursor: str | None = Field(description=CURSOR_DESCRIPTION)


class DepartmentPage(Schema):
    model_config = _example({
        "height": 15, "next_cursor": None,
        "items": [{"uscc": USCC, "name": "Example Market Regulation Bureau", "region": "beijing", "status": "active", "licence_types": [TYPE], "keys": [KEY_ID]}],
    })

    height: int
    items: list[DepartmentJson]
    next_cursor: str | None = Field(description=CURSOR_DESCRIPTION)


class NamedType(Schema):
    code: str
    name: str | None = Field(description="null when the type is not registered")


class DepartmentDetail(Schema):
    """One organisation with its licence types named and the first page of its seals."""

    model_config = _example({
        "height": 15, "uscc": USCC, "name": "Example Market Regulation Bureau", "region": "beijing", "status": "active",
        "licence_types": [{"code": TYPE, "name": "食品经营许可证"}], "keys": [KEY_ID], "seals": [], "seals_next": None,
    })

    height: int
    uscc: str
    name: str
    region: str
    status: Literal["active", "suspended"]
    licence_types: list[NamedType]
    keys: list[B64]
    seals: list[SealJson] = Field(description="its seals, a first page (GET …/seals for more)")
    seals_next: str | None = Field(description="the cursor of the next page of seals; null when all are here")


class SealPage(Schema):
    model_config = _example({"height": 15, "items": [], "next_cursor": None})

    height: int
    items: list[SealJson]
    next_cursor: str | None = Field(description=CURSOR_DESCRIPTION)


class RecognitionRuleJson(Schema):
    region: str = Field(description="the region that accepts")
    from_region: str = Field(description="the region that issues")
    type: str = Field(description="the issuing region's licence type")
    as_type: str = Field(description="the accepting region's type it counts as")
    conditions: str
    declared_at: int


class RecognitionRulePage(Schema):
    model_config = _example({
        "height": 15, "next_cursor": None,
        "items": [{"region": "tianjin", "from_region": "beijing", "type": TYPE, "as_type": TYPE, "conditions": "original on request", "declared_at": 1767225607000}],
    })

    height: int
    items: list[RecognitionRuleJson]
    next_cursor: str | None = Field(description=CURSOR_DESCRIPTION)


class RegionJson(Schema):
    name: str
    admins: list[B64] = Field(description="key ids of its administrators")
    ca_cert_sha256: B64 = Field(description="SHA-256 of its CA certificate (DER)")
    validators: list[str] = Field(description="names of the current validators of the region")


class RegionList(Schema):
    model_config = _example({"height": 15, "items": [{"name": "beijing", "admins": [KEY_ID], "ca_cert_sha256": HASH, "validators": ["beijing-1"]}]})

    height: int
    items: list[RegionJson]


class ScenarioJson(Schema):
    code: str = Field(description="the 事项编码 a use record's purpose.item_code carries")
    name: str = Field(description="the 事项名称 a use record's purpose.item_name carries")
    name_en: str | None = Field(description="its English name; null when none was declared")
    region: str = Field(description="the region that declared it")
    licence_types: list[str] = Field(description="the licence type codes it accepts, sorted")
    withdrawn: bool = Field(description="withdrawn scenarios are listed only when asked for")
    declared_at: int = Field(description="block time (ms) of its last declaration")


class ScenarioList(Schema):
    """A region's use scenarios (事项, domain.md §11), by code, whole."""

    model_config = _example({
        "height": 15, "region": "tianjin",
        "scenarios": [{
            "code": "TJ-KH-001", "name": "企业开户核验", "name_en": "Company bank account opening check", "region": "tianjin",
            "licence_types": [TYPE], "withdrawn": False, "declared_at": 1767225607000,
        }],
    })

    height: int
    region: str
    scenarios: list[ScenarioJson]


class PublicKeyJson(Schema):
    suite: str
    spki: B64


class ValidatorJson(Schema):
    name: str
    region: str
    key_id: B64
    public_key: PublicKeyJson
    power: int


class ValidatorList(Schema):
    model_config = _example({
        "height": 15, "items": [{"name": "beijing-1", "region": "beijing", "key_id": KEY_ID, "public_key": {"suite": "p256", "spki": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"}, "power": 1}],
    })

    height: int
    items: list[ValidatorJson] = Field(description="the validator set for the block after `height`, in its order")


# -- probes (api.md §7) ---------------------------------------------------------------------------


class Health(Schema):
    model_config = _example({"status": "ok"})

    status: Literal["ok"] = Field(description="the API process answers")


class Readiness(Schema):
    model_config = _example({"status": "ready", "height": 15, "block_time": 1767225615000, "block_age_ms": 2100})

    status: Literal["ready"]
    height: int = Field(description="the node's last committed height")
    block_time: int = Field(description="that block's time, ms since the epoch")
    block_age_ms: int = Field(description="how long ago that was, by this node's clock")
