"""The ledger explorer's pages under `/explorer` (issue 11 §2): the search box and the latest
blocks, a block, a transaction, a licence's timeline and uses, a use record, a department, the
recognition rules, the validators' health and evidence, and the CSV export for auditors.

Each page identifies its caller as the API does (api.web.render.page_caller), refuses it with
the API's own problem when its role may not read the same data through the API
(api.auth.ROUTES, by the entry of the API route that reads it), applies the routers' row checks
(api.access), and reads everything from one `service.view()` in a worker thread
(api.web.explorer.reads). Every list is a page with a bound.

Must never show a use record to a caller api.access refuses, never read on the event loop, never
export without logging who exported which range.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access import AccessError, check_record_reader, check_uses_reader
from api.auth import ROUTES, Caller, refuse
from api.reading import TipState
from api.service import NodeService
from api.web import i18n
from api.web.explorer import reads
from api.web.explorer import messages  # noqa: F401  (registers the explorer's words)
from api.web.explorer.sentences import format_time
from api.web.render import error_page, page_caller, render
from api.workers import in_worker
from certs.roles import Role
from ledger.encoding import b64decode, b64encode
from ledger.errors import LedgerError, ValidationError
from ledger.ids import MAX_VERSION, parse_licence_id
from ledger.licence_history import history_page
from ledger.licence_query import describe_licence
from ledger.licences import read_licence
from ledger.registry import department, list_recognition_rules, list_seals
from ledger.uses import find_record, list_uses, parse_use_id

router = APIRouter(include_in_schema=False)
log = logging.getLogger("eledger.explorer")

#: Who may export a range as CSV: auditors and region administrators (issue 11 §2). Not an
#: entry of api.auth.ROUTES, which lists the API's routes only (tests/api/test_route_matrix.py
#: checks that each entry is used by an API route).
EXPORT_ROLES = frozenset({Role.AUDITOR, Role.REGION_ADMIN})
PAGE_LIMIT = 50


def check_route(caller: Caller, route: str) -> None:
    """Refuse `caller` as the API route named `route` in ROUTES would: ApiError
    "auth.certificate_required" for an anonymous caller, "auth.forbidden" for another role."""
    allowed = ROUTES[route]
    if allowed is None or caller.role in allowed:
        return
    if caller.anonymous:
        raise refuse(f"this page needs a client certificate of one of the roles {', '.join(sorted(allowed))}", "auth.certificate_required")
    raise refuse(f"a {caller.role} certificate may not see this page; it needs one of {', '.join(sorted(allowed))}", "auth.forbidden", role=caller.role)


def may(caller: Caller, route: str) -> bool:
    allowed = ROUTES[route]
    return allowed is None or caller.role in allowed


def int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    """The integer query parameter `name` within low..high, or `default` when absent. Raises
    ValidationError "query.<name>" naming it."""
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationError(f"{name} must be an integer {low}..{high}", code=f"query.{name}", field=f"query.{name}")
    return int(text)


def cursor_param(request: Request, name: str) -> str | None:
    text = request.query_params.get(name)
    if text is not None and not 0 < len(text) <= 1024:
        raise ValidationError(f"{name} must be a cursor a page of this listing gave", code="query.bad_cursor", field=f"query.{name}")
    return text or None


async def page(request: Request, route: str, template: str, build: Callable[[NodeService, Caller], dict[str, object]]) -> HTMLResponse:
    """The page `template` filled by `build(service, caller)` (run in a worker thread), for a
    caller `route` of ROUTES lets in; the API's problem as an error page otherwise."""
    caller: Caller | None = None
    try:
        caller = await page_caller(request)
        check_route(caller, route)
        context = await in_worker(build, request.app.state.service, caller)
    except LedgerError as exc:
        return error_page(request, exc, *(() if caller is None else (caller,)))
    return render(request, template, caller=caller, known_words=i18n.keys("zh"), **context)


# -- the home page and search ----------------------------------------------------------------------


