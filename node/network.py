"""The material of a network on disk: PKI, validator keys, genesis and node homes.

`create_network` makes (or, on a second run, reuses) everything a network of regions needs:
each region's PKI (certs.init_pki), one consensus key per validator in its node home (kept apart
from its TLS key, as a validator's signing key must be), and a genesis whose regions carry
their root CA certificates and administrator keys (the keys of the PKI's region-admin
credentials, so a certificate and a ledger identity name the same key). Layout:

    DIR/pki/<region>/...          certificates and keys (docs/spec/pki.md)
    DIR/genesis.json              canonical genesis (docs/spec/blocks.md §5)
    DIR/nodes/<name>/validator.key  consensus key, mode 0600

Never overwrites a key or a genesis that exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from certs.layout import DEFAULT_REGIONS, init_pki, load_roots, read_pki_manifest
from certs.roles import Role as CertRole
from ledger.crypto import PrivateKey, read_private_key, write_private_key
from ledger.genesis import Genesis, Region
from ledger.validators import Validator, ValidatorSet

GENESIS_FILE = "genesis.json"
VALIDATOR_KEY = "validator.key"
DEFAULT_CHAIN_ID = "eledger-devnet"


@dataclass(frozen=True)
class Network:
    dir: Path
    genesis: Genesis
    validator_keys: dict[str, PrivateKey]  # by validator name
    admin_keys: dict[str, PrivateKey]  # by region

    def home(self, name: str) -> Path:
        return self.dir / "nodes" / name


def create_network(dir: Path, now: datetime, *, regions: Sequence[str] = DEFAULT_REGIONS, chain_id: str = DEFAULT_CHAIN_ID) -> Network:
    """Create the network under `dir`, or load it if its genesis already exists."""
    dir = Path(dir)
    if (dir / GENESIS_FILE).exists():
        return load_network(dir)
    pki = init_pki(dir / "pki", regions, now, skip_existing=True)
    roots = load_roots(dir / "pki")
    validators = []
    for region in regions:
        for entry in pki.find(region, CertRole.VALIDATOR):
            key_path = dir / "nodes" / entry.name / VALIDATOR_KEY
            if key_path.exists():
                key = read_private_key(key_path)
            else:
                key_path.parent.mkdir(parents=True, exist_ok=True)
                key = PrivateKey.generate()
                write_private_key(key_path, key)
            validators.append(Validator(entry.name, region, key.public_key, 1))
    admin_keys = _admin_keys(dir, regions)
    genesis = Genesis(
        chain_id=chain_id,
        genesis_time=int(now.timestamp() * 1000),
        regions=tuple(Region(r, roots[r].public_bytes(Encoding.DER), (admin_keys[r].public_key,)) for r in regions),
        validators=ValidatorSet.of(validators),
    )
    genesis.write(dir / GENESIS_FILE)
    return load_network(dir)


def load_network(dir: Path) -> Network:
    """Read a network made by `create_network`: its genesis and the keys it holds."""
    dir = Path(dir)
    genesis = Genesis.read(dir / GENESIS_FILE)
    validator_keys = {v.name: read_private_key(dir / "nodes" / v.name / VALIDATOR_KEY) for v in genesis.validators}
    admin_keys = _admin_keys(dir, [r.name for r in genesis.regions])
    return Network(dir, genesis, validator_keys, admin_keys)


def _admin_keys(dir: Path, regions: Sequence[str]) -> dict[str, PrivateKey]:
    manifest = read_pki_manifest(dir / "pki", aggregate=True)
    keys = {}
    for region in regions:
        entry = manifest.find(region, CertRole.REGION_ADMIN)[0]
        keys[region] = read_private_key(dir / "pki" / entry.private_key)
    return keys
