"""POST /v1/verify: is this licence valid here, now? (docs/spec/api.md §2.11, domain.md §9).

A partner region's gateway or a window clerk names a licence by its id, by the document the
holder presents, or by the document's QR payload, and gets the verdict with every check, the
licence's public metadata, the committed height it reflects and, for a recorded caller, the
receipt of its use record (用证留痕, domain.md §10). The body is read within its size limit and
checked against api.licence_schemas.VerifyRequest; the caller's region and purpose are checked
(api.access) before anything is read from the ledger; the verdict is judged in a worker thread
at the tip of one view, over its flat state (api.reading.TipState); the use record is journaled
by the node (NodeService.record_uses) before the answer leaves; each verdict answered is counted
for /metrics by verdict and asking region (api.metrics.count_verdict).

Must never answer a recorded caller without its receipt, record a refused request, put the
presented document (or anything of a person) into a record, or judge on the event loop.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from api import examples
from api.access import asking_region, purpose_for, use_record
from api.auth import CallerOf
from api.bodies import read_model
from api.deps import ServiceDep
from api.workers import in_worker
from api.errors import CALLER_ROUTE, ApiError, error_responses
from api.licence_schemas import VerifyAnswer, VerifyRequest, answer, request_body
from api.metrics import count_verdict
from api.reading import NowMs, TipState, as_of
from api.service import NodeService
from ledger.chain import REGION_PREFIX
from ledger.document import LicenceDocument
from ledger.encoding import b64decode
from ledger.errors import LedgerError
from ledger.governance import ltype_key, org_key, recognition_key
from ledger.identity import key_state_key
from ledger.ids import parse_licence_id
from ledger.licence_query import describe_licence
from ledger.licences import licence_key, read_licence, record_id
from ledger.qr import decode_qr
from ledger.seals import seal_key
from ledger.sigcache import SignatureCache
from ledger.verify import verify_licence

#: api.md §5: a document is at most 64 KiB in canonical form; its JSON in a body may be larger.
MAX_VERIFY_BODY_BYTES = 256 * 1024

router = APIRouter(tags=["verification"])
VerifyCaller = CallerOf("verify")


@router.post(
    "/verify",
    response_model=VerifyAnswer,
    responses={
        200: answer(VerifyAnswer, "the verdict, the licence's metadata, the height it reflects and the receipt (recorded callers)", {"valid": examples.VERIFY_ANSWER}),
        **error_responses(400, 413, 422, *CALLER_ROUTE),
    },
    openapi_extra={"requestBody": request_body(VerifyRequest, "the licence to judge, where, when and why (at most 256 KiB)", {
        "by_id": examples.VERIFY_BY_ID, "by_qr": examples.VERIFY_BY_QR, "by_document": examples.VERIFY_BY_DOCUMENT,
    })},
)
async def verify(request: Request, caller: VerifyCaller, service: ServiceDep, now: NowMs) -> Response:
    """Judge the licence for the asking region at `at_time` (api.md §2.11); record the use for a
    partner or staff caller, or any caller that states a purpose."""
    asked = await read_model(request, VerifyRequest, MAX_VERIFY_BODY_BYTES)
    region = asking_region(caller, asked.asking_region, service.genesis, "asking_region")
    purpose = purpose_for(caller, None if asked.purpose is None else asked.purpose.model_dump(), "purpose")
    at_time = now if asked.at_time is None else asked.at_time
    body = await in_worker(judge, service, asked, region, at_time, request.app.state.signatures)
    receipt = None
    if purpose is not None:
        record = use_record(
            caller, purpose, licence_id=body["licence_id"], asking_region=region, presented=body["presented"],  # type: ignore[arg-type]
            verdict=body["verdict"], height=body["height"], time=now,  # type: ignore[arg-type]
        )
        (receipt,) = await service.record_uses([record])
    body["receipt"] = receipt
    count_verdict(body["verdict"], region)
    return Response(orjson.dumps(body), media_type="application/json")


def judge(service: NodeService, asked: VerifyRequest, region: str, at_time: int, signatures: SignatureCache | None = None) -> dict[str, object]:
    """The answer without its receipt (blocking reads): the verdict at the tip of one view
    (domain.md §9.4), `licence` and `as_of`. Raises the document's `document.*` and the QR
    payload's `qr.*` ValidationErrors, verify_licence's misuse errors (`verify.*`, `ids.*`), and
    ApiError "node.starting" (503) while no block is committed. `signatures` keeps the seal
    signature checks that verified, across requests (a pure check: the verdict is the same)."""
    document = None if asked.document is None else LicenceDocument.from_json(asked.document)
    claim = None if asked.qr is None else decode_qr(asked.qr)
    view = service.view()
    if view.height == 0:
        raise ApiError("no block is committed yet; there is nothing to judge against", code="node.starting")
    state = TipState(view)
    if hasattr(view.kv, "get_many"):  # a remote store: read in two round trips, not eight
        named = document.licence.id if document is not None else claim.licence_id.text if claim is not None else asked.licence_id
        prefetch(state, named, region)
    verdict = verify_licence(
        state, chain_id=view.chain_id, at_time=at_time, asking_region=region,
        licence_id=asked.licence_id, document=document, claim=claim, cache=signatures,
    )
    body = verdict.to_json()
    body["licence"] = None if verdict.record is None else describe_licence(state, verdict.record, at_time)
    body["as_of"] = as_of(view)
    return body


def prefetch(state: TipState, licence_id: str | None, region: str) -> None:
    """Read every key a verdict on `licence_id` for `region` and its metadata read (domain.md
    §9.3, §9.5), in two round trips: the region and the record, then what the record names."""
    try:
        text = parse_licence_id(licence_id, "licence_id").text
    except LedgerError:
        return  # verify_licence names the error
    state.prefetch([REGION_PREFIX + region.encode("ascii"), licence_key(text)])
    record = read_licence(state, text)
    if record is None:
        return
    parsed, sig = record_id(record), record["seal_signature"]
    keys = [org_key(parsed.issuer), ltype_key(parsed.type), seal_key(sig["seal_id"]), key_state_key(b64decode(sig["signer"]))]  # type: ignore[index]
    if record["region"] != region:
        keys.append(recognition_key(region, record["region"], parsed.type))  # type: ignore[arg-type]
    state.prefetch(keys)
