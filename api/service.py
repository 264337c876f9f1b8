"""What the HTTP API needs from a node: the `NodeService` protocol (docs/spec/api.md §4).

The node runtime implements it over its chain, mempool, consensus and transport; tests implement
it over a LocalNetwork (tests/api/service.py). The API depends only on this protocol, never on a
concrete node, so that `api -> node -> ledger` stays one-way and the routes stay testable.
This module must never import node/ or do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from ledger.block import Block
from ledger.commit import Commit
from ledger.errors import LedgerError
from ledger.tx import Tx


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


class NodeService(Protocol):
    """The node as the API sees it. Methods run on the API's event loop, so they must not block
    for long; `submit` awaits the commit without blocking."""

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

    def status(self) -> dict[str, object]:
        """The node's status with exactly the members of api.schemas.NodeStatus: chain_id,
        node, region, height, tip_hash, time, state_root, log_size, validators (name, region,
        key_id, power), peers (name, region, connected), mempool (size, bytes), evidence,
        syncing. Binary members may be bytes (rendered as base64url)."""
        ...

    def block(self, height: int) -> Block | None:
        """Committed block `height` (>= 1), or None above the tip."""
        ...

    def commit(self, height: int) -> Commit | None:
        """The commit certificate that committed block `height`, or None above the tip."""
        ...
