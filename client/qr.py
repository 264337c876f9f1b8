"""QR codes of licence documents as images (docs/spec/qr.md §5): a payload of `ledger.qr` drawn
by segno as a PNG or SVG file's bytes.

The symbol is a QR code (never a Micro QR) in alphanumeric mode at error correction level Q,
not raised by segno, with the 4-module quiet zone of ISO/IEC 18004; qr.md §5 says why. This
module renders bytes only: the caller writes them. It never sees a document, only its payload,
which holds no personal data of a holder.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno

from ledger.errors import ValidationError
from ledger.qr import MAX_PAYLOAD_CHARS, PREFIX

ERROR_LEVEL = "Q"
QUIET_ZONE = 4  # modules, ISO/IEC 18004
PNG_SCALE = 8  # pixels a module
SVG_SCALE = 1  # user units a module
FORMATS = ("png", "svg")
MAX_SCALE = 64


@dataclass(frozen=True)
class QrImage:
    """A rendered QR code: the file's bytes, its format, the QR version (1..40) and the symbol's
    width in modules, quiet zone included."""

    data: bytes
    format: str
    version: int
    modules: int


def make_symbol(payload: str) -> segno.QRCode:
    """The QR symbol of `payload` (qr.md §5). Raises ValidationError "qr.not_a_payload" when
    `payload` does not start with `EL1:`, is longer than MAX_PAYLOAD_CHARS or has a character
    QR alphanumeric mode cannot hold."""
    if not isinstance(payload, str) or not payload.startswith(PREFIX) or len(payload) > MAX_PAYLOAD_CHARS:
        raise ValidationError(f"a QR payload starts with {PREFIX!r} and has at most {MAX_PAYLOAD_CHARS} characters", code="qr.not_a_payload", field="payload")
    try:
        return segno.make_qr(payload, error=ERROR_LEVEL, boost_error=False, mode="alphanumeric")
    except ValueError as exc:
        raise ValidationError(f"the payload cannot be drawn in QR alphanumeric mode: {exc}", code="qr.not_a_payload", field="payload") from None


def render_qr(payload: str, format: str, *, scale: int | None = None) -> QrImage:
    """The image of `payload`'s QR code as `format` ("png" or "svg"), `scale` pixels (PNG,
    default PNG_SCALE) or user units (SVG, default SVG_SCALE) a module, 1..MAX_SCALE.

    Raises ValidationError "qr.bad_format", "qr.bad_scale" and what `make_symbol` raises."""
    if format not in FORMATS:
        raise ValidationError(f"a QR image is {' or '.join(FORMATS)}, not {format!r}", code="qr.bad_format", field="format")
    if scale is None:
        scale = PNG_SCALE if format == "png" else SVG_SCALE
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise ValidationError(f"scale must be an integer 1..{MAX_SCALE}", code="qr.bad_scale", field="scale")
    symbol = make_symbol(payload)
    out = io.BytesIO()
    symbol.save(out, kind=format, scale=scale, border=QUIET_ZONE)
    width, _ = symbol.symbol_size(scale=1, border=QUIET_ZONE)
    return QrImage(out.getvalue(), format, symbol.version, width)
