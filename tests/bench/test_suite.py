"""The speed suite runs end to end at tiny sizes: real imports, a real station, real kiosk
processes, real exports and a real SIP2 server. It proves the suite works and writes what
it should; it never looks at a time (that is what `make bench` and docs/PERFORMANCE.md are
for)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GROUPS = {
    "snapshot_import": 6,
    "patron_lookup": 2,
    "scan_to_durable": 4,  # ours (median, p99) and the bare SQLite floor (median, p99)
    "staff_card_check": 3,  # ours (median, p99) and no staff cards at all (median)
    "start_to_ready": 4,
    "exports": 5,
    "sip2_replay": 1,
}
FIELDS = {
    "group",
    "name",
    "unit",
    "ours",
    "baseline",
    "baseline_is",
    "ratio",
    "target",
    "met",
    "higher_is_better",
    "details",
}


@pytest.mark.slow
def test_the_quick_suite_writes_every_figure_as_json_and_as_a_table(tmp_path: Path) -> None:
    results, doc = tmp_path / "results", tmp_path / "PERFORMANCE.md"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.suite",
            "--quick",
            "--results",
            str(results),
            "--doc",
            str(doc),
            "--work",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr

    names = []
    for group, count in GROUPS.items():
        data = json.loads((results / f"{group}.json").read_text(encoding="utf-8"))
        assert data["benchmark"] == group
        assert data["quick"] is True
        assert {"python", "cpus", "platform"} <= set(data["machine"])
        assert len(data["figures"]) == count, data["figures"]
        for figure in data["figures"]:
            assert set(figure) == FIELDS
            assert figure["group"] == group
            assert figure["ours"] > 0 and figure["baseline"] > 0, figure
            assert figure["ratio"] == pytest.approx(figure["ours"] / figure["baseline"], rel=0.01)
            assert figure["met"] in (True, False, None)
            assert (figure["met"] is None) == (figure["target"] == ""), figure
            names.append(figure["name"])
    assert [p.name for p in tmp_path.glob("kiosk-bench-*")] == []  # generated files removed

    text = doc.read_text(encoding="utf-8")
    assert "| Figure | Ours | Baseline | Ours/baseline | Target | Met |" in text
    assert "QUICK sizes" in text
    assert "## Re-running" in text and "make bench" in text
    for name in names:
        assert f"| {name} |" in text
        assert name in run.stdout  # the table on the terminal
