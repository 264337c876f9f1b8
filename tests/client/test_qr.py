"""client.qr: QR codes of a person's and an enterprise's licence documents drawn as PNG, read
back by a real decoder (zxing-cpp), whose text decodes to the documents' claims; SVG form; the
symbol's mode, level and quiet zone (docs/spec/qr.md §5)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from client.qr import QUIET_ZONE, make_symbol, render_qr
from ledger.document import EnterpriseHolder, PersonHolder, seal_document
from ledger.errors import ValidationError
from ledger.qr import QrClaim, decode_qr, encode_qr
from tests.ledger.test_qr import CHAIN, KEY, spec_part

PERSON = PersonHolder("王五", "130102197001011234", bytes(range(16, 32)))
ENTERPRISE = EnterpriseHolder("91350100M000100Y43", "Example Food Co., Ltd.")


def read_back(png: bytes) -> str:
    """The one QR code zxing-cpp finds in `png`, as text."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [r.format for r in found] == [zxingcpp.BarcodeFormat.QRCode]
    return found[0].text


@pytest.mark.parametrize("holder", [PERSON, ENTERPRISE], ids=["person", "enterprise"])
def test_png_reads_back_with_zxing_and_decodes_to_the_documents_claim(holder):
    document = seal_document(spec_part(holder), KEY, CHAIN, "BJSCJ0000001", 1795654800000)
    payload = encode_qr(document, CHAIN)
    image = render_qr(payload, "png")
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n") and image.format == "png"
    scanned = read_back(image.data)
    assert scanned == payload
    claim = decode_qr(scanned)
    assert claim == QrClaim.from_document(document, CHAIN)
    assert claim.document_hash == document.hash and claim.licence_id.text == document.licence.id
    assert claim.holder == holder.to_ledger()
    with Image.open(io.BytesIO(image.data)) as picture:
        assert picture.size == (image.modules * 8, image.modules * 8)
    assert image.version in (10, 11)


def test_small_scale_png_still_reads_back():
    document = seal_document(spec_part(PERSON), KEY, CHAIN, "BJSCJ0000001", 1795654800000)
    payload = encode_qr(document, CHAIN)
    assert read_back(render_qr(payload, "png", scale=2).data) == payload


def test_symbol_is_alphanumeric_level_q_with_a_four_module_quiet_zone():
    payload = encode_qr(seal_document(spec_part(), KEY, CHAIN, "BJSCJ0000001", 1795654800000), CHAIN)
    symbol = make_symbol(payload)
    assert (symbol.mode, symbol.error, symbol.is_micro) == ("alphanumeric", "Q", False)
    assert QUIET_ZONE == 4
    assert render_qr(payload, "png").modules == symbol.symbol_size(border=0)[0] + 8


def test_svg_is_an_svg_document_of_the_symbols_size():
    payload = encode_qr(seal_document(spec_part(), KEY, CHAIN, "BJSCJ0000001", 1795654800000), CHAIN)
    image = render_qr(payload, "svg")
    root = ET.fromstring(image.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert int(root.get("width")) == int(root.get("height")) == image.modules


def test_render_refuses_what_is_not_a_payload_or_a_format():
    for bad in ("el1:abc", "HC1:ABC", "EL1:" + "A" * 600, "EL1:abc"):
        with pytest.raises(ValidationError) as err:
            render_qr(bad, "png")
        assert err.value.code == "qr.not_a_payload"
    with pytest.raises(ValidationError) as err:
        render_qr("EL1:ABC", "jpg")
    assert err.value.code == "qr.bad_format"
    for scale in (0, 65, True):
        with pytest.raises(ValidationError) as err:
            render_qr("EL1:ABC", "png", scale=scale)
        assert err.value.code == "qr.bad_scale"
