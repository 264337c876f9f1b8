"""client.submit.Submitter: batches in order, entries sent again only as api.md §2.4 and
consensus.md §7 allow (retry codes after Retry-After, a bounded number of times; a transaction
refused for what the state lacks, once an earlier one of its request committed), and a report
that says what became of every transaction. The node here is a small model of a mempool that
checks each transaction alone against the committed state."""

from __future__ import annotations

import pytest

from client.errors import ClientError, ProblemError
from client.http import Submitted
from client.submit import Submitter, depends_on_state
from tests.ledger.conftest import make_net

NET = make_net()


def txs(n: int) -> list:
    return [NET.anchor(label=f"{i:04d}") for i in range(n)]


def problem(code: str, status: int = 422) -> ProblemError:
    return ProblemError(status, {"code": code, "detail": f"{code} detail", "status": status})


class Mempool:
    """Admits each transaction alone against what is committed when the request arrives;
    commits every admitted one before answering (wait=commit). `needs[a] = b`: a is refused
    "org.unknown" until b is committed. `script[id]` lists codes to refuse an id with first."""

    def __init__(self, needs=None, script=None) -> None:
        self.needs = needs or {}
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.committed: list[bytes] = []
        self.requests: list[list[bytes]] = []

    def submit_batch(self, batch, *, wait, timeout_s):
        self.requests.append([tx.id for tx in batch])
        before = set(self.committed)
        results = []
        for tx in batch:
            scripted = self.script.get(tx.id)
            if scripted:
                code = scripted.pop(0)
                if code == "timeout":
                    results.append(Submitted(tx.id, "timeout", error=problem("api.commit_timeout", 504)))
                else:
                    results.append(Submitted(tx.id, "rejected", error=problem(code, 503 if code in ("mempool.full", "node.stopping") else 409)))
                continue
            if tx.id in before:
                results.append(Submitted(tx.id, "rejected", error=problem("tx.replay", 409)))
            elif self.needs.get(tx.id) is not None and self.needs[tx.id] not in before:
                results.append(Submitted(tx.id, "rejected", error=problem("org.unknown")))
            elif not wait:
                results.append(Submitted(tx.id, "accepted"))
            else:
                self.committed.append(tx.id)
                results.append(Submitted(tx.id, "committed", 1, len(self.committed) - 1))
        return results


def run(node, items, **options):
    slept: list[float] = []
    seen: list = []
    submitter = Submitter(node, sleep=slept.append, progress=seen.extend, **options)
    report = submitter.submit([(f"line {i + 1}", tx) for i, tx in enumerate(items)], total=len(items))
    return report, slept, seen


def test_a_chain_of_dependent_transactions_in_one_batch_commits_in_rounds():
    a, b, c, d = txs(4)
    node = Mempool(needs={b.id: a.id, c.id: b.id})
    report, slept, seen = run(node, [a, b, c, d])
    assert report.ok and report.committed == 4 and slept == []
    assert node.requests == [[a.id, b.id, c.id, d.id], [b.id, c.id], [c.id]]
    assert node.committed == [a.id, d.id, b.id, c.id]
    assert [o.where for o in seen] == ["line 1", "line 4", "line 2", "line 3"]


def test_a_refusal_that_no_earlier_commit_explains_is_final():
    a, b = txs(2)
    node = Mempool(needs={a.id: b.id})  # a needs b, which comes after it
    report, _, _ = run(node, [a, b])
    assert not report.ok and [o.where for o in report.refused] == ["line 1"]
    assert report.refused[0].error.code == "org.unknown" and len(node.requests) == 1


@pytest.mark.parametrize("code", ["validation.type", "tx.bad_signature", "encoding.not_canonical", "mempool.dropped"])
def test_form_refusals_are_never_sent_again(code):
    a, b = txs(2)
    node = Mempool(script={b.id: [code]})
    report, _, _ = run(node, [a, b])
    assert report.committed == 1 and [o.error.code for o in report.refused] == [code] and len(node.requests) == 1


