"""Tests of the ledger explorer (api/web/explorer): every page in zh and en, the search for each
kind of key and its misses, the bounds of every page, a sentence in both languages for every
transaction kind, the role limits (anonymous, auditor, department, staff) that mirror the API's,
and the CSV export's range limits, refusals and log line."""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

import pytest

from api.web.explorer import messages, pages, reads
from api.web.i18n import translator
from api.web.explorer.sentences import SENTENCES, Signer, describe
from certs.roles import Role
from ledger.encoding import b64encode
from ledger.execute import _KINDS, _load_domain
from tests.api.world import PERSON, PURPOSE, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("explorer") / "net")
    doc, person = world.document(1), world.document(2, holder=PERSON)
    world.issue(doc, person)
    world.act("licence.suspend", doc.licence.id)
    partner = world.client("tianjin", Role.PARTNER)
    assert partner.post("/v1/verify", json={"licence_id": person.licence.id, "purpose": PURPOSE}).status_code == 200
    world.service.produce()
    chain = world.service.chain
    world.doc, world.person = doc, person
    world.issue_tx = chain.block(4).txs[0]
    use_block = chain.block(chain.height)
    world.use_tx = next(tx for tx in use_block.txs if tx.kind == "use.record")
    record = world.use_tx.body["records"][0]
    world.use_id = f"{record['node']}:{record['seq']}"
    yield world
    world.close()


def text_of(page) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))


def pages_of(world) -> list[str]:
    return [
        "/explorer", "/explorer/blocks/1", f"/explorer/blocks/{world.service.chain.height}", f"/explorer/transactions/{b64encode(world.issue_tx.id)}",
        f"/explorer/transactions/{b64encode(world.use_tx.id)}", f"/explorer/departments/{world.dept_uscc}", "/explorer/rules",
        "/explorer/validators", f"/explorer/licences/{world.doc.licence.id}", f"/explorer/licences/{world.person.licence.id}",
        f"/explorer/uses/{world.use_id}",
    ]


# -- every page in both languages ------------------------------------------------------------------


@pytest.mark.parametrize("lang, html, word", [("zh", 'lang="zh-CN"', "账本浏览"), ("en", 'lang="en"', "Ledger explorer")])
def test_every_page_renders_in_both_languages_for_an_auditor(world, lang, html, word):
    auditor = world.client("hebei", Role.AUDITOR)
    for url in pages_of(world):
        page = auditor.get(f"{url}?lang={lang}")
        assert page.status_code == 200, f"{url}: {page.text[-500:]}"
        assert html in page.text and word in page.text and page.headers["content-type"].startswith("text/html"), url
        assert "http://" not in page.text and "https://" not in page.text, url
        assert "content-security-policy" in page.headers, url


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_table_scrolls_in_a_labelled_focusable_box_so_a_phone_page_never_widens(world, lang):
    auditor = world.client("hebei", Role.AUDITOR)
    tables = 0
    for url in pages_of(world):
        page = auditor.get(f"{url}?lang={lang}").text
        for before in page.split("<table")[:-1]:
            tables += 1
            box = before.rsplit("<div", 1)[1]
            assert box.startswith(' class="scroll" tabindex="0" role="region" aria-label="') and box.rstrip().endswith(">"), url
            label = box.split('aria-label="', 1)[1].split('"', 1)[0]
            assert label and not label.startswith("explorer."), url
        assert page.count("<table") == page.count("</table></div>"), url
    assert tables >= 8
    css = (Path(pages.__file__).parents[1] / "static" / "explorer.css").read_text()
    assert ".explorer .scroll { overflow-x: auto;" in css and "table { display: block" not in css
    assert ".explorer h1, .explorer h2, .explorer p, .explorer li, .explorer summary { overflow-wrap: anywhere; }" in css  # long ids break
    assert ".explorer td code { white-space: nowrap; word-break: normal; }" in css  # codes in a table stay whole; its box scrolls


