"""ledger.document: the licence document the holder keeps (docs/spec/domain.md §6, §7), its hash
and holder commitment checked against literal references, strict parsing, and files."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto import PrivateKey
from ledger.document import (
    FORMAT, MAX_DOCUMENT_BYTES, EnterpriseHolder, LicenceDocument, LicencePart, PersonHolder, build_licence,
    document_hash, holder_commitment, read_document, seal_document, split_document_hash, write_document,
)
from ledger.encoding import decode, encode
from ledger.errors import ValidationError
from ledger.ids import complete_uscc, format_licence_id
from ledger.seals import ISSUE_KIND, SIGN_PURPOSE

CHAIN = "test-chain"
TYPE = complete_uscc("11100000000013338") + "032"
ISSUER = complete_uscc("11220000013544541")
HOLDER_USCC = complete_uscc("91110000000000700")
SALT = bytes(range(16))
KEY = PrivateKey.generate()
NAME, ID_NUMBER = "张三", "110101199003071234"
ENTERPRISE = EnterpriseHolder(HOLDER_USCC, "北京某某餐饮有限公司")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def part(holder=None, **changes: object) -> LicencePart:
    members = dict(
        id=format_licence_id(TYPE, ISSUER, "2430599", "001"), type_name="食品经营许可证", issuer_name="北京市某区市场监督管理局",
        holder=holder or PersonHolder(NAME, ID_NUMBER, SALT), issue_date=dt.date(2026, 1, 1), valid_from=dt.date(2026, 1, 1),
        valid_until=dt.date(2030, 12, 31), commitment_deadline=dt.date(2026, 3, 1), fields={"经营场所": "北京市东城区", "项目": "热食类"},
    )
    return build_licence(**(members | changes))


def sealed(licence: LicencePart | None = None) -> LicenceDocument:
    return seal_document(licence or part(), KEY, CHAIN, "BJSEALA001", 1_767_225_600_000)


def test_holder_commitment_matches_the_literal_definition():
    canonical = '{"id_number":"110101199003071234","name":"张三","salt":"AAECAwQFBgcICQoLDA0ODw"}'.encode()
    assert holder_commitment(NAME, ID_NUMBER, SALT) == hashlib.sha256(b"eledger/holder\x00" + canonical).digest()
    assert holder_commitment(NAME, ID_NUMBER, bytes(16)) != holder_commitment(NAME, ID_NUMBER, SALT)
    assert holder_commitment("李四", ID_NUMBER, SALT) != holder_commitment(NAME, ID_NUMBER, SALT)
    with pytest.raises(ValueError):
        holder_commitment(NAME, ID_NUMBER, bytes(15))


def canonical(value: object) -> bytes:
    """The literal canonical form of a value of text, objects and integers (encoding.md §2)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def literal_tagged_hash(tag: str, value: object) -> bytes:
    return hashlib.sha256(b"eledger/" + tag.encode() + b"\x00" + canonical(value)).digest()


# (holder, its ledger form, its full form), both literal (§7).
LITERAL_HOLDERS = {
    "person": (
        PersonHolder(NAME, ID_NUMBER, SALT),
        {"kind": "person", "commitment": b64(holder_commitment(NAME, ID_NUMBER, SALT))},
        {"kind": "person", "name": NAME, "id_number": ID_NUMBER, "salt": b64(SALT)},
    ),
    "enterprise": (ENTERPRISE, {"kind": "enterprise", "uscc": HOLDER_USCC}, {"kind": "enterprise", "uscc": HOLDER_USCC, "name": "北京某某餐饮有限公司"}),
}


@pytest.mark.parametrize("holder, ledger_holder, full_holder", LITERAL_HOLDERS.values(), ids=LITERAL_HOLDERS)
def test_document_hash_matches_the_literal_split_definition(holder, ledger_holder, full_holder):
    licence = part(holder=holder)
    ledger_part = {
        "id": licence.id, "holder": ledger_holder, "issue_date": "2026-01-01", "valid_from": "2026-01-01",
        "valid_until": "2030-12-31", "commitment_deadline": "2026-03-01",
    }
    private = {
        "fields": {"经营场所": "北京市东城区", "项目": "热食类"}, "holder": full_holder,
        "issuer_name": "北京市某区市场监督管理局", "type_name": "食品经营许可证",
    }
    private_hash = literal_tagged_hash("licence-private", private)
    assert encode(licence.to_ledger()) == canonical(ledger_part)
    assert licence.private_hash() == private_hash
    assert document_hash(licence) == literal_tagged_hash("licence-document-2", {"ledger": ledger_part, "private": b64(private_hash)})
    assert sealed(licence).hash == document_hash(licence)


