"""The domain benchmark still runs end to end (its numbers are never judged here)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "domain.py"


def test_domain_benchmark_runs_quick_and_writes_every_result(tmp_path):
    out = tmp_path / "domain.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())
    for key in ("execution_txs_per_s", "raw_p256_verifies_per_s", "stored_bytes_per_licence", "verify_licence_per_s",
                "verify_licence_p99_ms", "bundle_same_region_bytes_max", "bundle_cross_region_offline_ms_p99"):
        assert results[key] > 0, key
