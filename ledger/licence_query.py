"""Licence reads for an answer: a record's public metadata, and licences found by the indexes
(docs/spec/domain.md §8.2, §9.5).

`describe_licence` says what a partner or a window clerk may be told about a licence at a time:
its type and name, id and version, issuer (USCC, name, region), an enterprise holder's USCC,
dates, validity, status at that time (lapsed derived) with its reason and last update, versions
and commitment. `search_licences` finds the latest versions of licences by an enterprise
holder's USCC, issuer, type, status or commitment deadline, a page at a time, over the §8.1
indexes of a ChainView.

A natural person is never searchable and never described: no name, ID number or commitment is
accepted as a filter, and the metadata of a person's licence says only that its holder is a
person. Reads go through a reader or a ChainView only; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from ledger.calendar import day_of, format_date, parse_date
from ledger.errors import LedgerError, ValidationError
from ledger.governance import read_ltype, read_org
from ledger.ids import LICENCE_ID_PREFIX, validate_type_code, validate_uscc
from ledger.kv import KVReader
from ledger.licences import Status, is_lapsed, is_overdue, read_licence, record_id, status_at
from ledger.pages import DEFAULT_LIMIT, check_limit, collect, start_after
from ledger.verify import STATUS_NAMES, UNPROVEN_CODES

if TYPE_CHECKING:
    from ledger.view import ChainView

#: §8.2: the statuses a search may ask for (`lapsed` is derived at `at_time`).
SEARCH_STATUSES = tuple(s.value for s in Status)


def describe_licence(reader: KVReader, record: Mapping[str, object], at_time: int) -> dict[str, object]:
    """The public metadata of licence `record` at `at_time` (ms) (§9.5): canonical-encodable,
    with nothing of a person holder but its kind. The type's and issuer's names come from
    `ltype/<type>` and `org/<issuer>` in `reader`; null when the reader cannot tell them (a proof
    bundle without them).

    Precondition: `record` is a stored licence record (read_licence). Raises what the reader
    raises for a damaged store."""
    parsed = record_id(record)
    ltype = _optional(read_ltype, reader, parsed.type)
    org = _optional(read_org, reader, parsed.issuer)
    holder: Mapping[str, object] = record["holder"]  # type: ignore[assignment]
    status = status_at(record, at_time)
    commitment: Mapping[str, object] | None = record["commitment"]  # type: ignore[assignment]
    day = format_date(day_of(at_time))
    return {
        "id": parsed.text,
        "version": parsed.version,
        "type": {"code": parsed.type, "name": None if ltype is None else ltype["name"]},
        "issuer": {"uscc": parsed.issuer, "name": None if org is None else org["name"], "region": record["region"]},
        "holder": {"kind": "enterprise", "uscc": holder["uscc"]} if holder["kind"] == "enterprise" else {"kind": "person"},
        "issue_date": record["issue_date"],
        "validity": {"valid_from": record["valid_from"], "valid_until": record["valid_until"], "in_force": not is_lapsed(record, at_time)},
        "status": {"code": status.value, "name": STATUS_NAMES[status], "reason": record["reason"], "updated_at": record["updated_at"]},
        "supersedes": record["supersedes"],
        "superseded_by": record["superseded_by"],
        "commitment": None if commitment is None else {
            "state": commitment["state"], "deadline": commitment["deadline"], "overdue": is_overdue(record, day),
        },
        "issued_at": record["issued_at"],
        "at_time": at_time,
    }


def search_licences(
    view: ChainView, *, holder_uscc: str | None = None, issuer: str | None = None, type: str | None = None,
    status: str | None = None, commitment_due_before: str | None = None, at_time: int | None = None,
    after: str | None = None, limit: int = DEFAULT_LIMIT,
) -> tuple[list[dict[str, object]], str | None]:
    """Latest versions of licences matching every filter given, as `describe_licence` items at
    `at_time` (default: the tip's block time), a page at a time (§8.2): the items and the cursor
    of the next page (None: no more). A page may hold fewer than `limit` items while the cursor
    is not None (it examined its budget of index entries).

    `holder_uscc` is an enterprise's USCC (persons are never searchable); `issuer` a USCC;
    `type` a type code; `status` one of SEARCH_STATUSES (`lapsed` and `valid` judged at
    `at_time`, the others stored); `commitment_due_before` a date: pending commitments with a
    deadline before it. Raises ValidationError "ids.bad_uscc" (field `holder_uscc`, without
    repeating the text, or `issuer`), "ids.bad_type_code", "query.bad_status",
    "validation.date", "validation.type" (`at_time`), "query.limit", "query.bad_cursor"."""
    filters = _Filters.check(holder_uscc, issuer, type, status, commitment_due_before, at_time, view)
    limit = check_limit(limit)
    prefix, entries = filters.primary(view, after)
    state = _Memo(view.state())

    def accept(key: bytes, _: bytes) -> dict[str, object] | None:
        licence_id = key.rsplit(b"/", 1)[1].decode("ascii")
        record = read_licence(state, licence_id)
        if record is None or not filters.matches(record):
            return None
        return describe_licence(state, record, filters.at_time)

    return collect(entries, accept, limit)


class _Filters:
    """The checked filters of a search and how to walk them (§8.2)."""

    def __init__(self, holder: str | None, issuer: str | None, type: str | None, status: str | None, deadline: str | None, at_time: int) -> None:
        self.holder, self.issuer, self.type, self.status, self.deadline, self.at_time = holder, issuer, type, status, deadline, at_time

    @classmethod
    def check(
        cls, holder: object, issuer: object, type: object, status: object, deadline: object, at_time: object, view: ChainView,
    ) -> _Filters:
        if holder is not None:
            try:
                validate_uscc(holder, "holder_uscc")
            except ValidationError:
                raise ValidationError(
                    "holder_uscc is not a valid USCC (18 characters of GB 32100 with their check character); persons are never"
                    " searchable: find a person's licence by its id or by the document", code="ids.bad_uscc", field="holder_uscc",
                ) from None
        if issuer is not None:
            validate_uscc(issuer, "issuer")
        if type is not None:
            validate_type_code(type, "type")
        if status is not None and status not in SEARCH_STATUSES:
            raise ValidationError(f"status must be one of {', '.join(SEARCH_STATUSES)}", code="query.bad_status", field="status")
        if deadline is not None:
            parse_date(deadline, "commitment_due_before")
        if at_time is None:
            at_time = view.tip.time
        if isinstance(at_time, bool) or not isinstance(at_time, int):
            raise ValidationError("at_time must be an integer time in ms", code="validation.type", field="at_time")
        return cls(holder, issuer, type, status, deadline, at_time)  # type: ignore[arg-type]

    def primary(self, view: ChainView, after: str | None) -> tuple[bytes, Iterator[tuple[bytes, bytes]]]:
        """The index prefix walked and its entries from the cursor on: the holder's entries, else
        the deadline entries before the date, else the issuer's, else the type's, else every
        licence by issuer. A type (and an issuer after it) narrows the prefix by the id's form."""
        ids = LICENCE_ID_PREFIX
        if self.type is not None:
            ids += self.type + "." + (self.issuer + "." if self.issuer is not None else "")
        if self.holder is not None:
            prefix = f"holder/{self.holder}/{ids}".encode("ascii")
        elif self.deadline is not None:
            prefix = b"deadline/"
            entries = view.iterate_index(prefix, start_after(prefix, after))
            return prefix, _before(entries, len(prefix), self.deadline)
        elif self.issuer is not None:
            prefix = f"issuer/{self.issuer}/{ids if self.type is not None else ''}".encode("ascii")
        elif self.type is not None:
            prefix = f"type/{self.type}/{ids}".encode("ascii")
        else:
            prefix = b"issuer/"
        return prefix, view.iterate_index(prefix, start_after(prefix, after))

    def matches(self, record: Mapping[str, object]) -> bool:
        parsed = record_id(record)
        holder: Mapping[str, object] = record["holder"]  # type: ignore[assignment]
        if self.holder is not None and holder.get("uscc") != self.holder:
            return False
        if (self.issuer is not None and parsed.issuer != self.issuer) or (self.type is not None and parsed.type != self.type):
            return False
        if self.status is not None and status_at(record, self.at_time).value != self.status:
            return False
        if self.deadline is not None:
            commitment: Mapping[str, object] | None = record["commitment"]  # type: ignore[assignment]
            if commitment is None or commitment["state"] != "pending" or commitment["deadline"] >= self.deadline:  # type: ignore[operator]
                return False
        return True


def _before(entries: Iterator[tuple[bytes, bytes]], cut: int, day: str) -> Iterator[tuple[bytes, bytes]]:
    """`deadline/<date>/<id>` entries while their date is before `day` (key order is date order)."""
    limit = day.encode("ascii")
    for key, value in entries:
        if key[cut:cut + 10] >= limit:
            return
        yield key, value


class _Memo:
    """A reader that remembers the organisation and type records it read, for one search: the
    items of a page share them (and a remote reader pays one round trip a key)."""

    _KEPT = (b"org/", b"ltype/")

    def __init__(self, reader: KVReader) -> None:
        self._reader = reader
        self._seen: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if not key.startswith(self._KEPT):
            return self._reader.get(key)
        if key not in self._seen:
            self._seen[key] = self._reader.get(key)
        return self._seen[key]


def _optional(read: Callable[[KVReader, str], dict[str, object] | None], reader: KVReader, key: str) -> dict[str, object] | None:
    try:
        return read(reader, key)
    except LedgerError as exc:
        if exc.code in UNPROVEN_CODES:
            return None
        raise
