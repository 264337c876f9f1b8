"""The validator's signer with its double-sign guard (docs/spec/consensus.md §5).

Every proposal and vote signature of this node's validator key goes through `Signer.sign`, which
refuses to go back in (height, round, step) and to sign two different messages at one step, and
which makes its new state durable before the signature is returned, so that a crash at any moment
can never lead a restarted node to equivocate. The signer must never hand out a signature whose
state was not saved first, never log or store the private key, and never read the clock.

`step` is an int 1..3 and equals `node.consensus.messages.Step`: proposal 1, prevote 2,
precommit 3 (§5). The state file carries, besides the fields listed in §5, the validator's
`key_id` and the `chain_id`, so that a state file of another key or chain is refused.
"""

from __future__ import annotations

import fcntl
import os
import stat
from dataclasses import dataclass
from typing import Protocol

from ledger.commit import MAX_ROUND
from ledger.crypto import KEY_ID_SIZE, PrivateKey, Signature, signing_bytes
from ledger.encoding import decode, encode
from ledger.errors import CryptoError, EncodingError, LedgerError, ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_str
from ledger.files import replace_file
from ledger.hashing import HASH_SIZE, sha256

STATE_FILE_NAME = "signer_state.json"
STATE_FILE_MODE = 0o600
MAX_STATE_FILE_SIZE = 4096
MAX_HEIGHT = (1 << 53) - 1
STEPS = (1, 2, 3)  # proposal < prevote < precommit (§5), the values of node.consensus.messages.Step

_STATE_FIELDS = ("chain_id", "height", "key_id", "round", "sign_bytes_hash", "signature", "step")


class SignerError(LedgerError):
    """The signer refused a request, or its state file cannot be used (§5)."""

    code = "signer.error"


