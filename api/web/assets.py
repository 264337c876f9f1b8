"""GET /static/{name}: the pages' own assets (stylesheet, scripts, vendored libraries with their
licences), read once at start from api/web/static. Only the files found there are served, with
a strong ETag and a day's caching; anything else is a 404 "web.not_found". A text asset is also
kept gzip-compressed (COMPRESSED) and sent so to a browser that accepts gzip, with its own ETag
(the vendored QR decoder is 251 KiB as a file, 56 KiB sent). Must never serve a path outside
that directory or a file added after start, or compress anything but these files (a compressed
page that reflects input next to a secret would leak it: BREACH)."""

from __future__ import annotations

import gzip
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
#: The suffixes of text assets also kept gzip-compressed.
COMPRESSIBLE = frozenset({".css", ".js", ".svg", ".txt"})

router = APIRouter(include_in_schema=False)


def _load() -> dict[str, tuple[bytes, str, str]]:
    files = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.suffix in TYPES:
            data = path.read_bytes()
            files[path.relative_to(STATIC).as_posix()] = (data, TYPES[path.suffix], '"' + hashlib.sha256(data).hexdigest()[:32] + '"')
    return files


def _compress(files: dict[str, tuple[bytes, str, str]]) -> dict[str, tuple[bytes, str]]:
    compressed = {}
    for name, (data, _, etag) in files.items():
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        if Path(name).suffix in COMPRESSIBLE and len(packed) < len(data):
            compressed[name] = (packed, etag[:-1] + '-gzip"')
    return compressed


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header names gzip with a weight above 0 (RFC 9110 §12.5.3)."""
    for part in (accept_encoding or "").split(","):
        coding, *params = part.split(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            for param in params:
                key, _, value = param.strip().partition("=")
                if key.lower() == "q":
                    try:
                        return float(value) > 0
                    except ValueError:
                        return False
            return True
    return False


FILES = _load()
COMPRESSED = _compress(FILES)


@router.get("/static/{name:path}")
async def static(name: str, request: Request) -> Response:
    found = FILES.get(name)
    if found is None:
        raise ApiError(f"no asset named {name[:100]!r}", code="web.not_found")
    data, media_type, etag = found
    headers = {**SECURITY_HEADERS, "ETag": etag, "Cache-Control": "public, max-age=86400"}
    if name in COMPRESSED:
        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(request.headers.get("accept-encoding")):
            data, etag = COMPRESSED[name]
            headers.update({"ETag": etag, "Content-Encoding": "gzip"})
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)