def test_the_latest_blocks_show_their_transactions_in_domain_terms(world):
    page = text_of(world.client().get("/explorer?lang=en"))
    assert f"Issued the licence {world.doc.licence.id} to the enterprise" in page
    assert f"Licence {world.doc.licence.id} suspended; reason: inspection" in page
    assert "tianjin recognises" in page and "Block 1" in page
    assert f"北京市市场监督管理局 {world.dept_uscc} (beijing)" in page and "tianjin-admin-1 (tianjin)" in page  # who signed
    zh = text_of(world.client().get("/explorer?lang=zh"))
    assert f"证照 {world.doc.licence.id} 被暂扣，原因：inspection" in zh


def test_a_person_holder_is_never_shown(world):
    for lang in ("zh", "en"):
        page = world.client("hebei", Role.AUDITOR).get(f"/explorer/licences/{world.person.licence.id}?lang={lang}").text
        assert PERSON.name not in page and PERSON.id_number not in page
        assert ("自然人（身份受保护）" if lang == "zh" else "a natural person (identity protected)") in page
    block = world.client().get("/explorer/blocks/4?lang=en").text
    assert "a natural person (identity protected)" in block and PERSON.id_number not in block


def test_a_block_shows_its_header_commit_signatures_and_validator_set(world):
    page = world.client().get("/explorer/blocks/4?lang=en")
    text = text_of(page)
    assert "Commit signatures (round" in text and "matches the header's validators_hash" in text
    names = [v.name for v in world.service.view().validators()]
    assert all(name in text for name in names)
    signed = text.count(" signed ") - text.count("did not sign")
    assert signed >= 1 and "state_root" in text and "previous_hash" in text


def test_a_block_header_and_a_department_read_in_chinese(world):
    block = text_of(world.client().get("/explorer/blocks/4?lang=zh"))
    assert "状态根 state_root" in block and "上一区块哈希 previous_hash" in block and "出块时间 time" in block
    assert re.search(r"出块时间 time \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d{13}", block)  # China time, then the raw value
    dept = text_of(world.client("hebei", Role.AUDITOR).get(f"/explorer/departments/{world.dept_uscc}?lang=zh"))
    assert "状态 正常" in dept and "证照专用章 有效" in dept
    en = text_of(world.client("hebei", Role.AUDITOR).get(f"/explorer/departments/{world.dept_uscc}?lang=en"))
    assert "Status active" in en and "licence seal in use" in en


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_transaction_lists_name_each_kind_in_words_with_its_code_as_a_title(world, lang):
    page = world.client().get(f"/explorer/blocks/4?lang={lang}").text
    row = page.split('<table class="txs">', 1)[1].split("</table>", 1)[0]
    name = messages.KIND_NAMES["licence.issue"][0 if lang == "zh" else 1]
    assert f'<td class="kind" title="licence.issue">{name}</td>' in row and '<td class="what">' in row and "<code>licence.issue</code>" not in row


def test_a_licence_page_is_headed_by_its_type_name_with_its_id_below_in_small_type(world):
    page = world.client("hebei", Role.AUDITOR).get(f"/explorer/licences/{world.doc.licence.id}?lang=zh").text
    assert f'<h1>食品经营许可证 <code class="id">{world.doc.licence.id}</code></h1>' in page


def test_a_transaction_links_its_block_and_its_inclusion_proof(world):
    tx_id = b64encode(world.issue_tx.id)
    page = world.client().get(f"/explorer/transactions/{tx_id}?lang=en")
    assert f'href="/v1/transactions/{tx_id}"' in page.text and 'href="/explorer/blocks/4"' in page.text
    assert "Raw JSON" in page.text and "Issued the licence" in page.text
    proof = world.client().get(f"/v1/transactions/{tx_id}")
    assert proof.status_code == 200 and proof.json()["status"] == "committed"


