"""What a node counts for its operators (docs/spec/api.md §8): transactions admitted and refused,
block intervals and commit latencies. The node sends them, with its height, round, mempool and
peers, in the status event it gives its API process every status interval (node.gateway), and
the API process serves them as Prometheus metrics (api.metrics).

On the consensus loop this costs one increment per admission or commit; `to_event` copies a few
dozen numbers once per status interval. Never reads the clock (times come in as arguments),
never does I/O, never labels a count with text a client chose (codes are the node's own).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence

from ledger.errors import LedgerError

#: Upper bounds (ms) of the buckets of the interval between consecutive blocks' times.
BLOCK_INTERVAL_BOUNDS_MS = (250, 500, 1000, 2000, 3000, 5000, 10_000, 15_000, 30_000, 60_000)
#: Upper bounds (ms) of the buckets of commit latency (block time to this node's commit).
COMMIT_LATENCY_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000)
#: Distinct (source, code) pairs of refusals kept apart; further ones are counted as OTHER_CODE.
MAX_REFUSAL_SERIES = 256
OTHER_CODE = "other"


class Buckets:
    """Observations (ms, integers) counted by bucket: `counts[i]` those at most `bounds[i]` and
    above `bounds[i - 1]`, `counts[-1]` those above every bound; `total` their sum. Negative
    observations (clocks that disagree) count as 0. Raises ValueError for bounds that are not
    strictly increasing positive integers."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[int]) -> None:
        if not bounds or any(not isinstance(b, int) or b <= 0 for b in bounds) or list(bounds) != sorted(set(bounds)):
            raise ValueError(f"bounds must be strictly increasing positive integers, not {bounds!r}")
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0

    def observe(self, value_ms: int) -> None:
        value_ms = max(0, value_ms)
        self.counts[bisect_left(self.bounds, value_ms)] += 1
        self.total += value_ms

    def to_event(self) -> dict[str, object]:
        return {"bounds": list(self.bounds), "counts": list(self.counts), "sum": self.total}


class NodeMetrics:
    """The counters of one node's run (they start at 0 when the node starts)."""

    def __init__(self) -> None:
        self.admitted: Counter[str] = Counter()
        self.refused: Counter[tuple[str, str]] = Counter()
        self.block_interval = Buckets(BLOCK_INTERVAL_BOUNDS_MS)
        self.commit_latency = Buckets(COMMIT_LATENCY_BOUNDS_MS)

    def count_admissions(self, source: str, refusals: Iterable[LedgerError | None]) -> None:
        """Count the outcome of admitting transactions from `source` ("api", "peer", "node"):
        None for each admitted one, else the error that refused it (by its code)."""
        for refusal in refusals:
            if refusal is None:
                self.admitted[source] += 1
                continue
            series = (source, refusal.code)
            if series not in self.refused and len(self.refused) >= MAX_REFUSAL_SERIES:
                series = (source, OTHER_CODE)
            self.refused[series] += 1

    def to_event(self) -> dict[str, object]:
        """The members of the status event these counters contribute (api.md §8)."""
        return {
            "admitted": dict(self.admitted),
            "refused": [[source, code, count] for (source, code), count in sorted(self.refused.items())],
            "block_interval": self.block_interval.to_event(),
            "commit_latency": self.commit_latency.to_event(),
        }
