"""Tendermint consensus as a sans-I/O state machine (docs/spec/consensus.md §2–§4).

messages: the six network messages and their canonical encoding; events: the state machine's
inputs, outputs and WAL payloads; proposer: weighted round-robin proposer selection; votes:
vote tallies and equivocation; height: what is known about one height; timeouts: §3.3;
ports: the App and Signer it needs; engine: `Consensus.handle(event, now) -> list[Action]`. Nothing in this package reads the
clock, touches the network or writes a file.
"""

from node.consensus.engine import MAX_CLOCK_DRIFT_MS, MAX_FUTURE_ROUNDS, App, Consensus, Signer
from node.consensus.events import (
    Action, Broadcast, Decide, Event, Evidence, ProposalReceived, ScheduleTimeout, Start, TimeoutFired, TxsAvailable,
    VoteReceived, wal_event, wal_record,
)
from node.consensus.messages import (
    MAX_FRAME, PROPOSAL_PURPOSE, VOTE_PURPOSE, BlockResponse, GetBlock, Message, Proposal, Status, Step, TxMessage, Vote,
    decode_message, encode_message,
)
from node.consensus.proposer import proposer_at
from node.consensus.timeouts import Timeouts
from node.consensus.votes import VoteSet

__all__ = [
    "MAX_CLOCK_DRIFT_MS", "MAX_FRAME", "MAX_FUTURE_ROUNDS", "PROPOSAL_PURPOSE", "VOTE_PURPOSE",
    "Action", "App", "BlockResponse", "Broadcast", "Consensus", "Decide", "Event", "Evidence", "GetBlock", "Message",
    "Proposal", "ProposalReceived", "ScheduleTimeout", "Signer", "Start", "Status", "Step", "TimeoutFired", "Timeouts",
    "TxMessage", "TxsAvailable", "Vote", "VoteReceived", "VoteSet", "decode_message", "encode_message", "proposer_at",
    "wal_event", "wal_record",
]
