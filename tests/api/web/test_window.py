"""Tests of the window page (api/web/window.py, window_view.py, static/window.js): a Beijing
licence verified at the window by id, by QR payload and by uploaded document; revoked,
suspended, superseded, lapsed and tampered ones; another region with and without a recognition
rule; a typo refused with the expected character (by the server, and by window.js run under
node against ledger/ids.py); a stale tip never green; a person's ID number masked; every
verdict in both languages; the purpose required of staff, remembered, and recorded; a
cross-site POST refused."""

from __future__ import annotations

import base64
import dataclasses
import html
import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.web.window import MAX_DOCUMENT_FILE_BYTES
from api.web.window_purpose import PURPOSE_COOKIE
from api.web.window_view import mask_id_number
from certs.roles import Role
from ledger import ids
from ledger.encoding import decode
from ledger.ids import complete_uscc, format_licence_id
from ledger.receipt import verify_receipt
from tests.api.pki import presenting
from tests.api.world import OTHER_TYPE, PERSON, PURPOSE, TIANJIN_TYPE, World, day_of, make_world

ORIGIN = {"Origin": "http://testserver"}
WINDOW_JS = Path(__file__).parents[3] / "api" / "web" / "static" / "window.js"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("window") / "net")
    # The page trusts only a fresh tip: its clock is a second after the last block (the world's
    # fixed clock is an hour after the genesis, where its blocks look stale).
    world._app = create_app(world.service, clock=lambda: world.service.chain.tip.time / 1000 + 1)
    # Tianjin keeps its service items on the ledger (the page offers them); Beijing keeps none
    # (the page asks for the item's code and name).
    world.commit(*(world.admin("tianjin", "scenario.declare", {"region": "tianjin", "licence_types": [TIANJIN_TYPE], **item}) for item in SCENARIOS))
    yield world
    world.close()


SERIALS = iter(range(20_000, 30_000))
SCENARIOS = (
    {"code": PURPOSE["item_code"], "name": PURPOSE["item_name"], "name_en": "Food business licence, cross-province"},
    {"code": "TJ-SC-0020", "name": "餐饮服务备案"},
)


def fresh(world: World, **kw):
    doc = world.document(next(SERIALS), **kw)
    world.issue(doc)
    return doc


def post(world: World, q: str = "", *, region: str = "tianjin", role: Role = Role.STAFF, purpose=PURPOSE, lang: str = "en",
         file: bytes | None = None, headers=ORIGIN):
    data = {"q": q, **(purpose or {})}
    if purpose is not None:
        data["scenario"] = purpose["item_code"]  # a region with scenarios takes the code chosen from its list
    files = None if file is None else {"document": ("licence.json", file, "application/json")}
    return world.client(region, role).post(f"/?lang={lang}", data=data, files=files, headers=headers)


def verdict_of(page) -> str:
    assert page.status_code == 200, page.text
    return page.text.split('data-verdict="', 1)[1].split('"', 1)[0]


def outcome(page, check: str) -> str:
    return page.text.split(f'data-check="{check}" data-outcome="', 1)[1].split('"', 1)[0]


def recorded(world: World) -> int:
    return world.service.journal.next_seq


def document_bytes(doc) -> bytes:
    return doc.to_bytes()


def test_the_window_form_has_one_autofocused_input_the_file_and_the_purpose(world):
    page = world.client("tianjin", Role.STAFF).get("/?lang=en")
    assert page.status_code == 200
    text = page.text
    assert '<input id="q" name="q" autocomplete="off" autofocus' in text and 'value=' not in text.split('id="q"')[1].split(">")[0]
    assert 'type="file"' in text and 'enctype="multipart/form-data"' in text
    assert 'name="scenario"' in text and 'name="serial"' in text
    assert '<script src="/static/window.js" defer></script>' in text and 'role="status" aria-live="polite"' in text
    assert "data-typo-check" in text and "{expected}" in text  # the typo messages window.js fills in


# -- valid, three ways ------------------------------------------------------------------------------


