"""Staff cards at the Welcome screen: what a patron's card scan costs with ten staff cards
configured.

Ours: StationRuntime.scan of a patron card at the Welcome screen, built as `kiosk run` builds
it, with ten staff cards in the config and their tags on the station (`kiosk staff add-card`
writes them): one HMAC and a look-up decide it is no staff card, with no scrypt. Baseline:
the same scan on a station with the same config but no tags (a config copied from another
station), which checks each scan with scrypt against the config's hashes, exactly as every
station did before the tags. The floor: the same scan with no staff cards configured. Each
scan starts a session (the snapshot looked up, the patron's count read from the spool),
which is then cleared, untimed. They take turns in blocks, so a busy moment of the machine
falls on all three.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import patrons, station
from bench.common import Figure, summary_us
from kiosk.domain.staff import SALT_BYTES, hash_secret

STAFF_CARDS = 10
TARGET_MS = 5.0
PIN = "2580"
BLOCK = 100  # scans per turn (ours and the floor); the baseline takes a twentieth


def _station(root: Path, *, cards: bool, tags: bool) -> Callable[[str], float]:
    """A station in `root` (its config, a small snapshot, a spool) and a function that scans
    a patron card at its Welcome screen and returns the seconds the scan took."""
    from kiosk.cli.run import build_runtime
    from kiosk.config import load_config
    from kiosk.domain.events import PatronAccepted
    from kiosk.runtime.clock import SystemClock
    from kiosk.runtime.staff_cards import remember
    from kiosk.storage.snapshot import SnapshotStore

    config_path = station.kiosk_folder(root)
    staff = [f"STAFF-{n:04d}-QX7" for n in range(STAFF_CARDS)]
    salt = os.urandom(SALT_BYTES)  # cards share one salt, as `kiosk staff add-card` does
    hashes = [hash_secret(card, salt) for card in staff]
    if cards:
        pin = hash_secret(PIN, os.urandom(SALT_BYTES)).text()
        listed = ", ".join(f'"{h.text()}"' for h in hashes)
        with config_path.open("a", encoding="utf-8") as handle:
            handle.write(f'\n[staff]\npins = ["{pin}"]\ncards = [{listed}]\n')
    config = load_config(config_path)
    export = patrons.write_export(root / "patrons.csv", 20_000, shuffled=False)
    now = datetime.now(UTC)
    SnapshotStore(config.data_dir).import_csv(
        export, patron_rule=config.barcode_rules().patron, built_at=now, now=now
    )
    if tags:
        for card, hashed in zip(staff, hashes, strict=True):
            remember(config.data_dir, card, hashed, keep=tuple(hashes))
    runtime = build_runtime(config, SystemClock())
    runtime.start()
    serials = iter(range(10**9))
    clock = time.perf_counter

    def scan() -> float:
        card = patrons.card(1 + next(serials) % len(patrons.GOOD_SERIALS))
        started = clock()
        events = runtime.scan(card)
        took = clock() - started
        if not any(isinstance(e, PatronAccepted) for e in events):
            raise RuntimeError(f"the station did not take patron {card}: {events}")
        runtime.clear_session()
        return took

    return scan


def figures(work: Path, *, scans: int) -> list[Figure]:
    ours_scan = _station(work / "tagged", cards=True, tags=True)
    before_scan = _station(work / "untagged", cards=True, tags=False)
    floor_scan = _station(work / "no-cards", cards=False, tags=False)
    for scan in (ours_scan, before_scan, floor_scan):
        scan()  # the first opens the snapshot and the spool: not what is measured here
    before_scans = max(10, scans // 20)
    ours: list[float] = []
    before: list[float] = []
    floor: list[float] = []
    turn = 0
    while len(ours) < scans or len(before) < before_scans:
        jobs = [
            (ours, ours_scan, scans, BLOCK),
            (before, before_scan, before_scans, BLOCK // 20),
            (floor, floor_scan, scans, BLOCK),
        ]
        for samples, scan, wanted, block in jobs if turn % 2 == 0 else reversed(jobs):
            for _ in range(min(block, wanted - len(samples))):
                samples.append(scan())
        turn += 1

    def ms(samples: list[float]) -> dict[str, float]:
        return {k: round(v / 1000, 3) if k != "n" else v for k, v in summary_us(samples).items()}

    o, b, f = ms(ours), ms(before), ms(floor)
    group = "staff_card_check"
    base_is = "the same scan checked with scrypt, as before (no tags on the station)"
    target = f"< {TARGET_MS:g} ms"
    details = {"staff_cards": STAFF_CARDS, "ours_ms": o, "baseline_ms": b, "no_staff_cards_ms": f}
    name = f"Patron card at Welcome, {STAFF_CARDS} staff cards"
    return [
        Figure(
            group,
            f"{name}: median",
            "ms",
            o["median"],
            b["median"],
            base_is,
            target,
            o["median"] < TARGET_MS,
        ),
        Figure(
            group,
            f"{name}: p99",
            "ms",
            o["p99"],
            b["p99"],
            base_is,
            target,
            o["p99"] < TARGET_MS,
            details=details,
        ),
        Figure(
            group,
            "Patron card at Welcome, no staff cards: median",
            "ms",
            f["median"],
            b["median"],
            base_is,
        ),
    ]
