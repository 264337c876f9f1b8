"""Tests of api/web/window_checks.py: every check and outcome has a sentence in both languages,
made from the verdict's facts (never from the ledger's English detail), and times are China
time to the minute."""

from __future__ import annotations

import re

import pytest

from api.web import i18n
from api.web.window_checks import format_time, ledger_text, sentence

LICENCE = {
    "id": "L", "version": "002", "type": {"code": "T", "name": "食品经营许可证"},
    "issuer": {"uscc": "U", "name": "某局", "region": "beijing"}, "holder": {"kind": "enterprise", "uscc": "H"},
    "validity": {"valid_from": "2026-01-01", "valid_until": "2026-06-30", "in_force": False},
    "status": {"code": "revoked", "reason": {"code": "fraud", "note": None}, "updated_at": 0},
    "superseded_by": "L2", "commitment": {"state": "pending", "deadline": "2026-12-01", "overdue": True}, "issued_at": 0,
}
BODY = {
    "licence_id": "L", "presented": "document", "asking_region": "tianjin", "at_time": 1796688000000, "licence": LICENCE,
    "recognition": None, "seal_checks": [{"name": "seal.registered", "outcome": "passed"}, {"name": "seal.owner", "outcome": "failed"}],
}
SEAL = {"seal_id": "S1", "name": "专用章", "signer": "K", "signing_time": 0}
NAMES = ("on_ledger", "document_matches", "holder_matches", "issuer_authorised", "seal_valid", "signature_valid", "status",
         "within_validity", "latest_version", "commitment", "recognised")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("outcome", ["passed", "failed", "undecided", "not_applicable"])
@pytest.mark.parametrize("name", NAMES)
def test_every_check_and_outcome_has_a_sentence_without_the_ledgers_detail(name, outcome, lang):
    said = sentence({"name": name, "outcome": outcome, "detail": "LEDGER DETAIL"}, BODY, SEAL, lang)
    assert said and "LEDGER DETAIL" not in said and "{" not in said
    if lang == "zh":
        assert re.search(r"[\u4e00-\u9fff]", said)


def test_the_sentences_name_the_facts():
    def said(name, outcome, lang="zh", **body):
        return sentence({"name": name, "outcome": outcome, "detail": ""}, {**BODY, **body}, SEAL, lang)

    assert said("status", "failed") == "证照已吊销，原因代码 fraud，自 1970-01-01 08:00 起。"
    assert said("latest_version", "failed") == "第 002 版已被 L2 取代。"
    assert said("within_validity", "failed") == "证照已失效：有效期至 2026-06-30，核验日为 2026-12-08。"
    assert said("commitment", "failed") == "告知承诺核查已逾期：期限 2026-12-01 已过，仍未确认。"
    assert said("seal_valid", "failed") == "印章在签章时不可用：“印章属于发证部门”未通过。"
    assert said("recognised", "failed") == "tianjin 没有认可 beijing 签发的“食品经营许可证”的规则。"
    rule = {"as_type": "T2", "conditions": "原件备查"}
    assert said("recognised", "passed", recognition=rule) == "tianjin 认可 beijing 签发的“食品经营许可证”，视同 T2，条件：原件备查。"
    assert said("recognised", "passed", "en", recognition=rule) == "tianjin recognises 食品经营许可证 issued in beijing as T2, on the conditions: 原件备查."


def test_format_time_is_china_time_to_the_minute():
    assert format_time(0) == "1970-01-01 08:00"
    assert format_time(1796697778455) == "2026-12-08 10:42"
    assert format_time(None) == ""


def test_every_sentence_key_is_in_both_languages():
    zh = {k for k in i18n.keys("zh") if k.startswith("check.")}
    assert zh and zh == {k for k in i18n.keys("en") if k.startswith("check.")}


def test_the_ledgers_text_shows_its_times_as_china_time():
    assert ledger_text("recorded, issued at 1796697778455") == "recorded, issued at 2026-12-08 10:42 UTC+8"
    assert ledger_text("seal BJ123 of 11110000962960950K") == "seal BJ123 of 11110000962960950K"  # an 18-character USCC is no time