def test_the_validators_page_counts_signed_and_missed_blocks(world):
    view = world.service.view()
    rows, first, last = reads.validator_health(view, 100)
    assert (first, last) == (1, view.height)
    for row, validator in zip(rows, view.validators()):  # the literal reference: each commit's signers
        signed = [h for h in range(first, last + 1) if validator.key_id in {s.validator for s in view.commit(h).signatures}]
        assert row["last_signed"] == (signed[-1] if signed else None) and row["missed"] == last - first + 1 - len(signed)
    assert any(row["last_signed"] == last for row in rows) and sum(row["proposed"] for row in rows) == last
    text = text_of(world.client().get("/explorer/validators?lang=en&blocks=3"))
    assert f"From the commits of blocks {last - 2} to {last}" in text and "holds no evidence of misbehaviour" in text


def test_the_rules_table_names_the_accepting_and_the_issuing_region(world):
    page = world.client().get("/explorer/rules?lang=en").text
    assert "原件备查" in page and "<th scope=\"row\">tianjin</th>" in page and "<th scope=\"col\">beijing</th>" in page


# -- search ----------------------------------------------------------------------------------------


def go(world, q: str, client=None):
    return (client or world.client()).get("/explorer/search", params={"q": q, "lang": "en"}, follow_redirects=False)


def test_search_leads_to_each_kind_of_key(world):
    view = world.service.view()
    header = view.header_bytes(3)
    from ledger.hashing import tagged_hash

    block_hash = tagged_hash("header", header)
    expected = {
        "3": "/explorer/blocks/3",
        f" {view.height} ": f"/explorer/blocks/{view.height}",
        b64encode(block_hash): "/explorer/blocks/3",
        block_hash.hex(): "/explorer/blocks/3",
        b64encode(world.issue_tx.id): f"/explorer/transactions/{b64encode(world.issue_tx.id)}",
        world.issue_tx.id.hex().upper(): f"/explorer/transactions/{b64encode(world.issue_tx.id)}",
        world.doc.licence.id: f"/explorer/licences/{world.doc.licence.id}",
        world.use_id: f"/explorer/uses/{world.use_id}",
        world.dept_uscc: f"/explorer/departments/{world.dept_uscc}",
    }
    for q, url in expected.items():
        answer = go(world, q)
        assert answer.status_code == 303 and answer.headers["location"] == url, q


def test_search_says_plainly_what_it_could_not_find(world):
    height = world.service.chain.height
    typo = world.doc.licence.id[:-1] + ("A" if world.doc.licence.id[-1] != "A" else "B")
    misses = {
        str(height + 1): f"There is no block at height {height + 1}: the latest is {height}.",
        "0": "There is no block at height 0",
        typo: "is not a valid licence id",
        b64encode(bytes(32)): "No transaction, and no block among the latest",
        "hello world": "is not something the explorer can look up",
        "": "Type what to look for.",
    }
    for q, said in misses.items():
        answer = go(world, q)
        assert answer.status_code == 404 and 'role="alert"' in answer.text, q
        assert said in text_of(answer).replace("“", "").replace("”", ""), (q, text_of(answer)[-600:])


# -- pagination ------------------------------------------------------------------------------------


def test_the_latest_blocks_come_a_page_at_a_time(world):
    height = world.service.chain.height
    first = world.client().get("/explorer?limit=2&lang=en").text
    assert f"Block {height}<" in first and f"Block {height - 1}<" in first and f"Block {height - 2}<" not in first
    assert f'href="/explorer?before={height - 1}&amp;limit=2"' in first
    second = world.client().get(f"/explorer?before={height - 1}&limit=2&lang=en").text
    assert f"Block {height - 2}<" in second and f"Block {height - 1}<" not in second
    last = world.client().get("/explorer?before=2&limit=2&lang=en").text
    assert "Block 1<" in last and "before=" not in last


@pytest.mark.parametrize("url", ["/explorer?limit=0", "/explorer?limit=101", "/explorer?limit=x", "/explorer?before=1",
                                 "/explorer/validators?blocks=0", "/explorer/validators?blocks=1001", "/explorer/blocks/1?offset=-1"])
def test_page_bounds_are_refused_with_the_parameter_named(world, url):
    page = world.client().get(url)
    assert page.status_code == 422 and "query." in page.text


