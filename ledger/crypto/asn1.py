"""The small subset of DER (X.690) that eledger's key formats need (docs/spec/crypto.md §4).

SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), PKCS#8 PrivateKeyInfo (RFC 5208), SEC 1 ECPrivateKey
(RFC 5915) and PEM armour (RFC 7468), for the SM2 suite that no Python library encodes and
for recognising which suite a key belongs to. Readers are strict: definite minimal lengths,
single-byte tags, no trailing bytes. This module knows nothing of curves or signatures and must
never decide on its own whether a key is acceptable; callers re-encode and compare.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from ledger.errors import CryptoError

TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_OID = 0x06
TAG_SEQUENCE = 0x30
TAG_EXPLICIT_0 = 0xA0
TAG_EXPLICIT_1 = 0xA1

MAX_DER_SIZE = 16 * 1024


def encode_oid(dotted: str) -> bytes:
    """The content octets of an OBJECT IDENTIFIER written as "1.2.840..." (X.690 §8.19)."""
    arcs = [int(part) for part in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def decode_oid(content: bytes) -> str:
    """Dotted form of OID content octets, for error messages; raises CryptoError "crypto.bad_der"."""
    if not content or content[-1] & 0x80:
        raise CryptoError("truncated OBJECT IDENTIFIER", code="crypto.bad_der")
    arcs: list[int] = []
    value = 0
    fresh = True
    for byte in content:
        if fresh and byte == 0x80:
            raise CryptoError("OBJECT IDENTIFIER arc with a leading 0x80 octet", code="crypto.bad_der")
        value = (value << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


OID_EC_PUBLIC_KEY = encode_oid("1.2.840.10045.2.1")
OID_SECP256R1 = encode_oid("1.2.840.10045.3.1.7")
OID_ED25519 = encode_oid("1.3.101.112")
OID_SM2 = encode_oid("1.2.156.10197.1.301")


def encode_tlv(tag: int, content: bytes) -> bytes:
    """One DER element with a minimal definite length (X.690 §10.1)."""
    size = len(content)
    if size < 0x80:
        header = bytes([tag, size])
    else:
        length = size.to_bytes((size.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(length)]) + length
    return header + content


def decode_tlv(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """Read one element at `offset`: (tag, content, offset after it).

    Raises CryptoError "crypto.bad_der" on a multi-byte tag, an indefinite or non-minimal
    length, or content running past the end of `data`.
    """
    if offset + 2 > len(data):
        raise CryptoError(f"DER element truncated at offset {offset}", code="crypto.bad_der", offset=offset)
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise CryptoError(f"multi-byte DER tag at offset {offset}", code="crypto.bad_der", offset=offset)
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        if count == 0 or count > 2 or pos + count > len(data):
            raise CryptoError(f"unsupported DER length at offset {offset}", code="crypto.bad_der", offset=offset)
        size = int.from_bytes(data[pos : pos + count], "big")
        pos += count
        if size < 0x80 or size.bit_length() <= 8 * (count - 1):
            raise CryptoError(f"non-minimal DER length at offset {offset}", code="crypto.bad_der", offset=offset)
    if pos + size > len(data):
        raise CryptoError(f"DER content runs past the end at offset {offset}", code="crypto.bad_der", offset=offset)
    return tag, data[pos : pos + size], pos + size


def decode_children(content: bytes) -> list[tuple[int, bytes]]:
    """All elements inside a constructed element's content, in order."""
    children: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(content):
        tag, child, pos = decode_tlv(content, pos)
        children.append((tag, child))
    return children


def decode_single(data: bytes, tag: int, what: str) -> bytes:
    """The content of `data`, which must be exactly one element with `tag` and nothing after it."""
    if len(data) > MAX_DER_SIZE:
        raise CryptoError(f"{what} is larger than {MAX_DER_SIZE} bytes", code="crypto.bad_der")
    found, content, end = decode_tlv(data)
    if found != tag:
        raise CryptoError(f"{what}: expected tag 0x{tag:02x}, found 0x{found:02x}", code="crypto.bad_der")
    if end != len(data):
        raise CryptoError(f"{what}: {len(data) - end} trailing bytes", code="crypto.bad_der")
    return content


