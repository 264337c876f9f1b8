"""The window page (窗口核验) at `/`: one input that takes a scanned or pasted QR payload, a typed
licence id, or an uploaded holder document, and the verdict screen (issue 11 §1).

Judges through the same code as POST /v1/verify (api.routers.verify.judge) in a worker thread,
records the use for a staff or partner caller with the service item chosen on the page, and
shows the verdict only green when the node's data is fresh (api.web.render.Tip).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.web import i18n
from api.web.render import error_page, page_caller, render
from ledger.errors import LedgerError

router = APIRouter(include_in_schema=False)

i18n.add({
    "zh": {
        "window.heading": "核验电子证照",
        "window.input": "扫描二维码、输入证照编号，或粘贴二维码内容",
        "window.submit": "核验",
    },
    "en": {
        "window.heading": "Verify an electronic licence",
        "window.input": "Scan the QR code, type the licence id, or paste the QR payload",
        "window.submit": "Verify",
    },
})


@router.get("/", response_class=HTMLResponse)
async def window(request: Request) -> HTMLResponse:
    try:
        caller = await page_caller(request)
    except LedgerError as exc:
        return error_page(request, exc)
    return render(request, "window.html", caller=caller)
