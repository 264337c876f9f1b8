"""The core benchmark still runs end to end (its numbers are never judged here)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "core.py"


def test_core_benchmark_runs_quick_and_writes_every_result(tmp_path):
    out = tmp_path / "core.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())
    for key in ("state_updates_per_s", "state_proof_bytes_max", "log_appends_per_s", "blocks_committed_per_s",
                "audit_txs_per_s", "raw_p256_verifies_per_s", "audit_to_raw_verify_ratio"):
        assert results[key] > 0, key