@router.get("/explorer", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """The search box and a page of the latest blocks (`before`, `limit`)."""

    def build(service: NodeService, caller: Caller) -> dict[str, object]:
        before = int_param(request, "before", None, 2, 2**63)
        limit = int_param(request, "limit", reads.BLOCKS_PER_PAGE, 1, reads.MAX_BLOCKS_PER_PAGE)
        blocks, older = reads.latest_blocks(service.view(), before, limit)  # type: ignore[arg-type]
        return {"blocks": blocks, "older": older, "limit": limit, "q": "", "miss": None, "can_export": caller.role in EXPORT_ROLES,
                "max_export": reads.MAX_EXPORT_BLOCKS}

    return await page(request, "blocks", "explorer/home.html", build)


@router.get("/explorer/search", response_class=HTMLResponse)
async def search(request: Request) -> Response:
    """Redirects to the page of the key typed, or says plainly what it could not find."""
    q = request.query_params.get("q", "")[:256]
    try:
        caller = await page_caller(request)
        found = await in_worker(lambda: reads.search(request.app.state.service.view(), q))
    except LedgerError as exc:
        return error_page(request, exc)
    if found.url is not None:
        return RedirectResponse(found.url, status_code=303)
    return render(request, "explorer/home.html", caller=caller, status=404, blocks=[], older=None, limit=reads.BLOCKS_PER_PAGE,
                  q=q, miss=found, can_export=caller.role in EXPORT_ROLES, max_export=reads.MAX_EXPORT_BLOCKS)


# -- a block, a transaction ------------------------------------------------------------------------


@router.get("/explorer/blocks/{height}", response_class=HTMLResponse)
async def block(request: Request, height: str) -> HTMLResponse:
    def build(service: NodeService, caller: Caller) -> dict[str, object]:
        if not height.isdigit() or not 1 <= int(height) <= 2**63:
            raise ValidationError("the height must be an integer ≥ 1", code="validation.range", field="path.height")
        offset = int_param(request, "offset", 0, 0, 2**31)
        view = service.view()
        detail = reads.block_detail(view, int(height), offset, reads.TXS_PER_PAGE)  # type: ignore[arg-type]
        if detail is None:
            raise ValidationError(f"no committed block at height {height}; the tip is {view.height}", code="api.no_block", field="path.height")
        return {"block": detail, "txs_per_page": reads.TXS_PER_PAGE}

    return await page(request, "blocks", "explorer/block.html", build)


@router.get("/explorer/transactions/{tx_id}", response_class=HTMLResponse)
async def transaction(request: Request, tx_id: str) -> HTMLResponse:
    def build(service: NodeService, caller: Caller) -> dict[str, object]:
        try:
            wanted = b64decode(tx_id, field="path.tx_id")
        except LedgerError:
            wanted = b""
        if len(wanted) != 32:
            raise ValidationError("a transaction id is 32 bytes in base64url (43 characters)", code="validation.format", field="path.tx_id")
        view = service.view()
        detail = reads.tx_detail(view, wanted)
        if detail is None:
            raise ValidationError(f"transaction {tx_id} is not committed as of height {view.height}", code="api.no_transaction", field="path.tx_id")
        records = use_lines(view, caller, detail.body) if detail.line.kind == "use.record" else None
        # The body of a use.record is shown whole only to whom api.access lets read each record.
        raw_shown = records is None or all(r["shown"] for r in records)
        return {"tx": detail, "records": records, "raw_shown": raw_shown, "known_kinds": set(messages.KIND_NAMES)}

    return await page(request, "transaction", "explorer/transaction.html", build)


def use_lines(view, caller: Caller, body: dict[str, object]) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """The records of a use.record body as the caller may see them: each with `shown` (False:
    only its name), as GET /v1/uses/{id} would answer (api.access.check_record_reader)."""
    state = TipState(view)
    out = []
    for record in body.get("records", []):  # type: ignore[union-attr]
        name = f"{record['node']}:{record['seq']}"
        shown = may(caller, "receipt")
        if shown:
            try:
                check_record_reader(caller, record, state, "record")
            except AccessError:
                shown = False
        out.append({"name": name, "shown": shown, "record": record if shown else None})
    return out


# -- licences and use records ----------------------------------------------------------------------


@router.get("/explorer/licences/{licence_id}", response_class=HTMLResponse)
async def licence(request: Request, licence_id: str) -> HTMLResponse:
    """The licence's latest public metadata, its timeline, and the uses of this version for the
    callers GET /v1/licences/{id}/uses lets in."""
    now = int(request.app.state.clock() * 1000)

    def build(service: NodeService, caller: Caller) -> dict[str, object]:
        text = parse_licence_id(licence_id, "path.licence_id").text
        after, uses_after = cursor_param(request, "after"), cursor_param(request, "uses_after")
        view = service.view()
        state = TipState(view)
        record = read_licence(state, text)
        if record is None:
            raise ValidationError(f"no licence {text} is recorded", code="licence.not_found", field="path.licence_id")
        latest = record
        for _ in range(MAX_VERSION):
            if latest["superseded_by"] is None:
                break
            latest = read_licence(state, latest["superseded_by"]) or latest  # type: ignore[arg-type]
        history, history_next = history_page(view, text, after=after, limit=PAGE_LIMIT)
        for item in history:
            item["when"] = format_time(item["time"])
        uses, uses_next, uses_refused = None, None, None
        if not may(caller, "uses"):
            uses_refused = "role"
        else:
            try:
                check_uses_reader(caller, text, state, "path.licence_id")
                uses, uses_next = list_uses(view, text, after=uses_after, limit=PAGE_LIMIT)
            except AccessError:
                uses_refused = "row"
        return {
            "licence_id": text, "meta": describe_licence(state, latest, now), "asked": describe_licence(state, record, now),
            "history": history, "history_next": history_next, "uses": uses, "uses_next": uses_next, "uses_refused": uses_refused,
            "issued_at": format_time(latest["issued_at"]), "updated_at": format_time(latest["updated_at"]),
        }

    return await page(request, "licence", "explorer/licence.html", build)


@router.get("/explorer/uses/{use_id}", response_class=HTMLResponse)
async def use(request: Request, use_id: str) -> HTMLResponse:
    """One committed use record, for whom GET /v1/uses/{id} answers it."""

    def build(service: NodeService, caller: Caller) -> dict[str, object]:
        node, seq = parse_use_id(use_id, "path.use_id")
        view = service.view()
        found = find_record(view, node, seq)
        if found is None:
            raise ValidationError(f"no use record {node}:{seq} is committed at height {view.height}", code="use.not_found", field="path.use_id")
        record, place = found
        check_record_reader(caller, record, TipState(view), "path.use_id")
        tx_id = b64encode(view.tx(place.height, place.tx_index).id)
        return {"use_id": f"{node}:{seq}", "record": record, "place": place, "tx_id": tx_id, "when": format_time(record["time"])}

    return await page(request, "receipt", "explorer/use.html", build)


# -- the registry ----------------------------------------------------------------------------------


@router.get("/explorer/departments/{uscc}", response_class=HTMLResponse)
async def department_page(request: Request, uscc: str) -> HTMLResponse:
    def build(service: NodeService, caller: Caller) -> dict[str, object]:
        after = cursor_param(request, "after")
        view = service.view()
        shown = department(view, uscc)
        if shown is None:
            raise ValidationError(f"no organisation {uscc} is admitted as of height {view.height}", code="api.no_department", field="path.uscc")
        seals, seals_next = list_seals(view, uscc, after=after, limit=PAGE_LIMIT) if after else (shown["seals"], shown["seals_next"])
        for seal in seals:  # type: ignore[attr-defined]
            seal["valid"] = f"{format_time(seal['valid_from'])} – {format_time(seal['valid_until'])}"
        return {"org": shown, "seals": seals, "seals_next": seals_next}

    return await page(request, "registry", "explorer/department.html", build)


@router.get("/explorer/rules", response_class=HTMLResponse)
async def rules(request: Request) -> HTMLResponse:
    """Recognition rules as a table: accepting region × issuing region, a page of rules at a time."""

    def build(service: NodeService, caller: Caller) -> dict[str, object]:
        after = cursor_param(request, "after")
        view = service.view()
        items, next_cursor = list_recognition_rules(view, after=after, limit=200)
        regions = [region.name for region in view.genesis.regions]
        cells: dict[tuple[str, str], list[dict[str, object]]] = {}
        for item in items:
            cells.setdefault((str(item["region"]), str(item["from_region"])), []).append(item)
        return {"regions": regions, "cells": cells, "rules": items, "next_cursor": next_cursor}

    return await page(request, "registry", "explorer/rules.html", build)


@router.get("/explorer/validators", response_class=HTMLResponse)
async def validators(request: Request) -> HTMLResponse:
    """Validators' health over the last `blocks` commits, this node's peers, and evidence."""
    report = request.app.state.service.report()
    try:
        node_status = await request.app.state.service.status()
    except LedgerError:
        node_status = None

    def build(service: NodeService, caller: Caller) -> dict[str, object]:
        blocks = int_param(request, "blocks", reads.HEALTH_BLOCKS, 1, reads.MAX_HEALTH_BLOCKS)
        after = cursor_param(request, "after")
        view = service.view()
        rows, first, last = reads.validator_health(view, blocks)  # type: ignore[arg-type]
        evidence, evidence_next = reads.evidence_page(view, after, PAGE_LIMIT)
        return {"rows": rows, "first": first, "last": last, "blocks": blocks, "report": report, "node_status": node_status,
                "evidence": evidence, "evidence_next": evidence_next}

    return await page(request, "status", "explorer/validators.html", build)


# -- export ----------------------------------------------------------------------------------------


@router.get("/explorer/export.csv")
async def export(request: Request) -> Response:
    """Transactions of blocks `from`..`to` (at most MAX_EXPORT_BLOCKS) as CSV, for auditors and
    region administrators; every export is logged with the caller and the range."""
    caller: Caller | None = None
    try:
        caller = await page_caller(request)
        if caller.role not in EXPORT_ROLES:
            code = "auth.certificate_required" if caller.anonymous else "auth.forbidden"
            raise refuse(f"the export is for the roles {', '.join(sorted(EXPORT_ROLES))}", code, role=caller.role)
        first = int_param(request, "from", None, 1, 2**63)
        last = int_param(request, "to", None, 1, 2**63)
        if first is None or last is None:
            raise ValidationError("give the range of heights as from= and to=", code="query.from", field="query.from")
        if last < first or last - first + 1 > reads.MAX_EXPORT_BLOCKS:
            raise ValidationError(f"the range must hold 1..{reads.MAX_EXPORT_BLOCKS} blocks, from ≤ to", code="query.to", field="query.to")
        body, rows, tip = await in_worker(_export_csv, request.app.state.service, first, last)
        if last > tip:
            raise ValidationError(f"to is above the tip ({tip})", code="query.to", field="query.to")
    except LedgerError as exc:
        return error_page(request, exc, *(() if caller is None else (caller,)))
    log.info("explorer.export caller=%s role=%s region=%s from=%d to=%d rows=%d", caller.name, caller.role, caller.region, first, last, rows)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="eledger-{first}-{last}.csv"', "Cache-Control": "no-store"})


def csv_cell(value: object) -> object:
    """`value` as a spreadsheet will not run it: text starting with = + - @ (or a tab or a
    carriage return) gets a leading apostrophe (names and conditions come from signed bodies)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _export_csv(service: NodeService, first: int, last: int) -> tuple[bytes, int, int]:
    view = service.view()
    if last > view.height:
        return b"", 0, view.height
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(reads.EXPORT_COLUMNS)
    rows = 0
    for row in reads.export_rows(view, first, last):
        writer.writerow([csv_cell(value) for value in row])
        rows += 1
    return ("\ufeff" + out.getvalue()).encode("utf-8"), rows, view.height
