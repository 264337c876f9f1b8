"""The window page (窗口核验) at `/`: one input that takes a scanned or pasted QR payload, a typed
licence id, or an uploaded holder document, and the verdict screen (issue 11 §1).

`POST /` reads the form (at most MAX_FORM_BYTES; a document file at most MAX_DOCUMENT_FILE_BYTES,
as POST /v1/verify), refuses a cross-site request (`same_origin`), lets in the roles of the
verify route (api.auth.ROUTES["verify"]) with the API's own dependency, classifies the input
(`EL1:` is a QR payload, anything else a licence id, checked with its check character before
anything is read), takes the purpose of use from the form (api.access.purpose_for: required of
staff and partners) and remembers it for the session in a cookie, judges through the same code
as POST /v1/verify (api.routers.verify.judge) in a worker thread and records the use as it does.

Must never show a verdict as valid when the node's tip is not trusted (api.web.render.Tip),
answer a recorded caller without its receipt, put the presented document or a person's data
into a record, a cookie or a log, or judge on the event loop.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from api.access import asking_region, purpose_for, use_record
from api.auth import ROUTES, Caller, caller_for
from api.deps import parse_json, read_body
from api.errors import ApiError, status_for
from api.licence_schemas import VerifyRequest
from api.metrics import count_verdict
from api.reading import TipState
from api.routers.verify import MAX_VERIFY_BODY_BYTES, judge
from api.service import NodeService
from api.web import i18n
from api.web.render import error_page, language, page_caller, render, seconds_since, tip_of
from api.web.window_purpose import PURPOSE_COOKIE, PURPOSE_FIELDS, checked_purpose, encode_purpose, purpose_from_form, remembered_purpose, scenarios_for
from api.web.window_checks import format_time
from api.web.window_view import screen_of
from api.workers import in_worker
from ledger.document import LicenceDocument
from ledger.encoding import encode
from ledger.errors import LedgerError
from ledger.ids import parse_licence_id
from ledger.qr import PREFIX
from ledger.seals import read_seal
from ledger.sigcache import SignatureCache

router = APIRouter(include_in_schema=False)

#: The uploaded document file, as the API's verify body (api.md §5).
MAX_DOCUMENT_FILE_BYTES = MAX_VERIFY_BODY_BYTES
#: The whole form: the file plus the input, the purpose and the multipart framing.
MAX_FORM_BYTES = MAX_DOCUMENT_FILE_BYTES + 16 * 1024
#: What the input's `maxlength` allows; a refused input is given back at most this long.
MAX_TYPED_CHARS = 2000
#: Sec-Fetch-Site values of a request this page's own form made (or a typed address).
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})

i18n.add({
    "zh": {
        "window.heading": "核验电子证照",
        "window.input": "扫描二维码、输入证照编号，或粘贴二维码内容",
        "window.submit": "核验",
        "window.document": "或上传持证人出示的证照文件（JSON，最大 256 KiB）",
        "window.purpose": "用证事项（每次核验都会留痕）",
        "window.scenario": "事项",
        "window.scenario_none": "（请选择事项）",
        "window.type_not_accepted": "注意：所选事项不接受这类证照（核验结果不受影响）。",
        "window.item_code": "事项编码",
        "window.item_name": "事项名称",
        "window.serial": "业务流水号",
        "window.purpose_hint": "本次会话内记住事项，不含个人信息。",
        "window.typo_type": "证照编号中类型代码的校验位应为 {expected}，而不是 {actual}，请核对后重新输入。",
        "window.typo_issuer": "证照编号中发证部门统一社会信用代码的校验位应为 {expected}，而不是 {actual}，请核对后重新输入。",
        "window.typo_check": "证照编号的校验位应为 {expected}，而不是 {actual}：可能输错了一个字符，请核对后重新输入。",
        "window.problem": "无法核验",
        "window.cannot_verify": "当前证书的角色不能核验证照：请使用窗口人员、协作地区、发证部门、审计或管理员证书访问本页。",
        "window.verdict": "核验结果",
        "window.judged": "账本判定：{verdict}",
        "window.checks": "各项核验",
        "window.seal_checks": "印章各项检查",
        "window.licence": "证照信息",
        "window.name": "证照名称",
        "window.type": "证照类型",
        "window.id": "证照编号",
        "window.issuer": "发证部门",
        "window.holder": "持证主体",
        "window.holder_person": "自然人 {name}，身份证号 {id}（取自出示的证照，请与身份证核对）",
        "window.holder_person_unseen": "自然人：账本不记录姓名和身份证号；请出示证照文件或核对身份证",
        "window.holder_enterprise": "{name} 统一社会信用代码 {uscc}",
        "window.issue_date": "发证日期",
        "window.validity": "有效期",
        "window.validity_range": "{valid_from} 至 {valid_until}",
        "window.no_end": "长期",
        "window.status": "状态",
        "window.status_line": "{name}，更新于 {updated_at}",
        "window.status_reason": "原因：{code}",
        "window.version": "版本",
        "window.latest": "第 {version} 版，是最新版本",
        "window.superseded": "第 {version} 版，已被 {successor} 取代",
        "window.commitment": "告知承诺",
        "window.commitment_none": "无",
        "window.commitment_line": "{state}，核查期限 {deadline}",
        "window.overdue": "（已逾期）",
        "window.seal": "印章",
        "window.seal_line": "{name}（{seal_id}），签章密钥 {signer}，签章时间 {time}",
        "window.document_match": "出示的证照",
        "window.recognition": "本地区认可",
        "window.recognition_same": "本地区签发",
        "window.recognition_rule": "依 {region} 认可 {from_region} 的规则，视同 {as_type}；条件：{conditions}",
        "window.recognition_none": "本地区没有认可规则",
        "window.as_of": "数据截至第 {height} 块，{age} 秒前",
        "window.receipt": "留痕回执",
        "window.receipt_id": "回执编号 {id}",
        "window.receipt_facts": "事项 {item}（{code}），业务流水号 {serial}；{caller} 于 {time} 核验。",
        "window.receipt_save": "保存回执（JSON）",
        "window.receipt_print": "打印本页即可打印回执",
        "window.receipt_qr": "回执二维码",
        "window.not_recorded": "本次核验未留痕（未填写用证事项）。",
        "window.bundle": "下载证明包",
        "window.history": "证照追溯",
        "window.see_successor": "查看取代它的版本",
        "window.uses": "用证记录",
        "window.cross_site": "拒绝了来自其他网站的核验请求。请直接在本页输入。",
        "window.nothing": "请扫描二维码、输入证照编号，或选择证照文件。",
        "window.both": "请只提供一种：二维码内容或证照编号，或者证照文件。",
        "window.file_too_large": "证照文件为 {size} 字节，超过上限 {limit} 字节。",
        "window.file_not_json": "证照文件不是有效的 JSON：{detail}",
        "window.camera_start": "用摄像头扫码",
        "window.camera_cancel": "关闭摄像头",
        "window.camera_video": "摄像头画面",
        "window.camera_starting": "正在打开摄像头……如浏览器询问，请允许使用摄像头。",
        "window.camera_looking": "请将持证人的二维码对准摄像头。",
        "window.camera_found": "已识别二维码，正在核验……",
        "window.camera_not_licence": "识别到的二维码不是电子证照二维码（应以 EL1: 开头），请换一个。",
        "window.camera_denied": "浏览器不允许本页使用摄像头。请在浏览器的网站设置中允许摄像头后重试，或改用扫码枪、粘贴或输入证照编号。",
        "window.camera_none": "没有找到可用的摄像头。请改用扫码枪、粘贴二维码内容或输入证照编号。",
        "window.camera_busy": "摄像头正被其他程序占用。请关闭该程序后重试，或改用扫码枪。",
        "window.camera_decoder": "无法加载二维码识别程序。请刷新页面后重试，或改用扫码枪。",
        "window.camera_failed": "摄像头无法打开（{detail}）。请改用扫码枪、粘贴或输入证照编号。",
    },
    "en": {
        "window.heading": "Verify an electronic licence",
        "window.input": "Scan the QR code, type the licence id, or paste the QR payload",
        "window.submit": "Verify",
        "window.document": "Or upload the document file the holder presents (JSON, at most 256 KiB)",
        "window.purpose": "Service item (every check is recorded)",
        "window.scenario": "Service item (事项)",
        "window.scenario_none": "(choose the service item)",
        "window.type_not_accepted": "Note: the chosen service item does not accept this type of licence (the verdict does not depend on it).",
        "window.item_code": "Item code (事项编码)",
        "window.item_name": "Item name (事项名称)",
        "window.serial": "Business serial number (业务流水号)",
        "window.purpose_hint": "Remembered for this session; holds no personal data.",
        "window.typo_type": "The check character of the licence type code should be {expected}, not {actual}; re-check the id.",
        "window.typo_issuer": "The check character of the issuer's USCC in the id should be {expected}, not {actual}; re-check the id.",
        "window.typo_check": "The id's check character should be {expected}, not {actual}: a character is probably mistyped; re-check the id.",
        "window.problem": "Cannot verify",
        "window.cannot_verify": "This certificate's role cannot verify licences: open this page with a window staff, partner, department, auditor or administrator certificate.",
        "window.verdict": "Verdict",
        "window.judged": "The ledger judged: {verdict}",
        "window.checks": "Checks",
        "window.seal_checks": "Seal checks",
        "window.licence": "The licence",
        "window.name": "Name",
        "window.type": "Type",
        "window.id": "Licence id",
        "window.issuer": "Issuer",
        "window.holder": "Holder",
        "window.holder_person": "A person, {name}, ID number {id} (from the presented document: compare with the identity card)",
        "window.holder_person_unseen": "A person: the ledger keeps no name or ID number; ask for the document or check the identity card",
        "window.holder_enterprise": "{name} USCC {uscc}",
        "window.issue_date": "Issued on",
        "window.validity": "Validity",
        "window.validity_range": "{valid_from} to {valid_until}",
        "window.no_end": "no end",
        "window.status": "Status",
        "window.status_line": "{name}, since {updated_at}",
        "window.status_reason": "reason: {code}",
        "window.version": "Version",
        "window.latest": "version {version}, the latest",
        "window.superseded": "version {version}, replaced by {successor}",
        "window.commitment": "Commitment (告知承诺)",
        "window.commitment_none": "none",
        "window.commitment_line": "{state}, inspection deadline {deadline}",
        "window.overdue": " (overdue)",
        "window.seal": "Seal",
        "window.seal_line": "{name} ({seal_id}), signing key {signer}, signed at {time}",
        "window.document_match": "Presented document",
        "window.recognition": "Recognised here",
        "window.recognition_same": "issued in this region",
        "window.recognition_rule": "by {region}'s rule recognising {from_region}'s licences as {as_type}; conditions: {conditions}",
        "window.recognition_none": "no recognition rule in this region",
        "window.as_of": "As of block {height}, {age} s ago",
        "window.receipt": "Use receipt",
        "window.receipt_id": "Receipt {id}",
        "window.receipt_facts": "Service item {item} ({code}), business serial number {serial}; checked by {caller} at {time}.",
        "window.receipt_save": "Save the receipt (JSON)",
        "window.receipt_print": "Print this page to print the receipt",
        "window.receipt_qr": "The receipt's QR code",
        "window.not_recorded": "This check was not recorded (no service item given).",
        "window.bundle": "Download the proof bundle",
        "window.history": "Licence history",
        "window.see_successor": "see the version that replaces it",
        "window.uses": "Use records",
        "window.cross_site": "A verification request from another site was refused. Use this page directly.",
        "window.nothing": "Scan a QR code, type a licence id, or choose a document file.",
        "window.both": "Give one thing only: a QR payload or licence id, or a document file.",
        "window.file_too_large": "The document file is {size} bytes; at most {limit} are accepted.",
        "window.file_not_json": "The document file is not valid JSON: {detail}",
        "window.camera_start": "Scan with camera",
        "window.camera_cancel": "Close the camera",
        "window.camera_video": "The camera's picture",
        "window.camera_starting": "Opening the camera... if the browser asks, allow the camera.",
        "window.camera_looking": "Hold the holder's QR code in front of the camera.",
        "window.camera_found": "QR code read; verifying...",
        "window.camera_not_licence": "That QR code is not a licence code (it should start with EL1:); show another.",
        "window.camera_denied": "The browser does not let this page use the camera. Allow the camera in the browser's site settings and try again, or use a scanner, paste the payload or type the licence id.",
        "window.camera_none": "No camera was found. Use a scanner, paste the QR payload or type the licence id.",
        "window.camera_busy": "The camera is in use by another program. Close it and try again, or use a scanner.",
        "window.camera_decoder": "The QR decoder could not be loaded. Reload the page and try again, or use a scanner.",
        "window.camera_failed": "The camera could not be opened ({detail}). Use a scanner, paste the QR payload or type the licence id.",
    },
})


class WindowError(LedgerError):
    """A window form the page refuses before judging (422), or a cross-site request (403)."""

    code = "web.bad_form"


@router.get("/", response_class=HTMLResponse)
async def window(request: Request) -> HTMLResponse:
    try:
        caller = await page_caller(request)
    except LedgerError as exc:
        return error_page(request, exc)
    return await page(request, caller, remembered_purpose(request), await scenarios_for(request, caller))


@router.post("/", response_class=HTMLResponse)
async def check(request: Request) -> HTMLResponse:
    """Verify what the form presents and show the verdict (see the module's docstring)."""
    try:
        caller = await page_caller(request)
    except LedgerError as exc:
        return error_page(request, exc)
    t = i18n.translator(language(request))
    if not same_origin(request):
        error = WindowError(t("window.cross_site"), code="web.cross_site")
        return render(request, "error.html", caller=caller, status=403, error=error)
    try:
        caller = await caller_for("verify")(request)  # type: ignore[operator]
    except LedgerError as exc:
        return await page(request, caller, remembered_purpose(request), [], problem=exc, status=403)
    purpose_form: dict[str, str] = {}
    typed = ""
    scenarios = await scenarios_for(request, caller)
    try:
        form = await read_form(request)
        typed = str(form.get("q") or "").strip()[:MAX_TYPED_CHARS]
        purpose_form = purpose_from_form(form, scenarios)
        asked = await presented(form, t)
        purpose = purpose_for(caller, checked_purpose(purpose_form), "purpose")
        region = asking_region(caller, None, request.app.state.service.genesis, "asking_region")
        now = int(request.app.state.clock() * 1000)
        body, seal, document = await in_worker(judge_for_page, request.app.state.service, asked, region, now, request.app.state.signatures)
    except LedgerError as exc:
        return await page(request, caller, purpose_form or remembered_purpose(request), scenarios, problem=exc, typed=typed, status=status_for(exc))
    tip = tip_of(request)
    untrusted = None if tip.trusted else t(f"site.{tip.problem or 'no_blocks'}", age=tip.age_s)
    screen = screen_of(body, document, language(request), untrusted, seal)
    receipt = None
    if purpose is not None:
        record = use_record(
            caller, purpose, licence_id=body["licence_id"], asking_region=region, presented=body["presented"],  # type: ignore[arg-type]
            verdict=screen.verdict, height=body["height"], time=now,  # type: ignore[arg-type]
        )
        try:
            (receipt,) = await request.app.state.service.record_uses([record])
        except LedgerError as exc:
            return error_page(request, exc, caller)
    count_verdict(screen.verdict, region)
    as_of: Mapping[str, int] = body["as_of"]  # type: ignore[assignment]
    response = await page(
        request, caller, purpose_form, scenarios, screen=screen, receipt=receipt_view(receipt), as_of=as_of,
        as_of_age=seconds_since(as_of["time"], request.app.state.clock()), format_time=format_time,
        may_read_uses=caller.role in (ROUTES["uses"] or ()), type_not_accepted=type_not_accepted(body, purpose_form, scenarios),
    )
    if purpose is not None:
        response.set_cookie(PURPOSE_COOKIE, encode_purpose(purpose), secure=True, httponly=True, samesite="strict")
    return response


async def page(
    request: Request, caller: Caller, purpose: Mapping[str, str], scenarios: list[dict[str, object]], *, status: int = 200, **context: object,
) -> HTMLResponse:
    """The window page: the form (autofocus; the purpose filled in, as a choice among
    `scenarios` when the region has any) and whatever `context` adds:
    `problem` (a LedgerError to show) with `typed` (what the input held, given back to correct;
    window.js selects it so a new scan replaces it), or `screen` (a verdict: the input is empty)."""
    context.setdefault("problem", None)
    context.setdefault("screen", None)
    context.setdefault("typed", "")
    allowed = ROUTES["verify"] or ()
    return render(
        request, "window.html", caller=caller, status=status, purpose={name: purpose.get(name, "") for name in PURPOSE_FIELDS},
        scenarios=scenarios, may_verify=caller.role in allowed, **context,
    )


def type_not_accepted(body: Mapping[str, object], purpose: Mapping[str, str], scenarios: list[dict[str, object]]) -> bool:
    """Whether the chosen scenario lists licence types and the judged licence is of none of them
    (neither its own type nor, across regions, the type its recognition rule counts it as). A
    note for the clerk: the verdict does not depend on it."""
    licence: Mapping[str, object] | None = body.get("licence")  # type: ignore[assignment]
    chosen = next((s for s in scenarios if s["code"] == purpose.get("item_code")), None)
    if licence is None or chosen is None:
        return False
    recognition: Mapping[str, object] = body.get("recognition") or {}  # type: ignore[assignment]
    types = {licence["type"]["code"], recognition.get("as_type")}  # type: ignore[index]
    return not types & set(chosen["licence_types"])  # type: ignore[arg-type]


def same_origin(request: Request) -> bool:
    """Whether a POST comes from this page: Sec-Fetch-Site same-origin or none when the browser
    sends it, else an Origin header equal to the request's own origin. Neither: refused."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in SAME_SITE_FETCHES
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin is not None and origin == own


async def read_form(request: Request) -> Mapping[str, object]:
    """The form, read within MAX_FORM_BYTES (ApiError "api.too_large" beyond), urlencoded or
    multipart (at most one file)."""
    body = await read_body(request, MAX_FORM_BYTES)

    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_files=1, max_fields=8)
    except Exception as exc:  # the multipart parser's errors (starlette HTTPException, MultiPartException)
        raise WindowError(f"the form cannot be read: {getattr(exc, 'detail', exc)}", code="web.bad_form", field="body") from None


async def presented(form: Mapping[str, object], t: Callable[..., str]) -> VerifyRequest:
    """What the form presents, as the verify route's request (without purpose). Raises
    WindowError "web.nothing_presented", "web.two_presentations", "web.too_large",
    "web.bad_file" (not JSON), and the ids.* error of a mistyped id. A file's document is
    parsed by `judge_for_page`, in a worker thread."""
    q = str(form.get("q") or "").strip()
    upload = form.get("document")
    data = b""
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_DOCUMENT_FILE_BYTES + 1)
        if len(data) > MAX_DOCUMENT_FILE_BYTES:
            raise WindowError(t("window.file_too_large", size=upload.size or len(data), limit=MAX_DOCUMENT_FILE_BYTES), code="web.too_large", field="document")
    if q and data:
        raise WindowError(t("window.both"), code="web.two_presentations", field="q")
    if data:
        try:
            obj = parse_json(data)
        except ApiError as exc:
            raise WindowError(t("window.file_not_json", detail=exc), code="web.bad_file", field="document") from None
        return VerifyRequest.model_construct(document=obj)
    if not q:
        raise WindowError(t("window.nothing"), code="web.nothing_presented", field="q")
    if q.startswith(PREFIX):
        return VerifyRequest.model_construct(qr=q)
    return VerifyRequest.model_construct(licence_id=parse_licence_id(q, "q").text)


def judge_for_page(
    service: NodeService, asked: VerifyRequest, region: str, at_time: int, signatures: SignatureCache | None,
) -> tuple[dict[str, object], dict[str, object], LicenceDocument | None]:
    """verify.judge's answer, the seal of the record (blocking reads): `{"seal_id", "name",
    "signer", "signing_time"}`, {} without a record, and the presented document parsed (None
    without one). Raises what judge raises (document.* for a file that is no licence document)."""
    body = judge(service, asked, region, at_time, signatures)
    document = None if asked.document is None else LicenceDocument.from_json(asked.document)
    record: Mapping[str, object] | None = body.get("record")  # type: ignore[assignment]
    if record is None:
        return body, {}, document
    signature: Mapping[str, object] = record["seal_signature"]  # type: ignore[assignment]
    seal = read_seal(TipState(service.view()), str(signature["seal_id"]))
    return body, {
        "seal_id": signature["seal_id"], "name": None if seal is None else seal.get("name"),
        "signer": signature["signer"], "signing_time": signature.get("signing_time"),
    }, document


def receipt_view(receipt: Mapping[str, object] | None) -> dict[str, str] | None:
    """The receipt as the page offers it: its id, a data: URL of its canonical JSON to save, its
    QR code (the same bytes, SVG data: URL; None when too large for a QR code), and what a
    printout shows of it: the purpose, the time (China time) and the clerk's certificate name."""
    if receipt is None:
        return None
    record: Mapping[str, object] = receipt["record"]  # type: ignore[assignment]
    data = encode(receipt)
    try:
        qr = segno.make(data, error="m", micro=False).svg_data_uri(scale=3)
    except segno.encoder.DataOverflowError:
        qr = None
    return {
        "id": f"{record['node']}:{record['seq']}",
        "file": f"receipt-{record['node']}-{record['seq']}.json",
        "url": "data:application/json;base64," + base64.b64encode(data).decode("ascii"),
        "qr": qr,  # type: ignore[dict-item]
        "purpose": record["purpose"],  # type: ignore[dict-item]
        "time": format_time(record["time"]),  # type: ignore[arg-type]
        "caller": record["caller"]["name"],  # type: ignore[index]
    }
