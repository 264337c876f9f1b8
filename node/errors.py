"""Errors of the `node` package: one base, `NodeError`, under the ledger's `LedgerError`.

Every error carries a stable machine-readable `code` ("consensus.old_height") and the fields
that explain it, so the runtime can count what it drops per peer (docs/spec/consensus.md §2)
and the API can map errors to HTTP answers. Malformed or badly signed messages raise the
ledger's `ValidationError` with "message.*" codes (node.consensus.messages); the classes here
are for what is not a property of a message alone. Other node modules may define their own
subclasses of `LedgerError` in their own files; nothing here may import from `node`.
"""

from __future__ import annotations

from ledger.errors import LedgerError


class NodeError(LedgerError):
    """Base of the errors raised by `node` modules (code "node.*" or the module's prefix)."""

    code = "node.error"


class ConsensusError(NodeError):
    """The consensus state machine did not keep an input, or was used against its rules.

    Codes: "consensus.old_height" (a message for a height below the current one: answer it
    from the store), "consensus.future_height" (beyond the next height: this node may be
    behind, §8), "consensus.future_round" (a round beyond `round + MAX_FUTURE_ROUNDS`, §3),
    "consensus.not_validator" (a message from a key outside the validator set),
    "consensus.unknown_event" (a programming error of the caller).
    """

    code = "consensus.error"


class AppError(NodeError):
    """The application behind consensus (node.app.ChainApp) was asked something it cannot
    answer, such as the validator set of a height too far from its tip ("app.height")."""

    code = "app.error"
