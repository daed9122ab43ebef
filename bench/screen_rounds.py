"""Scan to screen, the old code against today's, in the same run on the same machine.

Rounds of two runs each: the old code's own bench/scan_to_screen.py (commit BASELINE_COMMIT,
extracted by bench/old_code.py) and today's bench/scan_to_screen.py, each in a process of its
own (Kivy runs one app per process), with the same items and seed (the seed moves on by one
each round). The order turns round every round (old, new; new, old; old, new; ...) so that a
drift of the machine's load falls on both alike. Each side's per-scan samples (each run's
warm-up scans left out) are pooled over its rounds: the median and p99 are those of the pooled
samples, and each round's own are kept in the JSON. The engine-alone baseline is today's
runs' (pooled the same way).

Writes bench/results/scan_to_screen.json: what today's scan_to_screen.py writes, pooled, with
an "old_code" section and the issue's target. When the old code cannot be extracted (no git,
or a copy without history) it says why and measures today's code alone, once.

    make bench    or    .venv/bin/python -m bench.screen_rounds [--rounds N] [--items N]
                        [--seed S] [--old-commit REV | --no-old-code]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.old_code import BASELINE_COMMIT, OldCode, Skipped
from bench.scan_to_screen import summary as summary_of_seconds

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "scan_to_screen.py"
RESULTS = ROOT / "bench" / "results" / "scan_to_screen.json"
RUN_TIMEOUT = 600.0  # s; one run of today's script (a hang is a failure, not a slow sample)
# The target for today's Enter -> frame shown (ms).
TARGET_MS = {"median": 20.0, "p99": 35.0}
FIGURES = ("frame", "view")  # compared with the old code; "engine" is today's baseline


def summary(ms: list[float]) -> dict[str, float]:
    """As scan_to_screen.summary, from samples already in milliseconds."""
    return summary_of_seconds([m / 1000 for m in ms])


def pooled(runs: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    return {name: summary([ms for run in runs for ms in run["samples_ms"][name]]) for name in names}


def per_round(runs: list[dict[str, Any]], seeds: list[int]) -> list[dict[str, Any]]:
    return [
        {
            "seed": seed,
            **{
                name: {k: run["figures"][name][k] for k in ("n", "median_ms", "p99_ms")}
                for name in FIGURES
            },
        }
        for run, seed in zip(runs, seeds, strict=True)
    ]


def run_new(items: int, seed: int, out: Path) -> dict[str, Any]:
    """One run of today's scan_to_screen.py in a process of its own; its JSON result."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--items", str(items), "--seed", str(seed), "--out", out],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=RUN_TIMEOUT,
    )
    if done.returncode != 0 or not out.is_file():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"{SCRIPT.name} failed (exit status {done.returncode}):\n{tail}")
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def line(side: str, n: int, rounds: int, run: dict[str, Any], seconds: float) -> str:
    f = run["figures"]
    return (
        f"  round {n}/{rounds} {side:<8} frame median {f['frame']['median_ms']:6.2f} ms, "
        f"p99 {f['frame']['p99_ms']:6.2f} ms; view median {f['view']['median_ms']:6.2f} ms "
        f"({f['frame']['n']} scans, {seconds:.0f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="runs of each side (default 4)")
    parser.add_argument("--items", type=int, default=240, help="item scans a run")
    parser.add_argument("--seed", type=int, default=2026, help="the first round's seed")
    parser.add_argument(
        "--old-commit", default=BASELINE_COMMIT, help=f"the old code (default {BASELINE_COMMIT})"
    )
    parser.add_argument("--no-old-code", action="store_true", help="today's code alone, once")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.items < 10:
        parser.error("--rounds must be 1 or more and --items 10 or more")
    started = time.monotonic()

    old: OldCode | None = None
    skipped = "--no-old-code" if args.no_old_code else None
    if not args.no_old_code:
        try:
            old = OldCode.open(args.old_commit)
        except (Skipped, OSError, subprocess.SubprocessError) as why:
            skipped = str(why)
    rounds = args.rounds if old is not None else 1
    old_full = old.full if old is not None else None
    if old is None:
        print(f"Old-code baseline ({args.old_commit}) skipped: {skipped}. Today's code alone.")
    else:
        print(
            f"Scan to screen: the old code ({old.commit}, extracted to {old.folder}) and "
            f"today's, {rounds} round(s) of {args.items} item scans each, taking turns"
        )

    new_runs: list[dict[str, Any]] = []
    old_runs: list[dict[str, Any]] = []
    seeds: list[int] = []
    order: list[str] = []
    new_error: str | None = None
    old_seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-rounds-") as tmp:
        for n in range(rounds):
            seed = args.seed + n
            seeds.append(seed)
            for side in ("old", "new") if n % 2 == 0 else ("new", "old"):
                began = time.monotonic()
                if side == "old" and old is not None:
                    try:
                        run = old.run(args.items, seed)
                    except (RuntimeError, subprocess.TimeoutExpired) as error:
                        print(f"Old-code baseline failed in round {n + 1}: {error}")
                        skipped = f"its run failed in round {n + 1}: {error}"
                        old.close()
                        old = None
                        continue
                    old_seconds += time.monotonic() - began
                    old_runs.append(run)
                    label = "old code"
                elif side == "new" and new_error is None:
                    try:
                        run = run_new(args.items, seed, Path(tmp) / f"new-{n}.json")
                    except (RuntimeError, subprocess.TimeoutExpired) as error:
                        new_error = str(error)
                        print(f"Today's code failed in round {n + 1}: {error}")
                        continue
                    new_runs.append(run)
                    label = "now"
                else:
                    continue
                order.append(side)
                print(line(label, n + 1, rounds, run, time.monotonic() - began), flush=True)
    if old is not None:
        old.close()
    if skipped is not None:
        old_runs = []  # a side that failed half-way is not compared

    old_figures = pooled(old_runs, ("engine", *FIGURES)) if old_runs else None
    if new_error is not None or not new_runs:
        if old_figures:
            f = old_figures["frame"]
            print(
                f"The old code worked ({len(old_runs)} run(s)): frame median "
                f"{f['median_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms. Today's code did not: "
                "nothing written."
            )
        return 1

    result = combine(new_runs, seeds[: len(new_runs)])
    figures = result["figures"]
    target = {
        "figure": "frame",
        **{f"{cut}_ms": limit for cut, limit in TARGET_MS.items()},
        "met": {cut: figures["frame"][f"{cut}_ms"] < TARGET_MS[cut] for cut in TARGET_MS},
    }
    result["target"] = target
    seconds = round(time.monotonic() - started, 1)
    result["seconds"] = seconds
    if old_figures is not None:
        ratios = {
            name: {
                cut: round(figures[name][f"{cut}_ms"] / old_figures[name][f"{cut}_ms"], 4)
                for cut in ("median", "p99")
            }
            for name in FIGURES
        }
        result["old_code"] = {
            "commit": args.old_commit,
            "commit_full": old_full,
            "rounds": len(old_runs),
            "order": order,
            "pooled": "per-scan samples of every round, each run's warm-up scans left out",
            "seconds": round(old_seconds, 1),
            "figures": old_figures,
            "per_round": per_round(old_runs, seeds[: len(old_runs)]),
            "ratio_now_over_old": ratios,
            "machine": old_runs[0].get("machine"),
            "samples_ms": {
                name: [ms for run in old_runs for ms in run["samples_ms"][name]] for name in FIGURES
            },
        }
    else:
        result["old_code"] = {"commit": args.old_commit, "skipped": skipped}

    report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"Written to {args.out} ({seconds:.0f} s, of which the old code {old_seconds:.0f} s)")
    return 0


