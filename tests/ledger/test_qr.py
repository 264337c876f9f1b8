"""ledger.qr: the QR payload of a licence document (docs/spec/qr.md), checked against a literal
CBOR reference and the spec's example, round trips of real documents, the size bound, and every
strict decoding error in the order the spec gives."""

from __future__ import annotations

import datetime as dt
import os
import zlib

import cbor2
import pytest

from ledger.base45 import ALPHABET, b45decode, b45encode
from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, PersonHolder, build_licence, document_hash, holder_commitment, seal_document
from ledger.errors import ValidationError
from ledger.ids import complete_uscc, format_licence_id, parse_licence_id
from ledger.qr import MAX_CBOR_BYTES, MAX_PAYLOAD_CHARS, QrClaim, decode_qr, encode_claim, encode_qr

CHAIN = "eledger-devnet"
SPEC_ID = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
SPEC_HOLDER = "91350100M000100Y43"
KEY = PrivateKey.generate()
#: docs/spec/qr.md §4: the payload of domain.md §7's example document on chain "eledger-devnet".
SPEC_PAYLOAD = (
    "EL1:NCF0RB3DJGOJFOJ%0KJ KQMIV1JELB*WAYLDR4DC3DWLDG3DC8C3E1MD38H3YBG*KMLIMSENGA6M+QK11BVCVJC9KDMIT83D-JCM8C4GDC+0-"
    "WQGQCW6AQ-JXZVI3O :GR:SA1RH1DZ+598JZYS%$2C$AR+LAPV*YDGQ42A24F4MCKSK0XOTR44ON16F4LVH*O3755"
)
SPEC_HASH = bytes.fromhex("65956dff9f33681379e52579e690d04774ee0c9659d52c867023d91d6b920114")
#: docs/spec/qr.md §4: the same claim with a person holder (张三, 110101199003071234, salt 00..0f).
SPEC_PERSON_PAYLOAD = (
    "EL1:NCF0RB3DJGOJFOJ%0KJ KQMIV1JELB*WAYLDR4DC3DWLDG3DC8C3E1MD38H3YBG*KMLIMSENGA6M+QK11BVCVJC9KDMIT83D-JCM8C4GDC+0-"
    "WQGQCW6AQ-JXZVI3O :GR:SA1RH1DZ+598JZYS%$2C$AR+LAPV*YDGQ4LB2L31NLV/BS9+31NNANQH1SYUVN2UM:PPRS.:HV7M61Q:PI/ZFE HRNTD20C$QC5"
)


def head(major: int, n: int) -> bytes:
    """RFC 8949 §3: the shortest head of major type `major` with argument `n` (< 2**16 here)."""
    if n < 24:
        return bytes([major << 5 | n])
    if n < 256:
        return bytes([major << 5 | 24, n])
    return bytes([major << 5 | 25]) + n.to_bytes(2, "big")


def text(s: str) -> bytes:
    raw = s.encode("utf-8")
    return head(3, len(raw)) + raw


def binary(b: bytes) -> bytes:
    return head(2, len(b)) + b


def reference_cbor(chain_id: str, licence_id: str, doc_hash: bytes, *, uscc: str | None = None, commitment: bytes | None = None) -> bytes:
    """qr.md §2 written out: a map of 4 pairs, keys 1..5 ascending, shortest heads."""
    holder = head(0, 4) + text(uscc) if uscc is not None else head(0, 5) + binary(commitment)  # type: ignore[arg-type]
    return head(5, 4) + head(0, 1) + text(chain_id) + head(0, 2) + text(licence_id) + head(0, 3) + binary(doc_hash) + holder


def payload(raw: bytes) -> str:
    return "EL1:" + b45encode(zlib.compress(raw, 9))


def spec_part(holder=None):
    return build_licence(
        id=SPEC_ID, type_name="食品经营许可证", issuer_name="Example Market Regulation Bureau",
        holder=holder or EnterpriseHolder(SPEC_HOLDER, "Example Food Co., Ltd."), fields={"scope": "prepackaged food"},
        issue_date=dt.date(2026, 11, 26), valid_from=dt.date(2026, 11, 26), valid_until=dt.date(2031, 11, 25),
    )


