"""GET /static/{name}: the pages' own assets (stylesheet, scripts, vendored libraries with their
licences), read once at start from api/web/static. Only the files found there are served, with
a strong ETag and a day's caching; anything else is a 404 "web.not_found". Must never serve a path outside
that directory or a file added after start."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request, Response

from api.errors import ApiError
from api.web.render import SECURITY_HEADERS

STATIC = Path(__file__).parent / "static"
TYPES = {
    ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml",
    ".png": "image/png", ".txt": "text/plain; charset=utf-8", ".ico": "image/x-icon", ".woff2": "font/woff2",
}

router = APIRouter(include_in_schema=False)


def _load() -> dict[str, tuple[bytes, str, str]]:
    files = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.suffix in TYPES:
            data = path.read_bytes()
            files[path.relative_to(STATIC).as_posix()] = (data, TYPES[path.suffix], '"' + hashlib.sha256(data).hexdigest()[:32] + '"')
    return files


FILES = _load()


@router.get("/static/{name:path}")
async def static(name: str, request: Request) -> Response:
    found = FILES.get(name)
    if found is None:
        raise ApiError(f"no asset named {name[:100]!r}", code="web.not_found")
    data, media_type, etag = found
    headers = {**SECURITY_HEADERS, "ETag": etag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)
