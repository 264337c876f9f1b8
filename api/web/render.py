"""Building a page: `render` fills a Jinja2 template with what every page shows (the language
and its words, the caller, the node's tip and whether its data is stale) and answers it with
the security headers every page carries; `page_caller` identifies the browser's certificate as
the API does (api.auth); `error_page` answers a LedgerError as a page with the API's status.

Templates live in api/web/templates and are autoescaped. Must never mark caller-supplied text
safe, load anything from another origin (the Content-Security-Policy forbids it), or read the
chain on the event loop (a page that reads calls `api.workers.in_worker`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.auth import ANONYMOUS_CALLER, Authenticator, Caller, client_certificates
from api.errors import status_for
from api.web.i18n import LANG_COOKIE, pick_language, translator
from api.workers import in_worker
from ledger.errors import LedgerError

TEMPLATES = Path(__file__).parent / "templates"
#: Everything from this node; images may be data: or blob: URLs (QR codes, camera frames).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)


@dataclass(frozen=True)
class Tip:
    """The node's position as the page shows it: `height` (0 before any block), the last
    block's age in whole seconds (None before any block), and why a verdict may not show as
    valid: "syncing", "stale" (older than the API's max_block_age_s), "unreachable", or None."""

    height: int
    age_s: int | None
    problem: str | None

    @property
    def trusted(self) -> bool:
        return self.problem is None and self.height > 0


def tip_of(request: Request) -> Tip:
    """The tip from the node's last report (never asks the node)."""
    report = request.app.state.service.report()
    now_ms = int(request.app.state.clock() * 1000)
    age = None if report.block_time is None else max(0, (now_ms - report.block_time) // 1000)
    problem = None
    if not report.reachable:
        problem = "unreachable"
    elif report.syncing:
        problem = "syncing"
    elif age is not None and age > request.app.state.settings.max_block_age_s:
        problem = "stale"
    return Tip(report.height, age, problem)


async def page_caller(request: Request) -> Caller:
    """The caller the browser's certificate names (anonymous without one). Raises ApiError
    "auth.*" for a refused or revoked certificate, as the API does (api.md §6.1)."""
    chain = client_certificates(request)
    if not chain:
        return ANONYMOUS_CALLER
    authenticator: Authenticator = request.app.state.authenticator
    view = request.app.state.service.view()
    caller = authenticator.cleared(chain, view.height)
    return caller if caller is not None else await in_worker(authenticator.identify, chain, view)


def language(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def render(request: Request, template: str, *, caller: Caller, status: int = 200, **context: object) -> HTMLResponse:
    """The page `template` for `caller`, with `context` and the common members: `lang`, `t`,
    `caller`, `tip`, `path` (the request's path, for the language link)."""
    lang = language(request)
    body = _env.get_template(template).render(
        lang=lang, t=translator(lang), caller=caller, tip=tip_of(request), path=request.url.path, **context,
    )
    response = HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, secure=True, httponly=True, samesite="strict")
    return response


def error_page(request: Request, error: LedgerError, caller: Caller = ANONYMOUS_CALLER) -> HTMLResponse:
    """`error` as a page, with the status the API would answer it with."""
    return render(request, "error.html", caller=caller, status=status_for(error), error=error)


def seconds_since(ms: int, now: float | None = None) -> int:
    return max(0, int((time.time() if now is None else now) - ms / 1000))