def test_a_blocks_transactions_come_a_page_at_a_time(world, monkeypatch):
    monkeypatch.setattr(reads, "TXS_PER_PAGE", 1)
    first = world.client().get("/explorer/blocks/1?lang=en").text
    assert first.count('href="/explorer/transactions/') == 1 and 'href="/explorer/blocks/1?offset=1"' in first
    third = world.client().get("/explorer/blocks/1?offset=2&lang=en").text
    assert third.count('href="/explorer/transactions/') == 1 and "?offset=3" not in third


def test_the_home_page_shows_a_bounded_number_of_each_blocks_transactions(world):
    lines, _ = reads.latest_blocks(world.service.view(), None, 100)
    assert all(len(line.txs) <= reads.TXS_PER_BLOCK_ON_LIST for line in lines)


def test_unknown_blocks_and_transactions_are_404_pages(world):
    assert world.client().get("/explorer/blocks/999").status_code == 404
    assert world.client().get(f"/explorer/transactions/{b64encode(bytes(32))}").status_code == 404
    assert world.client().get("/explorer/transactions/nothing").status_code == 422


# -- sentences -------------------------------------------------------------------------------------


def test_every_registered_transaction_kind_has_a_sentence_and_a_name():
    _load_domain()
    kinds = {k for k in _KINDS if not k.startswith("test.")}  # tests register kinds of their own (tests/ledger/test_bundle.py)
    assert len(kinds) >= 25
    assert kinds - set(SENTENCES) == set(), "a transaction kind has no sentence in api/web/explorer/sentences.py"
    assert kinds - set(messages.KIND_NAMES) == set(), "a transaction kind has no name in api/web/explorer/messages.py"


KEY = "k" * 43
SAMPLES = {
    "document.anchor": ({"document_hash": KEY, "label": "合同"}, ["kkkkkkkkkkkk…", "合同"]),
    "org.admit": ({"uscc": "U1", "name": "某局", "keys": [{}], "licence_types": ["T1", "T2"]}, ["U1", "某局", "T1, T2"]),
    "org.grant": ({"uscc": "U1", "licence_types": ["T3"]}, ["U1", "T3"]),
    "org.key_add": ({"uscc": "U1", "key": {"public_key": {}, "not_before": 0, "not_after": 86_400_000}}, ["U1", "1970-01-01 08:00:00"]),
    "org.key_revoke": ({"uscc": "U1", "key_id": KEY, "reason": "key_leaked"}, ["U1", "key_leaked"]),
    "org.suspend": ({"uscc": "U1", "reason": "audit"}, ["U1", "audit"]),
    "org.resume": ({"uscc": "U1", "reason": "done"}, ["U1", "done"]),
    "ltype.register": ({"code": "T1", "name": "食品", "validity_required": True}, ["T1", "食品"]),
    "recognition.declare": ({"from_region": "beijing", "type": "T1", "as_type": "T2", "conditions": "原件"}, ["beijing", "T1", "T2", "原件", "tianjin"]),
    "recognition.withdraw": ({"from_region": "beijing", "type": "T1"}, ["beijing", "T1", "tianjin"]),
    "scenario.declare": ({"code": "TJ-SP-001", "name": "食品经营许可核查", "region": "tianjin", "licence_types": ["T1", "T2"]}, ["TJ-SP-001", "食品经营许可核查", "T1, T2", "tianjin"]),
    "cert.revoke": ({"serial": "1a2b", "reason": "key_leaked"}, ["1a2b", "key_leaked"]),
    "seal.register": ({"seal_id": "SEAL0001", "owner": "U1", "name": "专用章", "type": "licence", "valid_from": 0, "valid_until": 1}, ["SEAL0001", "U1", "专用章"]),
    "seal.revoke": ({"seal_id": "SEAL0001", "reason": "lost"}, ["SEAL0001", "lost"]),
    "seal.sign": ({"seal_signature": {"seal_id": "SEAL0001", "document_hash": KEY, "signing_time": 0}}, ["SEAL0001", "kkkkkkkkkkkk…"]),
    "licence.issue": ({"id": "L1", "holder": {"kind": "enterprise", "uscc": "H1"}, "valid_from": "2026-01-01", "valid_until": None, "seal": {"seal_id": "S1"}}, ["L1", "H1", "2026-01-01", "S1"]),
    "licence.change": ({"id": "L1", "reason": "moved", "new": {"valid_from": "2026-02-01", "valid_until": "2027-01-01", "holder": {"kind": "enterprise", "uscc": "H2"}}}, ["L1", "moved", "2026-02-01", "H2"]),
    "licence.renew": ({"id": "L1", "reason": "expiry", "new": {"valid_from": "2027-01-01", "valid_until": "2028-01-01"}}, ["L1", "expiry", "2028-01-01"]),
    "licence.suspend": ({"id": "L1", "reason": "r"}, ["L1"]),
    "licence.resume": ({"id": "L1", "reason": "r"}, ["L1"]),
    "licence.revoke": ({"id": "L1", "reason": "r"}, ["L1"]),
    "licence.annul": ({"id": "L1", "reason": "r"}, ["L1"]),
    "licence.cancel": ({"id": "L1", "reason": "r"}, ["L1"]),
    "licence.confirm": ({"id": "L1"}, ["L1"]),
    "evidence.duplicate_vote": ({"vote_a": {"type": "precommit", "height": 7, "round": 1, "validator": KEY}, "vote_b": {}}, ["7", "precommit", "beijing-1"]),
    "use.record": ({"records": [{"node": "beijing-1", "seq": 3}, {"node": "beijing-1", "seq": 5}]}, ["beijing-1", "2", "3–5"]),
}


