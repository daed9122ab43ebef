"""Handing the checkouts over: exports of N checkouts to each format and the USB bundle, and
the SIP2 replay to a library system, each against the plainest way to do the same.

Exports. Ours: export_spool (the checkouts not handed over, rendered, written atomically
and fsynced, then recorded in the spool as handed over) for each format, and write_bundle
(every format and a summary, each file read back from the drive and compared before the
hand-over is recorded). Baseline: one raw sqlite3 query, the format written with the
standard library (csv, json, f-strings) and fsynced; for the bundle, the four files
written, fsynced and read back. Each run starts from a fresh copy of the same spool.

SIP2 replay. Ours: upload() to the test library system (tests/upload/ils.py, a real SIP2
server on pysip2) on 127.0.0.1: login, status, then each checkout marked `sent` (durable)
before it leaves and its answer recorded (durable) after. Baseline: a raw socket sending
the same checkout messages, framed beforehand, one at a time to a fresh copy of the same
server, reading each answer. Throughput in checkouts a second.

The spool: the first checkout is stored by Spool.record_checkout, the others are the
same rows added in one transaction (one fsync each would take minutes for 100,000, and the
exports do not care how the rows came).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_start
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import Figure, alternate, median
from bench.patrons import card
from kiosk import demo
from kiosk.exports.formats import COLUMNS, FORMATS

KIOSK_ID = "DEMO-SC01"
TZ = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
PATRONS = 1_000


# The spool ----------------------------------------------------------------------------------


def filled_spool(folder: Path, count: int) -> Path:
    from kiosk.domain.checkout import Checkout, SpooledCheckout
    from kiosk.storage.spool import Spool
    from kiosk.storage.spool_records import CHECKOUT_COLUMNS, checkout_values

    def request(n: int) -> Checkout:
        return Checkout(
            session_id=f"session-{n // 10}",
            patron=card(1 + n % PATRONS),
            item=demo.barcode("3", 1 + n),
            due_date=date(2026, 12, 14) + timedelta(days=n % 3),
            special_due=n % 50 == 0,
            occurred_at=(T0 + timedelta(seconds=20 * n)).astimezone(TZ),
        )

    spool = Spool.open(folder, create=True)
    try:
        spool.record_checkout(request(0), KIOSK_ID, TZ)
    finally:
        spool.close()
    rows = [
        checkout_values(SpooledCheckout(request(n), KIOSK_ID, str(uuid.uuid4()), n + 1))
        for n in range(1, count)
    ]
    with sqlite3.connect(folder / "spool.db") as conn:
        conn.executemany(
            f"INSERT INTO checkouts ({', '.join(CHECKOUT_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in CHECKOUT_COLUMNS)})",
            rows,
        )
        conn.execute("UPDATE counters SET value = ? WHERE name = 'checkout_seq'", (count,))
    conn.close()
    spool = Spool.open(folder)
    try:
        if spool.summary().total != count or len(list(spool.checkouts())) != count:
            raise RuntimeError("the benchmark's spool does not hold what was put in it")
    finally:
        spool.close()
    return folder


def fresh_copy(template: Path, where: Path) -> Path:
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(template, where)
    return where


# Exports ------------------------------------------------------------------------------------


def _js(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def plain_export(db: Path, fmt: str, out: Path) -> int:
    """The baseline: every checkout in one query, written with the standard library."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM checkouts ORDER BY seq").fetchall()
    conn.close()
    with out.open("w", encoding="utf-8", newline="") as handle:
        if fmt == "koc":
            handle.write("Version=1.0\tGenerator=plain\tGeneratorVersion=1\n")
            for r in rows:
                at = datetime.fromisoformat(r[3])
                handle.write(f"{at:%Y-%m-%d %H:%M:%S} {at.microsecond // 1000:03d}\tissue\t")
                handle.write(f"{r[4]}\t{r[5]}\n")
        elif fmt == "csv":
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        elif fmt == "jsonl":
            for r in rows:
                handle.write(json.dumps(dict(zip(COLUMNS, r, strict=True))) + "\n")
        else:
            for r in rows:
                at = datetime.fromisoformat(r[3])
                due = datetime.combine(date.fromisoformat(r[6]), day_start(0), tzinfo=TZ)
                record = {
                    "timestamp": int(at.timestamp()),
                    "type": "checkout",
                    "delta": 0,
                    "patron_barcode": r[4],
                    "barcode": r[5],
                    "due_date": _js(due),
                    "checkout_time": _js(at),
                }
                handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return len(rows)