def combine(runs: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """Today's runs as one result, in the shape scan_to_screen.py writes, samples pooled."""
    figures = pooled(runs, ("engine", *FIGURES))
    gc = [run["full_gc_on_ui_thread"] for run in runs]
    return {
        "benchmark": "scan_to_screen",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": runs[0]["machine"],
        "settings": {**runs[0]["settings"], "seed": seeds[0], "seeds": seeds},
        "rounds": len(runs),
        "pooled": "per-scan samples of every round, each run's warm-up scans left out",
        "figures": figures,
        "per_round": per_round(runs, seeds),
        "ui_share_ms": {
            cut: round(figures["frame"][f"{cut}_ms"] - figures["engine"][f"{cut}_ms"], 3)
            for cut in ("median", "p99")
        },
        "full_gc_on_ui_thread": {
            "count": sum(g["count"] for g in gc),
            "ms": [ms for g in gc for ms in g["ms"]],
            # Each against its own round's p90.
            "slower_than_p90": sum(g["slower_than_p90"] for g in gc),
            "slower_than_p90_during_full_gc": sum(g["slower_than_p90_during_full_gc"] for g in gc),
        },
        "samples_ms": {
            name: [ms for run in runs for ms in run["samples_ms"][name]]
            for name in ("engine", *FIGURES)
        },
    }


def report(result: dict[str, Any]) -> None:
    figures = result["figures"]
    print(
        f"\nScan-to-screen latency, today's code: {figures['frame']['n']} item scans over "
        f"{result['rounds']} run(s), pooled"
    )
    print(f"{'':36} {'median':>9} {'p90':>9} {'p99':>9} {'max':>9}")
    for name, key in (
        ("engine alone: StationRuntime.scan", "engine"),
        ("app: Enter -> view rendered", "view"),
        ("app: Enter -> frame shown", "frame"),
    ):
        f = figures[key]
        print(
            f"{name:36} {f['median_ms']:7.2f}ms {f['p90_ms']:7.2f}ms "
            f"{f['p99_ms']:7.2f}ms {f['max_ms']:7.2f}ms"
        )
    old = result["old_code"]
    if "skipped" in old:
        print(f"Old code ({old['commit']}): not measured ({old['skipped']})")
        return
    met = result["target"]["met"]
    print(
        f"\nOld code ({old['commit']}) against today's, {old['rounds']} run(s) each "
        f"({old['figures']['frame']['n']} and {figures['frame']['n']} scans pooled)"
    )
    print(f"{'':30} {'old code':>10} {'now':>10} {'now/old':>8}  target")
    for key, name in (("frame", "Enter -> frame shown"), ("view", "Enter -> view rendered")):
        for cut in ("median", "p99"):
            goal = ""
            if key == "frame":
                goal = f"< {TARGET_MS[cut]:.0f} ms: {'met' if met[cut] else 'NOT MET'}"
            row = (
                f"{name + ', ' + cut:30} {old['figures'][key][f'{cut}_ms']:8.2f}ms "
                f"{figures[key][f'{cut}_ms']:8.2f}ms "
                f"{old['ratio_now_over_old'][key][cut]:7.2f}x  {goal}"
            )
            print(row.rstrip())


if __name__ == "__main__":
    sys.exit(main())