@pytest.mark.parametrize("holder", [PersonHolder(NAME, ID_NUMBER, SALT), ENTERPRISE], ids=["person", "enterprise"])
def test_split_document_hash_of_the_decoded_ledger_part_is_the_document_hash(holder):
    for licence in (part(holder=holder), part(holder=holder, valid_until=None, commitment_deadline=None, fields={})):
        assert split_document_hash(decode(encode(licence.to_ledger())), licence.private_hash()) == document_hash(licence)
    assert document_hash(licence) != hashlib.sha256(b"eledger/licence-document\x00" + encode(licence.to_json())).digest()  # format /1 retired


# Members only the private hash covers: changing one leaves the ledger part as it was.
PRIVATE_CHANGES = {
    "field value": dict(fields={"经营场所": "北京市西城区", "项目": "热食类"}),
    "field name": dict(fields={"经营地址": "北京市东城区", "项目": "热食类"}),
    "field added": dict(fields={"经营场所": "北京市东城区", "项目": "热食类", "备注": ""}),
    "type name": dict(type_name="食品经营许可证（副本）"),
    "issuer name": dict(issuer_name="北京市某区市场监督管理局（东城）"),
    "enterprise holder name": dict(holder=EnterpriseHolder(HOLDER_USCC, "北京某某餐饮股份有限公司")),
}


@pytest.mark.parametrize("changes", PRIVATE_CHANGES.values(), ids=PRIVATE_CHANGES)
def test_changing_a_private_member_changes_the_hash_but_not_the_ledger_part(changes):
    licence, changed = part(holder=ENTERPRISE), part(**({"holder": ENTERPRISE} | changes))
    assert changed.to_ledger() == licence.to_ledger()
    assert changed.private_hash() != licence.private_hash()
    assert document_hash(changed) != document_hash(licence)


@pytest.mark.parametrize("holder", [PersonHolder("张三丰", ID_NUMBER, SALT), PersonHolder(NAME, "110101199003071235", SALT), PersonHolder(NAME, ID_NUMBER, bytes(16))], ids=["name", "id number", "salt"])
def test_changing_a_person_holder_changes_the_private_hash_and_only_the_commitment_of_the_ledger_part(holder):
    # A person's name, ID number and salt are private members, and the commitment binds them too.
    licence, changed = part(), part(holder=holder)
    assert changed.private_hash() != licence.private_hash()
    assert changed.to_ledger() == licence.to_ledger() | {"holder": {"kind": "person", "commitment": holder.commitment}}
    assert document_hash(changed) != document_hash(licence)


def test_seal_document_signs_the_document_hash_stating_the_kind_for_a_first_version_only():
    doc = sealed()
    assert doc.seal_signature.document_hash == doc.hash and doc.seal_signature.kind == ISSUE_KIND
    later = sealed(part(id=format_licence_id(TYPE, ISSUER, "2430599", "002")))
    assert later.seal_signature.document_hash == later.hash and later.seal_signature.kind is None
    KEY.public_key.verify(SIGN_PURPOSE, CHAIN, later.seal_signature.message(), later.seal_signature.signature)
    KEY.public_key.verify(SIGN_PURPOSE, CHAIN, doc.seal_signature.message(), doc.seal_signature.signature)
    assert PersonHolder(NAME, ID_NUMBER, SALT).to_ledger() == {"kind": "person", "commitment": holder_commitment(NAME, ID_NUMBER, SALT)}
    assert EnterpriseHolder(HOLDER_USCC, "某公司").to_ledger() == {"kind": "enterprise", "uscc": HOLDER_USCC}