def plain_bundle(db: Path, drive: Path) -> int:
    drive.mkdir(parents=True, exist_ok=True)
    for fmt in FORMATS:
        path = drive / f"plain.{fmt}"
        plain_export(db, fmt, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise RuntimeError("a plain export did not read back")
    return len(FORMATS)


def export_figures(template: Path, work: Path, *, count: int, runs: int) -> list[Figure]:
    from kiosk.exports.bundle import write_bundle
    from kiosk.exports.writer import export_spool
    from kiosk.storage.spool import Spool

    def ours(fmt: str) -> float:
        folder = fresh_copy(template, work / "ours")
        spool = Spool.open(folder)
        try:
            started = time.perf_counter()
            if fmt == "bundle":
                drive = folder / "drive"
                drive.mkdir()
                result = write_bundle(
                    spool, drive, kiosk_id=KIOSK_ID, library="Bench", now=datetime.now(TZ)
                )
                exported = result.checkouts
            else:
                done = export_spool(
                    spool,
                    fmt,
                    folder / f"out.{fmt}",
                    include_all=False,
                    now=datetime.now(TZ),
                    tz=TZ,
                )
                exported = done.record.checkouts if done.record else 0
            seconds = time.perf_counter() - started
        finally:
            spool.close()
        if exported != count:
            raise RuntimeError(f"the {fmt} export held {exported} of {count} checkouts")
        return seconds

    def baseline(fmt: str) -> float:
        folder = fresh_copy(template, work / "plain")
        started = time.perf_counter()
        if fmt == "bundle":
            plain_bundle(folder / "spool.db", folder / "drive")
        else:
            plain_export(folder / "spool.db", fmt, folder / f"out.{fmt}")
        return time.perf_counter() - started

    figures = []
    for fmt in (*FORMATS, "bundle"):
        our_runs, base_runs = alternate(runs, lambda f=fmt: ours(f), lambda f=fmt: baseline(f))
        what = "USB bundle (every format, read back)" if fmt == "bundle" else f"{fmt} export"
        figures.append(
            Figure(
                "exports",
                f"{what}, {count:,} checkouts",
                "s",
                round(median(our_runs), 4),
                round(median(base_runs), 4),
                "sqlite3 query, stdlib writer, fsync" + (", read back" if fmt == "bundle" else ""),
                details={"runs_ours_s": our_runs, "runs_baseline_s": base_runs},
            )
        )
    return figures


# SIP2 replay --------------------------------------------------------------------------------


def replay_figures(template: Path, work: Path, *, count: int) -> list[Figure]:
    from kiosk.storage.spool import Spool
    from kiosk.upload import sip2
    from kiosk.upload.client import Endpoint
    from kiosk.upload.replay import Account, upload
    from tests.upload.ils import Library, ils

    account = Account("kiosk1", "secret", "MAIN-SC01", "MAIN", "tpw")
    folder = fresh_copy(template, work / "replay")
    spool = Spool.open(folder)
    checkouts = list(spool.checkouts())

    def library() -> Library:
        lent = [c.checkout for c in checkouts]
        return Library(patrons={c.patron for c in lent}, items={c.item for c in lent})

    try:
        with ils(library()) as port:
            started = time.perf_counter()
            run, _ = upload(
                spool, Endpoint("127.0.0.1", port), account, now=lambda: datetime.now(TZ)
            )
            ours_s = time.perf_counter() - started
    finally:
        spool.close()
    if run.accepted != count:
        raise RuntimeError(f"the library system accepted {run.accepted} of {count}: {run}")

    frames = [sip2.frame(sip2.login("kiosk1", "secret", "MAIN-SC01"), 0, "utf-8")]
    for n, lent in enumerate((c.checkout for c in checkouts), start=1):
        body = sip2.checkout(
            occurred_at=lent.occurred_at,
            due_date=lent.due_date,
            zone=lent.occurred_at.tzinfo,  # type: ignore[arg-type]
            institution="MAIN",
            patron=lent.patron,
            item=lent.item,
            terminal_password="tpw",
        )
        frames.append(sip2.frame(body, n, "utf-8"))
    with ils(library()) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        answers = []
        started = time.perf_counter()
        for message in frames:
            sock.sendall(message)
            answer = b""
            while not answer.endswith(b"\r"):
                answer += sock.recv(4096)
            answers.append(answer)
        base_s = time.perf_counter() - started
    accepted = sum(1 for a in answers[1:] if a.startswith(b"121"))
    if accepted != count:
        raise RuntimeError(f"the library system accepted {accepted} of {count} plain checkouts")
    return [
        Figure(
            "sip2_replay",
            f"SIP2 replay of {count:,} checkouts to a local server",
            "checkouts/s",
            round(count / ours_s, 1),
            round(count / base_s, 1),
            "raw socket, the same checkout messages framed beforehand",
            higher_is_better=True,
            details={"ours_s": round(ours_s, 3), "baseline_s": round(base_s, 3)},
        )
    ]
