"""The node's side of its API process: start it, give it the gateway and the listening socket,
restart it when it dies, stop it with the node (docs/node.md "The API process").

The node binds the API's listening socket itself (so a busy port is the node's clear error at
start), makes a socketpair for the gateway, and starts `python -m node.apiproc` with both
descriptors inherited. The child's output goes to HOME/api.out. If the child exits while the node
runs, the gateway closes; the node calls `restart`, which starts a new child after a backoff that
doubles up to a minute (and resets once a child has lived that long). `stop` asks the child to
end (SIGTERM), then kills it after the grace period.

Never signals a process it did not start; never passes a key on the command line.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from node.errors import NodeError

log = logging.getLogger("eledger.node")

#: How long `bind_socket` retries a busy API address: the API process of a node that was killed
#: may hold the listening socket for a moment after its node is gone (it exits when its gateway
#: closes).
BIND_RETRY_S = 5.0
MIN_BACKOFF_S = 0.5
MAX_BACKOFF_S = 60.0
STOP_GRACE_S = 5.0


class ApiProcess:
    """The API child process of the node whose home is `home`, serving on `listen` (a bound,
    listening socket the node keeps). `start()` returns the node's end of a new gateway."""

    def __init__(self, home: Path, listen: socket.socket) -> None:
        self.home = home
        self.listen = listen
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.backoff_s = MIN_BACKOFF_S
        self.restarts = 0

    def start(self) -> socket.socket:
        """Start the child; returns the node's end of its gateway (blocking socket)."""
        node_end, child_end = socket.socketpair()
        node_end.setblocking(True)
        child_end.set_inheritable(True)
        self.listen.set_inheritable(True)
        command = [
            sys.executable, "-m", "node.apiproc", "--home", str(self.home),
            "--channel-fd", str(child_end.fileno()), "--listen-fd", str(self.listen.fileno()),
        ]
        try:
            with open(self.home / "api.out", "ab") as out:
                self.proc = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    pass_fds=(child_end.fileno(), self.listen.fileno()), start_new_session=True,
                )
        except BaseException:
            node_end.close()
            raise
        finally:
            child_end.close()
        self.started_at = time.monotonic()
        log.info("API process started", extra={"fields": {"pid": self.proc.pid}})
        return node_end

    def next_delay(self) -> float:
        """Seconds to wait before restarting a child that just ended (doubling backoff)."""
        if time.monotonic() - self.started_at >= MAX_BACKOFF_S:
            self.backoff_s = MIN_BACKOFF_S
        delay = self.backoff_s
        self.backoff_s = min(self.backoff_s * 2, MAX_BACKOFF_S)
        return delay

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """End the child: SIGTERM, then SIGKILL after `grace_s`. Its exit code (None if none ran)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            return proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()



def bind_socket(host: str, port: int, what: str, *, retry_s: float = 0.0) -> socket.socket:
    """A listening, non-blocking socket on (host, port) for the server of `what`, retrying for
    `retry_s` seconds while the address is busy. Raises NodeError "node.port_busy" (field
    "<what>_port") if it cannot be bound."""
    deadline = time.monotonic() + retry_s
    while True:
        try:
            sock = socket.create_server((host, port))
            break
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise NodeError(f"cannot listen for the {what} on {host}:{port}: {exc.strerror}", code="node.port_busy", field=f"{what}_port") from exc
            time.sleep(0.1)
    sock.setblocking(False)
    return sock
