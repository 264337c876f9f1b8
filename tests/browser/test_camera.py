"""The window page's camera scan (api/web/static/window-camera.js) in a real headless Chromium
with a fake camera: a video file made here, at test time, of a licence's QR code (upright, and
turned by 20 degrees), given to Chromium with --use-file-for-fake-video-capture. The page is
served over plain HTTP on 127.0.0.1 (a secure context, so getUserMedia is offered) by the node's
own HTTP server (node.http.HttpServer) in a thread, around the app of a licence world
(tests/api/world.py) that takes the browser for a Beijing window clerk (tests/api/pki.presenting).

Also: a QR code that is not a licence's is refused and nothing is sent; a refused camera, a
missing or busy one (getUserMedia made to fail as it would) get their messages; without
getUserMedia or without JavaScript there is no camera button and the form still verifies; the
decoder is fetched only once the camera is granted, and not at all when the browser's
BarcodeDetector reads QR codes (a stand-in: Chromium on Linux has none); nothing is logged to
the console. Needs Debian's chromium at CHROMIUM and the Python package playwright (the test
extra); a missing one fails the test with what to install, never skips it.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import segno
from PIL import Image

from api.main import create_app
from certs.roles import Role
from client.qr import render_qr
from node.http import HttpServer
from tests.api.pki import presenting
from tests.api.world import World, make_world

CHROMIUM = Path(os.environ.get("ELEDGER_CHROMIUM", "/usr/bin/chromium"))
#: The flags this machine's Chromium needs (the env notes): no sandbox as root, no GPU, and no
#: background connections, which the closed network refuses.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
FRAME = (640, 480)  # the fake camera's picture: what getUserMedia gives without constraints
FRAMES = 10  # Chromium plays the file in a loop
WAIT_MS = 30_000  # generous: two cores shared with other tests
PURPOSE = {"item_code": "BJ-SC-0007", "item_name": "食品经营许可变更", "serial": "BJ2026120800001"}
JSQR = "/static/vendor/jsqr/jsQR.js"


def require_browser():
    """Playwright's sync API, or a failure saying what to install."""
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium is not at {CHROMIUM}: install it with `apt-get install -y --no-install-recommends chromium` "
                    "(or set ELEDGER_CHROMIUM to its path); `make test` does it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing: `pip install -e '.[test]'` (or `make test`)")
    return sync_playwright


# -- the fake camera -----------------------------------------------------------------------------