def test_retry_codes_are_sent_again_after_retry_after_and_only_so_often():
    a, b, c = txs(3)
    node = Mempool(script={a.id: ["mempool.full", "node.stopping"], b.id: ["mempool.full"] * 10})
    report, slept, _ = run(node, [a, b, c], entry_attempts=4)
    assert report.committed == 2 and [o.where for o in report.refused] == ["line 2"]
    assert report.refused[0].error.code == "mempool.full"
    assert slept == [1.0, 1.0, 1.0] and len(node.requests) == 4


def test_replays_are_already_committed_and_duplicates_and_timeouts_held():
    a, b, c, d = txs(4)
    node = Mempool(script={b.id: ["mempool.duplicate"], c.id: ["timeout"]})
    node.committed.append(a.id)
    report, _, _ = run(node, [a, b, c, d])
    assert (report.committed, report.already) == (1, 1)
    assert [(o.where, o.status) for o in report.held] == [("line 2", "held"), ("line 3", "held")]
    assert not report.ok and report.refused == [] and len(node.requests) == 1


def test_running_the_same_transactions_again_is_safe():
    items = txs(5)
    node = Mempool()
    first, _, _ = run(node, items)
    again, _, _ = run(node, items)
    assert first.ok and first.committed == 5
    assert again.ok and (again.committed, again.already) == (0, 5)


def test_batches_follow_the_input_order_within_their_bounds():
    items = txs(12)
    node = Mempool()
    report, _, _ = run(node, items, batch_txs=5)
    assert [len(r) for r in node.requests] == [5, 5, 2] and node.committed == [tx.id for tx in items]
    size = len(items[0].to_bytes()) + 1
    node = Mempool()
    run(node, items, batch_bytes=3 * size + 1)
    assert [len(r) for r in node.requests] == [3, 3, 3, 3]


def test_without_waiting_dependent_transactions_are_not_sent_again():
    a, b = txs(2)
    node = Mempool(needs={b.id: a.id})
    report, _, _ = run(node, [a, b], wait=False)
    assert report.accepted == 1 and [o.error.code for o in report.refused] == ["org.unknown"] and len(node.requests) == 1


def test_a_refused_request_stops_the_run_and_counts_what_was_not_sent():
    items = txs(7)

    class Refusing(Mempool):
        def submit_batch(self, batch, *, wait, timeout_s):
            if self.requests:
                raise problem("auth.forbidden", 403)
            return super().submit_batch(batch, wait=wait, timeout_s=timeout_s)

    report, _, _ = run(Refusing(), items, batch_txs=3)
    assert report.committed == 3 and report.unsent == 4 and report.stopped.code == "auth.forbidden" and not report.ok


def test_refusals_are_counted_by_code():
    items = txs(5)
    node = Mempool(script={items[0].id: ["licence.exists"], items[2].id: ["seal.revoked"] * 2, items[4].id: ["licence.exists"] * 2})
    report, _, _ = run(node, items)
    assert report.refused_by_code() == [("licence.exists", 2), ("seal.revoked", 1)]
    assert node.requests[1] == [items[2].id, items[4].id]  # sent once more: an earlier one had committed


def test_which_codes_may_change_with_the_state():
    assert depends_on_state("org.unknown") and depends_on_state("tx.unknown_signer") and depends_on_state("licence.not_found")
    for code in ("validation.range", "tx.replay", "mempool.duplicate", "mempool.full", "api.too_large", "crypto.bad_key"):
        assert not depends_on_state(code)


def test_invalid_options_are_refused():
    with pytest.raises(ValueError):
        Submitter(Mempool(), batch_txs=0)
    with pytest.raises(ValueError):
        Submitter(Mempool(), entry_attempts=0)
    assert issubclass(ProblemError, ClientError)
