import pytest

from ledger.crypto import PrivateKey
from ledger.crypto.pool import SignaturePool
from ledger.errors import CryptoError


def items(n, bad=()):
    key = PrivateKey.generate()
    out = []
    for i in range(n):
        msg = b"message %d" % i
        sig = key.sign("tx", "test-chain", b"other" if i in bad else msg)
        out.append((key.public_key, "tx", "test-chain", msg, sig))
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_accepts_a_good_batch(workers):
    with SignaturePool(workers) as pool:
        assert pool.submit(items(150)).result() is None


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("bad", [(0,), (149,), (80, 20)])
def test_pool_reports_the_lowest_bad_index(workers, bad):
    with SignaturePool(workers) as pool:
        with pytest.raises(CryptoError) as err:
            pool.submit(items(150, bad)).result()
    assert err.value.index == min(bad) and err.value.code == "crypto.bad_signature"
