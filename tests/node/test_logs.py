"""node.logs: one JSON object per line with the node's name and consensus position."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from node.logs import JsonFormatter, configure_logging


def record(message: str, *, fields: dict | None = None, exc_info=None) -> logging.LogRecord:
    rec = logging.LogRecord("eledger.node", logging.INFO, __file__, 1, message, (), exc_info)
    if fields is not None:
        rec.fields = fields
    return rec


def test_a_line_carries_the_node_position_and_fields_with_bytes_as_hex():
    line = json.loads(JsonFormatter("beijing-1", lambda: (7, 2, "prevote")).format(record("committed", fields={"hash": b"\x01\xff", "txs": 3})))
    assert {k: line[k] for k in ("node", "height", "round", "step", "message", "level", "logger", "hash", "txs")} == {
        "node": "beijing-1", "height": 7, "round": 2, "step": "prevote", "message": "committed", "level": "info",
        "logger": "eledger.node", "hash": "01ff", "txs": 3,
    }
    assert line["time"].endswith("+00:00")


def test_fields_never_overwrite_the_standard_members():
    line = json.loads(JsonFormatter("n", lambda: (1, 0, "propose")).format(record("m", fields={"height": 99, "node": "other"})))
    assert (line["height"], line["node"]) == (1, "n")


def test_an_exception_is_one_member_of_the_same_line():
    try:
        raise ValueError("boom")
    except ValueError:
        text = JsonFormatter("n", lambda: (1, 0, "propose")).format(record("failed", exc_info=sys.exc_info()))
    assert "\n" not in text and "ValueError: boom" in json.loads(text)["error"]


@pytest.fixture
def restore_root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_configure_logging_appends_json_lines_to_the_file(tmp_path, restore_root_logging, capsys):
    path = tmp_path / "node.log"
    configure_logging(path, "hebei-1", lambda: (3, 0, "precommit"))
    logging.getLogger("some.library").warning("peer %s refused", "x")
    logging.getLogger("some.library").debug("not at info level")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(l["logger"], l["message"], l["node"], l["height"]) for l in lines] == [("some.library", "peer x refused", "hebei-1", 3)]
