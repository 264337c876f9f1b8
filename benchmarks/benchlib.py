"""What the benchmark programs share: progress output, the machine's raw P-256 verify rate
(the yardstick the issues' targets are stated against), a devnet prepared on free ports, and the
results report (printed with each target's verdict, and written as JSON). Never imported by
eledger itself."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from node.devnet import Devnet, DevnetError, check_ports_free, prepare_devnet, random_port_base

Target = tuple[str, float]  # (">=" or "<=", bound)


def say(text: str) -> None:
    print(text, flush=True)


def raw_p256_verify_rate(seconds: float) -> float:
    """Verifications per second with `cryptography` directly (ECDSA P-256/SHA-256, one core)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key()
    msgs = [os.urandom(64) for _ in range(256)]
    sigs = [key.sign(m, ec.ECDSA(hashes.SHA256())) for m in msgs]
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for m, s in zip(msgs, sigs):
            pub.verify(s, m, ec.ECDSA(hashes.SHA256()))
        n += len(msgs)
    return n / (time.perf_counter() - start)


def report(results: dict[str, float], targets: dict[str, Target], path: Path) -> None:
    """Print every result (with met / NOT met beside those that have a target) and write JSON."""
    say("\nresults")
    width = max(len(k) for k in results)
    for key, value in results.items():
        target = targets.get(key)
        mark = ""
        if target is not None:
            ok = value >= target[1] if target[0] == ">=" else value <= target[1]
            mark = f"   target {target[0]} {target[1]:,}: {'met' if ok else 'NOT met'}"
        say(f"  {key:{width}s} {value:>14,.2f}{mark}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    say(f"\nwrote {path}")


def prepare_on_free_ports(directory: Path, validators: int = 4, **options: Any) -> Devnet:
    """A devnet of `validators` in `directory` (prepare_devnet with `options`) on a random base
    of ports that are free now; tries 20 bases, then raises RuntimeError."""
    rng = random.Random()
    for _ in range(20):
        base = random_port_base(rng)
        devnet = prepare_devnet(directory, validators, p2p_base=base, api_base=base + 10, **options)
        try:
            check_ports_free(devnet)
        except DevnetError:
            continue
        return devnet
    raise RuntimeError("no free ports for the devnet after 20 tries")
