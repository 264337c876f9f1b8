"""The proof bundle of one licence verdict (docs/spec/proofs.md §7, domain.md §9.3).

`licence_bundle_keys` names the state keys a verdict on one licence needs proven, present or
absent: the record (which names its issuer's region) and, across regions, the recognition rule.
Neither `region/` (the asking region is checked against the trusted genesis) nor the issuer's
organisation, seal and signer key records (the checks execution ran on them before writing the
record are certified by the record itself) are carried. `build_licence_bundle` proves exactly those keys at one
committed height; `verify_licence_bundle` checks such a bundle against a trusted genesis alone
and judges the licence with `ledger.verify.verify_licence` over the verified entries. There is
one verdict: this module only chooses keys and composes the generic bundle with it.

Never reads the clock, opens files or touches the network; never judges a licence itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ledger.bundle import Bundle, VerifiedBundle, build_bundle, verify_bundle
from ledger.chain import REGION_PREFIX, Chain
from ledger.document import LicenceDocument
from ledger.errors import ValidationError
from ledger.genesis import Genesis
from ledger.governance import recognition_key
from ledger.ids import parse_licence_id
from ledger.kv import KVReader
from ledger.licences import PREFIX as LICENCE_PREFIX
from ledger.licences import licence_key, read_licence, record_id
from ledger.validators import NAME_RE
from ledger.verify import StateAt, Verdict, verify_licence
from ledger.view import ChainView


@dataclass(frozen=True)
class OfflineVerdict:
    """The verdict on a licence (`verdict`) judged over what a bundle proves (`proven`: height,
    block time, signers and the proven entries)."""

    proven: VerifiedBundle
    verdict: Verdict


def _region_key(asking_region: object) -> bytes:
    """`region/<asking_region>`; raises ValidationError "verify.bad_region" for a non-name."""
    if not isinstance(asking_region, str) or not NAME_RE.fullmatch(asking_region):
        raise ValidationError(f"asking_region {asking_region!r} is not a region name", code="verify.bad_region", field="asking_region")
    return REGION_PREFIX + asking_region.encode("ascii")


def licence_bundle_keys(reader: KVReader, licence_id: str, asking_region: str) -> list[bytes]:
    """The state keys (sorted) a bundle must prove for `verify_licence` to judge `licence_id`
    for `asking_region` as it would over the full state `reader` (domain.md §9.3): `lic/<id>`
    and, when the record exists and its `region` (the issuer's, §5) is another,
    `recog/<asking_region>/<record region>/<type>` (the type part of the record's id). A key is listed whether or not it holds a
    value, so that a bundle of these keys proves every absence the verdict uses.
    `region/<asking_region>` is not listed (the verifier takes regions from the genesis), nor the
    issuer, seal and signer key records (the record certifies their checks).

    Precondition: `reader` knows the whole state (e.g. `StateAt`), not a partial one. Raises
    ValidationError "verify.bad_region", "verify.unknown_region" (the state has no such
    region: no bundle could be judged for it) and the `ids.*` codes for a malformed id.
    """
    text = parse_licence_id(licence_id, "licence_id").text
    if reader.get(_region_key(asking_region)) is None:
        raise ValidationError(f"{asking_region} is not a region of this chain", code="verify.unknown_region", field="asking_region")
    keys = [licence_key(text)]
    record = read_licence(reader, text)
    if record is not None and record["region"] != asking_region:
        keys.append(recognition_key(asking_region, record["region"], record_id(record).type))  # type: ignore[arg-type]
    return sorted(keys)


def build_licence_bundle(chain: Chain | ChainView, licence_id: str, asking_region: str, height: int | None = None) -> Bundle:
    """A bundle proving the keys of `licence_bundle_keys` for `licence_id` and `asking_region`
    at committed `height` (default: the tip), over which `verify_licence_bundle` gives every
    check the outcome the full state of that height gives (proofs.md §7).

    Raises ValidationError "bundle.unknown_height" (not a committed height ≥ 1), what
    `licence_bundle_keys` raises, and what `build_bundle` raises for a damaged store.
    """
    h = chain.height if height is None else height
    if isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= chain.height:
        raise ValidationError(
            f"height {h!r} is not committed (committed heights are 1..{chain.height})",
            code="bundle.unknown_height", field="height", height=h, tip=chain.height,
        )
    return build_bundle(chain, licence_bundle_keys(StateAt(chain, h), licence_id, asking_region), h)


def verify_licence_bundle(
    bundle: bytes | Mapping[str, object] | Bundle, genesis: Genesis, *, asking_region: str, at_time: int | None = None,
    licence_id: str | None = None, document: LicenceDocument | None = None,
) -> OfflineVerdict:
    """Verify `bundle` against the trusted `genesis` alone (proofs.md §3), then judge the licence
    `licence_id`, or the one `document` is of, for `asking_region` at `at_time` (ms; default: the
    bundle's block time) over the verified entries with `verify_licence` (domain.md §9). With
    neither an id nor a document, the licence is the bundle's only `lic/` entry.

    The asking region is checked against the genesis, the only source of regions (no
    transaction writes `region/` keys). A licence the bundle does not prove enough about gets
    an indeterminate verdict, never an error. Raises ValidationError "verify.bad_region", "verify.unknown_region" (not a region of
    the genesis; checked before the bundle), "verify.nothing_presented" (no licence named and
    the bundle carries not exactly one), every error of `verify_bundle` for a bundle that does
    not verify, and the misuse errors of `verify_licence`.
    """
    _region_key(asking_region)
    if genesis.region(asking_region) is None:
        raise ValidationError(f"{asking_region} is not a region of this chain", code="verify.unknown_region", field="asking_region")
    proven = verify_bundle(bundle, genesis)
    if licence_id is None and document is None:
        licence_id = _only_licence(proven)
    verdict = verify_licence(
        proven, chain_id=proven.chain_id, at_time=proven.time if at_time is None else at_time,
        asking_region=asking_region, licence_id=licence_id, document=document,
    )
    return OfflineVerdict(proven, verdict)


def _only_licence(proven: VerifiedBundle) -> str:
    ids = [key[len(LICENCE_PREFIX):].decode("ascii", "replace") for key in proven.entries if key.startswith(LICENCE_PREFIX)]
    if len(ids) != 1:
        raise ValidationError(
            f"the bundle carries {len(ids)} licence entries; name the licence to judge (by id or document)",
            code="verify.nothing_presented", field="licence_id", licences=len(ids),
        )
    return ids[0]