def test_document_bytes_round_trip_and_are_canonical():
    later = part(id=format_licence_id(TYPE, ISSUER, "2430599", "002"))
    for doc in (sealed(), sealed(part(holder=ENTERPRISE, valid_until=None, commitment_deadline=None, fields={})), sealed(later)):
        data = doc.to_bytes()
        assert decode(data)["format"] == FORMAT
        assert LicenceDocument.from_bytes(data) == doc
        assert LicenceDocument.from_bytes(data).to_bytes() == data


_chars = st.characters(blacklist_categories=("Cs",))  # lone surrogates are not text
_text = st.text(_chars, min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    name=_text, id_number=_text, salt=st.binary(min_size=16, max_size=16),
    fields=st.dictionaries(_text, st.text(_chars, max_size=60), max_size=6),
    days=st.tuples(st.integers(0, 20000), st.integers(0, 4000), st.none() | st.integers(0, 400)),
)
def test_any_valid_document_round_trips(name, id_number, salt, fields, days):
    issue = dt.date(2000, 1, 1) + dt.timedelta(days=days[0])
    until = issue + dt.timedelta(days=days[1])
    deadline = None if days[2] is None else issue + dt.timedelta(days=days[2])
    doc = LicenceDocument(
        part(holder=PersonHolder(name, id_number, salt), issue_date=issue, valid_from=issue, valid_until=until, commitment_deadline=deadline, fields=fields),
        sealed().seal_signature,
    )
    assert LicenceDocument.from_bytes(doc.to_bytes()) == doc
    assert split_document_hash(decode(encode(doc.licence.to_ledger())), doc.licence.private_hash()) == doc.hash


def test_a_document_whose_seal_signature_kind_disagrees_with_its_version_is_inconsistent():
    first = decode(sealed().to_bytes())
    first["seal_signature"].pop("kind")
    later = decode(sealed(part(id=format_licence_id(TYPE, ISSUER, "2430599", "002"))).to_bytes())
    assert "kind" not in later["seal_signature"]
    later["seal_signature"]["kind"] = ISSUE_KIND
    for obj in (first, later):
        with pytest.raises(ValidationError) as err:
            LicenceDocument.from_bytes(encode(obj))
        assert (err.value.code, err.value.field) == ("document.inconsistent", "document.seal_signature.kind")


def _mutated(change) -> bytes:
    obj = decode(sealed().to_bytes())
    change(obj)
    return encode(obj)


OTHER_USCC = complete_uscc("91110000000000701")
REJECTIONS = [
    ("retired format /1", lambda d: d.update(format="eledger-licence/1"), "document.format", "document.format"),
    ("extra member", lambda d: d.update(extra=1), "document.unknown_field", "document.extra"),
    ("missing seal", lambda d: d.pop("seal_signature"), "document.missing_field", "document.seal_signature"),
    ("type differs from id", lambda d: d["licence"].update(type=complete_uscc("11100000000013339") + "032"), "document.inconsistent", "document.licence.type"),
    ("issuer differs from id", lambda d: d["licence"]["issuer"].update(uscc=OTHER_USCC), "document.inconsistent", "document.licence.issuer.uscc"),
    ("issuer check char", lambda d: d["licence"]["issuer"].update(uscc=ISSUER[:-1] + "0"), "document.bad_uscc", "document.licence.issuer.uscc"),
    ("id check char", lambda d: d["licence"].update(id=d["licence"]["id"][:-1] + "0"), "document.bad_check_character", "document.licence.id"),
    ("id form", lambda d: d["licence"].update(id="1.2.156"), "document.bad_licence_id", "document.licence.id"),
    ("holder kind", lambda d: d["licence"]["holder"].update(kind="robot"), "document.holder_kind", "document.licence.holder.kind"),
    ("short salt", lambda d: d["licence"]["holder"].update(salt=b64(bytes(15))), "document.length", "document.licence.holder.salt"),
    ("padded salt", lambda d: d["licence"]["holder"].update(salt=b64(SALT) + "=="), "document.binary", "document.licence.holder.salt"),
    ("empty name", lambda d: d["licence"]["holder"].update(name=""), "document.length", "document.licence.holder.name"),
    ("id number type", lambda d: d["licence"]["holder"].update(id_number=1101011990), "document.type", "document.licence.holder.id_number"),
    ("window reversed", lambda d: d["licence"].update(valid_until="2025-12-31"), "document.bad_dates", "document.licence.valid_until"),
    ("deadline early", lambda d: d["licence"].update(commitment_deadline="2025-12-31"), "document.bad_dates", "document.licence.commitment_deadline"),
    ("date form", lambda d: d["licence"].update(issue_date="2026-1-1"), "document.date", "document.licence.issue_date"),
    ("too many fields", lambda d: d["licence"].update(fields={f"f{i}": "" for i in range(65)}), "document.length", "document.licence.fields"),
    ("field value type", lambda d: d["licence"]["fields"].update(项目=3), "document.type", "document.licence.fields.项目"),
    ("seal signer size", lambda d: d["seal_signature"].update(signer=b64(bytes(31))), "document.length", "document.seal_signature.signer"),
    ("seal signature form", lambda d: d["seal_signature"].update(signature={"suite": "rot13", "value": ""}), "document.bad_signature_form", "document.seal_signature.signature"),
    ("seal signature kind", lambda d: d["seal_signature"].update(kind="licence.change"), "document.bad_kind", "document.seal_signature.kind"),
]


