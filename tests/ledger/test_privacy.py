"""No personal data on the ledger (DESIGN §2.2, docs/spec/domain.md §6): licences issued to natural
persons leave neither the name nor the ID number anywhere in the store (state, indexes, blocks) or
in any transaction, in clear, base64 / base64url or hex, whole or embedded in a longer binary
value. A licence.issue or new version carries the document's `private` hash (domain.md §7): a
salted hash over the holder in full, which the scan must find clean like every other value."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import re

import pytest

import ledger.governance  # noqa: F401  (registers the governance kinds)
import ledger.licences  # noqa: F401  (registers the licence kinds)
import ledger.seals  # noqa: F401  (registers the seal kinds)
from ledger.document import PersonHolder, build_licence
from ledger.encoding import b64encode, encode
from ledger.ids import format_licence_id
from ledger.kv import MemoryKV, Prefixed
from ledger.licences import ISSUE_FIELDS, NEW_VERSION_FIELDS, list_index, read_licence
from ledger.licence_bodies import issue_tx, version_body
from ledger.state import FLAT_PREFIX
from ledger.store import LevelKV

from .test_governance import Ledger
from .test_licences import T_DATED, T_OPEN, VECTOR_ISSUER, make_depts, make_doc, op

PERSONS = [
    ("张三", "110101199003071234"),
    ("李小龙", "120104198512120018"),
    ("欧阳娜娜", "13010219770101002X"),
    ("买买提·艾力", "650102198806060033"),
]
_TOKEN = re.compile(rb"[A-Za-z0-9_\-+/]{8,}")


def forms(secret: str) -> list[bytes]:
    """Every spelling of `secret` the scan looks for directly."""
    raw = secret.encode("utf-8")
    return [
        raw, json.dumps(secret).encode()[1:-1], raw.hex().encode(), raw.hex().upper().encode(),
        base64.urlsafe_b64encode(raw).rstrip(b"="), base64.b64encode(raw).rstrip(b"="),
    ]


def leaks(blob: bytes, secrets: list[str]) -> list[str]:
    """The secrets found in `blob`: in any of `forms`, or inside any base64(url) or hex token of it
    once decoded (catches a secret embedded at any offset of a longer binary value)."""
    decoded = [blob]
    for token in _TOKEN.findall(blob):
        text = token.decode()
        for candidate in (text, text[1:], text[2:], text[3:]):  # every base64 alignment
            padded = candidate.replace("-", "+").replace("_", "/") + "=" * (-len(candidate) % 4)
            try:
                decoded.append(base64.b64decode(padded))
            except binascii.Error:
                pass
        if re.fullmatch(rb"[0-9a-fA-F]+", token):
            decoded += [bytes.fromhex(token[i : i + (len(token) - i) // 2 * 2].decode()) for i in (0, 1)]
    found = []
    for secret in secrets:
        raw = secret.encode("utf-8")
        if any(f in blob for f in forms(secret)) or any(raw in d for d in decoded):
            found.append(secret)
    return found


def test_the_scan_finds_every_spelling():
    secrets = [s for person in PERSONS for s in person]
    name, number = PERSONS[2]
    for spelling in forms(name) + forms(number):
        assert leaks(b'{"x":"' + spelling + b'"}', secrets), spelling
    embedded = base64.urlsafe_b64encode(b"\x01" + number.encode() + b"\x02").rstrip(b"=")
    assert leaks(b"k/" + embedded, secrets) == [number]
    assert leaks(b"abc" + (b"\x07" + name.encode()).hex().encode(), secrets) == [name]
    assert leaks(b'{"commitment":"AAECAwQFBgcICQoLDA0ODw"}', secrets) == []


def test_the_private_hash_cannot_be_confirmed_from_a_name_and_id_number_alone():
    """A transaction's `private` hash covers the holder's salt (domain.md §7): one who knows or
    guesses a name and ID number, but not the salt, cannot confirm them against it."""
    name, number = PERSONS[0]
    part = build_licence(
        id=format_licence_id(T_DATED, VECTOR_ISSUER, "1", "001"), type_name="t", issuer_name="i",
        holder=PersonHolder(name, number, bytes(16)), issue_date=dt.date(2026, 1, 1), valid_from=dt.date(2026, 1, 1), valid_until=None,
    )
    resalted = dataclasses.replace(part, holder=PersonHolder(name, number, bytes([1]) * 16))
    assert part.private_hash() != resalted.private_hash() and part.to_ledger()["holder"] != resalted.to_ledger()["holder"]


@pytest.fixture(params=["memory", "leveldb"])
def store(request, tmp_path):
    if request.param == "memory":
        yield MemoryKV()
        return
    kv = LevelKV(tmp_path / "ledger")
    yield kv
    kv.close()


def test_no_name_or_id_number_reaches_the_store_or_a_transaction(net, store):
    ledger = Ledger(net)
    ledger.local = net.local(store)
    ledger.state = Prefixed(store, FLAT_PREFIX)
    ledger.accept(
        ledger.admin("beijing", "ltype.register", {"code": T_DATED, "name": "食品经营许可证", "validity_required": True}),
        ledger.admin("beijing", "ltype.register", {"code": T_OPEN, "name": "open type", "validity_required": False}),
    )
    (dept,) = make_depts(ledger, [(VECTOR_ISSUER, "beijing", [T_DATED, T_OPEN], "BJSEALA001")])
    holders = [PersonHolder(name, number, bytes([i]) * 16) for i, (name, number) in enumerate(PERSONS)]
    docs = [make_doc(ledger, dept, 500 + i, holder=h, deadline="2026-03-01" if i % 2 else None) for i, h in enumerate(holders)]
    ledger.accept(*(issue_tx(d, net.genesis.chain_id) for d in docs))
    # A change of holder from one person to another, a suspension, a confirmation and a revocation.
    moved = make_doc(ledger, dept, 500, version="002", holder=holders[1])
    ledger.accept(
        ledger.signed(dept.key, "licence.change", version_body(moved, docs[0].licence.id, "holder_changed", with_holder=True)),
        op(ledger, dept.key, "licence.suspend", docs[1].licence.id),
        op(ledger, dept.key, "licence.confirm", docs[3].licence.id),
        op(ledger, net.admin_keys["beijing"], "licence.revoke", docs[2].licence.id, reason="fraud"),
    )
    assert read_licence(ledger.state, moved.licence.id)["holder"] == {"kind": "person", "commitment": b64encode(holders[1].commitment)}
    assert list_index(store, "holder", b64encode(holders[1].commitment)) == sorted([docs[1].licence.id, moved.licence.id])
    secrets = [s for person in PERSONS for s in person]
    # The documents themselves carry the personal data (positive control for the scan).
    assert leaks(docs[0].to_bytes(), secrets) == [PERSONS[0][0], PERSONS[0][1]]
    entries = 0
    for key, value in store.iterate(b""):
        entries += 1
        assert leaks(key, secrets) == [] and leaks(value, secrets) == [], key[:40]
    assert entries > 100
    blocks = [ledger.local.chain.block(height) for height in range(1, ledger.local.chain.height + 1)]
    for block in blocks:
        assert leaks(block.to_bytes(), secrets) == [], block.header.height
    txs = [tx for block in blocks for tx in block.txs]
    assert sum(tx.kind.startswith("licence.") for tx in txs) == 8
    for tx in txs:
        assert leaks(encode(tx.body), secrets) == [] and leaks(tx.raw, secrets) == []
    # The new bodies were scanned: each issue and the change carry a document's private hash.
    issues = [tx for tx in txs if tx.kind == "licence.issue"]
    (change,) = [tx for tx in txs if tx.kind == "licence.change"]
    assert [set(tx.body) for tx in issues] == [set(ISSUE_FIELDS)] * len(docs)
    assert [tx.body["private"] for tx in issues] == [b64encode(d.licence.private_hash()) for d in docs]
    assert set(change.body["new"]) == {*NEW_VERSION_FIELDS, "holder"} and change.body["new"]["private"] == b64encode(moved.licence.private_hash())
