"""The API process's worker threads: where routes run what may block (reads of the ledger that
cross the gateway to the node, verdicts, bundles), never on the event loop (DESIGN §8a).

One bounded pool; `in_worker(fn, *args)` awaits `fn(*args)` run there. A plain executor costs
about 85 µs a hop where starlette's run_in_threadpool (anyio's limiter and cancel scopes) costs
about 135 µs, which matters on the routes a partner calls hundreds of times a second. The pool
bounds how much of that work runs at once; requests beyond it wait for a thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: Threads for blocking work: enough to overlap gateway round trips, few enough that they do not
#: thrash one core.
WORKERS = 16
_POOL = ThreadPoolExecutor(WORKERS, thread_name_prefix="api-worker")


async def in_worker(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` run in a worker thread (with the caller's context variables), awaited."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_POOL, functools.partial(context.run, fn, *args))
