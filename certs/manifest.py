"""The PKI manifest: which certificate and key files exist, and whom they identify (pki.md §5.3).

A manifest lists credentials (region, role, name, certificate path, private key path,
fingerprint, serial, validity, USCC) with paths relative to the PKI directory. It never
contains key material. Reading checks every field; writing is atomic (temporary file, fsync,
rename).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from certs.errors import CertError
from certs.roles import CA_ROLE, Role, check_name, check_region
from ledger.files import replace_file

FORMAT = "eledger-pki-manifest"
VERSION = 1
FILE_NAME = "manifest.json"


@dataclass(frozen=True)
class ManifestEntry:
    """One credential: a certificate and its private key file.

    `role` is a `Role` value or "ca" for a region root; paths are relative to the PKI
    directory (or as given to `certs issue`); `serial` is lower-case hex.
    """

    region: str
    role: str
    name: str
    certificate: str
    private_key: str
    fingerprint: str
    serial: str
    not_before: datetime
    not_after: datetime
    uscc: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON object of this entry (§5.3)."""
        return {
            "region": self.region,
            "role": self.role,
            "name": self.name,
            "certificate": self.certificate,
            "private_key": self.private_key,
            "fingerprint": self.fingerprint,
            "serial": self.serial,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "uscc": self.uscc,
        }

    @classmethod
    def from_dict(cls, data: object) -> ManifestEntry:
        """Parse one entry; raises CertError "cert.malformed" naming the bad field."""
        if not isinstance(data, dict):
            raise _bad("entry is not a JSON object")
        text = {}
        for key in (
            "region",
            "role",
            "name",
            "certificate",
            "private_key",
            "fingerprint",
            "serial",
        ):
            value = data.get(key)
            if not isinstance(value, str) or not value:
                raise _bad(f"entry field {key!r} must be a non-empty string")
            text[key] = value
        uscc = data.get("uscc")
        if uscc is not None and not isinstance(uscc, str):
            raise _bad("entry field 'uscc' must be a string or null")
        try:
            check_region(text["region"])
            check_name(text["name"])
            if text["role"] != CA_ROLE:
                Role(text["role"])
        except (CertError, ValueError) as exc:
            raise _bad(f"entry {text['name']!r}: {exc}") from None
        return cls(
            **text,
            not_before=_parse_time(data.get("not_before"), "not_before"),
            not_after=_parse_time(data.get("not_after"), "not_after"),
            uscc=uscc,
        )


@dataclass(frozen=True)
class Manifest:
    """Every credential of a PKI directory, in a stable order (region, then as created)."""

    entries: tuple[ManifestEntry, ...]

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions present, in entry order, each once."""
        return tuple(dict.fromkeys(e.region for e in self.entries))

    def find(
        self, region: str, role: Role | str, name: str | None = None
    ) -> tuple[ManifestEntry, ...]:
        """Entries of `region` with `role` (a `Role` or "ca"), optionally only `name`."""
        role_text = role.value if isinstance(role, Role) else role
        return tuple(
            e
            for e in self.entries
            if e.region == region and e.role == role_text and (name is None or e.name == name)
        )

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys, two-space indent, trailing newline)."""
        body = {
            "format": FORMAT,
            "version": VERSION,
            "entries": [e.to_dict() for e in self.entries],
        }
        return json.dumps(body, sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse manifest JSON; raises CertError "cert.malformed" naming what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _bad(f"not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise _bad(f"not an {FORMAT} document")
        if data.get("version") != VERSION:
            raise _bad(f"version {data.get('version')!r} is not supported (expected {VERSION})")
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise _bad("'entries' must be a list")
        return cls(tuple(ManifestEntry.from_dict(e) for e in entries))


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Atomically write (or replace) the manifest file at `path`, fsyncing file and directory.

    The file gets mode 0644; OS errors propagate and leave an existing manifest untouched.
    """
    replace_file(path, manifest.to_json().encode(), 0o644)


def read_manifest(path: Path) -> Manifest:
    """Read a manifest file; raises CertError "cert.not_found" or "cert.malformed"."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CertError(
            f"{path} does not exist; run `eledger certs init` first",
            code="cert.not_found",
            path=str(path),
        ) from None
    try:
        return Manifest.from_json(text)
    except CertError as exc:
        raise CertError(f"{path}: {exc}", code="cert.malformed", path=str(path)) from None


def _parse_time(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise _bad(f"entry field {field!r} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _bad(f"entry field {field!r} is not ISO 8601: {value!r}") from None
    if parsed.tzinfo is None:
        raise _bad(f"entry field {field!r} has no time zone: {value!r}")
    return parsed


def _bad(message: str) -> CertError:
    return CertError(f"manifest: {message}", code="cert.malformed")