@pytest.mark.parametrize("presented", ["id", "qr", "document"])
def test_a_valid_licence_is_green_with_its_facts_and_a_receipt(world, presented):
    doc = fresh(world)
    before = recorded(world)
    if presented == "document":
        page = post(world, file=document_bytes(doc))
    else:
        page = post(world, doc.licence.id if presented == "id" else world.qr(doc))
    assert verdict_of(page) == "valid"
    text = page.text
    assert "Every check passed" in text and "verdict-valid" in text
    assert doc.licence.id in text and "北京市市场监督管理局" in text and world.dept_uscc in text and HOLDER_USCC(doc) in text
    assert "食品经营许可证" in text and "licence seal" in text and world.seal_id in text
    assert "by tianjin&#39;s rule recognising beijing&#39;s licences" in text  # the rule's conditions follow
    assert "原件备查" in text
    assert f"As of block {world.service.chain.tip.height}" in text
    expected = "not_applicable" if presented == "id" else "passed"
    assert outcome(page, "document_matches") == expected and outcome(page, "holder_matches") == expected
    if presented == "document":
        assert "北京某某商贸有限公司" in text  # the enterprise's name, from the presented document
    # the receipt: recorded with the purpose, offered to save (its JSON verifies) with its QR code
    assert recorded(world) == before + 1
    url = text.split('href="data:application/json;base64,', 1)[1].split('"', 1)[0]
    receipt = decode(base64.b64decode(url))
    proven = verify_receipt(receipt, world.service.genesis)
    assert proven.record["purpose"] == PURPOSE and proven.record["presented"] == presented and proven.record["verdict"] == "valid"
    assert f"Receipt {receipt['record']['node']}:{receipt['record']['seq']}" in text
    assert f"Service item {PURPOSE['item_name']} ({PURPOSE['item_code']}), business serial number {PURPOSE['serial']}; checked by " in text
    assert 'src="data:image/svg+xml' in text
    assert f'href="/v1/licences/{doc.licence.id}/bundle"' in text and f'href="/explorer/licences/{doc.licence.id}"' in text
    # ready for the next scan: the input is empty and focused
    assert 'autofocus' in text and 'value=' not in text.split('id="q"')[1].split(">")[0]


def HOLDER_USCC(doc) -> str:  # noqa: N802 - reads like the constant it names
    return doc.licence.holder.uscc


# -- every way a licence fails ----------------------------------------------------------------------


@pytest.mark.parametrize("kind, words", [("licence.revoke", "revoked"), ("licence.suspend", "suspended")])
def test_a_revoked_or_suspended_licence_is_red_with_the_reason_first(world, kind, words):
    doc = fresh(world)
    world.act(kind, doc.licence.id)
    page = post(world, doc.licence.id)
    assert verdict_of(page) == "invalid" and outcome(page, "status") == "failed"
    reasons = page.text.split('class="reasons"', 1)[1].split("</ul>", 1)[0]
    assert f"The licence has been {words} (inspection)." in reasons


def test_a_superseded_version_is_red_and_names_its_successor(world):
    old = fresh(world)
    new = world.document(int(old.licence.id.split(".")[7]), version="002")
    world.renew(old, new)
    page = post(world, file=document_bytes(old))
    assert verdict_of(page) == "invalid" and outcome(page, "latest_version") == "failed"
    assert f"{new.licence.id} replaces it" in page.text and f"replaced by {new.licence.id}" in page.text
    assert verdict_of(post(world, world.qr(new))) == "valid"


def test_a_lapsed_licence_is_red(world):
    start = day_of(world.service.genesis.genesis_time) - dt.timedelta(days=30)
    doc = fresh(world, valid_until=start + dt.timedelta(days=10))
    page = post(world, doc.licence.id)
    assert verdict_of(page) == "invalid" and outcome(page, "within_validity") == "failed"
    assert "not within its validity" in page.text and "lapsed" in page.text


def test_a_tampered_document_is_red_for_not_matching_the_record(world):
    doc = fresh(world)
    tampered = dataclasses.replace(doc, licence=dataclasses.replace(doc.licence, fields=(("经营场所", "北京市西城区"),)))
    page = post(world, file=tampered.to_bytes())
    assert verdict_of(page) == "invalid" and outcome(page, "document_matches") == "failed"
    assert "differs from the ledger" in page.text