def spec_claim(**holder) -> QrClaim:
    return QrClaim(CHAIN, parse_licence_id(SPEC_ID), SPEC_HASH, **(holder or {"holder_uscc": SPEC_HOLDER}))


def code_of(text_in: object) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        decode_qr(text_in)
    assert err.value.code.startswith("qr.")
    return err.value


# -- encoding --------------------------------------------------------------------------------------


def test_to_cbor_matches_the_literal_reference_for_both_holder_kinds():
    commitment = holder_commitment("张三", "110101199003071234", bytes(range(16)))
    assert spec_claim().to_cbor() == reference_cbor(CHAIN, SPEC_ID, SPEC_HASH, uscc=SPEC_HOLDER)
    assert spec_claim(holder_commitment=commitment).to_cbor() == reference_cbor(CHAIN, SPEC_ID, SPEC_HASH, commitment=commitment)
    assert commitment.hex() == "5ffff6a5c16cddf14f873b7bfe3dfeb3925e24c7d778056db46ce7a798db67a2"
    assert len(spec_claim(holder_commitment=commitment).to_cbor()) == 159
    assert encode_claim(spec_claim(holder_commitment=commitment)) == SPEC_PERSON_PAYLOAD


def test_encode_qr_gives_the_spec_example_for_the_spec_document():
    document = seal_document(spec_part(), KEY, CHAIN, "BJSCJ0000001", 1795654800000)
    assert document.hash == SPEC_HASH
    assert encode_qr(document, CHAIN) == SPEC_PAYLOAD == payload(reference_cbor(CHAIN, SPEC_ID, SPEC_HASH, uscc=SPEC_HOLDER))
    assert decode_qr(SPEC_PAYLOAD) == spec_claim()


def test_person_payload_carries_the_commitment_and_nothing_of_the_person():
    person = PersonHolder("张三", "110101199003071234", bytes(range(16)))
    document = seal_document(spec_part(person), KEY, CHAIN, "BJSCJ0000001", 1795654800000)
    text_out = encode_qr(document, CHAIN)
    claim = decode_qr(text_out)
    assert claim.holder_commitment == person.commitment and claim.holder_uscc is None
    assert claim.holder == {"kind": "person", "commitment": person.commitment}
    assert claim.document_hash == document.hash and claim.licence_id.text == SPEC_ID
    inflated = zlib.decompress(b45decode(text_out[4:]))
    for secret in ("张三", "110101199003071234"):
        assert secret.encode() not in inflated
    assert bytes(range(16)) not in inflated


def test_payload_is_qr_alphanumeric_and_within_the_bound_for_the_largest_ids():
    longest = format_licence_id(complete_uscc("11100000000013338") + "999", complete_uscc("91110000000000001"), "9" * 20, "999")
    chain_id = "a" * 50
    claim = QrClaim(chain_id, parse_licence_id(longest), os.urandom(32), holder_commitment=os.urandom(32))
    assert len(claim.to_cbor()) == 209  # qr.md §4: the largest map
    text_out = encode_claim(claim)
    assert len(text_out) <= 334 < MAX_PAYLOAD_CHARS
    incompressible = "EL1:" + b45encode(zlib.compress(claim.to_cbor(), 0))  # stored: the worst case
    assert len(incompressible) == 334 and decode_qr(incompressible) == claim
    assert set(text_out) <= set(ALPHABET)
    assert decode_qr(text_out) == claim


def test_claim_needs_exactly_one_holder_form_and_a_chain_id():
    with pytest.raises(ValueError):
        QrClaim(CHAIN, parse_licence_id(SPEC_ID), SPEC_HASH)
    with pytest.raises(ValueError):
        QrClaim(CHAIN, parse_licence_id(SPEC_ID), SPEC_HASH, holder_uscc=SPEC_HOLDER, holder_commitment=bytes(32))
    document = seal_document(spec_part(), KEY, CHAIN, "BJSCJ0000001", 1795654800000)
    with pytest.raises(ValidationError) as err:
        encode_qr(document, "Not A Chain")
    assert err.value.code == "qr.bad_chain_id"


