"""Verify batches of signatures on every core, for replaying many blocks (audit, block sync).

A block's transaction signatures are independent of each other, so they can be checked in
worker processes while the caller goes on executing. `SignaturePool.submit` returns a future
whose `result()` is None or raises the CryptoError of the first bad item (with its `index`).
With `workers <= 1` everything is verified in the calling process, synchronously.
Never used on a proposer's path, where each transaction needs its answer at once.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from ledger.crypto.keys import PublicKey, verify_many
from ledger.crypto.suites import Signature

Item = tuple[PublicKey, str, str, bytes, Signature]


class SignaturePool:
    """A pool of `workers` processes verifying batches of signatures."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor = (
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) if workers > 1 else None
        )

    def submit(self, items: Sequence[Item]) -> Future[None]:
        """Verify `items`; the future raises CryptoError for the first bad one (field `index`)."""
        if self._executor is None or len(items) < 64:
            done: Future[None] = Future()
            try:
                verify_many(items)
                done.set_result(None)
            except Exception as exc:  # delivered through the future, as from a worker
                done.set_exception(exc)
            return done
        chunk = -(-len(items) // self.workers)
        parts = [self._executor.submit(_verify_part, list(items[i : i + chunk]), i) for i in range(0, len(items), chunk)]
        return _all_of(parts)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> SignaturePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _verify_part(items: list[Item], offset: int) -> None:
    from ledger.errors import CryptoError

    try:
        verify_many(items)
    except CryptoError as exc:
        index = offset + int(exc.fields.get("index", 0))  # type: ignore[call-overload]
        fields = {k: v for k, v in exc.fields.items() if k != "index"}
        raise CryptoError(str(exc), code=exc.code, index=index, **fields) from None


def _all_of(parts: list[Future[None]]) -> Future[None]:
    """A future that completes when all `parts` have, failing with the lowest-index failure."""
    combined: Future[None] = Future()
    remaining = [len(parts)]

    def finished(_: Future[None]) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            for part in parts:  # in order: the first failing part holds the lowest index
                if part.exception() is not None:
                    combined.set_exception(part.exception())  # type: ignore[arg-type]
                    return
            combined.set_result(None)

    for part in parts:
        part.add_done_callback(finished)
    return combined