def test_another_regions_licence_without_a_recognition_rule_is_red_and_valid_at_home(world):
    doc = fresh(world, type=OTHER_TYPE)
    page = post(world, doc.licence.id)
    assert verdict_of(page) == "invalid" and outcome(page, "recognised") == "failed"
    assert "no rule recognising" in page.text and "no recognition rule in this region" in page.text
    home = post(world, doc.licence.id, region="beijing")
    assert verdict_of(home) == "valid" and "issued in this region" in home.text


def test_an_absent_licence_is_red_with_no_facts(world):
    doc = world.document(next(SERIALS))  # sealed, never issued
    page = post(world, world.qr(doc))
    assert verdict_of(page) == "invalid" and outcome(page, "on_ledger") == "failed" and 'class="facts"' not in page.text


# -- typos, files, purposes, origins ----------------------------------------------------------------


def mistyped(licence_id: str) -> str:
    return licence_id[:-1] + ("A" if licence_id[-1] != "A" else "B")


def test_a_typo_in_the_check_character_is_refused_with_the_expected_character_and_nothing_is_recorded(world):
    doc = fresh(world)
    before = recorded(world)
    page = post(world, mistyped(doc.licence.id))
    assert page.status_code == 422 and "ids.bad_check_character" in page.text
    assert f"should be {doc.licence.id[-1]}, not {mistyped(doc.licence.id)[-1]}" in page.text
    assert 'data-verdict' not in page.text and recorded(world) == before
    assert f'value="{mistyped(doc.licence.id)}" aria-invalid="true"' in page.text  # given back to correct


@pytest.mark.parametrize("file, code", [
    (b"{", "web.bad_file"),
    (b'{"format": "other"}', "document.missing_field"),
    (b" " * (MAX_DOCUMENT_FILE_BYTES + 1), "web.too_large"),
    (b" " * (MAX_DOCUMENT_FILE_BYTES + 64 * 1024), "api.too_large"),
])
def test_a_bad_document_file_gets_a_precise_error_and_nothing_is_recorded(world, file, code):
    before = recorded(world)
    page = post(world, file=file)
    assert page.status_code in (413, 422) and f"<code>{code}</code>" in page.text and "data-verdict" not in page.text
    assert recorded(world) == before


def test_an_id_and_a_file_together_are_refused(world):
    doc = fresh(world)
    page = post(world, doc.licence.id, file=document_bytes(doc))
    assert page.status_code == 422 and "web.two_presentations" in page.text


def test_staff_without_a_purpose_get_a_clear_message_and_nothing_is_recorded(world):
    doc = fresh(world)
    before = recorded(world)
    page = post(world, doc.licence.id, purpose=None)
    assert page.status_code == 422 and "auth.purpose_required" in page.text and "事项编码" in page.text
    assert recorded(world) == before


def test_a_malformed_purpose_is_refused_naming_the_field(world):
    doc = fresh(world)
    page = post(world, doc.licence.id, region="beijing", purpose={**PURPOSE, "item_code": "TJ SC"})
    assert page.status_code == 422 and "purpose.item_code" in page.text
    page = post(world, doc.licence.id, purpose={**PURPOSE, "serial": "TJ 17"})
    assert page.status_code == 422 and "purpose.serial" in page.text


def test_the_regions_scenarios_are_offered_and_the_chosen_one_is_the_purpose(world):
    form = world.client("tianjin", Role.STAFF).get("/?lang=en").text
    assert '<select name="scenario">' in form and 'name="item_code"' not in form and 'name="serial"' in form
    assert "TJ-SC-0012 Food business licence, cross-province" in form and "TJ-SC-0020 餐饮服务备案" in form
    doc = fresh(world)
    page = world.client("tianjin", Role.STAFF).post("/?lang=en", data={"q": doc.licence.id, "scenario": "TJ-SC-0020", "serial": "TJ-1"}, headers=ORIGIN)
    url = page.text.split('href="data:application/json;base64,', 1)[1].split('"', 1)[0]
    record = decode(base64.b64decode(url))["record"]
    assert record["purpose"] == {"item_code": "TJ-SC-0020", "item_name": "餐饮服务备案", "serial": "TJ-1"}
    assert '<option value="TJ-SC-0020" selected>' in page.text
    assert 'data-note="type_not_accepted"' not in page.text  # the Beijing type counts as TIANJIN_TYPE here
    other = fresh(world, type=OTHER_TYPE)
    page = world.client("tianjin", Role.STAFF).post("/?lang=en", data={"q": other.licence.id, "scenario": "TJ-SC-0020", "serial": "TJ-2"}, headers=ORIGIN)
    assert 'data-note="type_not_accepted"' in page.text and verdict_of(page) == "invalid"


