"""GET /v1/seals/{seal_id}: a registered seal and its owner (api.md §2.8); POST
/v1/seals/verify: a sealed document judged with the GB/T 38540 checks of domain.md §4, each
step's outcome and the verdict (api.md §2.9).

A sealed document is `{"document_hash", "seal_signature", "owner"?, "at_time"?}` or
`{"document": licence document, "at_time"?}`. The body is read within its size limit and parsed
here, naming the member at fault; judging it is ledger.seal_verdict's, over the state of the
last committed height, in a worker thread. Must never judge a body it has not size-checked, nor
answer a failed check as an error (it is a verdict).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.auth import CallerOf
from api.deps import SealIdPath, ServiceDep, parse_json, read_body
from api.errors import CALLER_ROUTE, ApiError, error_responses
from api.read_schemas import SealAnswer, SealedDocument, SealedHash, SealVerdictJson
from api.routing import literal_first
from api.schemas import inline_json_schema
from api.service import NodeService
from ledger.document import MAX_DOCUMENT_BYTES, LicenceDocument
from ledger.encoding import MAX_SAFE_INTEGER, b64decode
from ledger.errors import LedgerError, ValidationError
from ledger.governance import read_org
from ledger.ids import validate_uscc
from ledger.seal_verdict import SealVerdict, verify_sealed_document, verify_sealed_hash
from ledger.seals import SealSignature, read_seal

#: api.md §5: a sealed document of at most 64 KiB in any JSON formatting, with room to spare.
MAX_SEAL_BODY_BYTES = 256 << 10

router = APIRouter(tags=["seals"], route_class=literal_first())  # POST /seals/verify beside GET /seals/{seal_id}
SealCaller = CallerOf("seal")
SealVerifyCaller = CallerOf("seal_verify")


@router.get("/seals/{seal_id}", response_model=SealAnswer, responses=error_responses(404, 422, *CALLER_ROUTE))
async def get_seal(seal_id: SealIdPath, service: ServiceDep, caller: SealCaller) -> SealAnswer:
    """The seal's record (revoked ones too) and its owner's. 404 "api.no_seal" if not registered."""
    return await run_in_threadpool(read_seal_answer, service, seal_id)


def read_seal_answer(service: NodeService, seal_id: str) -> SealAnswer:
    view = service.view()
    state = view.state()
    seal = read_seal(state, seal_id)
    if seal is None:
        raise ApiError(f"no seal {seal_id} is registered as of height {view.height}", code="api.no_seal", field="path.seal_id")
    return SealAnswer(height=view.height, seal=seal, owner=read_org(state, seal["owner"]))  # type: ignore[arg-type]


_VERIFY_BODY = {
    "required": True,
    "description": "a document hash with its seal signature, or a licence document; any JSON formatting, at most 256 KiB",
    "content": {"application/json": {
        "schema": {"oneOf": [inline_json_schema(SealedHash), inline_json_schema(SealedDocument)]},
    }},
}


@router.post(
    "/seals/verify", response_model=SealVerdictJson, responses=error_responses(400, 413, 422, *CALLER_ROUTE),
    openapi_extra={"requestBody": _VERIFY_BODY},
)
async def verify_seal(request: Request, service: ServiceDep, caller: SealVerifyCaller) -> SealVerdictJson:
    """Judge the sealed document (domain.md §4): every check with its outcome, and the verdict."""
    sealed = read_sealed(parse_json(await read_body(request, MAX_SEAL_BODY_BYTES)))
    verdict, height = await run_in_threadpool(judge, service, sealed)
    return SealVerdictJson.model_validate({"height": height, **verdict.to_json()})


@dataclass(frozen=True)
class Sealed:
    """A parsed request: a document, or a hash with its signature (and optional owner)."""

    document: LicenceDocument | None
    document_hash: bytes | None
    signature: SealSignature | None
    owner: str | None
    at_time: int | None


def read_sealed(obj: object) -> Sealed:
    """The sealed document of a request body (api.md §2.9). Raises ValidationError naming the
    member at fault, from the body's root: "validation.type" (field `body` for a body that is
    not an object), "validation.unknown_field" / "validation.missing_field", "validation.binary"
    / "validation.length" (`document_hash`), "validation.range" (`at_time`), the seal
    signature's codes (`seal_signature.*`), "ids.bad_uscc" (`owner`), the document's
    `document.*` codes (`document.licence.…`, "document.too_large")."""
    if not isinstance(obj, dict):
        raise ValidationError("the body must be an object: a document hash with its seal signature, or a licence document", code="validation.type", field="body")
    if "document" in obj:
        _expect(obj, ("document",), ("at_time",))
        document = LicenceDocument.from_json(obj["document"])
        size = len(document.to_bytes())
        if size > MAX_DOCUMENT_BYTES:
            raise ValidationError(f"the licence document is {size} bytes; at most {MAX_DOCUMENT_BYTES}", code="document.too_large", field="document", size=size)
        return Sealed(document, None, None, None, _at_time(obj))
    _expect(obj, ("document_hash", "seal_signature"), ("owner", "at_time"))
    document_hash = _hash(obj["document_hash"])
    signature = SealSignature.from_json(obj["seal_signature"], "seal_signature")
    owner = validate_uscc(obj["owner"], "owner") if "owner" in obj else None
    return Sealed(None, document_hash, signature, owner, _at_time(obj))


def _expect(obj: dict[str, object], required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    for name in obj:
        if name not in required and name not in optional:
            raise ValidationError(f"the body has the unknown member {name[:40]!r}", code="validation.unknown_field", field=name[:40])
    for name in required:
        if name not in obj:
            raise ValidationError(f"the body lacks the member {name!r}", code="validation.missing_field", field=name)


def _hash(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValidationError("document_hash must be a base64url string", code="validation.type", field="document_hash")
    try:
        data = b64decode(value, field="document_hash")
    except LedgerError as exc:
        raise ValidationError(f"document_hash: {exc}", code="validation.binary", field="document_hash") from None
    if len(data) != 32:
        raise ValidationError(f"document_hash must be 32 bytes, got {len(data)}", code="validation.length", field="document_hash")
    return data


def _at_time(obj: dict[str, object]) -> int | None:
    if "at_time" not in obj:
        return None
    value = obj["at_time"]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SAFE_INTEGER:
        raise ValidationError(f"at_time must be an integer time in ms from 0 to {MAX_SAFE_INTEGER}", code="validation.range", field="at_time")
    return value


def judge(service: NodeService, sealed: Sealed) -> tuple[SealVerdict, int]:
    """The verdict on `sealed` by the state at the last committed height, and that height."""
    view = service.view()
    state, chain_id = view.state(), view.chain_id
    if sealed.document is not None:
        return verify_sealed_document(state, chain_id, sealed.document, at_time=sealed.at_time), view.height
    verdict = verify_sealed_hash(state, chain_id, sealed.signature, sealed.document_hash, owner=sealed.owner, at_time=sealed.at_time)  # type: ignore[arg-type]
    return verdict, view.height
