"""The one exception base of the `client` package's network side, and the problem a node answers.

`ClientError` is what this machine could not do: reach the node, read its answer, load the
caller's credentials or profile. `ProblemError` is what the node said: an RFC 9457 problem
(docs/spec/api.md §3) with its stable `code`, `status`, `detail`, `field` and any extension
members. Both are LedgerErrors, so a command prints `code: message` the same way for all.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.errors import LedgerError

#: api.md §3.1: the members every problem has; the others are extensions (`tx_id`, ...).
PROBLEM_MEMBERS = ("type", "title", "status", "detail", "code", "field")


class ClientError(LedgerError):
    """This client could not complete a request. Codes: "client.unreachable" (no connection,
    after the retries allowed), "client.timeout" (sent, no answer in time), "client.bad_answer"
    (the answer is not what the API specifies), "client.bad_url", "client.credentials" (a
    certificate, key or CA file cannot be used), and the "profile.*" codes of client.profile."""

    code = "client.error"


class ProblemError(ClientError):
    """The node refused the request with a problem (api.md §3): `status` (HTTP), `code`,
    `detail`, `field` (None when no member is at fault), `members` (every member of the body,
    extensions included), `retry_after` (seconds, from the answer's Retry-After header, else
    None: a 429 or 503 is retried after it; a 404 `receipt.not_committed` says when to ask again) and
    `attempt` (1 for the first try; more when the request was retried before this answer) and
    `hint` (what this client knows that the node could not: e.g. that over http:// it could not
    present the certificate it was given)."""

    def __init__(self, status: int, members: Mapping[str, object], *, retry_after: float | None = None, attempt: int = 1, hint: str | None = None) -> None:
        code = members.get("code")
        code = code if isinstance(code, str) and code else f"api.http_{status}"
        detail = members.get("detail")
        detail = detail if isinstance(detail, str) else f"HTTP {status}"
        field = members.get("field")
        super().__init__(
            detail, code=code, status=status, detail=detail, field=field if isinstance(field, str) else None,
            members=dict(members), retry_after=retry_after, attempt=attempt, hint=hint,
        )

    @property
    def retryable(self) -> bool:
        """Whether api.md §3.3 says the same request may be sent again later (429, 503)."""
        return self.fields["status"] in (429, 503)

    def describe(self) -> str:
        """`code: detail (field F)`, for people."""
        field, hint = self.fields["field"], self.fields["hint"]
        return f"{self.code}: {self.fields['detail']}" + (f" (field {field})" if field else "") + (f"; {hint}" if hint else "")