# -- strict decoding -------------------------------------------------------------------------------


def test_decode_checks_the_size_before_anything_else():
    assert code_of("x" * (MAX_PAYLOAD_CHARS + 1)).code == "qr.too_large"
    assert code_of(SPEC_PAYLOAD + "0" * (MAX_PAYLOAD_CHARS - len(SPEC_PAYLOAD) + 1)).size == MAX_PAYLOAD_CHARS + 1
    assert code_of(b"EL1:").code == "qr.type"


def test_decode_checks_prefix_and_version():
    assert code_of("el1:" + SPEC_PAYLOAD[4:]).code == "qr.prefix"
    assert code_of("HC1:" + SPEC_PAYLOAD[4:]).code == "qr.prefix"
    assert code_of(SPEC_PAYLOAD[4:]).code == "qr.prefix"
    err = code_of("EL2:" + SPEC_PAYLOAD[4:])
    assert (err.code, err.version) == ("qr.unsupported_version", "2")


def test_decode_names_the_position_of_a_bad_base45_character():
    err = code_of(SPEC_PAYLOAD[:10] + "a" + SPEC_PAYLOAD[11:])
    assert (err.code, err.position, err.reason) == ("qr.base45", 10, "base45.bad_character")
    assert code_of(SPEC_PAYLOAD + "0").reason == "base45.bad_length"
    assert code_of("EL1:ZZZ").reason == "base45.overflow"


def test_decode_refuses_what_is_not_one_complete_zlib_stream():
    raw = reference_cbor(CHAIN, SPEC_ID, SPEC_HASH, uscc=SPEC_HOLDER)
    compressed = zlib.compress(raw, 9)
    assert code_of("EL1:" + b45encode(raw)).code == "qr.compression"  # not compressed
    assert code_of("EL1:" + b45encode(compressed[:-3])).code == "qr.compression"  # truncated
    assert code_of("EL1:" + b45encode(compressed + b"\0")).code == "qr.compression"  # trailing bytes
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    assert code_of("EL1:" + b45encode(raw_deflate.compress(raw) + raw_deflate.flush())).code == "qr.compression"  # no zlib header
    assert code_of("EL1:").code == "qr.compression"


def test_decode_never_inflates_past_the_bound():
    small_bomb = zlib.compress(b"\xa0" + b"\0" * (MAX_CBOR_BYTES * 100), 9)  # 51 KB that fit a QR code
    text_in = "EL1:" + b45encode(small_bomb)
    assert len(text_in) <= MAX_PAYLOAD_CHARS
    assert code_of(text_in).code == "qr.inflated_too_large"
    assert code_of("EL1:" + b45encode(zlib.compress(b"\0" * (MAX_CBOR_BYTES + 1)))).code == "qr.inflated_too_large"


