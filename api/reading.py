"""Reading one committed height for an answer: the tip's state as a verdict reads it, the `as_of`
member every licence answer carries, query errors named as parameters, and the time of the
answer (docs/spec/api.md §2.11).

`TipState` is the flat state at a view's tip (one lookup a key, no tree walk: state.md §6.3)
with the view's `height`, which `ledger.verify.verify_licence` reports as the verdict's height.
It remembers every key it read for the request it serves, so a verdict and the licence's
metadata read `org/<issuer>` once, and `prefetch` reads many keys in one round trip when the
view's store is remote (the API process reads through the gateway, which has `get_many`).

Runs in a worker thread (its reads may block). The time of day is read only by `NowMs`, from
the app's one clock (`create_app(clock=)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Request

from ledger.encoding import b64encode
from ledger.errors import LedgerError
from ledger.state import FLAT_PREFIX
from ledger.view import ChainView


class TipState:
    """The latest state of `view` (a KVReader) for one request, with `height` = the view's."""

    __slots__ = ("height", "_kv", "_seen")

    def __init__(self, view: ChainView) -> None:
        self.height = view.height
        self._kv = view.kv
        self._seen: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        try:
            return self._seen[key]
        except KeyError:
            value = self._seen[key] = self._kv.get(FLAT_PREFIX + key)
            return value

    def prefetch(self, keys: Iterable[bytes]) -> None:
        """Read `keys` (state keys) now, in one batch where the store can (`get_many`)."""
        wanted = [key for key in dict.fromkeys(keys) if key not in self._seen]
        if not wanted:
            return
        get_many = getattr(self._kv, "get_many", None)
        if get_many is None:
            for key in wanted:
                self._seen[key] = self._kv.get(FLAT_PREFIX + key)
            return
        for key, value in zip(wanted, get_many([FLAT_PREFIX + key for key in wanted])):
            self._seen[key] = value


def as_of(view: ChainView) -> dict[str, object]:
    """`{"height", "block_hash", "state_root", "time"}` of the view's tip."""
    tip = view.tip
    return {"height": tip.height, "block_hash": b64encode(tip.hash), "state_root": b64encode(tip.state_root), "time": tip.time}


def as_parameter(error: LedgerError, where: str, names: Iterable[str]) -> LedgerError:
    """`error` with its `field` named as a parameter (`query.<name>`, `path.<name>`) when it is
    one of `names`, as api.md §1.1 names parameters; otherwise `error` itself."""
    field = error.fields.get("field")
    if not isinstance(field, str) or field not in set(names):
        return error
    renamed = type(error)(str(error), code=error.code, **{**error.fields, "field": f"{where}.{field}"})
    renamed.__cause__ = error.__cause__
    return renamed


def now_ms(request: Request) -> int:
    """The API's current time in ms since the epoch: the app's clock (seconds, api.main)."""
    return round(request.app.state.clock() * 1000)


#: The time a request is answered at (ms): the default `at_time` and a use record's `time`.
NowMs = Annotated[int, Depends(now_ms)]
