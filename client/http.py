"""The HTTP client of a node's API (docs/spec/api.md): what the command line, the devnet seeding
and scripts use to talk to a node.

`ApiClient(url, cert=, key=, ca=)` speaks HTTP, or HTTPS with mutual TLS (pki.md §7: TLS 1.3,
the node verified against the CA file given, the caller's role certificate presented). Every
error answer becomes a `ProblemError` with the problem's code, detail and field (api.md §3);
anything else that goes wrong is a `ClientError`. A request is sent again only when the spec
says it may be: after the `Retry-After` of a 429 or 503 (api.md §3.3), or when the connection
could not be made (the request never left), each a bounded number of times. A request that
was sent and got no answer is never repeated here: it may have been acted on.

Never reads or writes files but the credentials it is given; never logs key material.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from client.errors import ClientError, ProblemError
from ledger.encoding import b64decode, b64encode
from ledger.errors import LedgerError
from ledger.tx import Tx

#: api.md §2.1: the longest commit wait a node grants.
MAX_COMMIT_WAIT_S = 60.0
#: api.md §2.4 / §5: transactions and bytes in one batch request.
MAX_BATCH_TXS = 1000
MAX_BATCH_BYTES = 8 << 20
#: api.md §2.15: the header of a bundle answer carrying a recorded caller's receipt.
RECEIPT_HEADER = "Eledger-Receipt"
#: How much longer than the commit wait the client waits for the answer to arrive.
ANSWER_MARGIN_S = 15.0
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Retry:
    """How often one request is tried (`attempts`, the first included); the wait after a failed
    connection (`backoff_s`, doubled each time up to `max_backoff_s`); the longest `Retry-After`
    honoured (`max_wait_s`: a node asking for a longer pause gets its answer raised at once)."""

    attempts: int = 5
    backoff_s: float = 0.25
    max_backoff_s: float = 4.0
    max_wait_s: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff_s < 0 or self.max_backoff_s < 0 or self.max_wait_s < 0:
            raise ValueError("attempts must be at least 1 and the waits non-negative")



@dataclass(frozen=True)
class Submitted:
    """The outcome of one submitted transaction (api.md §2.1, §2.4): `status` is "accepted"
    (in the mempool), "committed" (with `height` and `index`), "timeout" (admitted, not committed
    within the wait: it stays in the mempool) or "rejected" (not admitted; `tx_id` is None when
    the node could not read the entry). `error` is the problem of a timeout or a rejection."""

    tx_id: bytes | None
    status: str
    height: int | None = None
    index: int | None = None
    error: ProblemError | None = None


@dataclass(frozen=True)
class FetchedBundle:
    """A proof bundle as served (`raw`, canonical bytes) and, for a recorded caller, the receipt
    of the use record (canonical bytes, None otherwise)."""

    raw: bytes
    receipt: bytes | None


@dataclass(frozen=True)
class Purpose:
    """The purpose of use a partner or staff caller states (domain.md §10.1): the service item's
    code and name (事项编码 / 事项名称) and the business serial number (业务流水号)."""

    item_code: str
    item_name: str
    serial: str

    def to_json(self) -> dict[str, str]:
        return {"item_code": self.item_code, "item_name": self.item_name, "serial": self.serial}


def tls_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """A TLS 1.3 client context (pki.md §7) that verifies the node against the CA certificates
    in `ca` (PEM, one or more) and its host name, and presents `cert` / `key` when given.

    Raises ClientError "client.credentials" naming the file that cannot be used."""
    if (cert is None) != (key is None):
        raise ClientError("a client certificate needs its private key and a key its certificate; give both or neither", code="client.credentials")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    try:
        context.load_verify_locations(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise ClientError(f"the CA file {ca} cannot be used to verify the node: {_reason(exc)}", code="client.credentials", path=str(ca)) from exc
    if cert is not None and key is not None:
        try:
            context.load_cert_chain(certfile=str(cert), keyfile=str(key))
        except (OSError, ssl.SSLError) as exc:
            raise ClientError(f"the client certificate {cert} with key {key} cannot be used: {_reason(exc)}", code="client.credentials", path=str(cert)) from exc
    return context


class ApiClient:
    """A client of one node's API at `url` (`http://host:port` or `https://host:port`).

    With https, `ca` (required) is the CA certificate file the node's certificate must chain to
    (its region's CA, pki.md §7), and `cert` / `key` the caller's role certificate and private
    key (optional: without them the caller is anonymous and reaches only public routes). Over
    plain http no certificate can be presented and they are not used. `timeout` bounds each
    request that does not wait for a commit; `transport` replaces the network (tests); `sleep`
    is how retries wait. Thread-safe; close it (or use it as a context manager) when done.

    Raises ClientError "client.bad_url" for a URL that is not http(s)://host[:port][/prefix] and
    "client.credentials" as `tls_context`. Its requests raise ProblemError (the node's refusal)
    and ClientError "client.unreachable", "client.timeout", "client.tls" (the handshake failed:
    never retried), "client.bad_answer"."""

    def __init__(
        self, url: str, *, cert: Path | None = None, key: Path | None = None, ca: Path | None = None, timeout: float = 30.0,
        retry: Retry = Retry(), transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ClientError(f"API URL {url!r} must be http://HOST[:PORT] or https://HOST[:PORT]", code="client.bad_url", url=url)
        self.url = url.rstrip("/")
        self.ca = ca
        self._unpresented = cert is not None and parts.scheme == "http"
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        verify: ssl.SSLContext | bool = False
        if parts.scheme == "https":
            if ca is None:
                raise ClientError(
                    f"{url} is HTTPS: give the CA certificate of the node's region (--ca, or `ca` in the profile) to verify the node",
                    code="client.credentials", url=url,
                )
            verify = tls_context(Path(ca), None if cert is None else Path(cert), None if key is None else Path(key))
        self._http = httpx.Client(
            base_url=self.url, verify=verify, transport=transport, follow_redirects=False,
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)), headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """GET /v1/status (api.md §2.2)."""
        return self._json("GET", "/v1/status")

    def block(self, height: int) -> dict[str, Any]:
        """GET /v1/blocks/{height} (api.md §2.3): `{"block", "commit", "hash", "height"}`."""
        return self._json("GET", f"/v1/blocks/{int(height)}")

    def header(self, height: int) -> dict[str, Any]:
        """GET /v1/headers/{height} (api.md §2.7): `{"commit", "hash", "header", "height"}`."""
        return self._json("GET", f"/v1/headers/{int(height)}")

    def consistency(self, from_size: int, to_size: int | None = None) -> dict[str, Any]:
        """GET /v1/log/consistency (api.md §2.6): that the log at `to_size` (default: the tip's)
        extends the log at `from_size`."""
        return self._json("GET", "/v1/log/consistency", params=_params(**{"from": from_size, "to": to_size}))

    def seal(self, seal_id: str) -> dict[str, Any]:
        """GET /v1/seals/{seal_id} (api.md §2.8): the seal record and its owner."""
        return self._json("GET", f"/v1/seals/{_segment(seal_id)}")

    def get_json(self, path: str, **params: object) -> dict[str, Any]:
        """GET `path` (e.g. "/v1/licence-types", the registry reads of api.md §2.10) with the
        query `params` given (None values left out); the answer's JSON object."""
        return self._json("GET", path, params=_params(**params))

    def ready(self) -> dict[str, Any]:
        """GET /readyz (api.md §7), asked once (a probe is not retried): `{"status": "ready",
        "height", "block_time", "block_age_ms"}`, or the ProblemError (503) saying why not."""
        return _object(self._request("GET", "/readyz", retry=Retry(attempts=1)))

    def metrics(self) -> str:
        """GET /metrics (api.md §8): the Prometheus text exposition."""
        return self._request("GET", "/metrics").text

    # -- transactions --------------------------------------------------------------------------

    def submit(self, tx: Tx, *, wait: bool = True, timeout_s: float = 10.0) -> Submitted:
        """POST /v1/transactions (api.md §2.1): "accepted", or with `wait` "committed" or
        "timeout" (the 504 of §3.5: the tx stays in the mempool). Raises the ProblemError that
        refused the transaction (it is then not in the mempool)."""
        params = _wait_params(wait, timeout_s)
        try:
            response = self._request("POST", "/v1/transactions", params=params, content=tx.to_bytes(), timeout=_answer_timeout(self.timeout, wait, timeout_s))
        except ProblemError as exc:
            if exc.code == "api.commit_timeout":
                return Submitted(tx.id, "timeout", error=exc)
            raise
        return _submitted(_object(response), "answer")

    def submit_batch(self, txs: Sequence[Tx], *, wait: bool = True, timeout_s: float = 10.0) -> list[Submitted]:
        """POST /v1/transactions/batch (api.md §2.4): one Submitted per transaction, in order.
        1..MAX_BATCH_TXS transactions of at most MAX_BATCH_BYTES in all. Raises the ProblemError
        that refused the whole batch (nothing was admitted then), ClientError
        "client.bad_answer" for an answer that does not give one result per transaction."""
        if not 1 <= len(txs) <= MAX_BATCH_TXS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_TXS} transactions, not {len(txs)}")
        content = b'{"txs":[' + b",".join(tx.to_bytes() for tx in txs) + b"]}"
        response = self._request(
            "POST", "/v1/transactions/batch", params=_wait_params(wait, timeout_s), content=content,
            timeout=_answer_timeout(self.timeout, wait, timeout_s),
        )
        results = _object(response).get("results")
        if not isinstance(results, list) or len(results) != len(txs):
            raise ClientError(f"the batch answer has no results for the {len(txs)} transactions sent", code="client.bad_answer")
        return [_submitted(entry, f"results[{i}]") for i, entry in enumerate(results)]

    def transaction(self, tx_id: bytes) -> dict[str, Any]:
        """GET /v1/transactions/{id} (api.md §2.5): pending, committed (with its place and inclusion proof) or
        unknown."""
        return self._json("GET", f"/v1/transactions/{b64encode(tx_id)}")

    # -- licences ------------------------------------------------------------------------------

    def verify(
        self, *, licence_id: str | None = None, document: Mapping[str, object] | None = None, qr: str | None = None,
        purpose: Purpose | None = None, asking_region: str | None = None, at_time: int | None = None,
    ) -> dict[str, Any]:
        """POST /v1/verify (api.md §2.11): the verdict on a licence named by exactly one of `licence_id`, the
        holder's `document` (its JSON object) or a `qr` payload, for `asking_region` (default:
        the caller's) at `at_time` (ms; default: the latest block's time). `purpose` is required
        of partner and staff callers, whose request is recorded and answered with a receipt."""
        presented = [name for name, value in (("licence_id", licence_id), ("document", document), ("qr", qr)) if value is not None]
        if len(presented) != 1:
            raise ValueError(f"name the licence exactly one way (licence_id, document or qr), not {presented or 'none'}")
        body: dict[str, object] = {}
        if licence_id is not None:
            body["licence_id"] = licence_id
        if document is not None:
            body["document"] = dict(document)
        if qr is not None:
            body["qr"] = qr
        if purpose is not None:
            body["purpose"] = purpose.to_json()
        if asking_region is not None:
            body["asking_region"] = asking_region
        if at_time is not None:
            body["at_time"] = at_time
        return self._json("POST", "/v1/verify", content=orjson.dumps(body))

    def licence(self, licence_id: str, *, version: int | None = None) -> dict[str, Any]:
        """GET /v1/licences/{id} (api.md §2.12): `{"record", "licence", "as_of"}` of the latest version, or of
        `version`."""
        return self._json("GET", f"/v1/licences/{_segment(licence_id)}", params=_params(version=version))

    def history(self, licence_id: str, *, after: str | None = None, limit: int | None = None) -> dict[str, Any]:
        """GET /v1/licences/{id}/history (api.md §2.13): a page (`items`, `next_cursor`) of every version and
        status change (追溯), oldest first; `after` is the previous page's cursor."""
        return self._json("GET", f"/v1/licences/{_segment(licence_id)}/history", params=_params(after=after, limit=limit))

    def licences(
        self, *, holder_uscc: str | None = None, issuer: str | None = None, type: str | None = None, status: str | None = None,
        commitment_due_before: str | None = None, after: str | None = None, limit: int | None = None,
    ) -> dict[str, Any]:
        """GET /v1/licences?... (api.md §2.14): a page of the licences matching the filters."""
        return self._json("GET", "/v1/licences", params=_params(
            holder_uscc=holder_uscc, issuer=issuer, type=type, status=status, commitment_due_before=commitment_due_before, after=after, limit=limit,
        ))

    def bundle(self, licence_id: str, region: str | None = None, *, height: int | None = None, purpose: Purpose | None = None) -> FetchedBundle:
        """GET /v1/licences/{id}/bundle (api.md §2.15): the proof bundle for `region` (default: the caller's) at
        `height` (default: the tip), its canonical bytes exactly as served (what `eledger prove`
        writes for the same height). A partner or staff caller states `purpose` and gets the
        receipt of its use record (header Eledger-Receipt)."""
        params = _params(region=region, height=height)
        if purpose is not None:
            params.update(purpose.to_json())
        response = self._request("GET", f"/v1/licences/{_segment(licence_id)}/bundle", params=params)
        header = response.headers.get(RECEIPT_HEADER)
        try:
            receipt = None if header is None else b64decode(header)
        except LedgerError as exc:
            raise ClientError(f"the {RECEIPT_HEADER} header is not base64url", code="client.bad_answer") from exc
        return FetchedBundle(response.content, receipt)

    def uses(self, licence_id: str, *, after: str | None = None, limit: int | None = None) -> dict[str, Any]:
        """GET /v1/licences/{id}/uses (api.md §2.16): a page of where the licence was used (用证留痕), for its
        department, its region's administrators and auditors."""
        return self._json("GET", f"/v1/licences/{_segment(licence_id)}/uses", params=_params(after=after, limit=limit))

    def holder_uses(
        self, licence_id: str, *, document: Mapping[str, object] | None = None, qr: str | None = None, after: str | None = None, limit: int | None = None,
    ) -> dict[str, Any]:
        """POST /v1/licences/{id}/uses (api.md §2.16): the same page for a holder, who shows the licence's
        current `document` or its `qr` payload (exactly one)."""
        if (document is None) == (qr is None):
            raise ValueError("show the document or the QR payload, exactly one")
        body = {"document": dict(document)} if document is not None else {"qr": qr}
        return self._json("POST", f"/v1/licences/{_segment(licence_id)}/uses", params=_params(after=after, limit=limit), content=orjson.dumps(body))

    def use(self, use_id: str) -> dict[str, Any]:
        """GET /v1/uses/{node}:{seq} (api.md §2.18): the committed use record and its place."""
        return self._json("GET", f"/v1/uses/{_segment(use_id)}")

    def committed_receipt(self, receipt: bytes) -> bytes:
        """POST /v1/receipts/committed (api.md §2.17): the receipt (canonical bytes, either form) with its place
        and proof, as canonical bytes (receipts.md §2). Raises ProblemError
        "receipt.not_committed" (404, `retry_after` set) while its record is not committed."""
        response = self._request("POST", "/v1/receipts/committed", content=receipt)
        return response.content

    # -- the exchange --------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return _object(self._request(method, path, **kwargs))

    def _request(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, content: bytes | None = None, timeout: float | None = None,
        retry: Retry | None = None,
    ) -> httpx.Response:
        """One request, retried as the module docstring says (by `retry`, default the client's);
        the 2xx answer or a raise."""
        headers = {"Content-Type": "application/json"} if content is not None else None
        retry = retry if retry is not None else self.retry
        backoff = retry.backoff_s
        for attempt in range(1, retry.attempts + 1):
            last = attempt == retry.attempts
            try:
                response = self._http.request(
                    method, path, params=params, content=content, headers=headers,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                tls = _tls_failure(exc)
                if tls is not None:
                    raise ClientError(
                        f"TLS with {self.url} failed: {tls}; is {self.ca} the CA of the node's region, and is your certificate from a CA of the genesis?",
                        code="client.tls", url=self.url,
                    ) from exc
                if last:
                    raise ClientError(f"cannot connect to {self.url} ({attempt} {_tries(attempt)}): {_reason(exc)}", code="client.unreachable", url=self.url) from exc
                self._sleep(backoff)
                backoff = min(backoff * 2, retry.max_backoff_s)
                continue
            except httpx.TimeoutException as exc:
                raise ClientError(f"{method} {path}: no answer from {self.url} in time; the request may have been acted on", code="client.timeout", url=self.url) from exc
            except httpx.TransportError as exc:
                raise ClientError(f"{method} {path}: the connection to {self.url} failed after the request was sent ({_reason(exc)}); it may have been acted on", code="client.unreachable", url=self.url) from exc
            if response.is_success:
                return response
            problem = _problem(response, attempt, self._hint)
            wait = problem.fields["retry_after"]
            if problem.retryable and not last and wait is not None and wait <= retry.max_wait_s:
                self._sleep(wait)
                continue
            raise problem
        raise AssertionError("unreachable")  # the loop returns or raises

    def _hint(self, code: str) -> str | None:
        """What to add to a problem with `code` that this client can explain."""
        if self._unpresented and code == "auth.certificate_required":
            return f"a certificate was given, but over {self.url} (plain http) none can be presented: use the node's https:// URL"
        return None


def _wait_params(wait: bool, timeout_s: float) -> dict[str, str]:
    if not wait:
        return {}
    if not 0 <= timeout_s <= MAX_COMMIT_WAIT_S:
        raise ValueError(f"a commit wait is 0 to {MAX_COMMIT_WAIT_S:g} s, not {timeout_s}")
    return {"wait": "commit", "timeout": format(round(timeout_s, 3), "g")}


def _answer_timeout(timeout: float, wait: bool, timeout_s: float) -> float | None:
    return max(timeout, timeout_s + ANSWER_MARGIN_S) if wait else None


def _params(**values: object) -> dict[str, str]:
    return {name: str(value) for name, value in values.items() if value is not None}


def _segment(text: str) -> str:
    return quote(text, safe=":")


def _object(response: httpx.Response) -> dict[str, Any]:
    body = _parse_json(response)
    if not isinstance(body, dict):
        request = response.request
        raise ClientError(f"{request.method} {request.url.path} answered {response.status_code} with JSON that is not an object", code="client.bad_answer", status=response.status_code)
    return body


def _submitted(entry: object, where: str) -> Submitted:
    """A Submitted from an answer of §2.1 or an entry of §2.4's `results`."""
    if not isinstance(entry, dict) or entry.get("status") not in ("accepted", "committed", "timeout", "rejected"):
        raise ClientError(f"{where} is not a submission result", code="client.bad_answer")
    raw_id = entry.get("tx_id")
    try:
        tx_id = None if raw_id is None else _b64(raw_id)
    except ValueError as exc:
        raise ClientError(f"{where}.tx_id is not base64url", code="client.bad_answer") from exc
    error = entry.get("error")
    problem = None
    if isinstance(error, dict):
        status = error.get("status")
        problem = ProblemError(status if isinstance(status, int) else 0, error)
    height, index = entry.get("height"), entry.get("index")
    return Submitted(tx_id, entry["status"], height if isinstance(height, int) else None, index if isinstance(index, int) else None, problem)


def _b64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    try:
        return b64decode(text)
    except LedgerError as exc:
        raise ValueError(str(exc)) from exc


def _parse_json(response: httpx.Response) -> object:
    media = response.headers.get("content-type", "").split(";")[0].strip()
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        shown = response.content[:120].decode("utf-8", "replace")
        raise ClientError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code} ({media or 'no content type'}) that is not JSON: {shown!r}",
            code="client.bad_answer", status=response.status_code,
        ) from exc


def _problem(response: httpx.Response, attempt: int, hint: Callable[[str], str | None]) -> ProblemError:
    """The ProblemError of an error answer (api.md §3), its Retry-After read for 429 / 503."""
    try:
        body = _parse_json(response)
    except ClientError:
        body = None
    members: Mapping[str, object] = body if isinstance(body, dict) else {
        "code": f"api.http_{response.status_code}",
        "detail": f"HTTP {response.status_code} {response.reason_phrase} without a problem body",
    }
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    code = members.get("code")
    return ProblemError(response.status_code, members, retry_after=retry_after, attempt=attempt, hint=hint(code) if isinstance(code, str) else None)


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110 §10.2.3: delay-seconds or an
    HTTP-date, against `now`); None when absent or unreadable. api.md §3.3 gives every 429 and
    503 one; an answer without it is not retried (the node did not say when)."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now())


def _tls_failure(exc: BaseException) -> str | None:
    """The ssl error behind a failed connection, if that is why it failed (retrying will not help)."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLError):
            return getattr(cause, "verify_message", None) or getattr(cause, "reason", None) or str(cause)
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _tries(n: int) -> str:
    return "try" if n == 1 else "tries"
