"""The signer's double-sign guard (docs/spec/consensus.md §5): refusals, idempotent re-signing,
the durable 0600 state file, and a guard that holds across restarts and SIGKILL."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto import PrivateKey, Signature, signing_bytes, write_private_key
from ledger.encoding import decode, encode
from ledger.hashing import sha256
from node.signer import STATE_FILE_NAME, FileSignerStore, MemorySignerStore, Signer, SignerError, SignerState
from tests.node.children import kill_after_first_line

CHAIN = "eledger-test"
ROOT = Path(__file__).resolve().parents[2]
KEY = PrivateKey.generate()


def message(height: int, round_: int, step: int, variant: str = "a") -> bytes:
    return encode({"height": height, "round": round_, "step": step, "variant": variant})


def purpose(step: int) -> str:
    return "proposal" if step == 1 else "vote"


def sign(signer: Signer, height: int, round_: int, step: int, variant: str = "a") -> Signature:
    return signer.sign(height, round_, step, purpose(step), message(height, round_, step, variant))


@pytest.fixture
def state_path(tmp_path) -> Path:
    return tmp_path / STATE_FILE_NAME


def test_sign_returns_a_signature_that_verifies_and_saves_the_state():
    store = MemorySignerStore()
    signer = Signer(KEY, CHAIN, store)
    signature = sign(signer, 5, 1, 2)
    KEY.public_key.verify("vote", CHAIN, message(5, 1, 2), signature)
    assert store.state == signer.state
    assert store.state.hrs == (5, 1, 2)
    assert store.state.signature == signature
    assert store.state.sign_bytes_hash == sha256(signing_bytes("vote", CHAIN, message(5, 1, 2)))
    assert signer.key_id == KEY.public_key.key_id


@pytest.mark.parametrize("lower", [(4, 9, 3), (5, 0, 3), (5, 1, 1)])
def test_sign_refuses_regression_with_the_fields(lower):
    signer = Signer(KEY, CHAIN, MemorySignerStore())
    sign(signer, 5, 1, 2)
    with pytest.raises(SignerError) as info:
        sign(signer, *lower)
    assert info.value.code == "signer.regression"
    assert (info.value.height, info.value.round, info.value.step) == lower
    assert (info.value.last_height, info.value.last_round, info.value.last_step) == (5, 1, 2)
    assert signer.state.hrs == (5, 1, 2)


def test_sign_refuses_different_bytes_at_the_same_step():
    signer = Signer(KEY, CHAIN, MemorySignerStore())
    sign(signer, 3, 0, 3)
    with pytest.raises(SignerError) as info:
        sign(signer, 3, 0, 3, variant="b")
    assert info.value.code == "signer.conflict"
    # the same message under another purpose is different sign bytes too
    with pytest.raises(SignerError) as info:
        signer.sign(3, 0, 3, "proposal", message(3, 0, 3))
    assert info.value.code == "signer.conflict"


def test_sign_same_request_returns_the_stored_signature_without_saving(state_path):
    with FileSignerStore(state_path) as store:
        signer = Signer(KEY, CHAIN, store)
        first = sign(signer, 2, 0, 1)
        inode = state_path.stat().st_ino
        assert sign(signer, 2, 0, 1) == first
        assert state_path.stat().st_ino == inode  # no new file was written


def test_sign_moves_forward_in_height_round_and_step():
    signer = Signer(KEY, CHAIN, MemorySignerStore())
    for hrs in [(1, 0, 1), (1, 0, 2), (1, 0, 3), (1, 1, 2), (1, 3, 1), (2, 0, 3), (9, 0, 1)]:
        sign(signer, *hrs)
        assert signer.state.hrs == hrs


@pytest.mark.parametrize(
    "height, round_, step, field",
    [(0, 0, 1, "height"), (1, -1, 1, "round"), (1, 1 << 31, 1, "round"), (1, 0, 0, "step"), (1, 0, 4, "step"), (True, 0, 1, "height"), (1, 0, "2", "step")],
)
def test_sign_rejects_bad_requests(height, round_, step, field):
    signer = Signer(KEY, CHAIN, MemorySignerStore())
    with pytest.raises(SignerError) as info:
        signer.sign(height, round_, step, "vote", b"m")
    assert info.value.code == "signer.bad_request"
    assert info.value.field == field
    assert signer.state is None


def test_failed_save_releases_no_signature_and_keeps_the_old_state():
    class FailingStore(MemorySignerStore):
        fail = False

        def save(self, state: SignerState) -> None:
            if self.fail:
                raise SignerError("disk full", code="signer.state_io")
            super().save(state)

    store = FailingStore()
    signer = Signer(KEY, CHAIN, store)
    sign(signer, 1, 0, 1)
    store.fail = True
    with pytest.raises(SignerError) as info:
        sign(signer, 1, 0, 2)
    assert info.value.code == "signer.state_io"
    assert signer.state.hrs == store.state.hrs == (1, 0, 1)
    store.fail = False
    sign(signer, 1, 0, 2, variant="b")  # nothing was released at (1, 0, 2), so this is no conflict
    assert store.state.hrs == (1, 0, 2)


def test_guard_holds_across_a_restart(state_path):
    with FileSignerStore(state_path) as store:
        signed = sign(Signer(KEY, CHAIN, store), 7, 2, 2)
    with FileSignerStore(state_path) as store:
        signer = Signer(KEY, CHAIN, store)
        assert signer.state.hrs == (7, 2, 2)
        for hrs in [(7, 2, 1), (7, 1, 3), (6, 5, 3)]:
            with pytest.raises(SignerError, match="already signed") as info:
                sign(signer, *hrs)
            assert info.value.code == "signer.regression"
        with pytest.raises(SignerError) as info:
            sign(signer, 7, 2, 2, variant="b")
        assert info.value.code == "signer.conflict"
        assert sign(signer, 7, 2, 2) == signed
        sign(signer, 7, 2, 3)
    with FileSignerStore(state_path) as store:
        assert Signer(KEY, CHAIN, store).state.hrs == (7, 2, 3)


def test_memory_store_kept_across_a_simulated_crash_keeps_the_guard():
    store = MemorySignerStore()
    sign(Signer(KEY, CHAIN, store), 4, 0, 3)
    with pytest.raises(SignerError) as info:
        sign(Signer(KEY, CHAIN, store), 4, 0, 2)
    assert info.value.code == "signer.regression"


def test_state_file_has_mode_0600_whatever_the_umask(state_path):
    old = os.umask(0)
    try:
        with FileSignerStore(state_path) as store:
            sign(Signer(KEY, CHAIN, store), 1, 0, 1)
    finally:
        os.umask(old)
    assert state_path.stat().st_mode & 0o777 == 0o600
    assert Path(f"{state_path}.lock").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in state_path.parent.iterdir()) == [STATE_FILE_NAME, f"{STATE_FILE_NAME}.lock"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_load_refuses_a_state_file_others_can_read(state_path, mode):
    with FileSignerStore(state_path) as store:
        sign(Signer(KEY, CHAIN, store), 1, 0, 1)
        state_path.chmod(mode)
        with pytest.raises(SignerError, match="chmod 600") as info:
            store.load()
    assert info.value.code == "signer.state_permissions"
    assert info.value.mode == f"{mode:04o}"


def _saved_object(state_path: Path) -> dict:
    with FileSignerStore(state_path) as store:
        sign(Signer(KEY, CHAIN, store), 3, 1, 2)
    return decode(state_path.read_bytes())


def _write_raw(state_path: Path, data: bytes) -> None:
    state_path.unlink()
    fd = os.open(state_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda obj: encode(obj)[:-1], None),
        (lambda obj: encode(obj) + b" ", None),
        (lambda obj: encode(obj).replace(b'"height":3', b'"height": 3'), None),
        (lambda obj: encode({**obj, "extra": 1}), "signer_state.extra"),
        (lambda obj: encode({k: v for k, v in obj.items() if k != "step"}), "signer_state.step"),
        (lambda obj: encode({**obj, "step": 4}), "signer_state.step"),
        (lambda obj: encode({**obj, "height": 0}), "signer_state.height"),
        (lambda obj: encode({**obj, "round": "1"}), "signer_state.round"),
        (lambda obj: encode({**obj, "sign_bytes_hash": b"\x00" * 31}), "signer_state.sign_bytes_hash"),
        (lambda obj: encode({**obj, "key_id": 7}), "signer_state.key_id"),
        (lambda obj: encode({**obj, "signature": {"suite": "ed25519", "value": "AA"}}), None),
        (lambda obj: encode([obj]), "signer_state"),
        (lambda obj: b"\x00" * 10, None),
    ],
)
def test_load_refuses_a_malformed_state_file_naming_the_field(state_path, mutate, field):
    _write_raw(state_path, mutate(_saved_object(state_path)))
    with FileSignerStore(state_path) as store, pytest.raises(SignerError) as info:
        Signer(KEY, CHAIN, store)
    assert info.value.code == "signer.state_invalid"
    assert str(state_path) in str(info.value)
    if field is not None:
        assert info.value.field == field


def test_load_refuses_an_oversized_symlinked_or_non_regular_state_file(tmp_path, state_path):
    _saved_object(state_path)
    _write_raw(state_path, b" " * 5000)
    with FileSignerStore(state_path) as store, pytest.raises(SignerError, match="larger than") as info:
        store.load()
    assert info.value.code == "signer.state_io"
    target = tmp_path / "elsewhere.json"
    state_path.rename(target)
    state_path.symlink_to(target)
    with FileSignerStore(state_path) as store, pytest.raises(SignerError) as info:
        store.load()
    assert info.value.code == "signer.state_io"
    state_path.unlink()
    state_path.mkdir()
    with FileSignerStore(state_path) as store, pytest.raises(SignerError, match="not a regular file"):
        store.load()


@pytest.mark.parametrize("other_key, other_chain, field", [(True, False, "key_id"), (False, True, "chain_id")])
def test_signer_refuses_a_state_file_of_another_key_or_chain(state_path, other_key, other_chain, field):
    key = PrivateKey.generate() if other_key else KEY
    with FileSignerStore(state_path) as store:
        sign(Signer(key, "other-chain" if other_chain else CHAIN, store), 1, 0, 1)
    with FileSignerStore(state_path) as store, pytest.raises(SignerError) as info:
        Signer(KEY, CHAIN, store)
    assert info.value.code == "signer.state_foreign"
    assert info.value.field == field


def test_replay_refuses_a_stored_signature_that_does_not_verify(state_path):
    with FileSignerStore(state_path) as store:
        sign(Signer(KEY, CHAIN, store), 2, 0, 2)
        state = store.load()
        forged = PrivateKey.generate().sign("vote", CHAIN, message(2, 0, 2))
        store.save(SignerState(state.key_id, state.chain_id, 2, 0, 2, state.sign_bytes_hash, forged))
        with pytest.raises(SignerError) as info:
            sign(Signer(KEY, CHAIN, store), 2, 0, 2)
    assert info.value.code == "signer.state_invalid"


def test_second_store_over_the_same_file_is_refused_until_the_first_is_closed(state_path):
    first = FileSignerStore(state_path)
    with pytest.raises(SignerError, match="in use") as info:
        FileSignerStore(state_path)
    assert info.value.code == "signer.locked"
    first.close()
    FileSignerStore(state_path).close()


def test_store_in_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(SignerError) as info:
        FileSignerStore(tmp_path / "missing" / STATE_FILE_NAME)
    assert info.value.code == "signer.state_io"


_REQUESTS = st.tuples(st.integers(1, 3), st.integers(0, 2), st.integers(1, 3), st.sampled_from("ab"))


@settings(max_examples=200, deadline=None)
@given(st.lists(_REQUESTS, max_size=25))
def test_sign_matches_the_guard_model(requests):
    """Against a literal model of §5: sign iff strictly above the last signed (h, r, s); the
    same bytes at the same step get the same signature; otherwise the matching refusal."""
    signer = Signer(KEY, CHAIN, MemorySignerStore())
    last: tuple[tuple[int, int, int], str, Signature] | None = None
    for height, round_, step, variant in requests:
        hrs = (height, round_, step)
        if last is None or hrs > last[0]:
            last = (hrs, variant, sign(signer, *hrs, variant=variant))
        elif hrs == last[0] and variant == last[1]:
            assert sign(signer, *hrs, variant=variant) == last[2]
        else:
            with pytest.raises(SignerError) as info:
                sign(signer, *hrs, variant=variant)
            assert info.value.code == ("signer.conflict" if hrs == last[0] else "signer.regression")


# --- SIGKILL: the state on disk covers every signature the child printed --------------------

_CHILD = """
import sys
from ledger.crypto import read_private_key
from node.signer import FileSignerStore, Signer
from tests.node.test_signer import message, next_hrs, purpose
key_path, state_path, chain = sys.argv[1:4]
signer = Signer(read_private_key(key_path), chain, FileSignerStore(state_path))
hrs = next_hrs(signer.state.hrs) if signer.state else (1, 0, 1)
while True:
    signature = signer.sign(*hrs, purpose(hrs[2]), message(*hrs))
    print(*hrs, signature.value.hex(), flush=True)
    hrs = next_hrs(hrs)