def test_a_scenario_the_region_does_not_keep_is_refused(world):
    doc = fresh(world)
    before = recorded(world)
    page = world.client("tianjin", Role.STAFF).post("/", data={"q": doc.licence.id, "scenario": "BJ-XX-1", "serial": "TJ-1"}, headers=ORIGIN)
    assert page.status_code == 422 and "web.unknown_scenario" in page.text and recorded(world) == before


def test_a_region_without_scenarios_asks_for_the_items_code_and_name(world):
    form = world.client("beijing", Role.STAFF).get("/").text
    assert 'name="item_code"' in form and 'name="item_name"' in form and "<select" not in form


def test_the_purpose_is_remembered_for_the_session_in_a_strict_cookie(world, pki_world_https):
    client = pki_world_https
    doc = fresh(world)
    page = client.post("/?lang=en", data={"q": doc.licence.id, "scenario": PURPOSE["item_code"], "serial": PURPOSE["serial"]}, headers={"Origin": "https://testserver"})
    assert verdict_of(page) == "valid"
    (cookie,) = [c for c in page.headers.get_list("set-cookie") if c.startswith(f"{PURPOSE_COOKIE}=")]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()  # for the session only
    again = client.get("/").text
    assert f'<option value="{PURPOSE["item_code"]}" selected>' in again and f'value="{PURPOSE["serial"]}"' in again


@pytest.fixture
def pki_world_https(world):
    with TestClient(presenting(world._app, world.pki.pem("tianjin", Role.STAFF)), base_url="https://testserver") as client:
        yield client


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"},
    {},
])
def test_a_cross_site_post_is_refused_and_nothing_is_recorded(world, headers):
    doc = fresh(world)
    before = recorded(world)
    page = post(world, doc.licence.id, headers=headers)
    assert page.status_code == 403 and "web.cross_site" in page.text and "data-verdict" not in page.text
    assert recorded(world) == before


def test_a_same_origin_fetch_is_accepted(world):
    doc = fresh(world)
    assert verdict_of(post(world, doc.licence.id, headers={"Sec-Fetch-Site": "same-origin"})) == "valid"


def test_a_role_that_may_not_verify_is_told_so(world):
    doc = fresh(world)
    page = post(world, doc.licence.id, region="tianjin", role=Role.VALIDATOR)
    assert page.status_code == 403 and "auth.forbidden" in page.text and "data-verdict" not in page.text
    anonymous = world.client().get("/?lang=en")
    assert "cannot verify licences" in anonymous.text


def test_an_auditor_verifies_without_a_purpose_and_is_not_recorded(world):
    doc = fresh(world)
    before = recorded(world)
    page = post(world, doc.licence.id, region="hebei", role=Role.AUDITOR, purpose=None)
    assert verdict_of(page) == "invalid" and outcome(page, "recognised") == "failed"  # hebei has no rule for beijing's type
    assert "not recorded" in page.text and recorded(world) == before
    assert "/explorer/licences/" in page.text and "#uses" in page.text  # an auditor may read the uses


# -- a person holder, the stale tip, both languages --------------------------------------------------


def test_a_person_holders_id_number_is_masked_and_shown_only_from_the_presented_document(world):
    doc = fresh(world, holder=PERSON)
    before = recorded(world)
    page = post(world, file=document_bytes(doc))
    assert verdict_of(page) == "valid"
    assert PERSON.name in page.text and "1201**********1234" in page.text and PERSON.id_number not in page.text
    by_id = post(world, doc.licence.id)
    assert verdict_of(by_id) == "valid" and PERSON.name not in by_id.text and "keeps no name or ID number" in by_id.text
    assert recorded(world) == before + 2
    receipt_url = page.text.split('href="data:application/json;base64,', 1)[1].split('"', 1)[0]
    receipt = base64.b64decode(receipt_url).decode()
    assert PERSON.name not in receipt and PERSON.id_number not in receipt  # the use record holds nothing of the person


