"""The window page's verdicts for licences that do not count, in Chromium against the suite's
devnet (issue 11, "Tests"): a revoked, a suspended, a superseded (the old version names what
replaces it; the new one is valid) and a lapsed licence checked by Beijing's window staff, and a
Beijing licence checked by Tianjin's window staff, of a type Tianjin recognises (valid, the rule
named) and of one it does not (invalid, the reason said). Each screen in zh and en: the verdict
word and its colour class, the reason sentence first, the check list with the one failed check,
and a screenshot tests/browser/artefacts/verdict-<case>-<lang>.png.

The ledger states are made once for this module by real transactions on the devnet, as
tests/e2e/test_verification.py's world is prepared: the Beijing department's key from the devnet
home issues the licences (the lapsed one with a validity that ended before today), then
revokes, suspends and changes them. Must never reuse the seeded documents' licences for a state
change (other browser tests verify them as valid).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from api.web.i18n import translator
from client.signing import wall_clock_ms
from ledger.document import LicenceDocument
from node.demo import FOOD, ROAD, TYPES, load_departments
from tests.browser.test_window import choose_purpose, outcomes, verdict

CST = timezone(timedelta(hours=8))
SUBMIT_TIMEOUT_S = 30.0
SETTLE_S = 60.0


@dataclasses.dataclass(frozen=True)
class States:
    """The Beijing licences this module's transactions put in each state."""

    revoked: LicenceDocument
    suspended: LicenceDocument
    superseded: LicenceDocument  # version 001, replaced by `successor`
    successor: LicenceDocument
    lapsed: LicenceDocument  # its validity ended yesterday
    recognised: LicenceDocument  # of the food type every region recognises
    unrecognised: LicenceDocument  # of the road transport type Tianjin has no rule for


@pytest.fixture(scope="module")
def states(web) -> States:
    devnet = web.devnet
    holder = web.enterprise_licence("beijing").licence.holder
    [dept] = [d for d in load_departments(devnet.network, wall_clock_ms) if d.region == "beijing"]
    issuer = dept.client
    today = datetime.now(CST).date()

    def issue(serial: int, type: str = FOOD, *, lapsed: bool = False):
        valid_from = today.replace(year=today.year - 3) if lapsed else today
        valid_until = today - timedelta(days=1) if lapsed else today.replace(year=today.year + 3)
        return issuer.issue_licence(
            type=type, serial=str(serial), holder=holder, type_name=TYPES[type][0], issue_date=valid_from, valid_from=valid_from,
            valid_until=valid_until, fields={"经营场所": f"北京市示例路{serial}号"},
        )

    issued = {name: issue(serial, type, lapsed=name == "lapsed") for name, serial, type in (
        ("revoked", 801, FOOD), ("suspended", 802, FOOD), ("superseded", 803, FOOD), ("lapsed", 804, FOOD),
        ("recognised", 805, FOOD), ("unrecognised", 806, ROAD),
    )}
    documents = {name: document for name, (_, document) in issued.items()}
    change, successor = issuer.change_licence(issuer.next_licence(documents["superseded"].licence, fields={"经营场所": "北京市示例路803号之一"}), "correction")
    with devnet.client(web.node("beijing"), "department", timeout=SUBMIT_TIMEOUT_S) as client:
        for batch in ([tx for tx, _ in issued.values()],
                      [issuer.revoke(documents["revoked"].licence.id, "fraud"), issuer.suspend(documents["suspended"].licence.id, "inspection"), change]):
            results = client.submit_batch(batch, timeout_s=SUBMIT_TIMEOUT_S)
            assert [r.status for r in results] == ["committed"] * len(batch), [(r.status, r.error and r.error.code) for r in results]
    web.cluster.settle(at_least=max(r.height for r in results), timeout_s=SETTLE_S)
    return States(successor=successor, **documents)


