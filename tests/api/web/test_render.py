"""Tests of api.web.render, api.web.i18n and api.web.assets: every page carries the language,
the caller, the node's tip and the security headers; the language is chosen and remembered;
the assets are the files of api/web/static and nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.web import i18n
from api.web.assets import FILES
from certs.roles import Role
from client.signing import AdminClient
from tests.api.pki import presenting


@pytest.fixture
def anonymous(service):
    with TestClient(create_app(service), base_url="https://testserver") as client:  # the language cookie is Secure
        yield client


def test_the_window_page_is_chinese_by_default_and_english_on_request(anonymous):
    page = anonymous.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text and "核验电子证照" in page.text
    english = anonymous.get("/?lang=en")
    assert '<html lang="en">' in english.text and "Verify an electronic licence" in english.text
    assert english.cookies.get("lang") == "en"
    assert "Verify an electronic licence" in anonymous.get("/").text  # remembered by the cookie
    assert "核验电子证照" in anonymous.get("/?lang=zh").text


def test_accept_language_picks_the_first_language_we_have():
    assert i18n.pick_language(None, None, "fr-FR,en-GB;q=0.8,zh;q=0.5") == "en"
    assert i18n.pick_language(None, None, "fr") == "zh"
    assert i18n.pick_language("en", "zh", "zh") == "en" and i18n.pick_language("xx", "en", None) == "en"


def test_every_message_has_both_languages():
    assert i18n.keys("zh") == i18n.keys("en")


def test_a_message_cannot_be_defined_twice_with_different_texts():
    with pytest.raises(ValueError):
        i18n.add({"zh": {"site.title": "另一个标题"}})
    with pytest.raises(ValueError):
        i18n.add({"fr": {"x": "y"}})


def test_pages_carry_the_security_headers_and_load_nothing_from_elsewhere(anonymous):
    page = anonymous.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "http://" not in page.text and "https://" not in page.text


def test_the_page_names_the_signed_in_caller(service, pki):
    with TestClient(presenting(create_app(service), pki.pem("tianjin", Role.STAFF))) as client:
        page = client.get("/?lang=en")
    assert "window staff" in page.text and "tianjin" in page.text


def test_a_revoked_certificate_gets_a_403_page(service, pki, net):
    from cryptography import x509

    pem = pki.issue("tianjin", Role.STAFF, "leaked-window", start=datetime.now(timezone.utc) - timedelta(minutes=1), days=30)
    serial = format(x509.load_pem_x509_certificate(pem.encode()).serial_number, "x")
    admin = AdminClient(pki.network.admin_keys["tianjin"], net.genesis.chain_id)
    import asyncio

    asyncio.run(service.submit(admin.sign("cert.revoke", {"serial": serial, "reason": "key_leaked"}), wait=False, timeout_s=0))
    service.produce()
    with TestClient(presenting(create_app(service), pem)) as client:
        page = client.get("/")
    assert page.status_code == 403 and "auth.revoked" in page.text and page.headers["content-type"].startswith("text/html")


def test_the_stale_banner_shows_when_the_last_block_is_old(service):
    service.produce()
    app = create_app(service, clock=lambda: 10**10)  # far after the last block
    with TestClient(app) as client:
        page = client.get("/?lang=en")
    assert 'role="alert"' in page.text and "stale" in page.text


def test_assets_are_the_static_files_with_an_etag(anonymous):
    assert "site.css" in FILES
    css = anonymous.get("/static/site.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css") and css.content == FILES["site.css"][0]
    again = anonymous.get("/static/site.css", headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304
    for name in ("nothing.css", "../render.py", "..%2Frender.py", "/etc/passwd"):
        assert anonymous.get(f"/static/{name}").status_code == 404
