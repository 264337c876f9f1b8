import pytest

from ledger.crypto import PrivateKey
from ledger.crypto.pool import SignaturePool, combine, workers_beside_caller
from ledger.errors import CryptoError


def items(n, bad=()):
    key = PrivateKey.generate()
    out = []
    for i in range(n):
        msg = b"message %d" % i
        sig = key.sign("tx", "test-chain", b"other" if i in bad else msg)
        out.append((key.public_key, "tx", "test-chain", msg, sig))
    return out


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_pool_accepts_a_good_batch(workers):
    with SignaturePool(workers) as pool:
        verification = pool.submit(items(150))
        assert verification.result() is None and verification.done()


@pytest.mark.parametrize("workers", [0, 1, 2])
@pytest.mark.parametrize("bad", [(0,), (149,), (80, 20)])
def test_pool_reports_the_lowest_bad_index(workers, bad):
    with SignaturePool(workers) as pool:
        with pytest.raises(CryptoError) as err:
            pool.submit(items(150, bad)).result()
    assert err.value.index == min(bad) and err.value.code == "crypto.bad_signature"


@pytest.mark.parametrize("workers", [1, 3])
def test_combined_batches_report_the_lowest_bad_index_counted_from_their_offsets(workers):
    batch = items(400, bad=(170, 390))
    with SignaturePool(workers) as pool:
        parts = [pool.submit(batch[i : i + 100], offset=i) for i in range(0, 400, 100)]
        with pytest.raises(CryptoError) as err:
            combine(parts).result()
        assert combine(parts[:1]).result() is None  # the batches are settled, and kept apart
        assert pool.submit(items(70)).result() is None  # the workers still serve after a failure
    assert err.value.index == 170


def test_a_closed_pool_has_stopped_its_workers():
    pool = SignaturePool(2)
    processes = [worker._process for worker in pool._workers]
    assert pool.submit(items(100)).result() is None
    pool.close()
    assert all(not process.is_alive() for process in processes)


def test_a_stopped_worker_is_reported_not_waited_for():
    with SignaturePool(2) as pool:
        for worker in pool._workers:
            worker._process.kill()
            worker._process.join()
        with pytest.raises(CryptoError) as err:
            pool.submit(items(100)).result()
    assert err.value.code == "crypto.worker_failed"


def test_a_pool_of_no_workers_verifies_in_the_calling_process():
    with SignaturePool(0) as pool:
        assert pool._workers == []
        verification = pool.submit(items(200, bad=(150,)))
        assert verification.done()
        with pytest.raises(CryptoError) as info:
            verification.result()
    assert info.value.fields["index"] == 150


def test_a_pool_refuses_a_negative_worker_count():
    with pytest.raises(ValueError):
        SignaturePool(-1)


def test_workers_beside_caller_leave_the_executing_process_a_core():
    assert [workers_beside_caller(n) for n in (1, 2, 4)] == [0, 1, 3]
    assert workers_beside_caller(0) == 0
