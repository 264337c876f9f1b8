"""The pages in a real browser (issue 11, "Tests"): one seeded four-validator devnet for the
whole browser suite (tests/e2e/cluster.py, the same `running_devnet` as the end-to-end tests) and
Debian's Chromium driven by Playwright's sync API.

Fixtures:
  - `web`: the running devnet (`Web`: its nodes, page URLs, seeded documents); session-scoped,
    so every browser test file shares it. A test that stops nodes starts them again before it
    ends (`Web.stop_all_but` / `Web.restart`).
  - `chromium`: the browser, launched from /usr/bin/chromium (ELEDGER_CHROMIUM overrides) with
    the flags this machine needs; Playwright gives it a fresh empty --user-data-dir itself.
    Missing Chromium or Playwright FAILS the test with how to install it: these tests are part
    of `make test` (which installs Chromium, `make browser`), never skipped.
  - `page_as(region, role)`: a new browser context (its own cookies) presenting `region`'s
    credential of `role` (a key of node.devnet.PROFILE_ROLES; None for no certificate) to that
    region's node; staff and auditor present the PKCS#12 file `make run` tells people to import.
    Every console error and uncaught page error of its pages fails the test (issue §4), except
    those a test declares with `page_as.allow_console(text)`.
  - `snap(page, name)`: a screenshot in tests/browser/artefacts/<name>.png (gitignored).
  - `sent_requests(page)`: the list of every request the page sends from now on.
  - `type_and_enter(page, text)`: a wedge scanner's keystrokes and Enter into the window page's
    input; `scrolls_sideways(page)`: wider than the viewport.

Must never signal a process it did not start, wait without a bound, or assert on wall-clock time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rich.console import Console
from client.profile import read_profile
from ledger.document import LicenceDocument, read_document
from node.devnet import BROWSER_PASSWORD, BROWSER_ROLES, DevnetNode, seed_devnet
from tests.e2e.cluster import Cluster, running_devnet, wait_for

CHROMIUM = Path(os.environ.get("ELEDGER_CHROMIUM", "/usr/bin/chromium"))
#: What Chromium needs on this machine: as root no sandbox; no GPU; and no connections of its own
#: (the network is closed: background requests would be refused, many at a time).
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
)
INSTALL_HINT = (
    "install Debian's chromium (as root: `apt-get install -y --no-install-recommends chromium fonts-wqy-microhei`, or `make browser`) "
    "and the test extra (`pip install -e '.[test]'`, which brings playwright); `playwright install` does not work offline"
)
ARTEFACTS = Path(__file__).resolve().parent / "artefacts"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
#: Generous bounds for a page on a 2-core machine running four validators.
NAVIGATION_MS = 60_000
STALE_S = 180.0


@dataclasses.dataclass
class Web:
    """The running devnet as the browser tests use it."""

    cluster: Cluster

    @property
    def devnet(self):
        return self.cluster.devnet

    def node(self, region: str) -> DevnetNode:
        return next(n for n in self.cluster.nodes if n.region == region)

    def url(self, region: str, path: str = "/") -> str:
        return self.node(region).api_url + path

    def documents(self, region: str) -> list[LicenceDocument]:
        """The holder documents the seed issued in `region`, in file order."""
        return [read_document(p) for p in sorted((self.devnet.dir / "documents" / region).glob("*.json"))]

    def enterprise_licence(self, region: str) -> LicenceDocument:
        """A seeded licence of `region` held by an enterprise."""
        return next(d for d in self.documents(region) if d.licence.holder.to_json().get("uscc"))

    def stop_all_but(self, region: str) -> list[str]:
        """SIGTERM every validator but `region`'s (only the PIDs this suite started); their names."""
        names = [n.name for n in self.cluster.nodes if n.region != region]
        self.cluster.stop(names)
        return names

    def restart(self, names: list[str]) -> None:
        """Start the named validators again and wait until they answer and the chain moves on."""
        running = [n for n in self.cluster.nodes if n.name not in names]
        heights = []
        for node in running:
            with self.devnet.client(node) as client:
                heights.append(client.status()["height"])
        self.cluster.start(names)
        self.cluster.settle(at_least=max(heights, default=0) + 1, timeout_s=STALE_S)


@pytest.fixture(scope="package")
def web(tmp_path_factory, chromium) -> Iterator[Web]:
    """(Asks for `chromium` first, so that a machine without it fails before starting a devnet.)"""
    with running_devnet(tmp_path_factory.mktemp("browser") / "devnet", 4) as cluster:
        try:
            assert seed_devnet(cluster.devnet, Console(quiet=True)) is True
        except BaseException:
            print(cluster.tails())
            raise
        yield Web(cluster)


