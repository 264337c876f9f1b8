"""Real node processes for the end-to-end tests: a devnet started through node.devnet (the same
`prepare_devnet`, `start_nodes`, `wait_ready`, `stop_nodes` as `eledger devnet`), the PIDs it
started, and what their logs say.

Only the PIDs started here are ever signalled; every wait is bounded; `tails()` gives the last
lines of each node's output for a failure's report (tests/e2e/conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import TypeVar

from node.devnet import Devnet, DevnetError, DevnetNode, check_ports_free, prepare_devnet, random_port_base, start_nodes, stop_nodes, wait_ready

READY_S = 120.0
STOP_S = 20.0
SETTLE_S = 60.0
LOG_LINES = 20
#: The logs of a node's home: the node's and its API process's JSON lines, and their raw output
#: (stderr, where an uncaught traceback would land).
JSON_LOGS = ("node.log", "api.log")
RAW_OUTPUT = ("node.out", "api.out")

T = TypeVar("T")


@dataclass
class Cluster:
    """A devnet and the node processes this test module started, by name."""

    devnet: Devnet
    procs: dict[str, Popen[bytes]] = field(default_factory=dict)

    @property
    def nodes(self) -> tuple[DevnetNode, ...]:
        return self.devnet.nodes

    def start(self, names: list[str] | None = None) -> None:
        """Start the named nodes (default: all) and wait until every node answers its status."""
        self.procs.update(start_nodes(self.devnet, only=names))
        wait_ready(self.devnet, self.procs, READY_S)

    def stop(self, names: list[str] | None = None) -> dict[str, int]:
        """SIGTERM the named nodes this cluster started (default: all); their exit codes
        (SIGKILL after STOP_S)."""
        chosen = {name: proc for name, proc in self.procs.items() if names is None or name in names}
        codes = stop_nodes(chosen, grace_s=STOP_S)
        for name in chosen:
            del self.procs[name]
        return codes

    def statuses(self) -> list[dict]:
        out = []
        for n in self.nodes:
            with self.devnet.client(n) as client:
                out.append(client.status())
        return out

    def settle(self, *, at_least: int = 0, timeout_s: float = SETTLE_S) -> list[dict]:
        """Statuses of every node once all report one height >= `at_least` and one state root."""

        def agreed() -> list[dict] | None:
            statuses = self.statuses()
            same = len({s["height"] for s in statuses}) == 1 and len({s["state_root"] for s in statuses}) == 1
            return statuses if same and statuses[0]["height"] >= at_least else None

        return wait_for(agreed, timeout_s, lambda: f"the nodes did not agree on a height >= {at_least}: {[(s['node'], s['height']) for s in self.statuses()]}")

    def log_lines(self, node: DevnetNode, name: str) -> list[dict]:
        """The JSON lines of HOME/`name` (node.log or api.log); none if it does not exist."""
        try:
            text = (node.home / name).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def errors_logged(self) -> list[str]:
        """Every line at ERROR or above in any node's node.log and api.log, every line that
        carries a traceback, and any traceback in their raw output: what a healthy run never
        writes."""
        found = []
        for n in self.nodes:
            for name in JSON_LOGS:
                for line in self.log_lines(n, name):
                    if line.get("level") in ("error", "critical") or "error" in line:
                        found.append(f"{n.name} {name}: {json.dumps(line, ensure_ascii=False)[:600]}")
            for name in RAW_OUTPUT:
                try:
                    text = (n.home / name).read_text(encoding="utf-8", errors="replace")
                except FileNotFoundError:
                    continue
                if "Traceback" in text:
                    found.append(f"{n.name} {name}: a traceback: ...{text[text.index('Traceback'):][:600]}")
        return found

    def tails(self) -> str:
        out = []
        for n in self.nodes:
            proc = self.procs.get(n.name)
            state = "running" if proc is not None and proc.poll() is None else f"exit {proc.returncode if proc else '-'}"
            for name in RAW_OUTPUT:
                try:
                    lines = (n.home / name).read_text(errors="replace").splitlines()[-LOG_LINES:]
                except OSError as exc:
                    lines = [f"({exc})"]
                out.append(f"--- {n.name} ({state}), last lines of {n.home / name}")
                out.extend(lines)
        return "\n".join(out)


def wait_for(probe: Callable[[], T | None], timeout_s: float, describe: Callable[[], str] | str, interval_s: float = 0.2) -> T:
    """The first value of `probe()` that is not None (or False), polled every `interval_s`;
    AssertionError with `describe` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"within {timeout_s:g} s: {describe() if callable(describe) else describe}")
        time.sleep(interval_s)


@contextlib.contextmanager
def running_devnet(directory: Path, nodes: int, **options: object) -> Iterator[Cluster]:
    """A devnet of `nodes` validators in `directory` on random free ports (`options` go to
    `prepare_devnet`: timeouts, status_interval_ms, api_limits, http_limits), started and
    answering; every node it started is stopped at the end (SIGTERM, then SIGKILL)."""
    rng = random.Random()
    for _ in range(20):
        base = random_port_base(rng)
        devnet = prepare_devnet(directory, nodes, p2p_base=base, api_base=base + 10, **options)  # type: ignore[arg-type]
        try:
            check_ports_free(devnet)
            break
        except DevnetError:
            continue
    cluster = Cluster(devnet)
    try:
        try:
            cluster.start()
        except BaseException:
            print(cluster.tails())
            raise
        yield cluster
    finally:
        stop_nodes(cluster.procs, grace_s=STOP_S)
