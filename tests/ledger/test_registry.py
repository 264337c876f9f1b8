"""ledger.registry: the registry listings read through a ChainView (docs/spec/domain.md §8.2,
§3): licence types, departments and one department with its types and seals, seals of an
organisation (by the seal owner index), recognition rules by region pair, regions from the
genesis and the validators, each listing paged with a cursor."""

from __future__ import annotations

import hashlib

import pytest

from ledger.crypto import PrivateKey
from ledger.errors import ValidationError
from ledger.registry import (
    department, list_departments, list_licence_types, list_recognition_rules, list_regions, list_seals, list_validators,
)
from ledger.view import ChainView

from .test_governance import Ledger, uscc
from .test_seals import seal_body


def view_of(ledger: Ledger) -> ChainView:
    return ChainView(ledger.local.chain.kv.snapshot(), ledger.net.genesis)


def pages(listing, **kwargs) -> list[dict[str, object]]:
    found, after = [], None
    while True:
        items, after = listing(after=after, limit=1, **kwargs)
        found += items
        if after is None:
            return found


@pytest.fixture
def registry(net):
    """Beijing registered types 1, 2 and admitted orgs 11 (types 1, 2; seals A and B, B revoked)
    and 12 (type 1); Tianjin registered type 3, admitted org 13 and recognises Beijing's type 1
    as its type 3; Hebei recognises Beijing's type 2 and Tianjin's type 3."""
    ledger = Ledger(net)
    t1, t2 = ledger.register_types("beijing", 1, 2)
    (t3,) = ledger.register_types("tianjin", 3)
    keys = {n: PrivateKey.generate() for n in (11, 12, 13)}
    ledger.admit("beijing", uscc(11), keys[11], types=[t1, t2])
    ledger.admit("beijing", uscc(12), keys[12], types=[t1])
    ledger.admit("tianjin", uscc(13), keys[13], types=[t3])
    ledger.accept(
        ledger.signed(keys[11], "seal.register", seal_body("BJREGSEAL00A", uscc(11), keys[11])),
        ledger.signed(keys[11], "seal.register", seal_body("BJREGSEAL00B", uscc(11), keys[11])),
        ledger.signed(keys[12], "seal.register", seal_body("BJREGSEAL00C", uscc(12), keys[12])),
    )
    ledger.accept(ledger.signed(keys[11], "seal.revoke", {"seal_id": "BJREGSEAL00B", "reason": "lost"}))
    ledger.accept(
        ledger.admin("tianjin", "recognition.declare", {"from_region": "beijing", "type": t1, "as_type": t3, "conditions": "original on request"}),
        ledger.admin("hebei", "recognition.declare", {"from_region": "beijing", "type": t2, "as_type": t2, "conditions": ""}),
        ledger.admin("hebei", "recognition.declare", {"from_region": "tianjin", "type": t3, "as_type": t3, "conditions": ""}),
    )
    return ledger, (t1, t2, t3)


def test_licence_types_and_departments(registry):
    ledger, (t1, t2, t3) = registry
    view = view_of(ledger)
    types, after = list_licence_types(view)
    assert after is None and [t["code"] for t in types] == [t1, t2, t3]
    assert types[2] == {"code": t3, "name": "type 003", "region": "tianjin", "validity_required": True}
    assert pages(lambda **k: list_licence_types(view, **k)) == types
    orgs, _ = list_departments(view)
    assert [o["uscc"] for o in orgs] == sorted([uscc(11), uscc(12), uscc(13)])
    assert [o["uscc"] for o in list_departments(view, region="beijing")[0]] == sorted([uscc(11), uscc(12)])
    assert [o["uscc"] for o in pages(lambda **k: list_departments(view, region="tianjin", **k))] == [uscc(13)]
    assert list_departments(view, region="shanghai") == ([], None)


def test_one_department_with_its_types_and_seals(registry):
    ledger, (t1, t2, _) = registry
    view = view_of(ledger)
    shown = department(view, uscc(11))
    assert shown["name"] == f"department {uscc(11)}" and shown["region"] == "beijing" and shown["status"] == "active"
    assert shown["licence_types"] == [{"code": t1, "name": "type 001"}, {"code": t2, "name": "type 002"}]
    assert [(s["seal_id"], s["status"]) for s in shown["seals"]] == [("BJREGSEAL00A", "active"), ("BJREGSEAL00B", "revoked")]
    assert shown["seals_next"] is None
    assert [s["seal_id"] for s in list_seals(view, uscc(12))[0]] == ["BJREGSEAL00C"]
    assert [s["seal_id"] for s in pages(lambda **k: list_seals(view, uscc(11), **k))] == ["BJREGSEAL00A", "BJREGSEAL00B"]
    assert department(view, uscc(99)) is None and list_seals(view, uscc(99)) == ([], None)
    with pytest.raises(ValidationError) as err:
        department(view, uscc(11)[:-1] + "0")
    assert err.value.code == "ids.bad_uscc"


def test_recognition_rules_by_region_pair(registry):
    ledger, (t1, t2, t3) = registry
    view = view_of(ledger)
    rules, _ = list_recognition_rules(view)
    assert [(r["region"], r["from_region"], r["type"]) for r in rules] == [
        ("hebei", "beijing", t2), ("hebei", "tianjin", t3), ("tianjin", "beijing", t1),
    ]
    assert rules[2] == {"region": "tianjin", "from_region": "beijing", "type": t1, "as_type": t3, "conditions": "original on request", "declared_at": rules[2]["declared_at"]}
    assert [r["type"] for r in list_recognition_rules(view, region="hebei")[0]] == [t2, t3]
    assert [r["type"] for r in list_recognition_rules(view, region="hebei", from_region="tianjin")[0]] == [t3]
    assert [r["region"] for r in list_recognition_rules(view, from_region="beijing")[0]] == ["hebei", "tianjin"]
    assert pages(lambda **k: list_recognition_rules(view, **k)) == rules
    for kwargs in ({"region": "Hebei"}, {"from_region": "a/b"}):
        with pytest.raises(ValidationError) as err:
            list_recognition_rules(view, **kwargs)
        assert err.value.code == "query.bad_region"


def test_regions_and_validators(registry):
    ledger, _ = registry
    view = view_of(ledger)
    genesis = ledger.net.genesis
    regions = list_regions(view)
    assert [r["name"] for r in regions] == [r.name for r in genesis.regions]
    beijing = regions[0]
    assert beijing["admins"] == [ledger.net.admin_keys["beijing"].public_key.key_id]
    assert beijing["ca_cert_sha256"] == hashlib.sha256(genesis.regions[0].ca_cert).digest()
    assert beijing["validators"] == [v.name for v in genesis.validators if v.region == "beijing"]
    validators = list_validators(view)
    assert [(v["name"], v["region"], v["key_id"], v["power"]) for v in validators] == [(v.name, v.region, v.key_id, v.power) for v in genesis.validators]


def test_listings_refuse_bad_limits_and_foreign_cursors(registry):
    ledger, _ = registry
    view = view_of(ledger)
    _, cursor = list_licence_types(view, limit=1)
    with pytest.raises(ValidationError) as err:
        list_departments(view, after=cursor)
    assert err.value.code == "query.bad_cursor"
    with pytest.raises(ValidationError) as err:
        list_seals(view, uscc(11), limit=0)
    assert err.value.code == "query.limit"