@pytest.fixture(scope="package")
def chromium():
    """Debian's Chromium under Playwright (sync API), one browser for the browser tests (package scope: its event loop must be gone before the tests after tests/browser call asyncio.run)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need it; {INSTALL_HINT}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"Playwright cannot be imported ({exc}); {INSTALL_HINT}", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True)
        try:
            yield browser
        finally:
            browser.close()


class PageAs:
    """Opens pages as a region's role; remembers their console errors; closes them at the end."""

    def __init__(self, browser, web: Web) -> None:
        self.browser = browser
        self.web = web
        self.contexts: list = []
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def __call__(self, region: str, role: str | None = "staff", *, viewport: dict[str, int] = DESKTOP, mobile: bool = False,
                 credential: tuple[Path, Path] | None = None, locale: str = "zh-CN"):
        """A new page (in a context of its own) for `region`'s node, presenting `credential`
        (certificate and key files) or else `region`'s credential of `role` (None: none)."""
        origin = self.web.node(region).api_url
        certificates = []
        if credential is not None:
            certificates = [{"origin": origin, "certPath": str(credential[0]), "keyPath": str(credential[1])}]
        elif role in BROWSER_ROLES:
            pfx = self.web.devnet.browser_credential(region, role)
            certificates = [{"origin": origin, "pfxPath": str(pfx), "passphrase": BROWSER_PASSWORD}]
        elif role is not None:
            profile = read_profile(self.web.devnet.profile_path(region, role))
            certificates = [{"origin": origin, "certPath": str(profile.certificate), "keyPath": str(profile.private_key)}]
        context = self.browser.new_context(
            client_certificates=certificates, ignore_https_errors=True,  # the devnet's CAs are not in Chromium's store
            viewport=viewport, is_mobile=mobile, has_touch=mobile, locale=locale,
        )
        context.set_default_timeout(NAVIGATION_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and self.errors.append(f"console: {message.text} ({message.location.get('url', '')})"))
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        return page

    def allow_console(self, text: str) -> None:
        """Console errors containing `text` are expected by this test (say why where it is called)."""
        self.allowed.append(text)

    def console_errors(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def page_as(chromium, web) -> Iterator[PageAs]:
    pages = PageAs(chromium, web)
    try:
        yield pages
    finally:
        pages.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test that passed but whose pages logged console errors fails (issue §4)."""
    result = yield
    pages = getattr(item, "funcargs", {}).get("page_as")
    if isinstance(pages, PageAs) and pages.console_errors():
        pytest.fail("the pages logged errors:\n  " + "\n  ".join(pages.console_errors()), pytrace=False)
    return result


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test's report carries the last lines of every node's output."""
    outcome = yield
    report = outcome.get_result()
    web = getattr(item, "funcargs", {}).get("web")
    if report.failed and isinstance(web, Web):
        report.sections.append(("node output", web.cluster.tails()))


def save_screenshot(page, name: str) -> Path:
    """The whole page as tests/browser/artefacts/<name>.png."""
    ARTEFACTS.mkdir(exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def snap():
    return save_screenshot


@pytest.fixture
def sent_requests():
    """`sent_requests(page)`: a list that every request `page` sends from now on is appended to
    (method and URL), to show that something was NOT sent."""

    def watch(page) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        page.on("request", lambda request: seen.append((request.method, request.url)))
        return seen

    return watch


def type_and_enter(page, text: str, selector: str = "#q"):
    """Type `text` into the window page's one input as a keyboard-wedge scanner does (key by
    key, then Enter) and wait for the page the form's answer loads; that answer (Response)."""
    page.locator(selector).focus()
    page.keyboard.type(text)
    with page.expect_navigation(wait_until="domcontentloaded") as navigation:
        page.keyboard.press("Enter")
    return navigation.value


def scrolls_sideways(page) -> list[str]:
    """Empty if the page fits its viewport's width; else what sticks out (tag.class#id and its
    right edge), so that a phone would scroll horizontally."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) return [];
        const out = [`page ${document.documentElement.scrollWidth} px wide in ${width} px`];
        for (const e of document.body.querySelectorAll("*")) {
            const right = e.getBoundingClientRect().right;
            if (right > width + 0.5) out.push(`${e.tagName.toLowerCase()}.${e.className}#${e.id} to ${Math.round(right)} px`);
        }
        return out.slice(0, 12);
    }""")


__all__ = ["DESKTOP", "PHONE", "STALE_S", "PageAs", "Web", "save_screenshot", "scrolls_sideways", "type_and_enter", "wait_for"]
