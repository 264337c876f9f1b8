"""node.service: the commit waiters behind POST /v1/transactions?wait=commit, and the API socket."""

from __future__ import annotations

import asyncio
import socket

import pytest

from api.service import SubmitResult, SubmitStatus
from ledger.errors import LedgerError
from node.errors import NodeError
from node.service import CommitWaiters, bind_socket

TX = b"\x07" * 32
COMMITTED = SubmitResult(TX, SubmitStatus.COMMITTED, 5, 2)


def test_every_waiter_of_a_transaction_gets_its_commit_once():
    async def main():
        waiters = CommitWaiters()
        first, second, other = waiters.wait(TX), waiters.wait(TX), waiters.wait(b"\x08" * 32)
        waiters.settle(TX, COMMITTED)
        waiters.settle(TX, SubmitResult(TX, SubmitStatus.COMMITTED, 9, 0))  # nobody waits any more
        return await first, await second, other.done()

    assert asyncio.run(main()) == (COMMITTED, COMMITTED, False)


def test_a_forgotten_waiter_is_not_settled_and_an_error_is_raised_to_the_others():
    async def main():
        waiters = CommitWaiters()
        gone, kept = waiters.wait(TX), waiters.wait(TX)
        waiters.forget(TX, gone)
        waiters.settle(TX, LedgerError("dropped", code="mempool.dropped"))
        with pytest.raises(LedgerError) as info:
            await kept
        return gone.done(), info.value.code

    assert asyncio.run(main()) == (False, "mempool.dropped")


def test_fail_all_answers_every_waiter_when_the_node_stops():
    async def main():
        waiters = CommitWaiters()
        futures = [waiters.wait(bytes([i]) * 32) for i in range(3)]
        waiters.fail_all(NodeError("stopping", code="node.stopping"))
        return [f.exception().code for f in futures]

    assert asyncio.run(main()) == ["node.stopping"] * 3


def test_bind_socket_names_the_busy_address():
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(NodeError) as info:
            bind_socket("127.0.0.1", port, "api")
    assert info.value.code == "node.port_busy" and info.value.fields["field"] == "api_port" and f"127.0.0.1:{port}" in str(info.value)
