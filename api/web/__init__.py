"""The web pages every node serves (issue 11): the window page (窗口核验) at `/` and the ledger
explorer under `/explorer`, rendered on the server with Jinja2 from the same NodeService and
ledger functions the API uses, in Chinese with English available; their assets under
`/static/`, all served by the node (no CDN, no outside fonts).

Each page module has a router and its own messages (api.web.i18n); api.web.render is the one
place that builds a page: the language, the caller, the node's tip and the stale-data banner,
the security headers. Pages must never show what the caller's role may not read through the
API (api.auth.ROUTES), never render text unescaped, and never judge on the event loop.
"""

from __future__ import annotations

from api.web import assets, explorer, window

#: Mounted at the root by api.main, after the API's routers.
WEB_ROUTERS = (window.router, explorer.router, assets.router)
