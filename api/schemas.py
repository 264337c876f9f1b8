"""Response (and documented request) shapes of the HTTP API (docs/spec/api.md).

Pydantic models distinct from the domain types (ledger.tx.Tx, ledger.block.Block, ...): they say
what travels over HTTP and generate the OpenAPI schema. Binary values are base64url without
padding, as everywhere in eledger (docs/spec/encoding.md §4). This module must never
parse transactions (ledger.tx does that) nor reach the node.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from api.spelling import B64, Bytes32, ChainId, Count, SignatureValue, b64
from ledger.block import MAX_TIME_MS
from ledger.crypto.suites import Suite
from ledger.encoding import MAX_SAFE_INTEGER
from ledger.tx import KEY_ID_SIZE, KIND_RE, NONCE_SIZE

#: RFC 9457 §3.1.1: a problem's `type` is this prefix followed by its `code` (api.md §3.2).
PROBLEM_TYPE_PREFIX = "urn:eledger:problem:"

def inline_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of `model` with every `$ref` replaced by its definition, for places of
    the OpenAPI document that cannot hold local definitions (a request body read by hand). A
    `discriminator` goes too: its mapping names the definitions (the members' `const` says the
    same)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: object) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items() if key != "discriminator"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omitted(description: str) -> Any:
    """A member that is left out of the answer when it has no value (responses are rendered with
    `exclude_none`). Typed `X | Omitted`, its schema is X's, not required, without `null`."""
    return Field(default=None, description=description, json_schema_extra=_drop_default)


Omitted = SkipJsonSchema[None]


# -- errors: RFC 9457 problem details (api.md §3) ----------------------------------------------


class Problem(Schema):
    """An error answer, sent as `application/problem+json` (RFC 9457, api.md §3). `type` and
    `title` follow from `code` alone; `status` is the HTTP status of the answer (for a batch
    entry: the status `POST /v1/transactions` would have answered for that transaction)."""

    type: str = Field(
        pattern=f"^{PROBLEM_TYPE_PREFIX}",
        description=f'the problem type, "{PROBLEM_TYPE_PREFIX}" followed by `code` (RFC 9457 §3.1.1)',
        examples=[f"{PROBLEM_TYPE_PREFIX}tx.replay"],
    )
    title: str = Field(description="a short summary of the problem type, the same for every occurrence", examples=["Transaction already committed"])
    status: int = Field(ge=400, le=599, description="the HTTP status code", examples=[409])
    detail: str = Field(description="what was wrong in this request and what to do, for people")
    code: str = Field(description='stable machine-readable code, e.g. "tx.replay" (extension member)', examples=["tx.replay"])
    field: str | Omitted = omitted('the member or parameter at fault, e.g. "tx.nonce", "path.height"; absent when no single one is (extension member)')


class CommitTimeout(Problem):
    """504 of `POST /v1/transactions?wait=commit`: the transaction `tx_id` was admitted but not
    committed within `timeout`; it stays in the mempool (api.md §2.1)."""

    tx_id: B64 = Field(description="the id of the admitted transaction (extension member)")


# -- transactions (api.md §2.1) ----------------------------------------------------------------


class SignatureJson(Schema):
    suite: Literal[tuple(s.value for s in Suite)] = Field(description="signature suite (crypto.md §1)")  # type: ignore[valid-type]
    value: SignatureValue



class TxJson(Schema):
    """A signed transaction envelope (transactions.md §1)."""

    chain_id: ChainId
    kind: str = Field(max_length=64, pattern=f"^{KIND_RE.pattern}$")
    body: dict[str, Any]
    signer: b64(KEY_ID_SIZE) = Field(description="key id of the signer")  # type: ignore[valid-type]
    nonce: b64(NONCE_SIZE)  # type: ignore[valid-type]
    signature: SignatureJson


class Submitted(Schema):
    """The mempool accepted the transaction (202), or it is committed (200)."""

    tx_id: B64
    status: Literal["accepted", "committed"]
    height: int | Omitted = omitted("block height (committed only)")
    index: int | Omitted = omitted("position in the block (committed only)")


class BatchJson(Schema):
    """The body of POST /v1/transactions/batch (api.md §2.4)."""

    txs: list[Annotated[Any, Field(description=(
        "a signed transaction, as POST /v1/transactions takes it (TxJson); each entry is judged on its own, "
        "and one of another form is rejected in its result, not the batch"
    ))]] = Field(min_length=1, max_length=1000, description="signed transactions, admitted in this order")


class BatchEntry(Schema):
    """The outcome of one transaction of a batch, at its position in the request."""

    tx_id: B64 | Omitted = omitted("absent when the entry is not a readable transaction")
    status: Literal["accepted", "committed", "timeout", "rejected"] = Field(description="the entry's outcome (not an HTTP status)")
    height: int | Omitted = omitted("block height (committed only)")
    index: int | Omitted = omitted("position in the block (committed only)")
    error: Problem | Omitted = omitted("rejected: the problem that refused it; timeout: api.commit_timeout (504)")


class BatchSubmitted(Schema):
    """One entry per transaction of the request, in its order (200)."""

    results: list[BatchEntry]


# -- blocks (api.md §2.3, blocks.md §1–4) ------------------------------------------------------


class HeaderJson(Schema):
    chain_id: ChainId
    height: int = Field(ge=1, le=MAX_SAFE_INTEGER)
    time: int = Field(ge=0, le=MAX_TIME_MS, description="milliseconds since 1970-01-01T00:00:00Z")
    previous_hash: Bytes32
    tx_root: Bytes32
    log_size: Count
    log_root: Bytes32
    state_root: Bytes32
    validators_hash: Bytes32
    next_validators_hash: Bytes32
    proposer: Bytes32
    last_commit_hash: Bytes32


class CommitSigJson(Schema):
    validator: Bytes32
    signature: SignatureJson


class CommitJson(Schema):
    height: int
    round: int
    block_hash: Bytes32
    signatures: list[CommitSigJson]


class BlockJson(Schema):
    header: HeaderJson
    txs: list[TxJson]
    last_commit: CommitJson | None


class BlockAtHeight(Schema):
    """A committed block with the commit certificate that committed it."""

    block: BlockJson
    commit: CommitJson
    hash: Bytes32 = Field(description="the block's hash (its header's hash)")
    height: int


# -- status (api.md §2.2) ----------------------------------------------------------------------


class ValidatorInfo(Schema):
    name: str
    region: str
    key_id: B64
    power: int


class PeerInfo(Schema):
    name: str
    region: str
    connected: bool


class MempoolInfo(Schema):
    size: int = Field(description="transactions held")
    bytes: int = Field(description="their canonical bytes in total")


class NodeStatus(Schema):
    chain_id: str
    node: str = Field(description="this node's name")
    region: str
    height: int = Field(description="height of the last committed block (0: genesis only)")
    tip_hash: B64 = Field(description="hash of the last committed block (genesis hash at height 0)")
    time: int = Field(description="time of the last committed block, ms since the epoch")
    state_root: B64
    log_size: int
    validators: list[ValidatorInfo]
    peers: list[PeerInfo]
    mempool: MempoolInfo
    evidence: int = Field(description="pieces of misbehaviour evidence this node holds")
    syncing: bool = Field(description="true while the node catches up by block sync")