"""


def next_hrs(hrs: tuple[int, int, int]) -> tuple[int, int, int]:
    """The child's walk: steps 1..3 in rounds 0 and 1 of every height."""
    height, round_, step = hrs
    if step < 3:
        return (height, round_, step + 1)
    return (height, round_ + 1, 1) if round_ < 1 else (height + 1, 0, 1)


def _run_and_kill(key_path: Path, state_path: Path, delay: float) -> tuple[tuple[int, int, int], bytes]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(key_path), str(state_path), CHAIN], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    height, round_, step, value = kill_after_first_line(child, delay).split()
    return (int(height), int(round_), int(step)), bytes.fromhex(value)


def test_sigkill_while_signing_never_loses_a_released_signature(tmp_path, state_path):
    key_path = tmp_path / "validator.pem"
    write_private_key(key_path, KEY)
    rng = random.Random(20260101)
    previous = None
    for _ in range(4):
        printed, value = _run_and_kill(key_path, state_path, rng.uniform(0.0, 0.08))
        assert previous is None or printed > previous  # each child resumed above the last state
        with FileSignerStore(state_path) as store:
            signer = Signer(KEY, CHAIN, store)
            # the child may have saved one more state before it could print it
            assert signer.state.hrs in (printed, next_hrs(printed))
            KEY.public_key.verify(purpose(signer.state.step), CHAIN, message(*signer.state.hrs), signer.state.signature)
            with pytest.raises(SignerError) as info:
                signer.sign(*printed, purpose(printed[2]), message(*printed, variant="b"))
            assert info.value.code in ("signer.conflict", "signer.regression")
            for lower in [(printed[0], 0, 1), (printed[0] - 1, 1, 3)]:
                if lower[0] >= 1 and lower < printed:
                    with pytest.raises(SignerError) as info:
                        signer.sign(*lower, purpose(lower[2]), message(*lower, variant="b"))
                    assert info.value.code == "signer.regression"
            if signer.state.hrs == printed:
                assert sign(signer, *printed).value == value
        previous = printed
