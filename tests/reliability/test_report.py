"""The torture records and the report made from them: written only when asked for, and laid out
as a table that says what was lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.reliability import report, torture


def test_records_are_written_only_where_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "records.jsonl"
    monkeypatch.delenv(torture.RECORDS_ENV, raising=False)
    torture.record("Nothing", tried="nothing", times=1, lost=0, outcome="none")
    assert not target.exists()

    monkeypatch.setenv(torture.RECORDS_ENV, str(target))
    torture.record("Power loss", tried="kills", times=200, lost=0, outcome="fine", kills=200)
    torture.record("Full disk", tried="fill", times=1, lost=2, outcome="bad", seconds=1.5)
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [(r["check"], r["times"], r["lost"]) for r in lines] == [
        ("Power loss", 200, 0),
        ("Full disk", 1, 2),
    ]
    assert lines[0]["figures"] == {"kills": 200}


def test_the_report_is_a_table_of_the_records_with_the_total_lost() -> None:
    records = [
        {"check": "Power loss", "tried": "SIGKILL | at random", "times": 2000, "lost": 0,
         "outcome": "all there", "form": "long", "seconds": 150.4, "figures": {}},
        {"check": "Header flips", "tried": "every bit", "times": 264, "lost": 3,
         "outcome": "blocks lost", "form": "long", "seconds": None, "figures": {}},
    ]  # fmt: skip
    text = report.render(records, 1, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| What was tried |")
    assert rows[1] == ("| Power loss | SIGKILL \\| at random | 2,000 | 0 | all there | 150 |")
    assert rows[2] == "| Header flips | every bit | 264 | **3** | blocks lost |  |"
    assert "| Soak | | | **?** | no record: the test failed or did not run | |" in rows
    assert "lost in total: **3**" in text
    assert "pytest exit status 1" in text
    assert "2026-11-23 12:00 UTC" in text


def test_the_report_is_written_in_one_step(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(
        json.dumps({"check": "Soak", "tried": "sessions", "times": 10, "lost": 0,
                    "outcome": "flat", "form": "short", "seconds": 1.0, "figures": {}}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    out = tmp_path / "RELIABILITY.md"
    assert report.main([str(records), str(out)]) == 0
    assert "| Soak | sessions | 10 | 0 | flat | 1 |" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["RELIABILITY.md", "records.jsonl"]