@dataclass(frozen=True)
class SignerState:
    """The last signature the signer released and the (height, round, step) it was made at.

    Construction validates every field and raises SignerError "signer.state_invalid" naming it.
    """

    key_id: bytes
    chain_id: str
    height: int
    round: int
    step: int
    sign_bytes_hash: bytes
    signature: Signature

    def __post_init__(self) -> None:
        try:
            obj = {name: getattr(self, name) for name in ("height", "round", "step", "chain_id")}
            get_int(obj, "height", "signer_state", minimum=1, maximum=MAX_HEIGHT)
            get_int(obj, "round", "signer_state", maximum=MAX_ROUND - 1)
            get_int(obj, "step", "signer_state", minimum=STEPS[0], maximum=STEPS[-1])
            get_str(obj, "chain_id", "signer_state", max_len=64)
        except ValidationError as exc:
            raise SignerError(f"invalid signer state: {exc}", code="signer.state_invalid", field=exc.field) from exc
        for name, size in (("key_id", KEY_ID_SIZE), ("sign_bytes_hash", HASH_SIZE)):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != size:
                raise SignerError(f"signer_state.{name} must be {size} bytes", code="signer.state_invalid", field=f"signer_state.{name}")
        if not isinstance(self.signature, Signature):
            raise SignerError("signer_state.signature must be a Signature", code="signer.state_invalid", field="signer_state.signature")
        object.__setattr__(self, "step", int(self.step))

    @property
    def hrs(self) -> tuple[int, int, int]:
        """(height, round, step): the order the guard compares in (§5)."""
        return (self.height, self.round, self.step)

    def to_bytes(self) -> bytes:
        """The canonical JSON of the state file (encoding.md)."""
        return encode(
            {
                "chain_id": self.chain_id,
                "height": self.height,
                "key_id": self.key_id,
                "round": self.round,
                "sign_bytes_hash": self.sign_bytes_hash,
                "signature": self.signature.to_json(),
                "step": self.step,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignerState:
        """Parse what `to_bytes` wrote, strictly (canonical JSON, exactly its fields).

        Raises SignerError "signer.state_invalid" naming the field (or the byte offset of a
        syntax error).
        """
        try:
            obj = expect_object(decode(data, max_bytes=MAX_STATE_FILE_SIZE), "signer_state")
            expect_keys(obj, "signer_state", _STATE_FIELDS)
            return cls(
                key_id=get_bytes(obj, "key_id", "signer_state", size=KEY_ID_SIZE),
                chain_id=get_str(obj, "chain_id", "signer_state", max_len=64),
                height=get_int(obj, "height", "signer_state", minimum=1, maximum=MAX_HEIGHT),
                round=get_int(obj, "round", "signer_state", maximum=MAX_ROUND - 1),
                step=get_int(obj, "step", "signer_state", minimum=STEPS[0], maximum=STEPS[-1]),
                sign_bytes_hash=get_bytes(obj, "sign_bytes_hash", "signer_state", size=HASH_SIZE),
                signature=Signature.from_json(obj["signature"]),
            )
        except (EncodingError, ValidationError, CryptoError) as exc:
            fields = {key: value for key, value in exc.fields.items() if key in ("field", "offset")}
            raise SignerError(f"invalid signer state: {exc}", code="signer.state_invalid", **fields) from exc


class SignerStore(Protocol):
    """Where the signer keeps its state; `save` returns only once the state is durable."""

    def load(self) -> SignerState | None: ...

    def save(self, state: SignerState) -> None: ...


class MemorySignerStore:
    """A store in memory, for the simulator: a crashed node restarted over the same object
    sees every state whose `save` returned (saving is durable at once)."""

    def __init__(self, state: SignerState | None = None) -> None:
        self.state = state

    def load(self) -> SignerState | None:
        return self.state

    def save(self, state: SignerState) -> None:
        self.state = state


class FileSignerStore:
    """The state file of §5 (mode 0600), written through a temporary file, fsync, rename and a
    directory fsync (ledger.files.replace_file).

    Opening takes an exclusive lock on `<path>.lock` for the life of the store, so that two
    processes can never sign with one state file; raises SignerError "signer.locked" if another
    holder has it and "signer.state_io" if the lock file cannot be opened (e.g. no directory).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(os.fspath(path))
        lock_path = self.path + ".lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, STATE_FILE_MODE)
        except OSError as exc:
            raise SignerError(f"cannot open the signer lock {lock_path}: {exc.strerror}", code="signer.state_io", path=lock_path) from exc
        self._lock = os.fdopen(fd, "rb", buffering=0)
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock.close()
            raise SignerError(
                f"signer state {self.path} is in use by another signer (lock {lock_path} is held); "
                "stop the other node using this directory",
                code="signer.locked",
                path=self.path,
            ) from exc

    def close(self) -> None:
        """Release the lock; the store must not be used afterwards."""
        self._lock.close()

    def __enter__(self) -> FileSignerStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def load(self) -> SignerState | None:
        """The saved state, or None if the file does not exist.

        Raises SignerError "signer.state_permissions" if group or others have any access
        (fix with `chmod 600`), "signer.state_io" (unreadable, a symlink, not a regular file,
        larger than 4 KiB) or "signer.state_invalid" (malformed, names the field).
        """
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SignerError(f"cannot open signer state {self.path}: {exc.strerror}", code="signer.state_io", path=self.path) from exc
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise SignerError(f"signer state {self.path} is not a regular file", code="signer.state_io", path=self.path)
            if info.st_mode & 0o077:
                mode = f"{stat.S_IMODE(info.st_mode):04o}"
                raise SignerError(
                    f"signer state {self.path} has mode {mode}; group and others must have no access: chmod 600 {self.path}",
                    code="signer.state_permissions",
                    path=self.path,
                    mode=mode,
                )
            data = os.read(fd, MAX_STATE_FILE_SIZE + 1)
        finally:
            os.close(fd)
        if len(data) > MAX_STATE_FILE_SIZE:
            raise SignerError(f"signer state {self.path} is larger than {MAX_STATE_FILE_SIZE} bytes", code="signer.state_io", path=self.path)
        try:
            return SignerState.from_bytes(data)
        except SignerError as exc:
            raise SignerError(f"{self.path}: {exc}", code=exc.code, path=self.path, **exc.fields) from exc

    def save(self, state: SignerState) -> None:
        """Atomically replace the file with `state`, durable when this returns (§5).

        Raises SignerError "signer.state_io" if it cannot be written; the file then holds the
        old state or this one, never a mix.
        """
        try:
            replace_file(self.path, state.to_bytes(), STATE_FILE_MODE)
        except OSError as exc:
            raise SignerError(f"cannot write signer state {self.path}: {exc.strerror}", code="signer.state_io", path=self.path) from exc


class Signer:
    """Signs proposals and votes with `key` for `chain_id`, guarded by the state in `store` (§5).

    Construction loads the state and raises what `store.load` raises, or SignerError
    "signer.state_foreign" if it belongs to another key or chain.
    """

    def __init__(self, key: PrivateKey, chain_id: str, store: SignerStore) -> None:
        self._key = key
        self._chain_id = chain_id
        self._store = store
        state = store.load()
        if state is not None:
            if state.key_id != key.public_key.key_id:
                raise SignerError(
                    f"signer state belongs to key {state.key_id.hex()[:16]}…, not to this validator's key "
                    f"{key.public_key.key_id.hex()[:16]}…",
                    code="signer.state_foreign",
                    field="key_id",
                )
            if state.chain_id != chain_id:
                raise SignerError(
                    f"signer state is for chain {state.chain_id!r}, not {chain_id!r}", code="signer.state_foreign", field="chain_id"
                )
        self._state = state

    @property
    def key_id(self) -> bytes:
        return self._key.public_key.key_id

    @property
    def state(self) -> SignerState | None:
        """The last released signature and its (height, round, step), or None before the first."""
        return self._state

    def sign(self, height: int, round: int, step: int, purpose: str, message: bytes) -> Signature:
        """Sign `message` for `purpose` at (`height`, `round`, `step`), or refuse (§5).

        Preconditions: height >= 1, 0 <= round < 2**31, step in 1..3 (proposal, prevote,
        precommit), else SignerError "signer.bad_request". Raises SignerError
        "signer.regression" if (height, round, step) is below the stored one and
        "signer.conflict" if it equals it with different sign bytes; the same request again
        returns the stored signature (checked against this key, else "signer.state_invalid").
        The new state is saved before the signature is returned; a failed save raises what
        the store raises and releases nothing. Raises CryptoError "crypto.bad_domain" /
        "crypto.bad_message" for a bad purpose or message.
        """
        _check_request(height, round, step)
        sign_bytes_hash = sha256(signing_bytes(purpose, self._chain_id, message))
        last = self._state
        request = (height, round, int(step))
        if last is not None and request <= last.hrs:
            fields = {"height": height, "round": round, "step": int(step), "last_height": last.height, "last_round": last.round, "last_step": last.step}
            if request < last.hrs:
                raise SignerError(
                    f"refusing to sign at height {height} round {round} step {int(step)}: already signed at height "
                    f"{last.height} round {last.round} step {last.step}",
                    code="signer.regression",
                    **fields,
                )
            if sign_bytes_hash != last.sign_bytes_hash:
                raise SignerError(
                    f"refusing to sign different bytes at height {height} round {round} step {int(step)}, where this "
                    "validator already signed (double signing)",
                    code="signer.conflict",
                    **fields,
                )
            try:
                self._key.public_key.verify(purpose, self._chain_id, message, last.signature)
            except CryptoError as exc:
                raise SignerError(
                    "the stored signature does not verify with this validator's key; the state file was altered",
                    code="signer.state_invalid",
                    field="signature",
                ) from exc
            return last.signature
        signature = self._key.sign(purpose, self._chain_id, message)
        state = SignerState(self.key_id, self._chain_id, height, round, int(step), sign_bytes_hash, signature)
        self._store.save(state)
        self._state = state
        return signature


def _check_request(height: object, round_: object, step: object) -> None:
    for name, value, low, high in (("height", height, 1, MAX_HEIGHT), ("round", round_, 0, MAX_ROUND - 1), ("step", step, STEPS[0], STEPS[-1])):
        if not isinstance(value, int) or isinstance(value, bool):
            raise SignerError(f"{name} must be an integer, got {type(value).__name__}", code="signer.bad_request", field=name)
        if not low <= value <= high:
            raise SignerError(f"{name} must be in {low}..{high}, got {value}", code="signer.bad_request", field=name)
