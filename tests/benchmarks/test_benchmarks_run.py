"""The benchmark programs still run end to end (their numbers are never judged here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

EXPECTED = {
    "core.py": ("state_updates_per_s", "state_proof_bytes_max", "log_appends_per_s", "blocks_committed_per_s",
                "audit_txs_per_s", "raw_p256_verifies_per_s", "audit_to_raw_verify_ratio"),
    "cluster.py": ("step_20_committed_tps", "step_50_p99_ms", "sustained_committed_tps", "sustained_p50_ms", "sustained_p99_ms",
                   "raw_p256_verifies_per_s", "sustained_to_verify_budget_ratio", "empty_block_interval_ms"),
    "verification.py": ("verify_by_id_rps", "verify_by_document_rps", "in_process_verify_by_id_per_s", "bundle_rps",
                        "consensus_alone_block_interval_ms", "consensus_flood_block_interval_ms", "use_records_committed"),
    "domain.py": ("execution_txs_per_s", "raw_p256_verifies_per_s", "stored_bytes_per_licence", "verify_licence_per_s",
                  "verify_licence_p99_ms", "bundle_same_region_bytes_max", "bundle_cross_region_offline_ms_p99"),
    "window.py": ("window_page_bytes", "window_page_requests", "answer_page_bytes", "enter_to_verdict_p50_ms", "enter_to_verdict_p95_ms",
                  "driver_enter_to_verdict_p95_ms", "window_load_p95_ms"),  # drives /usr/bin/chromium (`make browser`)
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_benchmark_runs_quick_and_writes_every_result(tmp_path, script):
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())
    for key in EXPECTED[script]:
        assert results[key] > 0, key