@pytest.mark.parametrize("change, code, field", [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS])
def test_presented_document_errors_name_code_and_field(change, code, field):
    with pytest.raises(ValidationError) as err:
        LicenceDocument.from_bytes(_mutated(change))
    assert (err.value.code, err.value.field) == (code, field)
    assert NAME not in str(err.value) and ID_NUMBER not in str(err.value)
    assert NAME not in json.dumps(err.value.to_dict(), ensure_ascii=False) and ID_NUMBER not in json.dumps(err.value.to_dict())


def test_presented_bytes_must_be_canonical_json_within_the_size_limit():
    data = sealed().to_bytes()
    pretty = json.dumps(json.loads(data), indent=2, ensure_ascii=False).encode()
    cases = [(pretty, "document.not_canonical"), (b"{not json", "document.syntax"), (b"[]", "document.type"), (data[:-1], "document.syntax"),
             (b" " * (MAX_DOCUMENT_BYTES + 1), "document.too_large"), ("text", "document.type")]
    for raw, code in cases:
        with pytest.raises(ValidationError) as err:
            LicenceDocument.from_bytes(raw)
        assert err.value.code == code, raw[:20]


def test_encoding_errors_do_not_echo_the_offending_value():
    raw = sealed().to_bytes().replace(f'"id_number":"{ID_NUMBER}"'.encode(), f'"id_number":{ID_NUMBER}'.encode())
    with pytest.raises(ValidationError) as err:
        LicenceDocument.from_bytes(raw)
    assert err.value.code == "document.int_range"
    assert ID_NUMBER not in str(err.value) and ID_NUMBER not in json.dumps(err.value.to_dict())


def test_build_licence_checks_like_a_presented_document():
    with pytest.raises(ValidationError) as err:
        part(valid_until=dt.date(2025, 1, 1))
    assert (err.value.code, err.value.field) == ("document.bad_dates", "document.licence.valid_until")
    with pytest.raises(ValidationError) as err:
        part(id="1.2.156.3005.2.bad")
    assert err.value.code == "document.bad_licence_id"


def test_personal_data_is_withheld_from_reprs():
    doc = sealed()
    assert NAME not in repr(doc) and ID_NUMBER not in repr(doc) and NAME not in repr(doc.licence.holder)


def test_write_and_read_a_document_file(tmp_path):
    doc = sealed()
    path = tmp_path / "licence.json"
    write_document(path, doc)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes() == doc.to_bytes()
    assert read_document(path) == doc
    with pytest.raises(ValidationError) as err:
        write_document(path, dataclasses.replace(doc, licence=part(valid_until=None)))
    assert err.value.code == "document.exists" and read_document(path) == doc
    with pytest.raises(ValidationError) as err:
        read_document(tmp_path / "missing.json")
    assert err.value.code == "document.not_found"
    with pytest.raises(ValidationError) as err:
        write_document(tmp_path / "no" / "dir.json", doc)
    assert err.value.code == "document.io"
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_DOCUMENT_BYTES + 10))
    with pytest.raises(ValidationError) as err:
        read_document(big)
    assert err.value.code == "document.too_large"
    with pytest.raises(ValidationError) as err:
        read_document(tmp_path)
    assert err.value.code == "document.io"