def _expect(children: list[tuple[int, bytes]], index: int, tag: int, what: str) -> bytes:
    if index >= len(children) or children[index][0] != tag:
        raise CryptoError(f"{what}: expected tag 0x{tag:02x} at position {index}", code="crypto.bad_der")
    return children[index][1]


@dataclass(frozen=True)
class Algorithm:
    """An AlgorithmIdentifier: algorithm OID content and the named-curve OID content, if any."""

    oid: bytes
    curve: bytes | None

    def describe(self) -> str:
        """Human-readable form such as "1.2.840.10045.2.1/1.2.840.10045.3.1.34"."""
        text = decode_oid(self.oid)
        return text if self.curve is None else f"{text}/{decode_oid(self.curve)}"


def _decode_algorithm(content: bytes, what: str) -> Algorithm:
    children = decode_children(content)
    oid = _expect(children, 0, TAG_OID, what)
    if len(children) == 1:
        return Algorithm(oid, None)
    if len(children) == 2 and children[1][0] == TAG_OID:
        return Algorithm(oid, children[1][1])
    raise CryptoError(f"{what}: parameters are not a named-curve OID", code="crypto.bad_der")


def _encode_algorithm(algorithm: Algorithm) -> bytes:
    body = encode_tlv(TAG_OID, algorithm.oid)
    if algorithm.curve is not None:
        body += encode_tlv(TAG_OID, algorithm.curve)
    return encode_tlv(TAG_SEQUENCE, body)


def decode_spki(der: bytes) -> tuple[Algorithm, bytes]:
    """Split a SubjectPublicKeyInfo into its algorithm and the key bits (no unused bits allowed)."""
    children = decode_children(decode_single(der, TAG_SEQUENCE, "SubjectPublicKeyInfo"))
    if len(children) != 2:
        raise CryptoError("SubjectPublicKeyInfo must have exactly two fields", code="crypto.bad_der")
    algorithm = _decode_algorithm(_expect(children, 0, TAG_SEQUENCE, "algorithm"), "algorithm")
    bits = _expect(children, 1, TAG_BIT_STRING, "subjectPublicKey")
    if not bits or bits[0] != 0:
        raise CryptoError("subjectPublicKey must have zero unused bits", code="crypto.bad_der")
    return algorithm, bits[1:]


