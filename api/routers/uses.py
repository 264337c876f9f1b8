"""Where a licence was used (用证留痕): its committed use records (docs/spec/api.md §2.16,
domain.md §10).

`GET /v1/licences/{licence_id}/uses` lists a licence's committed use records for its issuing
department, an administrator of its region and auditors (api.access); `POST
/v1/licences/{licence_id}/uses` lists them for anyone who presents the licence's current
document, or its QR payload. Reads run in a worker thread over one view.

Must never list uses before the caller is let in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api import examples
from api.access import check_uses_reader
from api.auth import CallerOf
from api.bodies import read_model
from api.deps import CountQuery, ServiceDep
from api.errors import CALLER_ROUTE, error_responses
from api.licence_schemas import HolderProof, UsePage, answer, request_body
from api.reading import TipState, as_of, as_parameter
from api.routers.licences import LicenceIdPath
from api.spelling import USE_ID_PATTERN
from api.service import NodeService
from ledger.document import LicenceDocument
from ledger.encoding import b64encode
from ledger.errors import LedgerError, ValidationError
from ledger.ids import parse_licence_id
from ledger.licences import read_licence
from ledger.qr import decode_qr
from ledger.uses import MAX_LIST, list_uses

#: api.md §5: a body holding a licence document (64 KiB canonical) in any formatting.
MAX_HOLDER_BODY_BYTES = 256 * 1024
DEFAULT_USES = 100

router = APIRouter(tags=["uses"])
UsesCaller = CallerOf("uses")
HolderCaller = CallerOf("uses_holder")

UsesAfterQuery = Annotated[str, Query(
    pattern=USE_ID_PATTERN, max_length=64, description="the `next_cursor` of the previous page (`<node>:<seq>`)", examples=["beijing-1:41"],
)]
UsesLimitQuery = CountQuery(MAX_LIST, examples=[DEFAULT_USES])


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _licence(licence_id: str) -> str:
    """The text of a licence id LicenceIdPath accepted (checked in full already)."""
    return parse_licence_id(licence_id, "path.licence_id").text


def page_of_uses(service: NodeService, licence_id: str, after: str | None, limit: int, allow: Callable[[TipState], None]) -> dict[str, object]:
    """`{"items", "next_cursor", "as_of"}` of the uses of `licence_id` (blocking reads), once
    `allow(state)` let the caller in (it raises otherwise)."""
    view = service.view()
    allow(TipState(view))
    try:
        items, cursor = list_uses(view, licence_id, after=after, limit=limit)
    except LedgerError as exc:
        raise as_parameter(exc, "query", ["after", "limit"]) from None
    return {"items": items, "next_cursor": cursor, "as_of": as_of(view)}


@router.get(
    "/licences/{licence_id}/uses",
    response_model=UsePage,
    responses={200: answer(UsePage, "a page of the licence's committed use records", {"uses": examples.USE_PAGE}), **error_responses(422, *CALLER_ROUTE)},
)
async def get_uses(
    licence_id: LicenceIdPath, caller: UsesCaller, service: ServiceDep, after: UsesAfterQuery = None, limit: UsesLimitQuery = DEFAULT_USES,
) -> Response:
    """The committed use records of the licence `licence_id` (exactly that version's id), by node
    and seq: for its issuing department, an administrator of its region, or an auditor."""
    text = _licence(licence_id)

    def allow(state: TipState) -> None:
        check_uses_reader(caller, text, state, "path.licence_id")

    return _json(await run_in_threadpool(page_of_uses, service, text, after, limit, allow))


@router.post(
    "/licences/{licence_id}/uses",
    response_model=UsePage,
    responses={200: answer(UsePage, "a page of the licence's committed use records", {"uses": examples.USE_PAGE}), **error_responses(400, 404, 413, 422, *CALLER_ROUTE)},
    openapi_extra={"requestBody": request_body(HolderProof, "the licence's current document, or its QR payload (at most 256 KiB)", {
        "by_document": {"document": examples.DOCUMENT}, "by_qr": {"qr": examples.QR},
    })},
)
async def post_holder_uses(
    licence_id: LicenceIdPath, request: Request, caller: HolderCaller, service: ServiceDep,
    after: UsesAfterQuery = None, limit: UsesLimitQuery = DEFAULT_USES,
) -> Response:
    """The committed use records of the licence, for whoever presents its current document (the
    recorded document hash) or the document's QR payload (api.md §2.16)."""
    text = _licence(licence_id)
    proof = await read_model(request, HolderProof, MAX_HOLDER_BODY_BYTES)

    def allow(state: TipState) -> None:
        check_holder(proof, text, state)

    return _json(await run_in_threadpool(page_of_uses, service, text, after, limit, allow))


def check_holder(proof: HolderProof, licence_id: str, state: TipState) -> None:
    """The presented document, or QR claim, is of licence `licence_id` and its hash is the
    recorded one. Raises ValidationError "uses.no_proof" / "uses.two_proofs" (422), the
    document's `document.*` and the payload's `qr.*` codes, "uses.id_mismatch" (422, another
    licence), "licence.not_found" (404), "uses.not_holder" (403, another document hash)."""
    if (proof.document is None) == (proof.qr is None):
        code = "uses.no_proof" if proof.document is None else "uses.two_proofs"
        raise ValidationError("present the licence's document or its QR payload, exactly one", code=code, field="document")
    if proof.document is not None:
        document = LicenceDocument.from_json(proof.document)
        named, document_hash, field = document.licence.id, document.hash, "document.licence.id"
    else:
        claim = decode_qr(proof.qr)
        named, document_hash, field = claim.licence_id.text, claim.document_hash, "qr.licence_id"
    if named != licence_id:
        raise ValidationError(f"the presented {field.split('.')[0]} is of licence {named}, not {licence_id}", code="uses.id_mismatch", field=field)
    record = read_licence(state, licence_id)
    if record is None:
        raise ValidationError(f"no licence {licence_id} is recorded", code="licence.not_found", field="path.licence_id")
    if b64encode(document_hash) != record["document_hash"]:
        raise ValidationError(
            f"the presented {field.split('.')[0]} is not the recorded document of {licence_id} (altered, or of another version)",
            code="uses.not_holder", field=field.split(".")[0],
        )
