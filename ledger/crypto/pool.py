"""Verify batches of signatures on every core, for checking whole blocks (validators, block
sync, audit).

A block's signatures are independent of each other, so they can be checked in worker processes
while the caller goes on executing. `SignaturePool.submit` hands a batch to the worker with the
least work queued and returns at once a `Verification`: `done()` asks without waiting, `result()` waits and returns
None or raises the CryptoError of the first bad item (with its `index`); `combine` joins the
verifications of consecutive batches into one that reports the lowest bad index of all.

The caller's process runs no thread for this: a batch is pickled and written to the worker's
pipe by the caller, and answers are read when the caller asks, so the caller's executing Python
never competes with helper threads for the interpreter lock (measured: such threads cost a
replaying validator about a quarter of its speed). With `workers == 0` everything is verified in
the calling process, synchronously. The caller executes transactions on a core of its own, so on
a machine of n cores the pool to use has n − 1 workers (`workers_beside_caller`): with n workers
the n + 1 busy processes would share n cores and the executing caller, which decides the
pace, would get only n / (n + 1) of one (on 2 cores its execution took ~135 ms of wall time for
~85 ms of CPU per block of 1,000 licences). Never used on a proposer's path, where each
transaction needs its answer at once.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import pickle
import signal
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection

from ledger.crypto.keys import PublicKey, verify_many
from ledger.crypto.suites import Signature
from ledger.errors import CryptoError

Item = tuple[PublicKey, str, str, bytes, Signature]
"""(public key, purpose, chain id, message, signature), as `PublicKey.verify` takes them."""

#: Fewer items than this are verified in the calling process (a worker round trip costs more).
MIN_REMOTE_ITEMS = 64
#: A batch is split over the workers only into parts of at least this many items.
MIN_PART_ITEMS = 128
#: Pipe capacity asked for (Linux), so that the caller can send a whole block without blocking.
PIPE_BYTES = 1 << 20


class Verification:
    """Batches of signatures being verified, in the order of the items they hold."""

    def __init__(self, parts: Sequence[_Part]) -> None:
        self._parts = list(parts)

    def done(self) -> bool:
        """Whether `result()` would return without waiting."""
        return all(part.poll() for part in self._parts)

    def result(self) -> None:
        """Wait for every batch; raise the CryptoError of the first bad item, if any."""
        for part in self._parts:
            part.wait()
        for part in self._parts:
            if part.error is not None:
                raise part.error


def combine(verifications: Sequence[Verification]) -> Verification:
    """One verification of all `verifications`, reporting the failure of the first one in the
    order given (for batches of consecutive items: the lowest index)."""
    return Verification([part for verification in verifications for part in verification._parts])


def workers_beside_caller(cores: int | None = None) -> int:
    """The workers for a caller that executes on a core of its own: `cores` (default: this
    machine's) minus one, at least 0."""
    return max((os.cpu_count() or 1) if cores is None else cores, 1) - 1


class SignaturePool:
    """`workers` processes verifying batches of signatures (0: verify in the calling process).
    Close it (or use it as a context manager) to stop them. Raises ValueError for a negative
    count."""

    def __init__(self, workers: int) -> None:
        if workers < 0:
            raise ValueError(f"a signature pool needs 0 or more workers, got {workers}")
        self.workers = workers
        self._workers: list[_Worker] = []
        for _ in range(workers):
            self._workers.append(_Worker(self._workers))

    def submit(self, items: Sequence[Item], *, offset: int = 0) -> Verification:
        """Verify `items`; a bad one fails the verification with a CryptoError whose field
        `index` is its position in `items` plus `offset` (the position of `items[0]` in the
        caller's whole sequence). Small batches, and all without workers, are verified here."""
        if not self._workers or len(items) < MIN_REMOTE_ITEMS:
            return Verification([_Part.settled(_check(list(items), offset))])
        size = max(MIN_PART_ITEMS, -(-len(items) // len(self._workers)))
        parts = []
        for start in range(0, len(items), size):
            for worker in self._workers:
                worker.receive(wait=False)
            # To the worker with the least work queued: workers may get unequal shares of the cores.
            worker = min(self._workers, key=lambda w: w.queued)
            parts.append(worker.send(list(items[start : start + size]), offset + start))
        return Verification(parts)

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def __enter__(self) -> SignaturePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Part:
    """One batch: settled (error None or a CryptoError) or waiting for its worker's answer."""

    def __init__(self, worker: _Worker | None) -> None:
        self.worker = worker
        self.finished = worker is None
        self.error: CryptoError | None = None

    @classmethod
    def settled(cls, error: CryptoError | None) -> _Part:
        part = cls(None)
        part.error = error
        return part

    def poll(self) -> bool:
        if not self.finished:
            self.worker.receive(wait=False)  # type: ignore[union-attr]
        return self.finished

    def wait(self) -> None:
        while not self.finished:
            self.worker.receive(wait=True)  # type: ignore[union-attr]


class _Worker:
    """One worker process with a pipe for batches and a pipe for answers, served in order."""

    def __init__(self, siblings: Sequence[_Worker]) -> None:
        context = multiprocessing.get_context("fork")
        task_reader, self._tasks = context.Pipe(duplex=False)
        self._answers, answer_writer = context.Pipe(duplex=False)
        for connection in (self._tasks, answer_writer):
            _widen(connection)
        # The child must not keep the caller's ends (its own or its siblings'): a worker then sees
        # the end of its batches when the caller closes them or dies.
        callers_ends = [end for worker in (self, *siblings) for end in (worker._tasks, worker._answers)]
        self._process = context.Process(target=_serve, args=(task_reader, answer_writer, callers_ends), daemon=True)
        self._process.start()
        task_reader.close()
        answer_writer.close()
        self._waiting: deque[tuple[_Part, int]] = deque()
        self.queued = 0  # items sent and not yet answered

    def send(self, items: list[Item], offset: int) -> _Part:
        part = _Part(self)
        try:
            self._tasks.send_bytes(pickle.dumps((items, offset), protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            raise CryptoError(f"a signature worker stopped: {exc!r}", code="crypto.worker_failed") from exc
        self._waiting.append((part, len(items)))
        self.queued += len(items)
        return part

    def receive(self, *, wait: bool) -> None:
        """Settle the batches whose answers have arrived (with `wait`: at least the oldest)."""
        while self._waiting and (wait or self._answers.poll()):
            wait = False
            try:
                answer = pickle.loads(self._answers.recv_bytes())
            except (EOFError, OSError) as exc:
                raise CryptoError(f"a signature worker stopped: {exc!r}", code="crypto.worker_failed") from exc
            part, size = self._waiting.popleft()
            self.queued -= size
            part.error = None if answer is None else _error_of(answer)
            part.finished = True

    def stop(self) -> None:
        self._tasks.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._answers.close()


def _widen(connection: Connection) -> None:
    try:
        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):  # not Linux, or above the system's limit: default size
        pass


def _serve(tasks: Connection, answers: Connection, callers_ends: list[Connection]) -> None:
    """A worker's loop: verify each batch received, answer None or the failure's parts. Ctrl-C
    is the caller's to handle: the worker ends when the caller closes its pipe or exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for end in callers_ends:
        end.close()
    while True:
        try:
            items, offset = pickle.loads(tasks.recv_bytes())
        except EOFError:
            return
        error = _check(items, offset)
        answer = None if error is None else (str(error), error.code, error.fields)
        answers.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


def _check(items: list[Item], offset: int) -> CryptoError | None:
    """None, or the CryptoError of the first bad item with its `index` counted from `offset`."""
    try:
        verify_many(items)
    except CryptoError as exc:
        fields = {k: v for k, v in exc.fields.items() if k != "index"}
        return CryptoError(str(exc), code=exc.code, index=offset + int(exc.fields.get("index", 0)), **fields)  # type: ignore[call-overload]
    return None


def _error_of(answer: tuple[str, str, dict[str, object]]) -> CryptoError:
    message, code, fields = answer
    return CryptoError(message, code=code, **fields)