def camera_picture(png: bytes, angle: float) -> Image.Image:
    """A FRAME-sized white picture with the QR image in its middle, turned by `angle` degrees."""
    code = Image.open(io.BytesIO(png)).convert("L")
    if angle:
        code = code.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
    picture = Image.new("L", FRAME, 255)
    picture.paste(code, ((FRAME[0] - code.width) // 2, (FRAME[1] - code.height) // 2))
    return picture.convert("RGB")


def write_y4m(path: Path, picture: Image.Image) -> Path:
    """`picture` as a YUV4MPEG2 video of FRAMES frames (4:2:0, the form Chromium's fake camera
    reads): a header line, then per frame "FRAME\\n" and the Y, Cb and Cr planes."""
    y, cb, cr = picture.convert("YCbCr").split()
    half = (picture.width // 2, picture.height // 2)
    frame = b"FRAME\n" + y.tobytes() + cb.resize(half, Image.BILINEAR).tobytes() + cr.resize(half, Image.BILINEAR).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{picture.width} H{picture.height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(frame)
    return path


def qr_video(directory: Path, name: str, payload: str, angle: float = 0.0) -> Path:
    """A fake camera's video of `payload`'s QR code, drawn as the holder's document shows it
    (client.qr), at the largest scale that leaves it whole in the frame after turning."""
    modules = render_qr(payload, "png", scale=1).modules
    scale = max(2, int(min(FRAME) * 0.9 / (modules * 1.4)))
    return write_y4m(directory / f"{name}.y4m", camera_picture(render_qr(payload, "png", scale=scale).data, angle))


# -- the node ------------------------------------------------------------------------------------


@dataclass
class Served:
    world: World
    url: str
    payload: str
    licence_id: str


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """A licence world whose page the node's HTTP server serves on 127.0.0.1 to a browser taken
    for a Beijing window clerk, with one valid Beijing licence issued."""
    world = make_world(tmp_path_factory.mktemp("camera") / "net")
    doc = world.document(41_000)
    world.issue(doc)
    # The page trusts only a fresh tip: its clock is a second after the last block.
    app = create_app(world.service, clock=lambda: world.service.chain.tip.time / 1000 + 1)
    clerk = presenting(app, world.pki.pem("beijing", Role.STAFF))
    loop = asyncio.new_event_loop()
    server = HttpServer(clerk)
    sock = socket.create_server(("127.0.0.1", 0))
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start(sock))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="camera-test-http", daemon=True)
    thread.start()
    assert started.wait(30), "the HTTP server did not start"
    host, port = sock.getsockname()[:2]
    try:
        yield Served(world, f"http://{host}:{port}", world.qr(doc), doc.licence.id)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(5), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
        sock.close()
        world.close()


# -- the browser ---------------------------------------------------------------------------------


@dataclass
class Browser:
    page: object
    requests: list[str]  # "METHOD url" of every request the page made
    errors: list[str]


@pytest.fixture
def chromium(tmp_path):
    """`open(video, allow=True, javascript=True, init=None)`: a Chromium page whose camera plays
    `video` (None: no fake camera); with allow=False the camera permission is refused, as a
    clerk clicking "Block" would; `init` is a script run before the page's own."""
    sync_playwright = require_browser()
    playwright = sync_playwright().start()
    opened = []

    def open_browser(video: Path | None, *, allow: bool = True, javascript: bool = True, init: str | None = None) -> Browser:
        profile = tmp_path / f"profile-{len(opened)}"
        profile.mkdir()
        flags = [*CHROMIUM_FLAGS]
        if video is not None:
            flags += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
        if allow:
            flags.append("--use-fake-ui-for-media-stream")
        else:
            flags.append("--deny-permission-prompts")
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=flags, headless=True, chromium_sandbox=False,
            viewport={"width": 1366, "height": 768}, java_script_enabled=javascript,
        )
        opened.append(context)
        if init is not None:
            context.add_init_script(init)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(WAIT_MS)
        browser = Browser(page, [], [])
        page.on("request", lambda request: browser.requests.append(f"{request.method} {request.url}"))
        page.on("console", lambda message: message.type == "error" and browser.errors.append(message.text))
        page.on("pageerror", lambda error: browser.errors.append(str(error)))
        return browser

    try:
        yield open_browser
    finally:
        for context in opened:
            context.close()
        playwright.stop()


def open_window(browser: Browser, served: Served, lang: str = "en", *, camera: bool = True) -> None:
    page = browser.page
    page.goto(f"{served.url}/?lang={lang}")
    for name, value in PURPOSE.items():
        page.fill(f"input[name={name}]", value)
    if camera:
        page.wait_for_selector("#camera-start:not([hidden])", state="visible")
    assert not any(JSQR in url for url in browser.requests), "the decoder was fetched before the camera started"


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("angle", [0, 20], ids=["upright", "turned-20-degrees"])
def test_a_scanned_licence_qr_code_is_verified_with_the_payload_the_server_received(served, chromium, tmp_path, angle):
    browser = chromium(qr_video(tmp_path, f"licence-{angle}", served.payload, angle))
    page = browser.page
    open_window(browser, served)
    decoder = page.evaluate(
        "async () => typeof BarcodeDetector === 'function' && (await BarcodeDetector.getSupportedFormats()).includes('qr_code')"
        " ? 'barcode-detector' : 'jsqr'"
    )
    with page.expect_navigation(), page.expect_response(lambda response: response.request.method == "POST") as answered:
        page.click("#camera-start")
    body = answered.value.request.post_data or ""
    assert served.payload in body and PURPOSE["item_code"] in body
    page.wait_for_selector("[data-verdict]")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "valid"
    assert served.licence_id in page.content()
    assert (JSQR in " ".join(browser.requests)) == (decoder == "jsqr")
    assert browser.errors == []
    page.screenshot(path=str(tmp_path / f"camera-verdict-{angle}.png"))


#: A BarcodeDetector as Chrome on Android has it (Chromium on Linux has none), reading `payload`
#: from any frame of a playing video: the page must use it, and never fetch jsQR.
BARCODE_DETECTOR = """
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["aztec", "qr_code"]); }
  constructor(options) { this.formats = options.formats; }
  detect(video) {
    if (!(video instanceof HTMLVideoElement) || video.readyState < 2) return Promise.reject(new DOMException("", "InvalidStateError"));
    return Promise.resolve(this.formats.includes("qr_code") ? [{format: "qr_code", rawValue: %s}] : []);
  }
};
"""


def test_the_browsers_barcode_detector_is_used_when_it_reads_qr_codes(served, chromium, tmp_path):
    browser = chromium(qr_video(tmp_path, "detector", served.payload), init=BARCODE_DETECTOR % json.dumps(served.payload))
    page = browser.page
    open_window(browser, served)
    with page.expect_navigation(), page.expect_response(lambda response: response.request.method == "POST") as answered:
        page.click("#camera-start")
    assert served.payload in (answered.value.request.post_data or "")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "valid"
    assert not any(JSQR in request for request in browser.requests)
    assert browser.errors == []


def test_a_qr_code_that_is_not_a_licences_is_refused_and_nothing_is_sent(served, chromium, tmp_path):
    # What a holder shows by mistake: a web address, a payment code.
    out = io.BytesIO()
    segno.make_qr("https://example.com/pay?id=1").save(out, kind="png", scale=8, border=4)
    browser = chromium(write_y4m(tmp_path / "other.y4m", camera_picture(out.getvalue(), 0)))
    page = browser.page
    open_window(browser, served)
    page.click("#camera-start")
    page.wait_for_selector("#camera-status[data-state=not_licence]")
    assert "not a licence code" in page.inner_text("#camera-status")
    page.screenshot(path=str(tmp_path / "camera-not-a-licence.png"))
    assert page.input_value("#q") == ""
    page.click("#camera-cancel")
    assert page.is_hidden("#camera") and page.is_visible("#camera-start")
    assert page.evaluate("document.activeElement.id") == "q"
    assert not [request for request in browser.requests if request.startswith("POST ")]
    assert browser.errors == []


@pytest.mark.parametrize("lang, words", [("en", "does not let this page use the camera"), ("zh", "浏览器不允许本页使用摄像头")])
def test_a_refused_camera_says_so_and_the_page_still_takes_typed_input(served, chromium, tmp_path, lang, words):
    browser = chromium(qr_video(tmp_path, "refused", served.payload), allow=False)
    page = browser.page
    open_window(browser, served, lang)
    page.click("#camera-start")
    page.wait_for_selector("#camera-status[data-state=denied]")
    assert words in page.inner_text("#camera-status")
    assert not any(JSQR in url for url in browser.requests)
    page.fill("#q", served.payload)
    with page.expect_navigation():
        page.press("#q", "Enter")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "valid"
    assert browser.errors == []


#: getUserMedia failing as it does on a machine without a camera, or with one another program
#: holds (a fake camera cannot show either, and a real one on the test machine must not matter).
FAILING_CAMERA = """
navigator.mediaDevices.getUserMedia = function () {
  return Promise.reject(new DOMException("simulated by the test", "%s"));
};
"""


@pytest.mark.parametrize("error, state, words", [
    ("NotFoundError", "none", "No camera was found"),
    ("NotReadableError", "busy", "in use by another program"),
    ("TypeError", "failed", "could not be opened (TypeError)"),
])
def test_a_camera_that_cannot_open_says_why(served, chromium, error, state, words):
    browser = chromium(None, init=FAILING_CAMERA % error)
    page = browser.page
    open_window(browser, served)
    page.click("#camera-start")
    page.wait_for_selector(f"#camera-status[data-state={state}]")
    assert words in page.inner_text("#camera-status")
    assert not any(JSQR in url for url in browser.requests)
    assert browser.errors == []


def test_without_getusermedia_or_without_javascript_there_is_no_camera_button_and_the_form_works(served, chromium):
    no_media = "Object.defineProperty(Navigator.prototype, 'mediaDevices', {get: function () { return undefined; }});"
    for browser in (chromium(None, init=no_media), chromium(None, javascript=False)):
        page = browser.page
        open_window(browser, served, camera=False)
        assert page.is_hidden("#camera-start") and page.is_hidden("#camera")
        page.fill("#q", served.payload)
        with page.expect_navigation():
            page.press("#q", "Enter")
        assert page.get_attribute("[data-verdict]", "data-verdict") == "valid"
        assert browser.errors == []
