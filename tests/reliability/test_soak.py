"""Soak: thousands of scripted sessions through one real `kiosk run --headless` process, with its
memory and open files sampled from /proc as it goes.

The bound, stated: after a warm-up (the first tenth of the sessions), the kiosk's resident
memory grows by less than RSS_GROWTH_MB, and its open file descriptors, counted each time it
waits for the next scan, stay within FD_SLACK of what they were after the warm-up. Every
checkout a session announced is in the spool exactly once, and nothing else is.

Short form (`make test`): 1,000 sessions. Long form (`make torture`): 10,000.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from tests.conftest import KioskHome, item, patron
from tests.e2e.live import LiveKiosk
from tests.e2e.test_headless import spool_rows
from tests.reliability import torture

SEED = 20261124
SESSIONS = torture.scale(1_000, 10_000)
BATCH = 50  # sessions written at once; the kiosk is sampled between batches, while it waits
SAMPLE_EVERY = torture.scale(100, 500)  # sessions
RSS_GROWTH_MB = 4.0
FD_SLACK = 2
CARDS = (1, 2, 8)  # accepted by the standard snapshot
CLOCK = "2026-11-23T09:00:00-05:00"
IDLE_TIMEOUT = 60  # the test config's session.idle_timeout_seconds


@dataclass
class Sample:
    sessions: int
    rss_kb: int
    fds: int


def sample(pid: int, sessions: int) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    (rss,) = (line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return Sample(sessions, int(rss), len(os.listdir(f"/proc/{pid}/fd")))


@dataclass
class Session:
    codes: list[str]  # the items it checks out, in order
    ending: str  # the session_ended reason it must end with


def script(
    rng: Random, first: int, count: int, serial: int
) -> tuple[list[str], list[Session], int]:
    """`count` sessions as scan lines: a card, one to four items (now and then one scanned
    twice, or a misread), then Done, walking away (the idle timeout) or the next patron's card.
    The last of a batch ends with Done, so each batch's sessions all end within it."""
    lines: list[str] = []
    sessions: list[Session] = []
    for n in range(count):
        if first + n > 0 and (n == 0 or sessions[-1].ending != "new_patron"):
            lines.append(f"@advance {rng.randint(5, 600)}")  # the next patron comes later
        lines.append(patron(CARDS[(first + n) % len(CARDS)]))  # never the same card twice
        codes = [item(s) for s in range(serial, serial + rng.randint(1, 4))]
        serial += len(codes)
        for code in codes:
            lines.append(code)
            if rng.random() < 0.05:
                lines.append(code)  # scanned twice: refused, never stored twice
            if rng.random() < 0.03:
                lines.append(code[:-1] + str((int(code[-1]) + 1) % 10))  # a misread
        ending = rng.choices(["done", "timeout", "new_patron"], weights=[8, 1, 1])[0]
        if n == count - 1:
            ending = "done"  # a batch ends on an event: the kiosk then waits, idle
        if ending == "done":
            lines.append("@done")
        elif ending == "timeout":
            lines.append(f"@advance {IDLE_TIMEOUT + rng.randint(0, 600)}")
        else:  # the next patron's card, before this session times out, ends it
            lines.append(f"@advance {rng.randint(1, IDLE_TIMEOUT - 1)}")
        sessions.append(Session(codes, ending))
    return lines, sessions, serial


def read_session(kiosk: LiveKiosk, expected: Session, announced: dict[str, Any]) -> Counter[str]:
    """One session's events: its card accepted, exactly its items checked out, and its end."""
    events = kiosk.events_until("session_ended")
    start, end = events[0], events[-1]
    assert start["event"] == "patron_accepted", events
    assert (end["session_id"], end["reason"], end["items"]) == (
        start["session_id"],
        expected.ending,
        len(expected.codes),
    ), events
    shown = [e for e in events if e["event"] == "item_checked_out"]
    assert [e["item"] for e in shown] == expected.codes, events
    others = Counter(e["event"] for e in events[1:-1] if e["event"] != "item_checked_out")
    assert set(others) <= {"item_refused", "scan_rejected"}, events
    for event in shown:
        assert event["txn_id"] not in announced, event
        announced[event["txn_id"]] = {**event, "session_id": start["session_id"]}
    return others


def test_thousands_of_sessions_in_one_kiosk_keep_memory_and_open_files_bounded(
    home: KioskHome,
) -> None:
    clock = torture.Clock()
    rng = Random(SEED)
    home.import_standard_snapshot(built_at="2026-11-23T06:00:00-05:00")
    kiosk = LiveKiosk(home, "--clock", CLOCK)
    samples: list[Sample] = []
    announced: dict[str, dict[str, Any]] = {}
    refusals: Counter[str] = Counter()
    endings: Counter[str] = Counter()
    serial = 1
    try:
        assert kiosk.next_event()["event"] == "ready"
        samples.append(sample(kiosk.proc.pid, 0))
        done = 0
        while done < SESSIONS:
            lines, sessions, serial = script(rng, done, min(BATCH, SESSIONS - done), serial)
            kiosk.send(*lines)
            for session in sessions:
                refusals += read_session(kiosk, session, announced)
                endings[session.ending] += 1
            done += len(sessions)
            if done % SAMPLE_EVERY == 0 or done == SESSIONS:
                samples.append(sample(kiosk.proc.pid, done))  # waiting for the next scan
        code, rest = kiosk.finish()
        assert code == 0, kiosk.stderr()
        assert rest == []
        assert "Traceback" not in kiosk.stderr()
    finally:
        kiosk.stop()

    # The spool holds exactly the announced checkouts, each once, in its session.
    rows = spool_rows(home)
    assert len(rows) == len(announced)
    for row in rows:
        event = announced[row["txn_id"]]
        assert (row["item"], row["seq"], row["patron"], row["session_id"]) == (
            event["item"],
            event["seq"],
            event["patron"],
            event["session_id"],
        )
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))

    warm = next(s for s in samples if s.sessions >= SESSIONS // 10)
    after = [s for s in samples if s.sessions >= warm.sessions]
    growth_mb = (max(s.rss_kb for s in after) - warm.rss_kb) / 1024
    fds = [s.fds for s in after]
    print("sessions, RSS kB, fds:", [(s.sessions, s.rss_kb, s.fds) for s in samples])
    torture.record(
        "Soak",
        tried="scripted sessions (a card, 1-4 items, now and then one scanned twice or a "
        "misread; then Done, walking away, or the next card) through one "
        "`kiosk run --headless --clock`",
        times=SESSIONS,
        lost=0,
        outcome=f"{len(announced):,} checkouts, each in the spool once and in its session; "
        f"RSS {warm.rss_kb / 1024:.1f} MB after the warm-up ({warm.sessions:,} sessions), "
        f"then at most {growth_mb:+.1f} MB (bound: < {RSS_GROWTH_MB:g} MB); open files "
        f"{min(fds)}-{max(fds)} (bound: {warm.fds} ± {FD_SLACK})",
        seconds=clock.seconds(),
        seed=SEED,
        endings=dict(endings),
        refusals=dict(refusals),
        samples=[(s.sessions, s.rss_kb, s.fds) for s in samples],
    )
    assert growth_mb < RSS_GROWTH_MB, f"RSS grew {growth_mb:.1f} MB after the warm-up"
    assert all(abs(n - warm.fds) <= FD_SLACK for n in fds), fds
