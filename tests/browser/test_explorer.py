"""The explorer in Chromium against the seeded devnet (issue 11 §2 and "Tests"): its pages load
in zh and en at 1366x768 and at a phone's width with no console error; the one search box takes
a height, a licence id and a transaction id (typed, then Enter) to their pages; an unknown key
says so; the CSV export form is there for an auditor and not for window staff (the role limits).
"""

from __future__ import annotations

import re

import pytest

from api.web.i18n import translator
from tests.browser.conftest import DESKTOP, PHONE, scrolls_sideways, type_and_enter

PAGES = ["/explorer", "/explorer/rules", "/explorer/validators", "/explorer/blocks/1"]


@pytest.mark.parametrize("path", PAGES)
def test_each_explorer_page_loads_in_both_languages_and_fits_a_phone(web, page_as, snap, path):
    for lang, viewport, mobile in (("zh", DESKTOP, False), ("en", PHONE, True)):
        page = page_as("hebei", "auditor", viewport=viewport, mobile=mobile)
        answer = page.goto(web.url("hebei", f"{path}?lang={lang}"))
        assert answer.status == 200
        assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
        assert not scrolls_sideways(page)
        name = path.strip("/").replace("/", "-")
        snap(page, f"{name}-{lang}-{'phone' if mobile else 'desktop'}")


def test_the_search_box_takes_a_height_a_licence_id_and_a_transaction_id(web, page_as):
    licence_id = web.enterprise_licence("beijing").licence.id
    page = page_as("beijing", "auditor")
    page.goto(web.url("beijing", "/explorer?lang=en"))
    type_and_enter(page, "2")
    assert page.url.endswith("/explorer/blocks/2")

    tx_link = page.locator("a[href^='/explorer/transactions/']").first
    tx_id = tx_link.get_attribute("href").rsplit("/", 1)[1]
    page.goto(web.url("beijing", "/explorer?lang=en"))
    type_and_enter(page, tx_id)
    assert page.url.endswith(f"/explorer/transactions/{tx_id}")

    page.goto(web.url("beijing", "/explorer?lang=en"))
    type_and_enter(page, licence_id)
    assert re.search(r"/explorer/licences/", page.url) and licence_id in page.content()


def test_an_unknown_key_says_what_it_could_not_find(web, page_as):
    page = page_as("beijing", "auditor")
    page.goto(web.url("beijing", "/explorer?lang=en"))
    page_as.allow_console("status of 404")  # Chromium logs the answer's status; the page is the answer
    answer = type_and_enter(page, "999999")
    assert answer.status == 404
    assert page.locator(".miss").is_visible() and page.locator(".miss").inner_text().strip()


@pytest.mark.parametrize("role, can_export", [("auditor", True), ("staff", False)])
def test_the_csv_export_is_offered_to_an_auditor_only(web, page_as, role, can_export):
    page = page_as("tianjin", role)
    page.goto(web.url("tianjin", "/explorer?lang=en"))
    assert translator("en")(f"role.{role}") in page.locator("header .who").inner_text()
    assert (page.locator("form.export").count() == 1) is can_export
