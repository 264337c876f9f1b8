"""The on-disk PKI: one directory per region with its CA and credentials (docs/spec/pki.md §5.2).

`init_pki` creates region CAs and the demo credentials of a devnet; `issue_credential` adds one
credential from a region directory; `load_roots` and `read_pki_manifest` read them back for the
node, the API and the demo. Each region is built in a hidden temporary directory and renamed
into place, so a crash never leaves half a region. Times come from the caller (`now`); this
module never reads the clock, never overwrites a CA and never prints a private key.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from certs.errors import CertError
from certs.identity import read_ca_region, read_identity
from certs.issue import issue_certificate, issue_root_ca
from certs.keys import (
    fingerprint_certificate,
    generate_key,
    read_certificate,
    read_private_key,
    write_certificate,
    write_private_key,
)
from ledger.files import sync_directory
from certs.manifest import FILE_NAME, Manifest, ManifestEntry, read_manifest, write_manifest
from certs.roles import CA_NAME, CA_ROLE, Role, check_region
from certs.uscc import complete_uscc

DEFAULT_REGIONS = ("beijing", "tianjin", "hebei", "xiongan")
CA_CERT = "ca.crt"
CA_KEY = "ca.key"
#: §5.2: sub-directory of a region directory per role.
ROLE_DIRS: dict[Role, str] = {
    Role.VALIDATOR: "nodes",
    Role.OBSERVER: "nodes",
    Role.ISSUER: "issuers",
    Role.STAFF: "staff",
    Role.PARTNER: "partners",
    Role.REGION_ADMIN: "admins",
    Role.AUDITOR: "auditors",
}
#: §5.2: certificates start this long before `now`, tolerating clock skew between hosts.
BACKDATE = timedelta(minutes=5)
CA_LIFETIME = timedelta(days=3650)
LEAF_LIFETIME = timedelta(days=730)
MAX_VALIDATORS_PER_REGION = 64
#: GB/T 2260 division codes of the demo regions, used in demo USCCs (§5.2).
DIVISION_CODES = {"beijing": "110000", "tianjin": "120000", "hebei": "130000", "xiongan": "133100"}


@dataclass(frozen=True)
class Credential:
    """What `init_pki` creates for one end-entity besides validators (§5.2)."""

    role: Role
    name: str


def demo_credentials(region: str, validators: int) -> tuple[Credential, ...]:
    """The credentials `init_pki` creates in `region`: validators `<region>-1..n`, a department
    `<region>-market-regulation`, staff `<region>-window-1`, partner `<region>-gateway`, admin
    `<region>-admin` and auditor `<region>-auditor`."""
    nodes = tuple(Credential(Role.VALIDATOR, f"{region}-{i}") for i in range(1, validators + 1))
    return nodes + (
        Credential(Role.ISSUER, f"{region}-market-regulation"),
        Credential(Role.STAFF, f"{region}-window-1"),
        Credential(Role.PARTNER, f"{region}-gateway"),
        Credential(Role.REGION_ADMIN, f"{region}-admin"),
        Credential(Role.AUDITOR, f"{region}-auditor"),
    )


def demo_uscc(region: str) -> str:
    """A well-formed USCC for the demo department of `region` (deterministic, not a real one).

    Registration authority 1 (机构编制), category 1 (机关), the region's division code, an
    organisation code with its GB 11714 check character, then the GB 32100 check character.
    """
    digest = hashlib.sha256(region.encode()).digest()
    division = DIVISION_CODES.get(region) or "".join(str(b % 10) for b in digest[:6])
    organisation = "".join(str(b % 10) for b in digest[6:14])
    weighted = sum(int(d) * w for d, w in zip(organisation, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - weighted % 11
    organisation += {10: "X", 11: "0"}.get(check, str(check))
    return complete_uscc("11" + division + organisation)


def existing_regions(out_dir: Path, regions: Sequence[str]) -> tuple[str, ...]:
    """The regions among `regions` that already have a CA under `out_dir`."""
    return tuple(r for r in regions if (Path(out_dir) / r / CA_CERT).exists())


def init_pki(
    out_dir: Path,
    regions: Sequence[str],
    now: datetime,
    *,
    validators_per_region: int = 1,
    skip_existing: bool = False,
    ca_lifetime: timedelta = CA_LIFETIME,
    leaf_lifetime: timedelta = LEAF_LIFETIME,
) -> Manifest:
    """Create a region CA and the `demo_credentials` for each of `regions` under `out_dir`.

    Certificates are valid from `now - BACKDATE` for their lifetime. Writes
    `<out_dir>/<region>/manifest.json` per new region and rewrites `<out_dir>/manifest.json`
    listing every region present. Returns that whole manifest.

    Raises CertError "cert.exists" if a region directory already exists (unless
    `skip_existing` and it holds a complete region, which is then kept untouched), and
    "cert.bad_name" for a bad or repeated region or an out-of-range validator count. Nothing
    is created when any region is refused.
    """
    out_dir = Path(out_dir)
    if now.tzinfo is None:
        raise ValueError("init_pki: `now` must be a timezone-aware datetime")
    _check_regions(regions)
    if not 1 <= validators_per_region <= MAX_VALIDATORS_PER_REGION:
        raise CertError(
            f"validators per region must be 1..{MAX_VALIDATORS_PER_REGION}, "
            f"got {validators_per_region}",
            code="cert.bad_name",
            field="validators_per_region",
        )
    to_create = [r for r in regions if not _is_kept(out_dir / r, skip_existing)]
    out_dir.mkdir(parents=True, exist_ok=True)
    for region in to_create:
        _create_region(
            out_dir, region, now - BACKDATE, ca_lifetime, leaf_lifetime, validators_per_region
        )
    manifest = read_pki_manifest(out_dir, aggregate=True)
    write_manifest(out_dir / FILE_NAME, manifest)
    return manifest


def read_pki_manifest(pki_dir: Path, *, aggregate: bool = False) -> Manifest:
    """The manifest of `pki_dir` (§5.3).

    With `aggregate`, it is rebuilt from the region manifests found under `pki_dir` (sorted
    by region); otherwise `<pki_dir>/manifest.json` is read. Raises CertError
    "cert.not_found" or "cert.malformed".
    """
    pki_dir = Path(pki_dir)
    if not aggregate:
        return read_manifest(pki_dir / FILE_NAME)
    entries: list[ManifestEntry] = []
    for region_dir in _region_dirs(pki_dir):
        entries.extend(read_manifest(region_dir / FILE_NAME).entries)
    return Manifest(tuple(entries))


def load_roots(pki_dir: Path) -> dict[str, x509.Certificate]:
    """The root CA certificate of every region under `pki_dir`, keyed by region.

    `pki_dir` is a PKI directory or one region directory. Each root must be a self-signed
    eledger CA whose region equals its directory name. Raises CertError "cert.not_found" if
    there is none, "cert.malformed" for a bad one.
    """
    pki_dir = Path(pki_dir)
    region_dirs = [pki_dir] if (pki_dir / CA_CERT).exists() else _region_dirs(pki_dir)
    roots: dict[str, x509.Certificate] = {}
    for region_dir in region_dirs:
        cert = read_certificate(region_dir / CA_CERT)
        region = read_ca_region(cert)
        if region != region_dir.name:
            raise CertError(
                f"{region_dir / CA_CERT} is the CA of {region!r} but lies in directory "
                f"{region_dir.name!r}; move it back to {region}/",
                code="cert.malformed",
                path=str(region_dir / CA_CERT),
            )
        try:
            cert.verify_directly_issued_by(cert)
        except (InvalidSignature, ValueError, TypeError):
            raise CertError(
                f"{region_dir / CA_CERT} is not a self-signed root CA",
                code="cert.malformed",
                path=str(region_dir / CA_CERT),
            ) from None
        roots[region] = cert
    if not roots:
        raise CertError(
            f"no region CA found under {pki_dir}; run `eledger certs init --out {pki_dir}`",
            code="cert.not_found",
            path=str(pki_dir),
        )
    return roots


def issue_credential(
    ca_dir: Path,
    *,
    role: Role,
    name: str,
    out_prefix: Path,
    not_before: datetime,
    not_after: datetime,
    uscc: str | None = None,
    hosts: Sequence[str] = (),
) -> ManifestEntry:
    """Issue one credential with the CA in region directory `ca_dir`; write
    `<out_prefix>.crt` and `<out_prefix>.key` (0600). Returns its manifest entry.

    Raises CertError "cert.exists" if either file exists (nothing is written then),
    "cert.not_found" if the CA files are missing, and what `issue_certificate` raises.
    """
    ca_dir = Path(ca_dir)
    ca_cert = read_certificate(ca_dir / CA_CERT)
    ca_key = read_private_key(ca_dir / CA_KEY)
    cert_path = Path(f"{out_prefix}.crt")
    key_path = Path(f"{out_prefix}.key")
    for path in (cert_path, key_path):
        if path.exists():
            raise CertError(
                f"{path} already exists; refusing to overwrite it (choose another --out)",
                code="cert.exists",
                path=str(path),
            )
    key = generate_key()
    cert = issue_certificate(
        ca_cert=ca_cert,
        ca_key=ca_key,
        public_key=key.public_key(),
        role=role,
        name=name,
        not_before=not_before,
        not_after=not_after,
        uscc=uscc,
        hosts=hosts,
    )
    write_private_key(key_path, key)
    write_certificate(cert_path, cert)
    return _entry(cert, str(cert_path), str(key_path))


def _create_region(
    out_dir: Path,
    region: str,
    not_before: datetime,
    ca_lifetime: timedelta,
    leaf_lifetime: timedelta,
    validators: int,
) -> None:
    staging = out_dir / f".{region}.partial-{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        ca_key = generate_key()
        ca_cert = issue_root_ca(
            region, ca_key, not_before=not_before, not_after=not_before + ca_lifetime
        )
        write_private_key(staging / CA_KEY, ca_key)
        write_certificate(staging / CA_CERT, ca_cert)
        entries = [_ca_entry(ca_cert, f"{region}/{CA_CERT}", f"{region}/{CA_KEY}")]
        leaf_not_after = min(not_before + leaf_lifetime, ca_cert.not_valid_after_utc)
        for credential in demo_credentials(region, validators):
            key = generate_key()
            cert = issue_certificate(
                ca_cert=ca_cert,
                ca_key=ca_key,
                public_key=key.public_key(),
                role=credential.role,
                name=credential.name,
                not_before=not_before,
                not_after=leaf_not_after,
                uscc=demo_uscc(region) if credential.role is Role.ISSUER else None,
            )
            relative = f"{ROLE_DIRS[credential.role]}/{credential.name}"
            (staging / ROLE_DIRS[credential.role]).mkdir(exist_ok=True)
            write_private_key(staging / f"{relative}.key", key)
            write_certificate(staging / f"{relative}.crt", cert)
            entries.append(_entry(cert, f"{region}/{relative}.crt", f"{region}/{relative}.key"))
        write_manifest(staging / FILE_NAME, Manifest(tuple(entries)))
        os.rename(staging, out_dir / region)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    sync_directory(out_dir)


def _entry(cert: x509.Certificate, cert_path: str, key_path: str) -> ManifestEntry:
    identity = read_identity(cert)
    return _make_entry(
        cert,
        identity.region,
        identity.role.value,
        identity.name,
        cert_path,
        key_path,
        identity.uscc,
    )


def _ca_entry(cert: x509.Certificate, cert_path: str, key_path: str) -> ManifestEntry:
    return _make_entry(cert, read_ca_region(cert), CA_ROLE, CA_NAME, cert_path, key_path, None)


def _make_entry(
    cert: x509.Certificate,
    region: str,
    role: str,
    name: str,
    cert_path: str,
    key_path: str,
    uscc: str | None,
) -> ManifestEntry:
    return ManifestEntry(
        region=region,
        role=role,
        name=name,
        certificate=cert_path,
        private_key=key_path,
        fingerprint=fingerprint_certificate(cert),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        uscc=uscc,
    )


def _check_regions(regions: Sequence[str]) -> None:
    if not regions:
        raise CertError(
            "no regions given; name at least one", code="cert.bad_name", field="regions"
        )
    for region in regions:
        check_region(region)
    repeated = sorted({r for r in regions if list(regions).count(r) > 1})
    if repeated:
        raise CertError(
            f"regions listed more than once: {', '.join(repeated)}",
            code="cert.bad_name",
            field="regions",
            actual=repeated,
        )


def _is_kept(region_dir: Path, skip_existing: bool) -> bool:
    """False if the region must be created; True if it is complete and may be kept; else raise."""
    if not region_dir.exists():
        return False
    if region_dir.is_dir() and not any(region_dir.iterdir()):
        return False
    complete = all((region_dir / f).is_file() for f in (CA_CERT, CA_KEY, FILE_NAME))
    if complete and skip_existing:
        return True
    if complete:
        raise CertError(
            f"the CA of region {region_dir.name!r} already exists in {region_dir}; refusing to "
            "overwrite it (pass --skip-existing to keep it, or remove the directory to start over)",
            code="cert.exists",
            path=str(region_dir),
        )
    raise CertError(
        f"{region_dir} exists but is not a complete eledger region (needs {CA_CERT}, {CA_KEY}, "
        f"{FILE_NAME}); remove it and run again",
        code="cert.exists",
        path=str(region_dir),
    )


def _region_dirs(pki_dir: Path) -> list[Path]:
    if not pki_dir.is_dir():
        raise CertError(f"{pki_dir} is not a directory", code="cert.not_found", path=str(pki_dir))
    return sorted(
        d
        for d in pki_dir.iterdir()
        if d.is_dir() and not d.name.startswith(".") and (d / CA_CERT).is_file()
    )