def test_mask_id_number_keeps_four_at_each_end():
    assert mask_id_number("120101198805061234") == "1201**********1234"
    assert mask_id_number("12345678") == "********"


def test_a_stale_tip_never_shows_green_and_says_why(world):
    doc = fresh(world)
    stale = create_app(world.service, clock=lambda: world.service.chain.tip.time / 1000 + 10**6)
    with TestClient(presenting(stale, world.pki.pem("tianjin", Role.STAFF))) as client:
        page = client.post("/?lang=en", data={"q": doc.licence.id, "scenario": PURPOSE["item_code"], "serial": PURPOSE["serial"]}, headers=ORIGIN)
    assert verdict_of(page) == "indeterminate" and "verdict-valid" not in page.text
    reasons = page.text.split('class="reasons"', 1)[1].split("</ul>", 1)[0]
    assert "cannot be trusted" in reasons and "stale" in reasons
    assert "The ledger judged: Valid" in page.text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_verdict_renders_in_both_languages(world, lang):
    valid = fresh(world)
    revoked = fresh(world)
    world.act("licence.revoke", revoked.licence.id)
    absent = world.document(next(SERIALS))
    words = {"zh": ("有效", "无效", "无法判定"), "en": ("Valid", "Invalid", "Cannot tell")}[lang]
    for q, verdict, word in ((valid.licence.id, "valid", words[0]), (revoked.licence.id, "invalid", words[1]), (world.qr(absent), "invalid", words[1])):
        page = post(world, q, lang=lang)
        assert verdict_of(page) == verdict and f'<span class="verdict-word">{word}</span>' in page.text
    stale = create_app(world.service, clock=lambda: world.service.chain.tip.time / 1000 + 10**6)
    with TestClient(presenting(stale, world.pki.pem("tianjin", Role.STAFF))) as client:
        page = client.post(f"/?lang={lang}", data={"q": valid.licence.id, "scenario": PURPOSE["item_code"], "serial": PURPOSE["serial"]}, headers=ORIGIN)
    assert f'<span class="verdict-word">{words[2]}</span>' in page.text


# -- window.js: the same check characters as ledger/ids.py --------------------------------------------


def js_cases() -> list[dict[str, object]]:
    """Licence ids, good and mistyped in each check character, with what ledger/ids.py says."""
    issuer = complete_uscc("11100000000013338")
    ltype = issuer + "041"
    cases = []
    for serial in ("1", "42", "99999999999999999999", "1234567"):
        for version in ("001", "002", "999"):
            good = format_licence_id(ltype, complete_uscc("91110101MA0100000"), serial, version)
            cases.append({"id": good, "problem": None})
            for wrong in ids.MOD37_36_ALPHABET[:3]:
                if wrong != good[-1]:
                    cases.append({"id": good[:-1] + wrong, "problem": {"part": "check", "expected": good[-1], "actual": wrong}})
    good = cases[0]["id"]
    parts = good.split(".")
    issuer_check = parts[6][-1]
    wrong = "0" if issuer_check != "0" else "1"
    cases.append({"id": ".".join([*parts[:6], parts[6][:-1] + wrong, *parts[7:]]), "problem": {"part": "issuer", "expected": issuer_check, "actual": wrong}})
    type_check = parts[5][17]
    wrong = "0" if type_check != "0" else "1"
    cases.append({"id": ".".join([*parts[:5], parts[5][:17] + wrong + parts[5][18:], *parts[6:]]), "problem": {"part": "type", "expected": type_check, "actual": wrong}})
    for case in cases:  # each case is what ledger/ids.py says of it
        if case["problem"] is None:
            ids.parse_licence_id(case["id"])
        else:
            with pytest.raises(ids.ValidationError):
                ids.parse_licence_id(case["id"])
    cases.append({"id": "EL1:ABC", "problem": None})
    cases.append({"id": "not an id", "problem": None})
    return cases


def test_window_js_has_the_tables_of_ledger_ids():
    text = WINDOW_JS.read_text()
    assert f'USCC_ALPHABET = "{ids.USCC_ALPHABET}"' in text
    assert f"USCC_WEIGHTS = [{', '.join(map(str, ids.USCC_WEIGHTS))}]" in text
    assert f'MOD_ALPHABET = "{ids.MOD37_36_ALPHABET}"' in text
    assert f'LICENCE_ID_PREFIX = "{ids.LICENCE_ID_PREFIX}"' in text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed; the browser tests run window.js")
