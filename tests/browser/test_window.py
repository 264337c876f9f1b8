"""The window page's verdict in Chromium against the seeded devnet (issue 11 §1 and "Tests"): the
Beijing window staff picks a service item of its region, then verifies a seeded Beijing licence
by its id typed as a keyboard-wedge scanner types it plus Enter, by its pasted QR payload, and by
the holder's uploaded document: each shows 有效 / valid with every check and "as of block N"; a
tampered document shows invalid with the document check failed; a typo in an id is caught on the
page before any request. Screenshots of the verdict screens go to tests/browser/artefacts.
"""

from __future__ import annotations

import json

from api.web.i18n import translator
from ledger.encoding import decode
from ledger.qr import encode_qr
from tests.browser.conftest import PHONE, scrolls_sideways, type_and_enter

SERIAL = "BJ-2026-000417"


def choose_purpose(page) -> None:
    """The region's first service item and a business serial number (remembered afterwards)."""
    select = page.locator("select[name=scenario]")
    if select.count():
        select.select_option(index=1)
    else:
        page.locator("[name=item_code]").fill("BJ-KH-001")
        page.locator("[name=item_name]").fill("企业开户核验")
    page.locator("[name=serial]").fill(SERIAL)


def verdict(page) -> str:
    return page.locator("[data-verdict]").get_attribute("data-verdict")


def outcomes(page) -> dict[str, str]:
    rows = page.locator("tr[data-check]")
    return {rows.nth(i).get_attribute("data-check"): rows.nth(i).get_attribute("data-outcome") for i in range(rows.count())}


def test_a_valid_licence_by_its_id_typed_as_a_scanner_types_then_enter(web, page_as, snap):
    licence = web.enterprise_licence("beijing").licence
    page = page_as("beijing", "staff")
    page.goto(web.url("beijing", "/?lang=zh"))
    choose_purpose(page)
    answer = type_and_enter(page, licence.id)
    assert answer.status == 200
    assert verdict(page) == "valid"
    assert page.locator(".verdict-word").inner_text() == translator("zh")("window.verdict.valid")
    assert outcomes(page) and "failed" not in outcomes(page).values()
    assert licence.holder.to_json()["uscc"] in page.locator(".holder").inner_text()
    assert page.locator(".result").get_attribute("aria-live") == "polite"  # announced to screen readers
    assert page.evaluate("document.activeElement.id") == "q" and page.locator("#q").input_value() == ""  # ready for the next scan
    snap(page, "verdict-valid-by-id-zh")


def test_a_valid_licence_by_its_pasted_qr_payload_on_a_phone(web, page_as, snap):
    document = web.enterprise_licence("beijing")
    payload = encode_qr(document, web.devnet.chain_id)
    page = page_as("beijing", "staff", viewport=PHONE, mobile=True)
    page.goto(web.url("beijing", "/?lang=en"))
    choose_purpose(page)
    page.locator("#q").fill(payload)
    with page.expect_navigation():
        page.locator("#q").press("Enter")
    assert verdict(page) == "valid"
    assert not scrolls_sideways(page)
    snap(page, "verdict-valid-by-qr-en-phone")


def test_a_valid_licence_by_the_uploaded_holder_document(web, page_as):
    documents = sorted((web.devnet.dir / "documents" / "beijing").glob("*.json"))
    page = page_as("beijing", "staff")
    page.goto(web.url("beijing", "/?lang=en"))
    choose_purpose(page)
    page.locator("#document").set_input_files(str(documents[0]))
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    assert verdict(page) == "valid"


def test_a_tampered_document_is_invalid_with_the_document_check_failed(web, page_as, snap, tmp_path):
    document = web.enterprise_licence("beijing")
    tampered = decode(document.to_bytes())
    tampered["licence"]["valid_until"] = "2099-12-31"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    page = page_as("beijing", "staff")
    page.goto(web.url("beijing", "/?lang=en"))
    choose_purpose(page)
    page.locator("#document").set_input_files(str(path))
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    assert verdict(page) == "invalid"
    assert "failed" in outcomes(page).values()
    snap(page, "verdict-invalid-tampered-en")


def test_a_typo_in_an_id_is_caught_before_any_request(web, page_as, sent_requests):
    licence_id = web.enterprise_licence("beijing").licence.id
    typo = licence_id[:-1] + ("A" if licence_id[-1] != "A" else "B")  # a wrong check character
    page = page_as("beijing", "staff")
    page.goto(web.url("beijing", "/?lang=en"))
    choose_purpose(page)
    page.wait_for_load_state("networkidle")
    sent = sent_requests(page)
    page.locator("#q").focus()
    page.keyboard.type(typo)
    page.keyboard.press("Enter")
    problem = page.locator("#q-problem")
    problem.wait_for(state="visible")
    assert problem.inner_text().strip()
    assert page.locator("#q").get_attribute("aria-invalid") == "true"
    page.wait_for_timeout(500)  # time for a request that should not come
    assert sent == [], sent
