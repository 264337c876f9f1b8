"""What the consensus state machine needs from outside it: the application and the signer.

`App` is implemented by node.app.ChainApp (a Chain and a mempool); `Signer` by node.signer.Signer
(the double-sign guard of consensus.md §5). The engine calls them synchronously inside
`handle`; neither may call back into the engine. Protocols only: no behaviour here.
"""

from __future__ import annotations

from typing import Protocol

from ledger.block import Block
from ledger.commit import Commit
from ledger.crypto import Signature
from ledger.validators import ValidatorSet


class App(Protocol):
    """The application consensus orders blocks for (node.app.ChainApp over a Chain)."""

    def validators(self, height: int) -> ValidatorSet: ...

    def last_block_time(self) -> int: ...

    def propose(self, height: int, round: int, time: int, proposer: bytes, last_commit: Commit | None) -> Block: ...

    def validate(self, block: Block) -> None: ...

    def has_txs(self) -> bool: ...


class Signer(Protocol):
    """Signs at (height, round, step) or raises a LedgerError (node.signer.Signer, §5)."""

    @property
    def key_id(self) -> bytes: ...

    def sign(self, height: int, round: int, step: int, purpose: str, message: bytes) -> Signature: ...