def test_window_js_finds_the_check_characters_ledger_ids_finds():
    cases = js_cases()
    script = (
        f"const w = require({json.dumps(str(WINDOW_JS))});"
        f"const cases = {json.dumps(cases)};"
        "process.stdout.write(JSON.stringify(cases.map(c => w.licenceIdProblem(c.id))));"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == [c["problem"] for c in cases]


# -- every check in the page's language, times as China time -------------------------------------

#: Words of the ledger's English details that a zh check sentence must never hold.
ENGLISH = re.compile(r"\b(the|licence|issued|recorded|valid|version|holder|signature|seal|record|document|region|type|at)\b")


def check_cells(page) -> dict[str, str]:
    """Each check's sentence cell, tags and the test seal's name ("licence seal") taken out."""
    cells = {}
    for row in page.text.split('data-check="')[1:]:
        name = row.split('"', 1)[0]
        cell = row.split('<td class="detail"', 1)[1].split(">", 1)[1].split("</td>", 1)[0]
        cells[name] = html.unescape(re.sub(r"<[^>]+>", " ", cell)).replace("licence seal", "")
    return cells


def test_every_check_reads_in_chinese_on_the_zh_page_in_every_case(world):
    valid, revoked, old = (fresh(world) for _ in range(3))
    new = world.document(int(old.licence.id.split(".")[7]), version="002")
    world.renew(old, new)
    world.act("licence.revoke", revoked.licence.id)
    start = day_of(world.service.genesis.genesis_time) - dt.timedelta(days=30)
    lapsed = fresh(world, valid_until=start + dt.timedelta(days=10))
    pending = fresh(world, deadline=day_of(world.service.genesis.genesis_time) + dt.timedelta(days=30))
    other = fresh(world, type=OTHER_TYPE)
    tampered = dataclasses.replace(valid, licence=dataclasses.replace(valid.licence, fields=(("经营场所", "北京市西城区"),)))
    person = fresh(world, holder=PERSON)
    pages = [
        post(world, valid.licence.id, lang="zh"), post(world, world.qr(valid), lang="zh"), post(world, file=valid.to_bytes(), lang="zh"),
        post(world, revoked.licence.id, lang="zh"), post(world, world.qr(old), lang="zh"), post(world, lapsed.licence.id, lang="zh"),
        post(world, file=pending.to_bytes(), lang="zh"), post(world, other.licence.id, lang="zh"), post(world, file=tampered.to_bytes(), lang="zh"),
        post(world, file=person.to_bytes(), lang="zh"), post(world, world.qr(world.document(next(SERIALS))), lang="zh"),
    ]
    for page in pages:
        cells = check_cells(page)
        assert len(cells) == 11 and 'class="ledger-detail"' not in page.text
        for name, cell in cells.items():
            assert re.search(r"[\u4e00-\u9fff]", cell), (name, cell)
            assert not ENGLISH.search(cell), (name, cell)
        assert not re.search(r"\b1\d{12}\b", page.text)  # no raw ledger milliseconds anywhere
    assert "已吊销，原因代码 inspection，自 " in check_cells(pages[3])["status"]
    assert "已被 " in check_cells(pages[4])["latest_version"] and "告知承诺核查在最新版本上进行" in check_cells(pages[4])["commitment"]
    assert "证照已失效" in check_cells(pages[5])["within_validity"]
    assert "告知承诺核查进行中，期限 " in check_cells(pages[6])["commitment"]
    assert "没有认可 beijing 签发的“药品经营许可证”的规则" in check_cells(pages[7])["recognised"]
    assert "不一致" in check_cells(pages[8])["document_matches"]
    assert PERSON.name not in check_cells(pages[9])["holder_matches"]
    assert "账本上没有编号为" in check_cells(pages[10])["on_ledger"]


def test_the_en_page_keeps_the_ledgers_english_detail_as_a_small_second_text(world):
    doc = fresh(world)
    page = post(world, doc.licence.id, lang="en")
    cells = check_cells(page)
    assert cells["latest_version"].startswith("Version 001 is the latest.")
    assert "the ledger&#39;s text: version 001 is the latest" in page.text and 'class="ledger-detail"' in page.text
    assert not re.search(r"\b1\d{12}\b", page.text) and re.search(r"issued at \d{4}-\d\d-\d\d \d\d:\d\d UTC\+8", page.text)


def test_times_are_china_time_to_the_minute(world):
    doc = fresh(world)
    world.act("licence.suspend", doc.licence.id)
    record_time = world.service.chain.tip.time
    shown = (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=record_time, hours=8)).strftime("%Y-%m-%d %H:%M")
    page = post(world, doc.licence.id, lang="zh")
    assert f"暂扣，更新于 {shown}" in page.text and "原因：inspection" in page.text
    assert "时间均为北京时间（UTC+8）" in page.text
    assert "出示的证照与记录一致：不适用；持证主体一致：不适用" in page.text  # zh punctuation


