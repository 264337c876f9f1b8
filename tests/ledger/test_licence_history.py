"""ledger.licence_history: every version and status change of a licence (追溯, docs/spec/domain.md
§8.3), read through a ChainView of a store snapshot, oldest first, with the height, position and
block time of each transaction, paged with a cursor."""

from __future__ import annotations

import pytest

from ledger.encoding import b64encode
from ledger.errors import ValidationError
from ledger.licence_bodies import issue_tx, version_body
from ledger.licence_history import history_page, licence_history
from ledger.view import ChainView

from .test_verify import PERSON, act, issue, make_doc, world  # noqa: F401  (world is a fixture)


def view_of(ledger) -> ChainView:
    return ChainView(ledger.local.chain.kv.snapshot(), ledger.net.genesis)


def test_history_lists_every_version_and_status_change_oldest_first(world):
    ledger, dept = world
    v1, other = make_doc(ledger, dept, 51, holder=PERSON, deadline="2026-06-30"), make_doc(ledger, dept, 52)
    issue(ledger, dept, v1, other)
    issued_at = ledger.time
    act(ledger, dept, "licence.suspend", v1.licence.id)
    act(ledger, dept, "licence.resume", v1.licence.id)
    v2 = make_doc(ledger, dept, 51, version="002", holder=PERSON, valid_until="2029-12-31", deadline="2026-06-30")
    ledger.accept(ledger.signed(dept.key, "licence.renew", version_body(v2, v1.licence.id, "expiry")))
    act(ledger, dept, "licence.confirm", v2.licence.id)
    act(ledger, dept, "licence.revoke", v2.licence.id)
    view = view_of(ledger)
    history = licence_history(view, v1.licence.id)
    assert [(h["kind"], h["id"], h["status"], h["reason"], h["commitment"]) for h in history] == [
        ("licence.issue", v1.licence.id, "valid", None, "pending"),
        ("licence.suspend", v1.licence.id, "suspended", "inspection", "pending"),
        ("licence.resume", v1.licence.id, "valid", "inspection", "pending"),
        ("licence.renew", v2.licence.id, "valid", "expiry", "pending"),
        ("licence.confirm", v2.licence.id, "valid", None, "confirmed"),
        ("licence.revoke", v2.licence.id, "revoked", "inspection", "confirmed"),
    ]
    assert [h["time"] for h in history] == [issued_at + 1000 * k for k in range(6)]
    assert [h["height"] for h in history] == list(range(view.height - 5, view.height + 1))
    for h in history:
        block = view.block(h["height"])
        assert b64encode(block.txs[h["index"]].id) == h["tx"] and view.tx_location(block.txs[h["index"]].id) == (h["height"], h["index"])
    assert licence_history(view, v2.licence.id) == history  # any version names the licence
    assert [h["kind"] for h in licence_history(view, other.licence.id)] == ["licence.issue"]
    assert licence_history(view, make_doc(ledger, dept, 5).licence.id) == []
    assert "李" not in str(history) and PERSON.id_number not in str(history)


def test_history_positions_are_those_of_the_block_when_the_proposer_skipped_a_transaction(world):
    ledger, dept = world
    docs = [make_doc(ledger, dept, n) for n in (61, 62)]
    rejected = ledger.signed(dept.key, "licence.suspend", {"id": docs[0].licence.id, "reason": "inspection"})  # not issued yet
    pending = ledger.produce(rejected, *(issue_tx(d, ledger.net.genesis.chain_id) for d in docs))
    assert len(pending.rejected) == 1 and len(pending.block.txs) == 2
    view = view_of(ledger)
    assert [licence_history(view, d.licence.id)[0]["index"] for d in docs] == [0, 1]


def test_history_pages_follow_the_cursor(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 71)
    issue(ledger, dept, doc)
    for _ in range(3):
        act(ledger, dept, "licence.suspend", doc.licence.id)
        act(ledger, dept, "licence.resume", doc.licence.id)
    view = view_of(ledger)
    whole = licence_history(view, doc.licence.id)
    pages, after = [], None
    while True:
        page, after = history_page(view, doc.licence.id, after=after, limit=3)
        pages.append(page)
        if after is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1] and sum(pages, []) == whole
    other = make_doc(ledger, dept, 72)
    issue(ledger, dept, other)
    _, cursor = history_page(view, doc.licence.id, limit=1)
    for bad in ("not base64!", "", b64encode(b"history/x/"), b64encode(b"holder/x")):
        with pytest.raises(ValidationError) as err:
            history_page(view, other.licence.id if bad == "" else doc.licence.id, after=bad)
        assert err.value.code == "query.bad_cursor", bad
    with pytest.raises(ValidationError) as err:
        history_page(view_of(ledger), other.licence.id, after=cursor)  # a cursor of another licence
    assert err.value.code == "query.bad_cursor"
    for limit in (0, 501, True):
        with pytest.raises(ValidationError) as err:
            history_page(view, doc.licence.id, limit=limit)
        assert err.value.code == "query.limit"
    with pytest.raises(ValidationError) as err:
        licence_history(view, "1.2.156")
    assert err.value.code == "ids.bad_licence_id"
