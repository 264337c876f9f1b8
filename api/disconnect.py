"""A client that goes away before its answer ends its request quietly (docs/spec/api.md §3.6).

When the connection closes before the answer is complete (the client left, or the HTTP server
closed it for one of its limits), the app learns it as an exception: Starlette's
`ClientDisconnect` while a route reads the body, or the OSError that the server's `send` raises
once the connection is gone (ASGI HTTP spec 2.4) while the answer is sent. Neither is a failure
of the node, but without this middleware both reach the error handler of last resort, which logs
a traceback at ERROR and tries to answer 500 to no one. `ClientGoneMiddleware` ends such a
request without an answer and marks its scope (`client_gone`), so that the metrics count it with
status 499 (nginx's "client closed request"); the HTTP server logs its one INFO line.

It swallows only those two kinds, and only after the app was told that the client is gone (an
`http.disconnect` before the answer was complete, or a `send` that failed): any other exception,
or one raised while the client is still there, goes on to the error handlers. Never logs, never
answers, reads nothing of the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import ClientDisconnect

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: The scope member set on a request whose client went away before its answer.
CLIENT_GONE = "eledger.client_gone"
#: The status the metrics give such a request (it got no answer; nginx's "client closed request").
CLIENT_GONE_STATUS = 499


def client_gone(scope: Scope) -> bool:
    """Whether the request of `scope` ended because its client went away (set by the middleware)."""
    return bool(scope.get(CLIENT_GONE))


class ClientGoneMiddleware:
    """Ends a request whose client went away without an error (see the module docstring)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gone = False
        answered = False

        async def receiving() -> MutableMapping[str, Any]:
            nonlocal gone
            message = await receive()
            if message["type"] == "http.disconnect" and not answered:
                gone = True
            return message

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal gone, answered
            try:
                await send(message)
            except OSError:
                gone = True
                raise
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True

        try:
            await self.app(scope, receiving, sending)
        except (ClientDisconnect, OSError):
            if not gone:
                raise
            scope[CLIENT_GONE] = True