@pytest.mark.parametrize("kind", sorted(SENTENCES))
def test_each_kind_reads_as_a_sentence_with_its_key_facts_in_both_languages(kind):
    body, facts = SAMPLES[kind]
    sentence = describe(kind, body, Signer("beijing-1" if kind == "evidence.duplicate_vote" else "tianjin-admin-1", "region-admin", "tianjin"))
    assert set(sentence) == {"zh", "en"} and sentence["zh"] != sentence["en"]
    for lang in ("zh", "en"):
        assert "?" not in sentence[lang], (kind, lang, sentence[lang])
        for fact in facts:
            assert fact in sentence[lang], (kind, lang, fact, sentence[lang])


def test_every_kind_has_a_sample_here():
    assert set(SAMPLES) == set(SENTENCES)


def test_a_person_holder_reads_without_its_commitment_and_an_unknown_kind_is_named():
    body = {"id": "L1", "holder": {"kind": "person", "commitment": KEY}, "valid_from": "2026-01-01", "valid_until": None, "seal": {"seal_id": "S1"}}
    sentence = describe("licence.issue", body)
    assert KEY not in sentence["zh"] + sentence["en"] and "自然人" in sentence["zh"] and "natural person" in sentence["en"]
    assert "x.new" in describe("x.new", {})["en"]


# -- role limits -----------------------------------------------------------------------------------


def test_anonymous_visitors_see_the_open_data_only(world):
    anonymous = world.client()
    for url in ("/explorer", "/explorer/blocks/1", f"/explorer/departments/{world.dept_uscc}", "/explorer/rules", "/explorer/validators",
                f"/explorer/transactions/{b64encode(world.issue_tx.id)}"):
        assert anonymous.get(url).status_code == 200, url
    for url in (f"/explorer/licences/{world.doc.licence.id}", f"/explorer/uses/{world.use_id}"):
        page = anonymous.get(url)
        assert page.status_code == 403 and "auth.certificate_required" in page.text, url
    use_tx = anonymous.get(f"/explorer/transactions/{b64encode(world.use_tx.id)}?lang=en").text
    assert "you may not read this record" in use_tx and "Raw JSON" not in use_tx
    assert world.person.licence.id not in use_tx and PURPOSE["serial"] not in use_tx
    assert "export.csv" not in anonymous.get("/explorer").text


def test_an_auditor_sees_the_uses_and_the_use_records(world):
    auditor = world.client("hebei", Role.AUDITOR)
    licence = auditor.get(f"/explorer/licences/{world.person.licence.id}?lang=en").text
    assert f'href="/explorer/uses/{world.use_id}"' in licence and PURPOSE["item_name"] in licence
    use_tx = auditor.get(f"/explorer/transactions/{b64encode(world.use_tx.id)}?lang=en").text
    assert world.person.licence.id in use_tx and "Raw JSON" in use_tx
    assert "export.csv" in auditor.get("/explorer").text


