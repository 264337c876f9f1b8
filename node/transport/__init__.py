"""Peer transport of a node: frames over mutually authenticated TLS 1.3 (consensus.md §9).

The only package of the node that touches sockets. Nothing here interprets a message.
"""

from node.transport.frames import MAX_FRAME, FrameError, encode_frame, read_frame, write_frame
from node.transport.peers import (
    Backoff,
    PeerError,
    PeerInfo,
    PeerPolicy,
    PeerStats,
    read_genesis_roots,
)
from node.transport.transport import Transport

__all__ = [
    "MAX_FRAME",
    "Backoff",
    "FrameError",
    "PeerError",
    "PeerInfo",
    "PeerPolicy",
    "PeerStats",
    "Transport",
    "encode_frame",
    "read_frame",
    "read_genesis_roots",
    "write_frame",
]