def encode_spki(algorithm: Algorithm, key: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo for `algorithm` and the public key octets `key`."""
    return encode_tlv(TAG_SEQUENCE, _encode_algorithm(algorithm) + encode_tlv(TAG_BIT_STRING, b"\x00" + key))


def decode_pkcs8_algorithm(der: bytes) -> Algorithm:
    """The algorithm of a PKCS#8 PrivateKeyInfo, so that the caller can pick the suite."""
    children = decode_children(decode_single(der, TAG_SEQUENCE, "PrivateKeyInfo"))
    return _decode_algorithm(_expect(children, 1, TAG_SEQUENCE, "privateKeyAlgorithm"), "privateKeyAlgorithm")


def decode_pkcs8_ec(der: bytes, curve: bytes, scalar_size: int) -> tuple[bytes, bytes | None]:
    """(private scalar, public point or None) from a PKCS#8 v1 EC key on `curve` (RFC 5915 §3).

    The scalar must be exactly `scalar_size` octets; curve parameters inside ECPrivateKey, if
    present, must name the same curve. Raises CryptoError "crypto.bad_der" otherwise.
    """
    children = decode_children(decode_single(der, TAG_SEQUENCE, "PrivateKeyInfo"))
    if len(children) != 3 or _expect(children, 0, TAG_INTEGER, "version") != b"\x00":
        raise CryptoError("PrivateKeyInfo must be version 0 with exactly three fields", code="crypto.bad_der")
    algorithm = _decode_algorithm(_expect(children, 1, TAG_SEQUENCE, "privateKeyAlgorithm"), "privateKeyAlgorithm")
    if algorithm != Algorithm(OID_EC_PUBLIC_KEY, curve):
        raise CryptoError(f"private key algorithm is {algorithm.describe()}", code="crypto.bad_der")
    inner = decode_single(_expect(children, 2, TAG_OCTET_STRING, "privateKey"), TAG_SEQUENCE, "ECPrivateKey")
    fields = decode_children(inner)
    if _expect(fields, 0, TAG_INTEGER, "ECPrivateKey.version") != b"\x01":
        raise CryptoError("ECPrivateKey version must be 1", code="crypto.bad_der")
    scalar = _expect(fields, 1, TAG_OCTET_STRING, "ECPrivateKey.privateKey")
    if len(scalar) != scalar_size:
        raise CryptoError(f"private scalar must be {scalar_size} octets, found {len(scalar)}", code="crypto.bad_der")
    rest = fields[2:]
    if rest and rest[0][0] == TAG_EXPLICIT_0:
        if decode_single(rest[0][1], TAG_OID, "ECPrivateKey.parameters") != curve:
            raise CryptoError("ECPrivateKey parameters name another curve", code="crypto.bad_der")
        rest = rest[1:]
    point: bytes | None = None
    if rest and rest[0][0] == TAG_EXPLICIT_1:
        bits = decode_single(rest[0][1], TAG_BIT_STRING, "ECPrivateKey.publicKey")
        if not bits or bits[0] != 0:
            raise CryptoError("ECPrivateKey.publicKey must have zero unused bits", code="crypto.bad_der")
        point = bits[1:]
        rest = rest[1:]
    if rest:
        raise CryptoError(f"unexpected ECPrivateKey field with tag 0x{rest[0][0]:02x}", code="crypto.bad_der")
    return scalar, point


def encode_pkcs8_ec(curve: bytes, scalar: bytes, point: bytes) -> bytes:
    """PKCS#8 v1 PrivateKeyInfo holding an ECPrivateKey with its public key and no parameters.

    This is the layout OpenSSL 3 writes for `openssl genpkey -algorithm SM2`.
    """
    ec_key = encode_tlv(
        TAG_SEQUENCE,
        encode_tlv(TAG_INTEGER, b"\x01")
        + encode_tlv(TAG_OCTET_STRING, scalar)
        + encode_tlv(TAG_EXPLICIT_1, encode_tlv(TAG_BIT_STRING, b"\x00" + point)),
    )
    return encode_tlv(
        TAG_SEQUENCE,
        encode_tlv(TAG_INTEGER, b"\x00")
        + _encode_algorithm(Algorithm(OID_EC_PUBLIC_KEY, curve))
        + encode_tlv(TAG_OCTET_STRING, ec_key),
    )


_PEM_RE = re.compile(rb"\A\s*-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----\s*\Z")


def encode_pem(label: str, der: bytes) -> bytes:
    """PEM armour with 64-character lines (RFC 7468 §2), as OpenSSL writes it."""
    text = base64.b64encode(der)
    lines = b"".join(text[i : i + 64] + b"\n" for i in range(0, len(text), 64))
    return f"-----BEGIN {label}-----\n".encode() + lines + f"-----END {label}-----\n".encode()


def decode_pem(data: bytes) -> tuple[str, bytes]:
    """(label, DER) of the single PEM block that makes up `data`.

    Raises CryptoError "crypto.bad_pem" if `data` is not exactly one well-formed block.
    """
    match = _PEM_RE.match(data)
    if match is None:
        raise CryptoError("not a single PEM block (-----BEGIN ...----- / -----END ...-----)", code="crypto.bad_pem")
    try:
        der = base64.b64decode(re.sub(rb"\s", b"", match.group(2)), validate=True)
    except binascii.Error as exc:
        raise CryptoError(f"PEM body is not valid base64: {exc}", code="crypto.bad_pem") from exc
    return match.group(1).decode("ascii"), der