def test_a_use_record_and_a_transaction_read_in_chinese(world):
    auditor = world.client("hebei", Role.AUDITOR)
    use = text_of(auditor.get(f"/explorer/uses/{world.use_id}?lang=zh"))
    zh = translator("zh")
    assert f"{zh('explorer.presented')} 证照编号" in use and f"{zh('explorer.verdict')} 有效 (" in use
    assert re.search(r"\(tianjin，[^,)]+\)", use)
    licence = text_of(auditor.get(f"/explorer/licences/{world.person.licence.id}?lang=zh"))
    assert "记录编号" in licence
    tx = text_of(auditor.get(f"/explorer/transactions/{b64encode(world.issue_tx.id)}?lang=zh"))
    assert "交易编号" in tx and re.search(r"\(发证部门，beijing\)", tx)


def test_a_department_sees_its_own_licences_uses_and_not_anothers(world):
    own = world.client("beijing", Role.ISSUER).get(f"/explorer/licences/{world.person.licence.id}?lang=en").text
    assert f'href="/explorer/uses/{world.use_id}"' in own
    other = world.client("tianjin", Role.ISSUER).get(f"/explorer/licences/{world.person.licence.id}?lang=en")
    assert other.status_code == 200 and "You may not read this licence's use records" in text_of(other) and world.use_id not in other.text
    page = world.client("tianjin", Role.ISSUER).get(f"/explorer/uses/{world.use_id}")
    assert page.status_code == 403 and "auth.not_concerned" in page.text


def test_window_staff_see_a_licence_but_not_its_uses(world):
    page = world.client("beijing", Role.STAFF).get(f"/explorer/licences/{world.person.licence.id}?lang=en")
    assert page.status_code == 200 and "Your role may not read use records" in page.text and world.use_id not in page.text


def test_the_caller_a_record_was_made_for_reads_it(world):
    page = world.client("tianjin", Role.PARTNER).get(f"/explorer/uses/{world.use_id}?lang=en")
    assert page.status_code == 200 and PURPOSE["serial"] in page.text


def test_a_validator_certificate_may_not_read_a_licence(world):
    page = world.client("beijing", Role.VALIDATOR).get(f"/explorer/licences/{world.doc.licence.id}")
    assert page.status_code == 403 and "auth.forbidden" in page.text


# -- CSV export ------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", [("hebei", Role.AUDITOR), ("beijing", Role.REGION_ADMIN)])
def test_auditors_and_administrators_export_a_range_and_the_export_is_logged(world, by, caplog):
    with caplog.at_level(logging.INFO, logger="eledger.explorer"):
        answer = world.client(*by).get("/explorer/export.csv?from=1&to=4")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="eledger-1-4.csv"' in answer.headers["content-disposition"]
    lines = answer.content.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(reads.EXPORT_COLUMNS)
    view = world.service.view()
    assert len(lines) - 1 == sum(len(view.block(h).txs) for h in range(1, 5))
    assert any("licence.issue" in line and world.doc.licence.id in line for line in lines)
    logged = [r.getMessage() for r in caplog.records if r.name == "eledger.explorer"]
    assert any(f"role={by[1].value}" in m and f"region={by[0]}" in m and "from=1 to=4" in m for m in logged)


@pytest.mark.parametrize("by, code", [(None, "auth.certificate_required"), (("beijing", Role.STAFF), "auth.forbidden"),
                                      (("beijing", Role.ISSUER), "auth.forbidden"), (("tianjin", Role.PARTNER), "auth.forbidden")])
def test_other_roles_may_not_export(world, by, code, caplog):
    client = world.client(*by) if by else world.client()
    with caplog.at_level(logging.INFO, logger="eledger.explorer"):
        answer = client.get("/explorer/export.csv?from=1&to=2")
    assert answer.status_code == 403 and code in answer.text
    assert not [r for r in caplog.records if r.name == "eledger.explorer"]


