"""What every page has, in Chromium against the devnet (issue 11 §3, §4 and "Tests"): the window
page loads in zh and in en with no console error, at 1366x768 and at a phone's 390x844 without
scrolling sideways, and loads nothing from another origin; the header names the signed-in caller
of a staff or auditor certificate (the PKCS#12 files `make run` prints), or says nobody is
signed in; a certificate the ledger revoked gets the error page with the API's status and code,
one of no genesis CA no page at all (TLS refuses it);
and with three of the four validators stopped the remaining node's page says its data is stale
and a licence the ledger judges valid is not shown as valid (the banner forbids green), until
they are started again.

The stale-data test stops and restarts validators of the shared devnet, so it comes last here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import Error as BrowserError

from api.web.i18n import translator
from certs.layout import issue_credential
from certs.roles import Role
from client.signing import AdminClient
from tests.browser.conftest import DESKTOP, PHONE, STALE_S, scrolls_sideways, type_and_enter, wait_for
from tests.browser.test_window import choose_purpose

LAYOUTS = {"desktop": (DESKTOP, False), "phone": (PHONE, True)}
SUBMIT_TIMEOUT_S = 30.0


def common_name(certificate_pem: bytes) -> str:
    return x509.load_pem_x509_certificate(certificate_pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def profile_name(web, region: str, role: str) -> str:
    from client.profile import read_profile

    return common_name(read_profile(web.devnet.profile_path(region, role)).certificate.read_bytes())


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_window_page_loads_in_each_language_and_layout_with_no_console_error(web, page_as, snap, lang, layout):
    viewport, mobile = LAYOUTS[layout]
    page = page_as("beijing", "staff", viewport=viewport, mobile=mobile)
    answer = page.goto(web.url("beijing", f"/?lang={lang}"))
    assert answer.status == 200
    t = translator(lang)
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
    assert page.locator("h1").inner_text() == t("window.heading")
    assert page.locator("#q").is_visible() and page.locator("button[type=submit]").inner_text() == t("window.submit")
    assert page.evaluate("document.activeElement.id") == "q"  # a wedge scanner types straight in
    assert not scrolls_sideways(page)
    assert "no-store" in answer.headers["cache-control"] and "script-src 'self'" in answer.headers["content-security-policy"]
    snap(page, f"window-{lang}-{layout}")


def test_the_language_link_switches_and_is_remembered(web, page_as):
    page = page_as("tianjin", "staff", locale="zh-CN")
    page.goto(web.url("tianjin"))
    assert page.locator("h1").inner_text() == translator("zh")("window.heading")
    page.get_by_role("link", name=translator("zh")("site.language")).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == translator("en")("window.heading")
    page.goto(web.url("tianjin"))  # the cookie keeps English
    assert page.locator("h1").inner_text() == translator("en")("window.heading")


def test_every_asset_comes_from_the_node_itself(web, page_as):
    page = page_as("xiongan", "staff")
    origin = web.node("xiongan").api_url
    loaded: list[tuple[str, int]] = []
    page.on("response", lambda response: loaded.append((response.url, response.status)))
    page.goto(web.url("xiongan"))
    page.wait_for_load_state("networkidle")
    assert loaded and all(url.startswith(origin + "/") for url, _ in loaded), loaded
    assert all(status == 200 for _, status in loaded), loaded
    assert any(url.endswith("/static/site.css") for url, _ in loaded)
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # the stylesheet applied


@pytest.mark.parametrize("role", ["staff", "auditor"])
def test_the_header_names_the_signed_in_caller(web, page_as, role):
    page = page_as("beijing", role)
    page.goto(web.url("beijing", "/?lang=en"))
    who = page.locator("header .who").inner_text()
    assert profile_name(web, "beijing", role) in who
    assert translator("en")(f"role.{role}") in who and "beijing" in who
    assert translator("en")("site.anonymous") not in who


def test_without_a_certificate_the_header_says_nobody_is_signed_in(web, page_as):
    page = page_as("beijing", None)
    page.goto(web.url("beijing"))
    assert translator("zh")("site.anonymous") in page.locator("header .who").inner_text()


def test_a_certificate_the_ledger_revoked_gets_the_error_page(web, page_as, snap, tmp_path):
    devnet = web.devnet
    ca = devnet.dir / "pki" / "tianjin" / "ca.crt"
    since = x509.load_pem_x509_certificate(ca.read_bytes()).not_valid_before_utc  # the devnet's CA is minutes old
    issue_credential(devnet.dir / "pki" / "tianjin", role=Role.STAFF, name="tianjin-window-9", out_prefix=tmp_path / "clerk",
                     not_before=since, not_after=since + timedelta(days=30))
    credential = (tmp_path / "clerk.crt", tmp_path / "clerk.key")
    before = page_as("tianjin", credential=credential)
    before.goto(web.url("tianjin", "/?lang=en"))
    assert "tianjin-window-9" in before.locator("header .who").inner_text()

    serial = x509.load_pem_x509_certificate(credential[0].read_bytes()).serial_number
    admin = AdminClient(devnet.network.admin_keys["tianjin"], devnet.chain_id)
    with devnet.client(web.node("tianjin"), "admin") as client:
        revocation = client.submit(admin.sign("cert.revoke", {"serial": format(serial, "x"), "reason": "key_leaked"}), timeout_s=SUBMIT_TIMEOUT_S)
    assert revocation.status == "committed"

    page_as.allow_console("status of 403")  # Chromium logs the refused document's status; the page is the answer
    after = page_as("tianjin", credential=credential)
    answer = after.goto(web.url("tianjin", "/?lang=en"))
    assert answer.status == 403
    assert after.locator("h1").inner_text() == translator("en")("error.title")
    assert after.locator(".error code").inner_text() == "auth.revoked"
    assert "tianjin-window-9" not in after.content()
    snap(after, "error-revoked-certificate")


def test_a_certificate_of_no_genesis_ca_gets_no_page_at_all(web, page_as, tmp_path):
    """The node's TLS refuses a client certificate of a CA outside the genesis (api.md §6): the
    browser gets no answer (through Playwright's client-certificate proxy, an empty response)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stranger")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "stranger.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "stranger.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    page = page_as("tianjin", credential=(tmp_path / "stranger.crt", tmp_path / "stranger.key"))
    with pytest.raises(BrowserError, match="net::ERR_"):
        page.goto(web.url("tianjin", "/?lang=en"))


def test_with_three_of_four_validators_stopped_the_page_says_the_data_is_stale(web, page_as, snap):
    page = page_as("beijing", "staff")
    page.goto(web.url("beijing", "/?lang=en"))
    assert page.locator(".banner").count() == 0
    stopped = web.stop_all_but("beijing")
    try:
        def banner() -> str | None:
            page.goto(web.url("beijing", "/?lang=en"))
            return page.locator(".banner").inner_text() if page.locator(".banner").count() else None

        text = wait_for(banner, STALE_S, "no stale-data banner on the remaining node's page", interval_s=2.0)
        assert page.locator(".banner").get_attribute("role") == "alert"  # announced to screen readers
        assert "stale" in text
        snap(page, "window-stale-banner")
        page.goto(web.url("beijing", "/?lang=zh"))
        assert "过时" in page.locator(".banner").inner_text()

        # The stale banner forbids green: a licence the ledger judges valid does not show as valid.
        page.goto(web.url("beijing", "/?lang=en"))
        choose_purpose(page)
        type_and_enter(page, web.enterprise_licence("beijing").licence.id)
        t = translator("en")
        assert page.locator("[data-verdict]").get_attribute("data-verdict") == "indeterminate"
        assert page.locator(".verdict").get_attribute("class").split() == ["verdict", "verdict-indeterminate"]
        assert page.locator(".verdict-word").inner_text() == t("window.verdict.indeterminate")
        assert page.locator(".verdict .reasons li").first.inner_text().startswith(t("window.why.untrusted"))
        assert page.locator(".judged").inner_text() == t("window.judged", verdict=t("window.verdict.valid"))  # as the ledger judged it
        assert page.locator(".banner").count() == 1
        snap(page, "verdict-stale-en")
    finally:
        web.restart(stopped)

    def fresh() -> bool:
        page.goto(web.url("beijing", "/"))
        return page.locator(".banner").count() == 0

    wait_for(fresh, STALE_S, "the stale-data banner stayed after the validators were started again", interval_s=2.0)
