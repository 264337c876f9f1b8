"""Tests of scanning with the camera on the window page (static/window-camera.js and the vendored
jsQR in static/vendor/jsqr): the files are served by the node with the right types, the vendored
file is the recorded one with its licence, the page references scripts only from 'self' and not
the decoder (it is loaded when the camera starts), the camera controls are hidden until the
script shows them, their messages exist in both languages, and the page's weight stays within
the issue's 200 KB (with the decoder too, as sent gzip-compressed by api/web/assets.py). The camera itself in a real browser: tests/browser/test_camera.py."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.web.assets import COMPRESSED, FILES, accepts_gzip

STATIC = Path(__file__).parents[3] / "api" / "web" / "static"
JSQR = "vendor/jsqr/jsQR.js"
#: What the issue allows the page with its scripts to weigh (issue 11, "How well").
PAGE_BUDGET_BYTES = 200 * 1024


@pytest.fixture
def anonymous(service):
    with TestClient(create_app(service), base_url="https://testserver") as client:
        yield client


@pytest.mark.parametrize("name, media_type", [
    (JSQR, "text/javascript; charset=utf-8"),
    ("vendor/jsqr/LICENSE.txt", "text/plain; charset=utf-8"),
    ("vendor/jsqr/README.txt", "text/plain; charset=utf-8"),
    ("window-camera.js", "text/javascript; charset=utf-8"),
])
def test_the_camera_script_the_vendored_decoder_and_its_licence_are_served(anonymous, name, media_type):
    answer = anonymous.get(f"/static/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == media_type
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.content == (STATIC / name).read_bytes()


def test_the_vendored_decoder_is_the_recorded_jsqr_under_its_apache_licence():
    data = (STATIC / JSQR).read_bytes()
    readme = (STATIC / "vendor" / "jsqr" / "README.txt").read_text()
    assert f"({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()})" in readme
    assert "jsQR 1.4.0" in readme and "npm" in readme and "Apache License 2.0" in readme
    licence = (STATIC / "vendor" / "jsqr" / "LICENSE.txt").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    # Nothing in it reaches elsewhere or needs 'unsafe-eval' (the CSP allows neither).
    text = data.decode()
    assert "eval(" not in text and "new Function" not in text and "sourceMappingURL" not in text


def test_the_page_loads_scripts_only_from_self_and_the_decoder_only_with_the_camera(anonymous):
    page = anonymous.get("/?lang=en")
    assert page.status_code == 200
    text = page.text
    assert '<script src="/static/window-camera.js" defer></script>' in text
    for reference in re.findall(r'(?:src|href)="([^"]*)"', text):
        assert reference.startswith(("/", "?", "data:")) and not reference.startswith("//"), reference
    assert "<script>" not in text and "style=" not in text  # the CSP forbids inline script and style
    assert "jsQR" not in text  # loaded by window-camera.js when the camera starts, not by the page
    camera_js = (STATIC / "window-camera.js").read_text()
    assert '"/static/' + JSQR + '"' in camera_js and JSQR in FILES
    assert "http:" not in camera_js and "https:" not in camera_js and "//" + "cdn" not in camera_js


def test_the_camera_controls_are_hidden_until_the_script_shows_them(anonymous):
    text = anonymous.get("/?lang=en").text
    start = re.search(r'<button type="button" id="camera-start"[^>]*>', text).group(0)  # type: ignore[union-attr]
    panel = re.search(r'<div id="camera"[^>]*>', text, re.S).group(0)  # type: ignore[union-attr]
    assert " hidden" in start and " hidden" in panel
    assert "<video muted playsinline" in text  # no sound asked for; plays inline on a phone


@pytest.mark.parametrize("lang, words", [
    ("en", ["Scan with camera", "does not let this page use the camera", "No camera was found", "not a licence code"]),
    ("zh", ["用摄像头扫码", "浏览器不允许本页使用摄像头", "没有找到可用的摄像头", "不是电子证照二维码"]),
])
def test_the_camera_messages_are_in_the_pages_language(anonymous, lang, words):
    text = anonymous.get(f"/?lang={lang}").text
    for word in words:
        assert word in text
    states = set(re.findall(r'data-msg-([a-z_]+)=', text.split('id="camera"', 1)[1].split(">", 1)[0]))
    camera_js = (STATIC / "window-camera.js").read_text()
    said = set(re.findall(r'say\("([a-z_]+)"', camera_js)) | set(re.findall(r'return "([a-z_]+)";', camera_js))
    assert said <= states, said - states


def sent(client: TestClient, path: str, encoding: str) -> int:
    """How many body bytes the node sends for `path` to a browser accepting `encoding`."""
    answer = client.get(path, headers={"Accept-Encoding": encoding})
    assert answer.status_code == 200
    return int(answer.headers.get("content-length", len(answer.content)))


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_the_page_with_its_scripts_weighs_at_most_200_kb_and_with_the_cameras_decoder_too_when_compressed(anonymous, encoding):
    page = anonymous.get("/?lang=zh")
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert "/static/window-camera.js" in assets and "/static/window.js" in assets
    weight = len(page.content) + sum(sent(anonymous, path, encoding) for path in assets)
    assert weight <= PAGE_BUDGET_BYTES, weight
    if encoding == "gzip":  # every browser that has a camera accepts gzip
        assert weight + sent(anonymous, "/static/" + JSQR, encoding) <= PAGE_BUDGET_BYTES


def test_the_decoder_is_sent_gzip_compressed_to_a_browser_that_accepts_it(anonymous):
    raw = (STATIC / JSQR).read_bytes()
    packed = anonymous.get(f"/static/{JSQR}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) == len(COMPRESSED[JSQR][0]) < len(raw) // 4
    assert packed.content == raw  # httpx inflates it
    plain = anonymous.get(f"/static/{JSQR}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == raw
    assert plain.headers["etag"] != packed.headers["etag"]  # two representations, two strong ETags
    again = anonymous.get(f"/static/{JSQR}", headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("header, accepted", [
    ("gzip, deflate, br, zstd", True), ("br;q=1.0, gzip;q=0.8", True), ("GZIP", True), ("x-gzip", True),
    ("gzip;q=0", False), ("gzip; q=0.000", False), ("gzip;q=x", False), ("identity", False), ("", False), (None, False),
    ("deflate, br", False),
])
def test_accepts_gzip_reads_the_weight(header, accepted):
    assert accepts_gzip(header) is accepted
