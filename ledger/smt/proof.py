"""State proofs: the value type, its compact byte and JSON forms, and verification
(docs/spec/state.md §7–§8).

A `StateProof` for a key lists the sibling hashes along the key's path from the root down to
where the path ends, and, when it ends at another key's leaf, that leaf's path and value hash.
`verify_proof` recomputes the root from the claimed (key, value) or absence and raises
`ProofError` on any mismatch; it never returns False. Nothing here touches storage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ledger.errors import EncodingError, ProofError, ValidationError
from ledger.smt.hasher import DEPTH, EMPTY_HASH, HASH_SIZE, check_key, check_value, leaf_hash, node_hash, path_of

# §8: flags (1) + sibling count (2) + bitmap + non-empty siblings + optional other leaf.
HEADER_SIZE = 3
FLAG_OTHER_LEAF = 0x01
MAX_PROOF_BYTES = HEADER_SIZE + DEPTH // 8 + DEPTH * HASH_SIZE + 2 * HASH_SIZE
_JSON_FIELDS = frozenset({"siblings", "other_path", "other_value_hash"})

__all__ = ["MAX_PROOF_BYTES", "StateProof", "verify_proof"]

_sha256 = hashlib.sha256


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes", code="proof.hash_invalid", field=what)


@dataclass(frozen=True, slots=True)
class StateProof:
    """Siblings from the root down (index d: the sibling of the path's node at depth d + 1),
    empty ones as 32 zero bytes; `other_path` / `other_value_hash` name the leaf the path ends
    at when it is not the proven key's (both or neither).

    Raises ProofError at construction: "proof.too_deep" (more than 256 siblings),
    "proof.hash_invalid" (a sibling or other-leaf field that is not 32 bytes),
    "proof.other_leaf_incomplete" (only one of the two other-leaf fields).
    """

    siblings: tuple[bytes, ...] = ()
    other_path: bytes | None = None
    other_value_hash: bytes | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.siblings, tuple):
            object.__setattr__(self, "siblings", tuple(self.siblings))
        if len(self.siblings) > DEPTH:
            raise ProofError(
                f"state proof has {len(self.siblings)} siblings; a path has at most {DEPTH}",
                code="proof.too_deep",
                count=len(self.siblings),
            )
        for index, sibling in enumerate(self.siblings):
            _check_hash(sibling, f"siblings[{index}]")
        if (self.other_path is None) != (self.other_value_hash is None):
            raise ProofError(
                "state proof must carry both other_path and other_value_hash, or neither",
                code="proof.other_leaf_incomplete",
            )
        if self.other_path is not None:
            _check_hash(self.other_path, "other_path")
            _check_hash(self.other_value_hash, "other_value_hash")

    def to_bytes(self) -> bytes:
        """The compact form (§8): flags, count, bitmap of non-empty siblings, those siblings,
        then the other leaf's path and value hash if present."""
        count = len(self.siblings)
        bitmap = bytearray((count + 7) // 8)
        present = []
        for index, sibling in enumerate(self.siblings):
            if sibling != EMPTY_HASH:
                bitmap[index >> 3] |= 0x80 >> (index & 7)
                present.append(sibling)
        flags = FLAG_OTHER_LEAF if self.other_path is not None else 0
        out = [bytes((flags, count >> 8, count & 0xFF)), bytes(bitmap), *present]
        if self.other_path is not None:
            out += [self.other_path, self.other_value_hash]
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> StateProof:
        """Parse the compact form strictly (§8); exactly one encoding per proof is accepted.

        Raises ProofError: "proof.type", "proof.too_large" (over MAX_PROOF_BYTES),
        "proof.truncated", "proof.unknown_flags", "proof.too_deep", "proof.bitmap_padding"
        (bits set past the count), "proof.empty_sibling_listed" (an all-zero hash listed
        instead of marked empty in the bitmap), "proof.trailing_bytes".
        """
        if not isinstance(data, bytes):
            raise ProofError(f"state proof must be bytes, not {type(data).__name__}", code="proof.type")
        if len(data) > MAX_PROOF_BYTES:
            raise ProofError(
                f"state proof is {len(data)} bytes; the limit is {MAX_PROOF_BYTES}",
                code="proof.too_large",
                size=len(data),
                limit=MAX_PROOF_BYTES,
            )
        if len(data) < HEADER_SIZE:
            raise _truncated(len(data), HEADER_SIZE)
        flags, count = data[0], int.from_bytes(data[1:3], "big")
        if flags & ~FLAG_OTHER_LEAF:
            raise ProofError(f"state proof has unknown flags 0x{flags:02x}", code="proof.unknown_flags", flags=flags)
        if count > DEPTH:
            raise ProofError(
                f"state proof claims {count} siblings; a path has at most {DEPTH}", code="proof.too_deep", count=count
            )
        pos = HEADER_SIZE + (count + 7) // 8
        if len(data) < pos:
            raise _truncated(len(data), pos)
        bitmap = int.from_bytes(data[HEADER_SIZE:pos], "big")
        pad = (8 - count % 8) % 8
        if bitmap & ((1 << pad) - 1):
            raise ProofError("state proof bitmap has bits set past its sibling count", code="proof.bitmap_padding")
        needed = pos + HASH_SIZE * bitmap.bit_count() + (2 * HASH_SIZE if flags else 0)
        if len(data) < needed:
            raise _truncated(len(data), needed)
        if len(data) > needed:
            raise ProofError(
                f"state proof has {len(data) - needed} bytes after its end",
                code="proof.trailing_bytes",
                size=len(data),
                expected=needed,
            )
        siblings = []
        top = count + pad - 1
        for index in range(count):
            if bitmap >> (top - index) & 1:
                sibling = data[pos : pos + HASH_SIZE]
                if sibling == EMPTY_HASH:
                    raise ProofError(
                        f"state proof lists sibling {index} as all zeros; empty siblings are marked in the bitmap",
                        code="proof.empty_sibling_listed",
                        index=index,
                    )
                siblings.append(sibling)
                pos += HASH_SIZE
            else:
                siblings.append(EMPTY_HASH)
        if flags:
            return cls(tuple(siblings), data[pos : pos + HASH_SIZE], data[pos + HASH_SIZE : pos + 2 * HASH_SIZE])
        return cls(tuple(siblings))

    def to_json(self) -> dict[str, object]:
        """The JSON form (§9): every sibling (empty ones too) and the other leaf, as base64url."""
        from ledger.encoding import b64encode

        out: dict[str, object] = {"siblings": [b64encode(sibling) for sibling in self.siblings]}
        if self.other_path is not None:
            out["other_path"] = b64encode(self.other_path)
            out["other_value_hash"] = b64encode(self.other_value_hash)
        return out

    @classmethod
    def from_json(cls, obj: object) -> StateProof:
        """Parse the JSON form strictly (§9).

        Raises ProofError: "proof.json_type" (not an object, or a field of the wrong type),
        "proof.json_field" (an unknown or missing field), "proof.json_binary" (bad base64url),
        and the construction errors of StateProof.
        """
        from ledger.encoding import b64decode

        if not isinstance(obj, dict):
            raise ProofError("state proof JSON must be an object", code="proof.json_type")
        unknown = sorted(set(obj) - _JSON_FIELDS)
        if unknown or "siblings" not in obj:
            raise ProofError(
                f"state proof JSON has unknown fields {unknown}" if unknown else "state proof JSON lacks 'siblings'",
                code="proof.json_field",
                field=unknown[0] if unknown else "siblings",
            )
        siblings = obj["siblings"]
        if not isinstance(siblings, list) or len(siblings) > DEPTH:
            raise ProofError(
                f"state proof JSON 'siblings' must be a list of at most {DEPTH} strings",
                code="proof.json_type",
                field="siblings",
            )

        def decode(text: object, field: str) -> bytes:
            if not isinstance(text, str):
                raise ProofError(f"state proof JSON {field} must be a string", code="proof.json_type", field=field)
            try:
                return b64decode(text, field=field)
            except EncodingError as exc:
                raise ProofError(f"state proof JSON {field}: {exc}", code="proof.json_binary", field=field) from exc

        other = [decode(obj[name], name) if name in obj else None for name in ("other_path", "other_value_hash")]
        return cls(tuple(decode(text, f"siblings[{i}]") for i, text in enumerate(siblings)), *other)


def _truncated(size: int, needed: int) -> ProofError:
    return ProofError(
        f"state proof is truncated: {size} bytes where at least {needed} are needed",
        code="proof.truncated",
        size=size,
        expected=needed,
    )


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: StateProof) -> None:
    """Check that the map named by `root` holds `key` with `value`, or (value None) lacks `key`
    (§7.2). Returns None on success.

    Raises ValidationError for a malformed root, key or value argument, and ProofError:
    "proof.type" (not a StateProof), "proof.unexpected_other_leaf" (a value is claimed but the
    proof ends at another key's leaf), "proof.other_leaf_is_key" (the "other" leaf is the key's
    own), "proof.other_leaf_off_path" (the other leaf cannot sit where the proof puts it),
    "proof.noncanonical" (the deepest sibling is empty, which a canonical tree never has), and
    "proof.root_mismatch" (carries `expected` and `calculated` roots).
    """
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise ValidationError(f"state root must be {HASH_SIZE} bytes", code="smt.root_invalid", field="root")
    if not isinstance(proof, StateProof):
        raise ProofError(f"expected a StateProof, got {type(proof).__name__}", code="proof.type")
    path = path_of(check_key(key))
    bits = int.from_bytes(path, "big")
    siblings = proof.siblings
    depth = len(siblings)
    if value is not None:
        check_value(value)
        if proof.other_path is not None:
            raise ProofError(
                "the proof shows another key's leaf where the claimed key would be (it proves absence)",
                code="proof.unexpected_other_leaf",
            )
        node = leaf_hash(path, _sha256(value).digest())
    elif proof.other_path is None:
        node = EMPTY_HASH
    else:
        other_bits = int.from_bytes(proof.other_path, "big")
        if other_bits == bits:
            raise ProofError(
                "the proof's other leaf is the key's own leaf: the key is present",
                code="proof.other_leaf_is_key",
            )
        if (other_bits ^ bits) >> (DEPTH - depth):
            raise ProofError(
                f"the proof's other leaf does not share the key's first {depth} path bits",
                code="proof.other_leaf_off_path",
                depth=depth,
            )
        node = leaf_hash(proof.other_path, proof.other_value_hash)
    if depth and siblings[-1] == EMPTY_HASH:
        raise ProofError(
            "the proof's deepest sibling is empty; a canonical tree would have collapsed that subtree",
            code="proof.noncanonical",
            depth=depth,
        )
    for index in range(depth - 1, -1, -1):
        if (bits >> (255 - index)) & 1:
            node = node_hash(siblings[index], node)
        else:
            node = node_hash(node, siblings[index])
    if node != root:
        raise ProofError(
            "the state proof does not lead to the expected root",
            code="proof.root_mismatch",
            expected=root,
            calculated=node,
        )
