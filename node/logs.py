"""Structured logs of a node process: one JSON object per line, to HOME/node.log and stderr.

Every line carries the time, level, logger, message, the node's name and its consensus
position (height, round, step) at the moment of logging, plus the fields a caller passed as
`extra={"fields": {...}}`. Loggers of other packages (the transport, the HTTP server) go through the
same handlers. This module never formats a key: callers pass heights, hashes and codes, and
binary values are written as hex.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import orjson

#: (height, round, step) of the node when a line is written.
Position = Callable[[], tuple[int, int, str]]


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with the node's name and position."""

    def __init__(self, node: str, position: Position) -> None:
        super().__init__()
        self.node = node
        self.position = position

    def format(self, record: logging.LogRecord) -> str:
        height, round_, step = self.position()
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "node": self.node,
            "height": height,
            "round": round_,
            "step": step,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for name, value in fields.items():
                line.setdefault(name, value.hex() if isinstance(value, bytes) else value)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode("utf-8")


def configure_logging(path: Path, node: str, position: Position, *, level: int = logging.INFO) -> list[logging.Handler]:
    """Send every logger's records at `level` and above to `path` (appended) and to stderr, as
    JSON lines. Replaces the root logger's handlers; returns the new ones (close them at exit).
    Raises OSError if `path` cannot be opened."""
    formatter = JsonFormatter(node, position)
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8"), logging.StreamHandler(sys.stderr)]
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    return handlers
