"""ledger.licence_query: a licence's public metadata at a time (docs/spec/domain.md §9.5) and the
search over the §8.1 indexes (§8.2) through a ChainView: every filter, their combinations, the
paging and its budget, and that persons are never searchable nor described."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.bundle import build_bundle, verify_bundle
from ledger.encoding import b64encode, decode, encode
from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, build_licence, seal_document
from ledger.errors import ValidationError
from ledger.ids import format_licence_id
from ledger.licence_bodies import version_body
from ledger.licence_query import describe_licence, search_licences
from ledger.licences import licence_key, read_licence
from ledger.view import ChainView

from .test_governance import grant, uscc
from .test_seals import seal_body
from .test_verify import HOLDER, PERSON, T, T_TJ, Dept, act, cst_ms, issue, make_doc, world  # noqa: F401  (world is a fixture)

OTHER_HOLDER = uscc(803)


def view_of(ledger) -> ChainView:
    return ChainView(ledger.local.chain.kv.snapshot(), ledger.net.genesis)


def ids(items) -> list[str]:
    return [item["id"] for item in items]


# -- describe_licence ------------------------------------------------------------------------------


def test_describe_gives_the_public_metadata_at_a_time(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 1, deadline="2026-03-31")
    issue(ledger, dept, doc)
    view = view_of(ledger)
    record = read_licence(view.state(), doc.licence.id)
    shown = describe_licence(view.state(), record, ledger.time)
    assert shown == {
        "id": doc.licence.id, "version": "001",
        "type": {"code": T, "name": "食品经营许可证"},
        "issuer": {"uscc": dept.uscc, "name": "北京市某区市场监督管理局", "region": "beijing"},
        "holder": {"kind": "enterprise", "uscc": HOLDER.uscc},
        "issue_date": "2026-01-01",
        "validity": {"valid_from": "2026-01-01", "valid_until": "2027-12-31", "in_force": True},
        "status": {"code": "valid", "name": "有效", "reason": None, "updated_at": ledger.time},
        "supersedes": None, "superseded_by": None,
        "commitment": {"state": "pending", "deadline": "2026-03-31", "overdue": False},
        "issued_at": ledger.time, "at_time": ledger.time,
    }
    later = describe_licence(view.state(), record, cst_ms("2028-01-01"))
    assert later["status"]["code"] == "lapsed" and later["status"]["name"] == "失效" and later["validity"]["in_force"] is False
    assert later["commitment"]["overdue"] is True
    assert describe_licence(view.state(), record, cst_ms("2025-12-31"))["validity"]["in_force"] is False
    assert decode(encode(shown)) == shown


def test_describe_a_person_suspended_then_superseded_licence(world):
    ledger, dept = world
    v1 = make_doc(ledger, dept, 2, holder=PERSON)
    issue(ledger, dept, v1)
    v2 = make_doc(ledger, dept, 2, version="002", holder=PERSON, valid_until="2029-12-31")
    ledger.accept(ledger.signed(dept.key, "licence.renew", version_body(v2, v1.licence.id, "expiry")))
    act(ledger, dept, "licence.suspend", v2.licence.id)
    view = view_of(ledger)
    old = describe_licence(view.state(), read_licence(view.state(), v1.licence.id), ledger.time)
    new = describe_licence(view.state(), read_licence(view.state(), v2.licence.id), ledger.time)
    assert old["superseded_by"] == v2.licence.id and new["supersedes"] == v1.licence.id and new["version"] == "002"
    assert new["status"] == {"code": "suspended", "name": "暂扣", "reason": {"code": "inspection", "note": None}, "updated_at": ledger.time}
    assert new["holder"] == {"kind": "person"} and new["commitment"] is None
    shown = encode(new).decode()
    assert b64encode(PERSON.commitment) not in shown and PERSON.name not in shown and PERSON.id_number not in shown


def test_describe_over_a_bundle_without_the_type_and_issuer_records_leaves_their_names_null(world):
    ledger, dept = world
    doc = make_doc(ledger, dept, 3)
    issue(ledger, dept, doc)
    chain = ledger.local.chain
    proven = verify_bundle(build_bundle(chain, [licence_key(doc.licence.id)]).to_bytes(), ledger.net.genesis)
    shown = describe_licence(proven, read_licence(proven, doc.licence.id), ledger.time)
    assert shown["type"] == {"code": T, "name": None} and shown["issuer"]["name"] is None and shown["issuer"]["uscc"] == dept.uscc


# -- search_licences -------------------------------------------------------------------------------


@pytest.fixture
def catalogue(world):
    """Beijing dept A (type T) issued 6 licences: serials 10..13 to HOLDER (12 suspended, 13 with a
    commitment due 2026-03-31), 14 to a person, 15 to OTHER_HOLDER with a commitment due
    2026-06-30; dept B (types T and T_TJ) issued 20 (T_TJ) to HOLDER and 21 (T) to OTHER_HOLDER."""
    ledger, a = world
    b = Dept(uscc(804), PrivateKey.generate(), "BJQUERYB0001")
    ledger.accept(ledger.admin("beijing", "org.admit", {"uscc": b.uscc, "name": "北京市另一局", "keys": [grant(b.key)], "licence_types": [T, T_TJ]}))
    ledger.accept(ledger.signed(b.key, "seal.register", seal_body(b.seal_id, b.uscc, b.key)))
    docs = {n: make_doc(ledger, a, n) for n in (10, 11, 12)}
    docs[13] = make_doc(ledger, a, 13, deadline="2026-03-31")
    docs[14] = make_doc(ledger, a, 14, holder=PERSON)
    docs[15] = make_doc(ledger, a, 15, holder=EnterpriseHolder(OTHER_HOLDER, "x"), deadline="2026-06-30")
    issue(ledger, a, *docs.values())
    act(ledger, a, "licence.suspend", docs[12].licence.id)

    def b_doc(serial: int, type_code: str, holder):
        part = build_licence(
            id=format_licence_id(type_code, b.uscc, str(serial), "001"), type_name="t", issuer_name="北京市另一局", holder=holder,
            issue_date=dt.date(2026, 1, 1), valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2027, 12, 31),
        )
        return seal_document(part, b.key, ledger.net.genesis.chain_id, b.seal_id, ledger.time)

    docs[20], docs[21] = b_doc(20, T_TJ, HOLDER), b_doc(21, T, EnterpriseHolder(OTHER_HOLDER, "y"))
    issue(ledger, b, docs[20], docs[21])
    return ledger, a, b, {n: d.licence.id for n, d in docs.items()}


def search(ledger, **filters):
    return search_licences(view_of(ledger), **filters)


def everything(ledger, limit: int = 2, **filters) -> list[str]:
    """Every id a search lists, page after page."""
    found, after = [], None
    while True:
        items, after = search(ledger, after=after, limit=limit, **filters)
        found += ids(items)
        if after is None:
            return found


def test_search_by_each_filter_and_their_combinations(catalogue):
    ledger, a, b, lic = catalogue
    by_a = sorted(lic[n] for n in (10, 11, 12, 13, 14, 15))
    assert ids(search(ledger, issuer=a.uscc)[0]) == by_a
    assert ids(search(ledger, holder_uscc=HOLDER.uscc)[0]) == sorted(lic[n] for n in (10, 11, 12, 13, 20))
    assert ids(search(ledger, holder_uscc=HOLDER.uscc, issuer=b.uscc)[0]) == [lic[20]]
    assert ids(search(ledger, holder_uscc=HOLDER.uscc, type=T)[0]) == sorted(lic[n] for n in (10, 11, 12, 13))
    assert ids(search(ledger, type=T)[0]) == sorted([*by_a, lic[21]])
    assert ids(search(ledger, type=T, issuer=b.uscc)[0]) == [lic[21]]
    assert ids(search(ledger, type=T_TJ)[0]) == [lic[20]]
    assert ids(search(ledger, status="suspended")[0]) == [lic[12]]
    assert ids(search(ledger, issuer=a.uscc, status="valid")[0]) == sorted(lic[n] for n in (10, 11, 13, 14, 15))
    assert ids(search(ledger, status="lapsed", at_time=cst_ms("2028-01-01"))[0]) == sorted(lic[n] for n in (10, 11, 13, 14, 15, 20, 21))
    assert ids(search(ledger, commitment_due_before="2026-04-01")[0]) == [lic[13]]
    assert ids(search(ledger, commitment_due_before="2026-07-01")[0]) == [lic[13], lic[15]]  # by deadline
    assert ids(search(ledger, commitment_due_before="2026-07-01", holder_uscc=OTHER_HOLDER)[0]) == [lic[15]]
    assert ids(search(ledger, commitment_due_before="2026-03-31")[0]) == []
    assert len(ids(search(ledger)[0])) == 8
    items, after = search(ledger, holder_uscc=HOLDER.uscc, issuer=b.uscc)
    assert after is None and items[0]["holder"] == {"kind": "enterprise", "uscc": HOLDER.uscc}


def test_search_lists_latest_versions_and_describes_persons_without_their_data(catalogue):
    ledger, a, _, lic = catalogue
    person = next(item for item in search(ledger, issuer=a.uscc)[0] if item["id"] == lic[14])
    assert person["holder"] == {"kind": "person"}
    text = encode(search(ledger, issuer=a.uscc)[0]).decode()
    assert b64encode(PERSON.commitment) not in text and PERSON.name not in text


def test_search_pages_follow_the_cursor_and_stop_at_the_budget(catalogue):
    ledger, a, _, lic = catalogue
    assert everything(ledger, issuer=a.uscc) == ids(search(ledger, issuer=a.uscc)[0])
    assert everything(ledger, limit=1, type=T) == ids(search(ledger, type=T)[0])
    assert everything(ledger, limit=1, commitment_due_before="2026-07-01") == [lic[13], lic[15]]
    items, after = search(ledger, issuer=a.uscc, limit=6)
    assert len(items) == 6 and after is None  # the listing ended with the page
    items, after = search(ledger, status="suspended", limit=1)
    assert ids(items) == [lic[12]]


def test_search_refuses_persons_and_bad_filters_precisely(catalogue):
    ledger, a, _, lic = catalogue
    cases = [
        ({"holder_uscc": PERSON.id_number}, "ids.bad_uscc", "holder_uscc"),
        ({"holder_uscc": b64encode(PERSON.commitment)}, "ids.bad_uscc", "holder_uscc"),
        ({"issuer": a.uscc[:-1] + "0"}, "ids.bad_uscc", "issuer"),
        ({"type": "T"}, "ids.bad_type_code", "type"),
        ({"status": "expired"}, "query.bad_status", "status"),
        ({"commitment_due_before": "2026-13-01"}, "validation.date", "commitment_due_before"),
        ({"at_time": "now"}, "validation.type", "at_time"),
        ({"limit": 0}, "query.limit", "limit"),
        ({"issuer": a.uscc, "after": "!!"}, "query.bad_cursor", "after"),
    ]
    for filters, code, field in cases:
        with pytest.raises(ValidationError) as err:
            search(ledger, **filters)
        assert (err.value.code, err.value.field) == (code, field), filters
        assert PERSON.id_number not in str(err.value)
    _, cursor = search(ledger, issuer=a.uscc, limit=1)
    with pytest.raises(ValidationError) as err:
        search(ledger, type=T, after=cursor)  # a cursor of another listing
    assert err.value.code == "query.bad_cursor"