@pytest.mark.parametrize("query", ["", "?from=1", "?to=2", "?from=3&to=2", "?from=0&to=2", f"?from=1&to={reads.MAX_EXPORT_BLOCKS + 1}", "?from=1&to=999", "?from=a&to=2"])
def test_an_export_range_out_of_bounds_is_refused(world, query):
    answer = world.client("hebei", Role.AUDITOR).get(f"/explorer/export.csv{query}")
    assert answer.status_code == 422 and "query." in answer.text


def test_export_roles_are_a_subset_of_those_that_may_read_uses():
    from api.auth import ROUTES

    assert pages.EXPORT_ROLES <= ROUTES["uses"]


# -- evidence --------------------------------------------------------------------------------------


def test_evidence_of_a_duplicate_vote_is_listed_with_its_culprit(tmp_path):
    import os

    from ledger.commit import VOTE_PURPOSE, VoteType, vote_sign_bytes
    from ledger.tx import Tx

    world = make_world(tmp_path / "net")
    try:
        names = [v.name for v in world.service.view().validators()]
        reporter, culprit = (world.pki.network.validator_keys[name] for name in names[:2])

        def vote(block: bytes) -> dict[str, object]:
            signature = culprit.sign(VOTE_PURPOSE, world.chain_id, vote_sign_bytes(VoteType.PREVOTE, 1, 0, block))
            return {"type": "prevote", "height": 1, "round": 0, "block": block, "validator": culprit.public_key.key_id, "signature": signature.to_json()}

        world.commit(Tx.create(world.chain_id, "evidence.duplicate_vote", {"vote_a": vote(b"\x01" * 32), "vote_b": vote(b"\x02" * 32)}, reporter, os.urandom(16)))
        page = world.client().get("/explorer/validators?lang=en")
        text = text_of(page)
        assert page.status_code == 200 and "holds no evidence" not in text
        assert f"Evidence of misbehaviour Name Height Round Kind Recorded {names[1]} 1 0 prevote" in text
        block = text_of(world.client().get(f"/explorer/blocks/{world.service.chain.height}?lang=en"))
        assert f"Validator {names[0]} reported validator" in block and "conflicting prevote votes at height 1, round 0" in block
    finally:
        world.close()


def test_export_cells_that_a_spreadsheet_would_run_are_quoted():
    assert pages.csv_cell("=SUM(A1)") == "'=SUM(A1)" and pages.csv_cell("@x") == "'@x" and pages.csv_cell("北京") == "北京" and pages.csv_cell(3) == 3


def test_a_renewed_licence_shows_its_versions_in_the_timeline_and_pages_it(tmp_path, monkeypatch):
    world = make_world(tmp_path / "net")
    try:
        v1 = world.document(7)
        world.issue(v1)
        v2 = world.document(7, version="002")
        world.renew(v1, v2)
        world.act("licence.revoke", v2.licence.id, "fraud")
        auditor = world.client("hebei", Role.AUDITOR)
        old = text_of(auditor.get(f"/explorer/licences/{v1.licence.id}?lang=en"))
        assert f"superseded by {v2.licence.id}" in old and "Status revoked" in old
        assert old.index(" issued ") < old.index(" renewed ") < old.index(" revoked · Version 002")
        monkeypatch.setattr(pages, "PAGE_LIMIT", 2)
        first = auditor.get(f"/explorer/licences/{v2.licence.id}?lang=en")
        assert " revoked · Version" not in text_of(first) and "?after=" in first.text  # the revocation is on the next page
        cursor = re.search(r'href="\?after=([^"]+)"', first.text).group(1)
        second = text_of(auditor.get(f"/explorer/licences/{v2.licence.id}?lang=en&after={cursor}"))
        assert " revoked · Version 002" in second and " issued " not in second
        zh = text_of(auditor.get(f"/explorer/licences/{v2.licence.id}?lang=zh"))
        assert "状态 吊销 · 原因" in zh and "(revoked)" not in zh
    finally:
        world.close()