def test_decode_refuses_what_is_not_the_cbor_map_of_the_spec():
    def cbor_code(raw: bytes) -> ValidationError:
        return code_of(payload(raw))

    assert cbor_code(b"\xa4\x01").code == "qr.cbor"  # a map cut short
    assert cbor_code(b"\xff").code == "qr.cbor"  # a lone break: no data item, whichever cbor2
    assert cbor_code(b"").code == "qr.cbor"
    assert cbor_code(cbor2.dumps([CHAIN, SPEC_ID])).code == "qr.structure"
    assert cbor_code(cbor2.dumps({"1": CHAIN})).code == "qr.structure"
    full = {1: CHAIN, 2: SPEC_ID, 3: SPEC_HASH, 4: SPEC_HOLDER}
    err = cbor_code(cbor2.dumps({**full, 6: "x"}, canonical=True))
    assert (err.code, err.key) == ("qr.unknown_member", 6)
    for key in (1, 2, 3):
        err = cbor_code(cbor2.dumps({k: v for k, v in full.items() if k != key}, canonical=True))
        assert (err.code, err.key) == ("qr.missing_member", key)
    assert cbor_code(cbor2.dumps({1: CHAIN, 2: SPEC_ID, 3: SPEC_HASH}, canonical=True)).code == "qr.holder"
    assert cbor_code(cbor2.dumps({**full, 5: bytes(32)}, canonical=True)).code == "qr.holder"
    for key, wrong in ((1, CHAIN.encode()), (2, 7), (3, SPEC_HASH.hex()), (4, SPEC_HOLDER.encode())):
        err = cbor_code(cbor2.dumps({**full, key: wrong}, canonical=True))
        assert (err.code, err.key) == ("qr.member_type", key)
    err = cbor_code(cbor2.dumps({1: CHAIN, 2: SPEC_ID, 3: SPEC_HASH, 5: SPEC_HOLDER}, canonical=True))
    assert (err.code, err.field) == ("qr.member_type", "qr.holder_commitment")
    tagged = reference_cbor(CHAIN, SPEC_ID, SPEC_HASH, uscc=SPEC_HOLDER).replace(text(CHAIN), b"\xd8\x20" + text(CHAIN))
    assert cbor_code(tagged).code in ("qr.member_type", "qr.not_canonical")


def test_decode_accepts_only_the_deterministic_encoding():
    good = reference_cbor(CHAIN, SPEC_ID, SPEC_HASH, uscc=SPEC_HOLDER)
    body = good[1:]
    variants = {
        "key with a long head": b"\xa4\x18\x01" + body[1:],
        "indefinite map": b"\xbf" + body + b"\xff",
        "keys out of order": head(5, 4) + head(0, 2) + text(SPEC_ID) + head(0, 1) + text(CHAIN) + head(0, 3) + binary(SPEC_HASH) + head(0, 4) + text(SPEC_HOLDER),
        "repeated key": head(5, 5) + body[: 1 + len(text(CHAIN))] + body,
        "trailing item": good + b"\x00",
        "indefinite text": good.replace(text(CHAIN), b"\x7f" + text(CHAIN) + b"\xff"),
    }
    for name, raw in variants.items():
        assert code_of(payload(raw)).code == "qr.not_canonical", name
    assert decode_qr(payload(good)) == spec_claim()


def test_decode_checks_each_member():
    def member_error(**changes) -> ValidationError:
        full = {1: CHAIN, 2: SPEC_ID, 3: SPEC_HASH, 4: SPEC_HOLDER}
        for key, value in changes.items():
            full[int(key[1:])] = value
        return code_of(payload(cbor2.dumps({k: v for k, v in full.items() if v is not None}, canonical=True)))

    assert member_error(k1="Bad Chain").code == "qr.bad_chain_id"
    err = member_error(k2=SPEC_ID[:-1] + "G")
    assert (err.code, err.expected, err.field) == ("qr.bad_check_character", "F", "qr.licence_id")
    assert member_error(k2="1.2.156.3005.2.x").code == "qr.bad_licence_id"
    assert member_error(k2=SPEC_ID.replace(".001.F", ".000.F")).code == "qr.bad_licence_id"
    assert member_error(k3=bytes(31)).code == "qr.bad_document_hash"
    err = member_error(k4=SPEC_HOLDER[:-1] + "0")
    assert (err.code, err.expected) == ("qr.bad_uscc", "3")
    assert member_error(k4=None, k5=bytes(33)).code == "qr.bad_commitment"
    assert decode_qr(payload(cbor2.dumps({1: CHAIN, 2: SPEC_ID, 3: SPEC_HASH, 5: bytes(32)}, canonical=True))).holder_commitment == bytes(32)


def test_claim_json_form():
    assert spec_claim().to_json() == {
        "chain_id": CHAIN, "document_hash": SPEC_HASH, "holder": {"kind": "enterprise", "uscc": SPEC_HOLDER}, "licence_id": SPEC_ID,
    }
    assert document_hash(spec_part()) == SPEC_HASH