def check_screen(page, lang: str, shown: str, failed: list[str], first_reason: str) -> None:
    """The verdict word and its colour class, the reason sentence first, and the check list
    with exactly `failed` failed."""
    t = translator(lang)
    assert verdict(page) == shown
    assert page.locator(".verdict").get_attribute("class").split() == ["verdict", f"verdict-{shown}"]
    assert page.locator(".verdict-word").inner_text() == t(f"window.verdict.{shown}")
    reasons = page.locator(".verdict .reasons li")
    assert reasons.count() >= 1 and reasons.first.inner_text() == first_reason
    checks = outcomes(page)
    assert "on_ledger" in checks and "status" in checks, checks
    assert sorted(name for name, outcome in checks.items() if outcome == "failed") == sorted(failed), checks
    assert "undecided" not in checks.values(), checks


def verify_by_id(web, page_as, region: str, licence_id: str, lang: str):
    page = page_as(region, "staff")
    page.goto(web.url(region, f"/?lang={lang}"))
    choose_purpose(page)
    page.locator("#q").fill(licence_id)
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.locator("#q").press("Enter")
    return page


LANGS = ["zh", "en"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case, status_word, reason", [("revoked", "revoked", "fraud"), ("suspended", "suspended", "inspection")])
def test_a_revoked_or_suspended_licence_is_invalid_and_says_by_whom_it_was_stopped(web, page_as, snap, states, lang, case, status_word, reason):
    t = translator(lang)
    page = verify_by_id(web, page_as, "beijing", getattr(states, case).licence.id, lang)
    check_screen(page, lang, "invalid", ["status"], t("window.why.status", status=t(f"window.status.{status_word}"), reason=reason))
    snap(page, f"verdict-{case}-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_a_superseded_version_names_its_successor_and_the_successor_is_valid(web, page_as, snap, states, lang):
    t = translator(lang)
    old, new = states.superseded.licence.id, states.successor.licence.id
    page = verify_by_id(web, page_as, "beijing", old, lang)
    check_screen(page, lang, "invalid", ["latest_version"], t("window.why.latest_version", successor=new))
    assert new in page.locator("dl.facts").inner_text()
    snap(page, f"verdict-superseded-{lang}")

    page = verify_by_id(web, page_as, "beijing", new, lang)
    check_screen(page, lang, "valid", [], t("window.why.valid"))
    snap(page, f"verdict-successor-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_a_licence_whose_validity_ended_is_invalid_with_its_dates(web, page_as, snap, states, lang):
    t = translator(lang)
    licence = states.lapsed.licence
    page = verify_by_id(web, page_as, "beijing", licence.id, lang)
    check_screen(page, lang, "invalid", ["within_validity"],
                 t("window.why.within_validity", valid_from=licence.valid_from.isoformat(), valid_until=licence.valid_until.isoformat()))
    snap(page, f"verdict-lapsed-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_tianjin_staff_find_a_beijing_food_licence_valid_by_the_rule_that_recognises_it(web, page_as, snap, states, lang):
    t = translator(lang)
    page = verify_by_id(web, page_as, "tianjin", states.recognised.licence.id, lang)
    check_screen(page, lang, "valid", [], t("window.why.valid"))
    assert outcomes(page)["recognised"] == "passed"
    facts = page.locator("dl.facts").inner_text()
    assert FOOD in facts and "beijing" in facts and "京津冀食品经营许可互认" in facts  # the rule, named
    snap(page, f"verdict-recognised-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_tianjin_staff_find_a_beijing_licence_of_a_type_tianjin_does_not_recognise_invalid(web, page_as, snap, states, lang):
    t = translator(lang)
    page = verify_by_id(web, page_as, "tianjin", states.unrecognised.licence.id, lang)
    check_screen(page, lang, "invalid", ["recognised"], t("window.why.recognised", region="tianjin", from_region="beijing"))
    assert page.locator("dl.facts").inner_text().count(t("window.recognition_none")) == 1
    snap(page, f"verdict-unrecognised-{lang}")
