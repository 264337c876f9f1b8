"""Profiles: which node a user talks to and as whom, in one small JSON file (docs/client.md
"Profiles"), so that a command names one file instead of four.

    {"api_url": "https://127.0.0.1:8102",
     "certificate": "../pki/tianjin/partners/tianjin-gateway.crt",
     "private_key": "../pki/tianjin/partners/tianjin-gateway.key",
     "ca": "../pki/tianjin/ca.crt",
     "genesis": "../genesis.json"}

`api_url` is required; `certificate` and `private_key` (the caller's role credential) come
together or not at all; `ca` (the CA certificate the node's TLS certificate chains to) is needed
for https; `genesis` (the trusted genesis, for the offline checks of receipts and bundles) is
optional. Paths are relative to the directory of the profile file (or absolute). A profile is
named by `--profile FILE` or, failing that, the `ELEDGER_PROFILE` environment variable.

Reads files; never writes one but in `write_profile`, never reads key material (it names the
key file; the TLS layer reads it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from client.errors import ClientError
from ledger.files import replace_file

PROFILE_ENV = "ELEDGER_PROFILE"
MAX_PROFILE_BYTES = 64 << 10
_PATHS = ("certificate", "private_key", "ca", "genesis")
_MEMBERS = ("api_url", *_PATHS)


class ProfileError(ClientError):
    """A profile cannot be used. Codes: "profile.not_found", "profile.malformed" (not a JSON
    object of strings), "profile.unknown_field", "profile.missing_field", "profile.bad_path" (a
    file it names does not exist); `path` is the profile, `field` the member at fault."""

    code = "profile.error"


@dataclass(frozen=True)
class Profile:
    """A read profile, its paths resolved against the profile's directory."""

    api_url: str
    certificate: Path | None = None
    private_key: Path | None = None
    ca: Path | None = None
    genesis: Path | None = None
    path: Path | None = None  # the file it was read from

    def to_json(self, relative_to: Path) -> dict[str, str]:
        """The file's members, paths relative to the directory `relative_to`."""
        out = {"api_url": self.api_url}
        for name in _PATHS:
            value = getattr(self, name)
            if value is not None:
                out[name] = os.path.relpath(Path(value).resolve(), Path(relative_to).resolve())
        return out


def read_profile(path: Path) -> Profile:
    """Read the profile at `path` and check that every file it names exists.

    Raises ProfileError with the codes of the class, naming the member at fault."""
    path = Path(path)
    try:
        raw = path.read_bytes()[: MAX_PROFILE_BYTES + 1]
    except FileNotFoundError as exc:
        raise ProfileError(f"profile {path} does not exist", code="profile.not_found", path=str(path)) from exc
    except OSError as exc:
        raise ProfileError(f"profile {path} cannot be read: {exc.strerror}", code="profile.not_found", path=str(path)) from exc
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProfileError(f"profile {path} is larger than {MAX_PROFILE_BYTES} bytes; it is not a profile", code="profile.malformed", path=str(path))
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path} is not JSON: {exc}", code="profile.malformed", path=str(path)) from exc
    return profile_from_json(obj, path)


def profile_from_json(obj: object, path: Path) -> Profile:
    """The profile `obj` read from the file `path` (paths resolved against its directory).
    Raises ProfileError as `read_profile`."""
    if not isinstance(obj, dict):
        raise ProfileError(f"profile {path} must be a JSON object {{\"api_url\", \"certificate\", \"private_key\", \"ca\"}}", code="profile.malformed", path=str(path))
    unknown = sorted(set(obj) - set(_MEMBERS))
    if unknown:
        raise ProfileError(
            f"profile {path} has the unknown member {unknown[0]!r}; a profile holds {', '.join(_MEMBERS)}",
            code="profile.unknown_field", path=str(path), field=unknown[0],
        )
    for name, value in obj.items():
        if not isinstance(value, str) or not value:
            raise ProfileError(f"profile {path}: {name} must be a non-empty string", code="profile.malformed", path=str(path), field=name)
    if "api_url" not in obj:
        raise ProfileError(f"profile {path} has no api_url (the node's API, e.g. https://127.0.0.1:8101)", code="profile.missing_field", path=str(path), field="api_url")
    if ("certificate" in obj) != ("private_key" in obj):
        present, absent = ("certificate", "private_key") if "certificate" in obj else ("private_key", "certificate")
        raise ProfileError(f"profile {path} has {present} but no {absent}; give both or neither", code="profile.missing_field", path=str(path), field=absent)
    base = path.parent
    paths: dict[str, Path] = {}
    for name in _PATHS:
        if name in obj:
            resolved = base / obj[name]
            if not resolved.is_file():
                raise ProfileError(
                    f"profile {path}: {name} {obj[name]!r} is not a file (looked for {resolved}); paths are relative to the profile's directory",
                    code="profile.bad_path", path=str(path), field=name,
                )
            paths[name] = resolved
    return Profile(api_url=obj["api_url"], path=path, **paths)


def find_profile(option: Path | None, environ: Mapping[str, str] = os.environ) -> Path | None:
    """The profile file a command uses: `option` (--profile), else $ELEDGER_PROFILE, else None."""
    if option is not None:
        return option
    named = environ.get(PROFILE_ENV)
    return Path(named) if named else None


def write_profile(path: Path, profile: Profile) -> None:
    """Write `profile` to `path` (replaced atomically, mode 0644: it names key files but holds
    no key), its paths relative to `path`'s directory."""
    text = json.dumps(profile.to_json(Path(path).parent), indent=2, ensure_ascii=False) + "\n"
    replace_file(Path(path), text.encode("utf-8"), 0o644)