def test_the_facts_name_the_commitment_state_and_deadline_and_link_the_successor(world):
    deadline = day_of(world.service.genesis.genesis_time) + dt.timedelta(days=30)
    doc = fresh(world, deadline=deadline)
    page = post(world, doc.licence.id, lang="zh")
    assert f"核查中，核查期限 {deadline.isoformat()}" in page.text
    new = world.document(int(doc.licence.id.split(".")[7]), version="002", deadline=deadline)
    world.renew(doc, new)
    page = post(world, doc.licence.id, lang="zh")
    assert f'<a class="successor no-print" href="/explorer/licences/{new.licence.id}">查看取代它的版本</a>' in page.text
    # history one click away for staff (they may read a licence), its uses not (they may not read them)
    assert f'href="/explorer/licences/{doc.licence.id}"' in page.text and "#uses" not in page.text


def test_on_a_phone_each_check_stacks_its_sentence_under_its_name_and_keeps_the_table_roles(world):
    css = (Path(__file__).parents[3] / "api" / "web" / "static" / "window.css").read_text()
    phone = css.rsplit("@media (max-width: 40rem)", 1)[1]
    assert "table.checks tr { display: grid;" in phone and "table.checks td.detail { grid-column: 1 / -1;" in phone
    assert css.index("table.checks th { width: 16rem; }") < css.rindex("@media (max-width: 40rem)")  # it overrides the widths
    page = post(world, fresh(world).licence.id, lang="zh")
    assert '<table class="checks" role="table">' in page.text and page.text.count('role="rowheader"') == 11


def test_the_print_stylesheet_hides_navigation_and_inputs_and_keeps_the_receipt():
    css = (Path(__file__).parents[3] / "api" / "web" / "static" / "window.css").read_text()
    printed = css.split("@media print", 1)[1].split("}", 1)[0]
    for hidden in ("header.site", "footer.site", "section.window", ".no-print"):
        assert hidden in printed
    assert ".receipt" not in printed


def test_the_verdict_page_with_its_receipt_qr_and_its_stylesheets_weighs_at_most_200_kb(world):
    page = post(world, file=fresh(world, holder=PERSON).to_bytes(), lang="zh")
    assert verdict_of(page) == "valid" and 'src="data:image/svg+xml' in page.text
    client = world.client("tianjin", Role.STAFF)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    weight = len(page.content) + sum(len(client.get(path, headers={"Accept-Encoding": "identity"}).content) for path in assets)
    assert weight <= 200 * 1024, weight
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text)  # every asset from the node


def test_on_a_phone_window_js_brings_the_verdict_or_the_problem_into_view(world):
    script = WINDOW_JS.read_text()
    assert 'document.querySelector(".result .verdict, .result .problem-box")' in script and '"(max-width: 40rem)"' in script
    assert 'input.focus({preventScroll: true});' in script  # autofocus would scroll back; the next scan still goes in
    page = post(world, fresh(world).licence.id, lang="zh")
    assert '<section class="result" role="status" aria-live="polite">' in page.text and '<div class="verdict verdict-valid"' in page.text
    problem = post(world, mistyped(fresh(world).licence.id), lang="zh")
    assert '<div class="problem-box"' in problem.text.split('<section class="result"', 1)[1]
