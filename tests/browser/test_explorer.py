"""The explorer in Chromium against the seeded devnet (issue 11 §2 and "Tests"): its pages load
in zh and en at 1366x768 and at a phone's width with no console error; the one search box takes
each kind of key (typed, then Enter) to its page: a height, a block hash, a transaction id, a
licence id, the `<node>:<seq>` id of a receipt the window page gave, a department's USCC; a key
found nowhere says so. The role limits: without a certificate the blocks are shown but no use
record (nor the licence page that lists them); another region's window staff and department do
not see a Beijing licence's uses nor a Beijing clerk's record, its issuing department does; the
CSV export form is there for an auditor, who downloads a small CSV with its header row, and not
for window staff.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.web.explorer.reads import EXPORT_COLUMNS
from api.web.i18n import translator
from ledger.ids import parse_licence_id
from tests.browser.conftest import DESKTOP, PHONE, PageAs, scrolls_sideways, type_and_enter, wait_for
from tests.browser.test_window import choose_purpose, verdict

COMMIT_S = 60.0
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


# -- the search box for every kind of key, and the role limits ----------------------------------

USE_ID = re.compile(r"[a-z0-9-]+:\d+")


@dataclasses.dataclass(frozen=True)
class WindowUse:
    """A use record Beijing's window staff made on the window page, once it is committed."""

    use_id: str  # <node>:<seq>, as the window page's receipt names it
    licence_id: str


@pytest.fixture(scope="module")
def window_use(chromium, web) -> Iterator[WindowUse]:
    """Beijing's window staff verifies a seeded Beijing licence on the window page; the id of
    the receipt it is given, once the record is committed (an auditor's explorer shows it)."""
    pages = PageAs(chromium, web)
    try:
        licence_id = web.enterprise_licence("beijing").licence.id
        page = pages("beijing", "staff")
        page.goto(web.url("beijing", "/?lang=en"))
        choose_purpose(page)
        type_and_enter(page, licence_id)
        assert verdict(page) == "valid"
        found = USE_ID.search(page.locator(".receipt-id").inner_text())
        assert found, page.locator(".receipt-id").inner_text()
        auditor = pages("beijing", "auditor")

        def committed() -> bool:
            return auditor.goto(web.url("beijing", f"/explorer/uses/{found.group()}?lang=en")).status == 200

        pages.allow_console("status of 404")  # while the record waits for its block, its page is a 404 answer
        wait_for(committed, COMMIT_S, f"use record {found.group()} never committed", interval_s=1.0)
        assert not pages.console_errors(), pages.console_errors()
        yield WindowUse(found.group(), licence_id)
    finally:
        pages.close()


def search_for(web, page, region: str, key: str):
    """Type `key` into `region`'s explorer search box, then Enter; the answer."""
    page.goto(web.url(region, "/explorer?lang=en"))
    return type_and_enter(page, key)


def test_the_search_box_takes_a_block_hash(web, page_as):
    page = page_as("beijing", "auditor")
    page.goto(web.url("beijing", "/explorer/blocks/3?lang=en"))
    block_hash = page.locator("dl.header dd code").first.inner_text().strip()
    search_for(web, page, "beijing", block_hash)
    assert page.url.endswith("/explorer/blocks/3")


def test_the_search_box_takes_a_departments_uscc(web, page_as):
    uscc = parse_licence_id(web.enterprise_licence("beijing").licence.id, "id").issuer
    page = page_as("beijing", "auditor")
    search_for(web, page, "beijing", uscc)
    assert page.url.endswith(f"/explorer/departments/{uscc}")
    assert uscc in page.locator("main").inner_text()


def test_the_search_box_takes_the_id_of_a_receipt_the_window_page_gave(web, page_as, window_use):
    page = page_as("beijing", "staff")  # the caller the record was made for may read it
    answer = search_for(web, page, "beijing", window_use.use_id)
    assert answer.status == 200 and page.url.endswith(f"/explorer/uses/{window_use.use_id}")
    assert window_use.use_id in page.locator("h1").inner_text()
    assert window_use.licence_id in page.locator("main").inner_text()


@pytest.mark.parametrize("key, miss", [("999999", "explorer.no_height"), ("0" * 64, "explorer.no_hash")])
def test_a_key_found_nowhere_is_a_miss_saying_what_was_looked_for(web, page_as, key, miss):
    page = page_as("beijing", "auditor")
    page_as.allow_console("status of 404")  # Chromium logs the answer's status; the page is the answer
    answer = search_for(web, page, "beijing", key)
    assert answer.status == 404
    assert page.locator(".miss").inner_text().strip() and page.locator("a[href^='/explorer/blocks/']").count() == 0
    assert page.locator("#q").count() == 1  # the search box is still there for the next try


def test_without_a_certificate_blocks_are_shown_but_no_use_record(web, page_as, window_use):
    page = page_as("beijing", None)
    page.goto(web.url("beijing", "/explorer?lang=en"))
    assert translator("en")("site.anonymous") in page.locator("header .who").inner_text()
    assert page.locator("article.block-line").count() > 0 and page.locator("form.export").count() == 0
    assert page.goto(web.url("beijing", "/explorer/blocks/2?lang=en")).status == 200
    page_as.allow_console("status of 40")  # the refusals below are answers with their status
    for path in (f"/explorer/uses/{window_use.use_id}", f"/explorer/licences/{window_use.licence_id}"):
        answer = page.goto(web.url("beijing", path + "?lang=en"))
        assert answer.status in (401, 403), (path, answer.status)
        assert page.locator(".error code").inner_text() == "auth.certificate_required"
        assert "beijing-window" not in page.content()  # nothing of the record: not even who made it


def test_another_regions_staff_and_department_do_not_see_a_beijing_licences_uses(web, page_as, window_use):
    t = translator("en")
    page_as.allow_console("status of 403")  # the refused record is an answer with its status
    staff = page_as("tianjin", "staff")
    staff.goto(web.url("tianjin", f"/explorer/licences/{window_use.licence_id}?lang=en"))
    assert staff.locator("p.limited").inner_text() == t("explorer.uses_role") and staff.locator("table.uses").count() == 0
    answer = staff.goto(web.url("tianjin", f"/explorer/uses/{window_use.use_id}?lang=en"))
    assert answer.status == 403 and staff.locator(".error code").inner_text() == "auth.not_concerned"
    assert "beijing-window" not in staff.content()

    department = page_as("tianjin", "department")
    department.goto(web.url("tianjin", f"/explorer/licences/{window_use.licence_id}?lang=en"))
    assert department.locator("p.limited").inner_text() == t("explorer.uses_row") and department.locator("table.uses").count() == 0

    issuing = page_as("beijing", "department")  # the issuing department does see them
    issuing.goto(web.url("beijing", f"/explorer/licences/{window_use.licence_id}?lang=en"))
    assert window_use.use_id in issuing.locator("table.uses").inner_text()


def test_an_auditor_downloads_a_small_csv_export_with_its_header_row(web, page_as):
    page = page_as("hebei", "auditor")
    page.goto(web.url("hebei", "/explorer?lang=en"))
    form = page.locator("form.export")
    form.locator("[name=from]").fill("1")
    form.locator("[name=to]").fill("3")
    with page.expect_download() as download:
        form.locator("button[type=submit]").click()
    assert download.value.suggested_filename == "eledger-1-3.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("\ufeff")  # the byte-order mark that makes spreadsheet programs read UTF-8
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert len(rows) > 1 and {row[0] for row in rows[1:]} <= {"1", "2", "3"}
