"""Public and private keys of every suite, their key ids, and signing / verification over the
domain-separated signing bytes (docs/spec/crypto.md §2–§5).

A PublicKey is an immutable value identified by (suite, SubjectPublicKeyInfo DER) and accepted
only in canonical form; it keeps the loaded backend key so verification is fast, and
`from_spki` is cached. A PrivateKey never shows its material in repr or errors. This module
must never read or write files (see ledger.crypto.keyfile) and never return False from a
verification: it raises CryptoError.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType

from ledger.crypto import asn1, ed25519, p256, sm2
from ledger.crypto.suites import DEFAULT_SUITE, Signature, Suite, require_json_object, signing_bytes
from ledger.errors import CryptoError
from ledger.hashing import tagged_hash

KEY_ID_SIZE = 32
SPKI_CACHE_SIZE = 4096

_BACKENDS: dict[Suite, ModuleType] = {Suite.P256: p256, Suite.ED25519: ed25519, Suite.SM2: sm2}
_SUITE_OF_ALGORITHM: dict[asn1.Algorithm, Suite] = {backend.ALGORITHM: suite for suite, backend in _BACKENDS.items()}


def compute_key_id(suite: Suite, spki: bytes) -> bytes:
    """tagged_hash("key-id", suite || 0x00 || spki) (§4.2): 32 bytes, distinct per suite."""
    return tagged_hash("key-id", suite.value.encode("ascii") + b"\x00" + spki)


def _check_algorithm(suite: Suite, spki: bytes) -> None:
    try:
        algorithm, _ = asn1.decode_spki(spki)
    except CryptoError as exc:
        raise CryptoError(f"not a DER SubjectPublicKeyInfo: {exc}", code="crypto.bad_spki", suite=suite.value) from exc
    found = _SUITE_OF_ALGORITHM.get(algorithm)
    if found is not suite:
        name = found.value if found is not None else algorithm.describe()
        raise CryptoError(
            f"public key is a {name} key, not {suite.value}",
            code="crypto.suite_mismatch",
            suite=suite.value,
            found=name,
        )


@dataclass(frozen=True)
class PublicKey:
    """A validated public key: its suite and canonical DER SubjectPublicKeyInfo (§4).

    Equality and hash are by (suite, spki). Constructing one validates it exactly as
    `from_spki` does; prefer `from_spki`, which caches.
    """

    suite: Suite
    spki: bytes
    key_id: bytes = field(init=False, repr=False, compare=False)
    _backend_key: object = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        suite = Suite.parse(self.suite)
        if not isinstance(self.spki, bytes):
            raise CryptoError("spki must be bytes", code="crypto.bad_spki", suite=suite.value)
        _check_algorithm(suite, self.spki)
        object.__setattr__(self, "suite", suite)
        object.__setattr__(self, "_backend_key", _BACKENDS[suite].load_public(self.spki))
        object.__setattr__(self, "key_id", compute_key_id(suite, self.spki))

    def __repr__(self) -> str:
        return f"PublicKey({self.suite.value}, key_id={self.key_id.hex()[:16]}…)"

    def __reduce__(self) -> tuple[object, tuple[Suite, bytes]]:
        # The backend key object cannot be pickled or copied; rebuild from (suite, spki).
        return (PublicKey.from_spki, (self.suite, self.spki))

    @classmethod
    def from_spki(cls, suite: Suite | str, der: bytes) -> PublicKey:
        """The key for `der` under `suite`, validated strictly and cached (LRU, 4096 entries).

        Raises CryptoError: "crypto.unknown_suite"; "crypto.bad_spki" (not a single DER
        SubjectPublicKeyInfo, trailing bytes); "crypto.suite_mismatch" (algorithm or curve of
        another suite, e.g. a P-384 key for P-256); "crypto.bad_point" (not a valid point);
        "crypto.noncanonical_spki" (valid but not the canonical DER, e.g. a compressed point).
        """
        if not isinstance(der, (bytes, bytearray, memoryview)):
            raise CryptoError("spki must be bytes", code="crypto.bad_spki")
        return _load_public(Suite.parse(suite), bytes(der))

    def verify(self, purpose: str, chain_id: str, message: bytes, signature: Signature) -> None:
        """Check `signature` over signing_bytes(purpose, chain_id, message) (§2); returns None.

        Raises CryptoError "crypto.bad_domain" / "crypto.bad_message" for bad inputs,
        "crypto.suite_mismatch" if the signature is of another suite, "crypto.bad_signature"
        if it does not verify, "crypto.high_s" for a malleable P-256 signature, and
        "crypto.suite_unavailable" for SM2 without its backend.
        """
        if not isinstance(signature, Signature):
            raise CryptoError(f"expected a Signature, got {type(signature).__name__}", code="crypto.bad_signature")
        if signature.suite is not self.suite:
            raise CryptoError(
                f"{signature.suite.value} signature cannot be checked with a {self.suite.value} key",
                code="crypto.suite_mismatch",
                suite=self.suite.value,
                found=signature.suite.value,
            )
        data = signing_bytes(purpose, chain_id, message)
        _BACKENDS[self.suite].verify(self._backend_key, data, signature.value)

    def to_json(self) -> dict[str, str]:
        """{"suite": wire name, "spki": base64url DER without padding} (§5)."""
        from ledger.encoding import b64encode

        return {"suite": self.suite.value, "spki": b64encode(self.spki)}

    @classmethod
    def from_json(cls, obj: object) -> PublicKey:
        """Parse the form written by `to_json`, strictly; raises CryptoError as `from_spki` does,
        "crypto.bad_json" for a wrong shape, or EncodingError for bad base64url."""
        from ledger.encoding import b64decode

        fields = require_json_object(obj, ("suite", "spki"), "public_key")
        suite = Suite.parse(fields["suite"])
        return cls.from_spki(suite, b64decode(fields["spki"], field="public_key.spki"))


@functools.lru_cache(maxsize=SPKI_CACHE_SIZE)
def _load_public(suite: Suite, der: bytes) -> PublicKey:
    return PublicKey(suite, der)


class PrivateKey:
    """A signing key of one suite. Create with `generate` or `from_pem`; never printed."""

    __slots__ = ("_suite", "_backend_key", "_public_key")

    def __init__(self, suite: Suite, backend_key: object) -> None:
        """Wrap a backend key object of `suite` (internal; use `generate` or `from_pem`)."""
        self._suite = suite
        self._backend_key = backend_key
        self._public_key = PublicKey.from_spki(suite, _BACKENDS[suite].public_of(backend_key))

    @classmethod
    def generate(cls, suite: Suite | str = DEFAULT_SUITE) -> PrivateKey:
        """A fresh key from the OS CSPRNG; raises CryptoError "crypto.unknown_suite" or
        "crypto.suite_unavailable" (SM2 without `eledger[gm]`)."""
        suite = Suite.parse(suite)
        return cls(suite, _BACKENDS[suite].generate())

    @property
    def suite(self) -> Suite:
        return self._suite

    @property
    def public_key(self) -> PublicKey:
        return self._public_key

    def sign(self, purpose: str, chain_id: str, message: bytes) -> Signature:
        """Sign signing_bytes(purpose, chain_id, message) (§2).

        Raises CryptoError "crypto.bad_domain" / "crypto.bad_message" for bad inputs.
        """
        data = signing_bytes(purpose, chain_id, message)
        return Signature(self._suite, _BACKENDS[self._suite].sign(self._backend_key, data))

    def to_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM ("PRIVATE KEY"), readable by `openssl pkey` for every suite."""
        return asn1.encode_pem("PRIVATE KEY", _BACKENDS[self._suite].private_to_der(self._backend_key))

    @classmethod
    def from_pem(cls, data: bytes) -> PrivateKey:
        """Load an unencrypted PKCS#8 PEM key and detect its suite from its algorithm.

        Raises CryptoError "crypto.bad_pem" (not one PEM block), "crypto.bad_private_key"
        (other label such as an encrypted or SEC 1 key, bad DER, unsupported algorithm or curve,
        inconsistent SM2 pair) or "crypto.suite_unavailable".
        """
        if not isinstance(data, (bytes, bytearray)):
            raise CryptoError("PEM data must be bytes", code="crypto.bad_pem")
        label, der = asn1.decode_pem(bytes(data))
        if label != "PRIVATE KEY":
            raise CryptoError(
                f"expected an unencrypted PKCS#8 'PRIVATE KEY', found {label!r}; "
                "convert with `openssl pkcs8 -topk8 -nocrypt`",
                code="crypto.bad_private_key",
                label=label,
            )
        try:
            algorithm = asn1.decode_pkcs8_algorithm(der)
        except CryptoError as exc:
            raise CryptoError(f"not a PKCS#8 private key: {exc}", code="crypto.bad_private_key") from exc
        suite = _SUITE_OF_ALGORITHM.get(algorithm)
        if suite is None:
            raise CryptoError(
                f"private key algorithm {algorithm.describe()} is not an eledger suite",
                code="crypto.bad_private_key",
                found=algorithm.describe(),
            )
        return cls(suite, _BACKENDS[suite].private_from_der(der))

    def __repr__(self) -> str:
        return f"PrivateKey({self._suite.value}, key_id={self._public_key.key_id.hex()[:16]}…)"


def verify_many(items: Iterable[tuple[PublicKey, str, str, bytes, Signature]]) -> None:
    """Verify (key, purpose, chain_id, message, signature) items in order.

    Raises at the first failure the CryptoError `PublicKey.verify` raised, with the same code,
    the message prefixed by "item <i>" and the field `index`.
    """
    for index, (key, purpose, chain_id, message, signature) in enumerate(items):
        try:
            key.verify(purpose, chain_id, message, signature)
        except CryptoError as exc:
            fields = {k: v for k, v in exc.fields.items() if k != "index"}
            raise CryptoError(f"item {index}: {exc}", code=exc.code, index=index, **fields) from exc
