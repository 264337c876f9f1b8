"""What the HTTP API needs from a node: the `NodeService` protocol (docs/spec/api.md §4).

A node's API process implements it over the gateway to its node (node/gateway/service.py); tests
implement it over a LocalNetwork (tests/api/service.py). The API depends only on this protocol, never on a
concrete node, so that `api -> node -> ledger` stays one-way and the routes stay testable.
This module must never import node/ or do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from ledger.errors import LedgerError
from ledger.genesis import Genesis
from ledger.tx import Tx
from ledger.view import ChainView


class SubmitStatus(str, Enum):
    ACCEPTED = "accepted"  # admitted to the mempool; not waited for
    COMMITTED = "committed"  # in a committed block at (height, index)
    TIMEOUT = "timeout"  # admitted, but not committed within the wait; still in the mempool


@dataclass(frozen=True)
class SubmitResult:
    """The outcome of `NodeService.submit`. `height` and `index` are set exactly when committed.

    Raises ValueError when they are not (a service breaking the protocol)."""

    tx_id: bytes
    status: SubmitStatus
    height: int | None = None
    index: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", SubmitStatus(self.status))
        located = self.height is not None and self.index is not None
        unlocated = self.height is None and self.index is None
        if (self.status is SubmitStatus.COMMITTED and not located) or (self.status is not SubmitStatus.COMMITTED and not unlocated):
            raise ValueError(f"a {self.status.value} result has height {self.height} and index {self.index}")


@dataclass(frozen=True)
class Distribution:
    """Observations counted by bucket, as a node reports them (api.md §8): `counts[i]` those at
    most `bounds[i]` and above `bounds[i - 1]`, `counts[-1]` those above every bound, `total`
    their sum; in seconds. Raises ValueError unless there is one count more than bounds."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    total: float

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.bounds) + 1:
            raise ValueError(f"{len(self.bounds)} bounds need {len(self.bounds) + 1} counts, not {len(self.counts)}")


@dataclass(frozen=True)
class NodeReport:
    """What the node last told about itself (api.md §7 readiness, §8 metrics), without asking it
    again: `reachable` (the API can reach its node), `started` (it announced its chain),
    `syncing`, the position (`height`, `round`), the last block's time in ms (None before the
    node announced it), the mempool, the peers (connected of configured), the transactions it
    admitted (`admitted`: (source, count)) and refused (`refused`: (source, code, count)) since
    it started, and the distributions of block intervals and commit latencies (None when the
    node reports none)."""

    reachable: bool
    started: bool
    syncing: bool = False
    height: int = 0
    round: int = 0
    block_time: int | None = None
    mempool_txs: int = 0
    mempool_bytes: int = 0
    peers_connected: int = 0
    peers: int = 0
    admitted: tuple[tuple[str, int], ...] = ()
    refused: tuple[tuple[str, str, int], ...] = ()
    block_interval: Distribution | None = None
    commit_latency: Distribution | None = None


class NodeService(Protocol):
    """The node as the API sees it (docs/spec/api.md §4). `view` and the reads through it may
    block (in a node's API process they cross the gateway to the node): routes call them from a
    worker thread, never on the event loop. The async methods never block the loop."""

    genesis: Genesis
    node: str  # this node's name (its validator name)
    region: str  # this node's region

    def view(self) -> ChainView:
        """The chain as of the last committed height this service knows, read from a snapshot
        that later commits do not change. Cheap to make; make one per request."""
        ...

    async def status(self) -> dict[str, object]:
        """The node's status with exactly the members of api.schemas.NodeStatus: chain_id,
        node, region, height, tip_hash, time, state_root, log_size, validators (name, region,
        key_id, power), peers (name, region, connected), mempool (size, bytes), evidence,
        syncing. Binary members may be bytes (rendered as base64url)."""
        ...

    async def submit(self, tx: Tx, *, wait: bool, timeout_s: float) -> SubmitResult:
        """Admit `tx` to the mempool (docs/spec/consensus.md §7) and, with `wait`, await its
        commit for at most `timeout_s` seconds (0 <= timeout_s <= 60).

        Returns ACCEPTED (not `wait`), COMMITTED with height and index, or TIMEOUT (the tx stays
        in the mempool). Raises the LedgerError that refused the tx: "mempool.too_large",
        "mempool.duplicate", "tx.replay", "mempool.full", or execution's "tx.*" / domain codes."""
        ...

    async def submit_many(self, txs: list[Tx], *, wait: bool, timeout_s: float) -> list[SubmitResult | LedgerError]:
        """`submit` for each of `txs` in order, each admitted or refused on its own (a tx that
        repeats an earlier one of the batch is refused "mempool.duplicate"); with `wait`, await
        the commits of all admitted ones together for at most `timeout_s` seconds.

        Returns one entry per tx, in order: a SubmitResult as `submit` returns it, or the
        LedgerError that refused it (also "mempool.dropped" or "node.stopping" when an admitted
        tx is answered so while waited for). Raises only errors that are not LedgerErrors."""
        ...

    async def pending(self, tx_id: bytes) -> bool:
        """Whether this node's mempool holds the transaction `tx_id` now (admitted, not yet
        committed nor dropped). Any tip the node committed before answering is visible to
        `view()` once this returns (api.md §2.5 relies on it)."""
        ...

    def report(self) -> NodeReport:
        """The node's last report about itself (readiness, metrics). Never blocks and never
        asks the node: it is what the node last sent (every status interval)."""
        ...

    async def record_uses(self, records: list[dict[str, object]]) -> list[dict[str, object]]:
        """Record uses of licences (domain.md §10): the node gives each record its `node` and
        `seq`, journals them durably, and returns their receipts (docs/spec/receipts.md) signed
        by its validator key, in order. Raises the LedgerError that refused them."""
        ...
