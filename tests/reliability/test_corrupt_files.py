"""Damaged files at scale: patron snapshots cut short, bit-flipped or in the wrong format, and a
damaged spool at start-up. Seeded loops over real files; each case must end in a clear
refusal, with the previous snapshot still active and the damaged spool kept untouched.

What "refused" can mean for a snapshot, decided here:
- Signed snapshots (snapshot.public_key, `kiosk snapshot fetch`): every change to the file is
  refused, however small.
- Unsigned CSV: a cut mid-line, a wrong format and a garbled file are refused. Two kinds of
  damage leave a file that is a well-formed export, and those are imported *consistently*:
  a file cut at a line end that still holds at least half the patrons (the shrink guard
  refuses less) imports exactly the rows before the cut; a bit flip in a data row changes
  only the patrons on the line it hit (or the two next to it, when it made or removed a line
  end or a quote), as the file now says. A flip in the header must never make the kiosk
  lend to a patron the undamaged file refuses.
- Spool: SQLite keeps no checksums, so a flip inside a record's text or in unused space is
  invisible to it; every damage SQLite's integrity_check can see must keep the kiosk out of
  service, and the kiosk never runs on a spool that integrity_check rejects.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sqlite3
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random

import pytest

from kiosk.cli.run import build_runtime
from kiosk.config import KioskConfig, parse_config
from kiosk.domain.patrons import PatronRecord, check_patron
from kiosk.errors import InputFileError, SnapshotError
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.fetch import fetch_snapshot
from kiosk.storage.signing import generate_key, sign
from kiosk.storage.snapshot import SnapshotStore
from tests.conftest import CONFIG_TEMPLATE, KioskHome, exported_at, item, patron
from tests.e2e.test_headless import headless
from tests.reliability import torture
from tests.storage.test_snapshot import Snapshots

SEED = 20261123
PATRONS = 300
TODAY = date(2026, 11, 23)
NAMES = ("Rivera, Ana", "Okafor, Chidi", "García, Lucía", "Nguyen, Bao", "Lee Min", "Ødegård, Ivar")
STATUSES = ("ok", "ok", "ok", "", "blocked", "lost", "expired")
EXPIRES = ("2099-01-01", "", "2020-05-05")


def patron_file(rng: Random) -> tuple[bytes, list[str]]:
    """A realistic export: quoted names with commas and accents, fines, statuses, dates.
    Returns the bytes and the barcodes line by line (index 0: the header's line)."""
    lines = ["barcode,name,fines,status,expires"]
    barcodes = [""]
    for serial in range(1, PATRONS + 1):
        fines = f"{rng.randint(0, 2000) / 100:.2f}"
        row = [patron(serial), f'"{rng.choice(NAMES)}"', fines, rng.choice(STATUSES)]
        lines.append(",".join([*row, rng.choice(EXPIRES)]))
        barcodes.append(patron(serial))
    return ("\n".join(lines) + "\n").encode("utf-8"), barcodes


@dataclass
class Patrons:
    """The snapshot store under test, its undamaged file and what that file holds."""

    snaps: Snapshots
    good: bytes
    line_barcodes: list[str]
    records: dict[str, PatronRecord | None]

    def current_records(self) -> dict[str, PatronRecord | None]:
        reader = self.snaps.store.open_reader()
        try:
            return {code: reader.lookup(code) for code in self.line_barcodes[1:]}
        finally:
            reader.close()

    def changed(self) -> set[str]:
        now = self.current_records()
        return {code for code, record in self.records.items() if now[code] != record}


@pytest.fixture
def patrons(tmp_path: Path) -> Patrons:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    snaps = Snapshots(SnapshotStore(tmp_path / "data"), inbox)
    good, barcodes = patron_file(Random(SEED))
    snaps.import_file(snaps.write(good, "good.csv"))
    found = Patrons(snaps, good, barcodes, {})
    found.records = found.current_records()
    assert sum(r is not None for r in found.records.values()) == PATRONS
    return found


# Wrong formats: what staff might pick by mistake, or what a broken export job might leave.


def wrong_formats(good: bytes, snapshot_db: Path, rng: Random) -> dict[str, bytes]:
    text = good.decode("utf-8")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("patrons.csv", good)
    rows = [line.split(",") for line in text.splitlines()[1:4]]
    return {
        "empty file": b"",
        "PNG image": b"\x89PNG\r\n\x1a\n" + rng.randbytes(2048),
        "gzip of the export": gzip.compress(good),
        "zip (a spreadsheet)": packed.getvalue(),
        "UTF-16 with BOM": text.encode("utf-16"),
        "Latin-1 (not UTF-8)": text.encode("latin-1"),
        "JSON": json.dumps([{"barcode": r[0], "fines": r[-3]} for r in rows]).encode(),
        "an SQLite file": snapshot_db.read_bytes(),
        "HTML error page": b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>\n",
        "Koha .koc file": b"Version=1.0\tGenerator=kiosk\tGeneratorVersion=0.1\n"
        b"2026-11-23 10:00:00 000\tissue\t21234000000018\t31234000000016\n",
        "semicolon-separated, with the header still comma-separated": (
            text.splitlines()[0] + "\n" + "\n".join(text.splitlines()[1:]).replace(",", ";")
        ).encode(),
        "header only": text.splitlines()[0].encode() + b"\n",
        "random bytes": rng.randbytes(16 * 1024),
        "NUL-padded export": good[: len(good) // 2] + b"\x00" * 4096,
    }


def assert_unchanged(patrons: Patrons, before: Path) -> None:
    current = patrons.snaps.store.current()
    assert current is not None and current.file == before
    assert patrons.changed() == set()


def test_damaged_unsigned_snapshots_are_refused_or_imported_consistently(
    patrons: Patrons,
) -> None:
    clock = torture.Clock()
    rng = Random(SEED)
    rounds = torture.scale(150, 1500)
    good = patrons.good
    header_end = good.index(b"\n") + 1
    current = patrons.snaps.store.current()
    assert current is not None
    formats = wrong_formats(good, current.file, rng)
    kinds = ["cut", "flip"] * 3 + ["format"]
    seen: Counter[str] = Counter()
    cut_changed: list[int] = []  # patrons missing (or with a cut last field) per such cut
    for n in range(rounds):
        kind = kinds[n % len(kinds)]
        damaged, hit_line, label = bytearray(good), 0, kind
        if kind == "cut":
            damaged = damaged[: rng.randrange(len(good))]
        elif kind == "flip":  # the header has its own test below
            position = rng.randrange(header_end, len(good))
            damaged[position] ^= 1 << rng.randrange(8)
            hit_line = good.count(b"\n", 0, position) + 1
        else:
            label = list(formats)[n // len(kinds) % len(formats)]
            damaged = bytearray(formats[label])
        before = patrons.snaps.store.current()
        assert before is not None
        source = patrons.snaps.write(bytes(damaged), f"damaged-{n}.csv")
        try:
            report = patrons.snaps.import_file(source)
        except (SnapshotError, InputFileError):
            assert_unchanged(patrons, before.file)
            seen[f"{kind}: refused"] += 1
            source.unlink()
            continue
        assert kind != "format", f"{label} was imported"
        changed = patrons.changed()
        if kind == "cut":
            # A well-formed shorter export: exactly the rows before the cut, at least half.
            kept = report.info.rows
            assert kept * 2 >= PATRONS
            lost_rows = set(patrons.line_barcodes[kept + 1 :])
            last = patrons.line_barcodes[kept]  # may have lost its last field to the cut
            assert changed - {last} == lost_rows, f"cut at {len(damaged)}"
        else:
            near = set(patrons.line_barcodes[max(1, hit_line - 1) : hit_line + 2])
            assert changed <= near, f"one flip on line {hit_line} changed {sorted(changed)}"
        if kind == "cut":
            seen["cut: imported as a shorter export"] += 1
            cut_changed.append(len(changed))
        else:
            seen[f"flip: imported, {len(changed)} patrons changed"] += 1
        patrons.snaps.store.rollback()  # the undamaged snapshot again, for the next round
        assert_unchanged(patrons, before.file)
        source.unlink()
    assert seen["format: refused"] == sum(kinds[n % len(kinds)] == "format" for n in range(rounds))
    torture.record(
        "Damaged snapshot file (unsigned CSV)",
        tried=f"a {PATRONS}-patron export cut at a random byte, one random bit flipped outside "
        f"the header, or replaced by one of {len(formats)} wrong formats",
        times=rounds,
        lost=0,
        outcome="every refusal left the previous snapshot active and unchanged; every file "
        "that was still a well-formed export imported consistently (cut at a line end: the "
        "rows before the cut; a flip: only the patrons on the lines it hit changed); "
        + "; ".join(f"{k}: {v}" for k, v in sorted(seen.items()))
        + (
            f" (those cuts left out {min(cut_changed)}-{max(cut_changed)} patrons)"
            if cut_changed
            else ""
        ),
        seconds=clock.seconds(),
        seed=SEED,
        outcomes=dict(seen),
    )


def test_a_damaged_header_never_lets_a_refused_patron_borrow(patrons: Patrons) -> None:
    """Every single-bit flip in the header line, one at a time. One flip changes how every
    row is read, so it must be refused, or leave every refusal in place."""
    clock = torture.Clock()
    policy = config_for(patrons.snaps.store.folder.parent).station_rules().patron_policy
    refused_before = {
        code for code, record in patrons.records.items() if check_patron(record, policy, TODAY, 0)
    }
    assert len(refused_before) > PATRONS // 4
    header_end = patrons.good.index(b"\n")
    outcomes: Counter[str] = Counter()
    opened: list[str] = []
    for position in range(header_end):
        for bit in range(8):
            damaged = bytearray(patrons.good)
            damaged[position] ^= 1 << bit
            header = damaged[:header_end].decode("utf-8", "replace")
            before = patrons.snaps.store.current()
            assert before is not None
            source = patrons.snaps.write(bytes(damaged), f"header-{position}-{bit}.csv")
            try:
                patrons.snaps.import_file(source)
            except (SnapshotError, InputFileError):
                assert_unchanged(patrons, before.file)
                outcomes["refused"] += 1
                continue
            finally:
                source.unlink()
            now = patrons.current_records()
            let_in = {c for c in refused_before if not check_patron(now[c], policy, TODAY, 0)}
            if let_in:
                opened.append(f"{header!r} lets {len(let_in)} refused patrons borrow")
            outcomes["imported, blocks intact" if not let_in else "imported, blocks lost"] += 1
            patrons.snaps.store.rollback()
    torture.record(
        "Damaged snapshot header (unsigned CSV)",
        tried="every single-bit flip of the export's header line, one at a time",
        times=sum(outcomes.values()),
        lost=len(opened),
        outcome="; ".join(f"{k}: {v}" for k, v in sorted(outcomes.items()))
        + (f"; e.g. {opened[0]}" if opened else ""),
        seconds=clock.seconds(),
    )
    assert opened == [], f"{len(opened)} header flips let refused patrons borrow: {opened[:4]}"


def config_for(data_dir: Path, extra: str = "") -> KioskConfig:
    text = CONFIG_TEMPLATE.format(
        data_dir=data_dir, max_age_hours=0, max_items_per_session=20, max_items_per_patron=0
    )
    return parse_config(text + extra, "kiosk.toml")


def test_damaged_signed_snapshots_are_all_refused(patrons: Patrons, tmp_path: Path) -> None:
    """With snapshot.public_key set, `kiosk snapshot fetch` refuses any change at all."""
    clock = torture.Clock()
    rng = Random(SEED + 1)
    share = tmp_path / "share"
    share.mkdir()
    private, public = generate_key()
    published = share / "patrons.csv"
    published.write_bytes(patrons.good)
    sign(published, private)
    signature = published.with_name("patrons.csv.sig").read_bytes()
    data_dir = patrons.snaps.store.folder.parent
    config = config_for_signed(data_dir, published, public)
    current = patrons.snaps.store.current()
    assert current is not None
    formats = wrong_formats(patrons.good, current.file, rng)
    rounds = torture.scale(60, 600)
    seen: Counter[str] = Counter()
    moment = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    for n in range(rounds):
        damaged = bytearray(patrons.good)
        kind = ("cut", "flip", "format")[n % 3]
        if kind == "cut":
            damaged = damaged[: rng.randrange(len(damaged))]
        elif kind == "flip":  # anywhere, the header too
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        else:
            damaged = bytearray(list(formats.values())[n // 3 % len(formats)])
        published.write_bytes(bytes(damaged))
        before = patrons.snaps.store.current()
        assert before is not None
        with pytest.raises(SnapshotError, match=r"signature|not signed"):
            fetch_snapshot(config, now=lambda: moment)
        assert_unchanged(patrons, before.file)
        seen[kind] += 1
    # The undamaged file with its signature is imported: the check is not just refusing all.
    published.write_bytes(patrons.good)
    exported_at(published, moment - timedelta(hours=1))
    assert published.with_name("patrons.csv.sig").read_bytes() == signature
    report = fetch_snapshot(config, now=lambda: moment)
    assert report.info.rows == PATRONS
    torture.record(
        "Damaged snapshot file (signed, `kiosk snapshot fetch`)",
        tried="the signed export cut at a random byte, one random bit flipped anywhere, or "
        "replaced by a wrong format, its signature left as it was",
        times=rounds,
        lost=0,
        outcome="every one refused before import, the previous snapshot active and unchanged "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(seen.items()))}); the undamaged file "
        "then imported",
        seconds=clock.seconds(),
        seed=SEED + 1,
    )


def config_for_signed(data_dir: Path, source: Path, public: str) -> KioskConfig:
    text = CONFIG_TEMPLATE.format(
        data_dir=data_dir, max_age_hours=0, max_items_per_session=20, max_items_per_patron=0
    ).replace("[snapshot]\n", f'[snapshot]\nsource = "{source}"\npublic_key = "{public}"\n', 1)
    return parse_config(text, "kiosk.toml")


# The spool at start-up ---------------------------------------------------------------------

SPOOL_CHECKOUTS = 120


@pytest.fixture(scope="module")
def lent(tmp_path_factory: pytest.TempPathFactory) -> KioskHome:
    """A kiosk folder whose spool holds SPOOL_CHECKOUTS checkouts made by the real kiosk."""
    root = tmp_path_factory.mktemp("lent")
    home = KioskHome(root, root / "kiosk.toml", root / "data")
    home.write_config()
    home.import_standard_snapshot()
    lines: list[str] = []
    for n in range(1, SPOOL_CHECKOUTS + 1):
        if n % 15 == 1:
            lines.append(patron((1, 2, 8)[n // 15 % 3]))
        lines.append(item(n))
    run = headless(home, lines)
    assert run.returncode == 0, run.stderr
    assert len(run.named("item_checked_out")) == SPOOL_CHECKOUTS
    return home


def damage_spool(data: bytes, kind: str, rng: Random, other_db: bytes) -> tuple[bytes, str]:
    page = 4096
    if kind == "flip":
        position = rng.randrange(len(data))
        changed = bytearray(data)
        changed[position] ^= 1 << rng.randrange(8)
        return bytes(changed), f"bit flip at byte {position:,}"
    if kind == "cut":
        length = rng.randrange(1, len(data))
        if rng.random() < 0.5:
            length = max(page, length // page * page)  # whole pages lost at the end
        return data[:length], f"cut to {length:,} bytes"
    if kind == "zeroed page":
        number = rng.randrange(len(data) // page)
        start = number * page
        return data[:start] + bytes(page) + data[start + page :], f"page {number + 1} zeroed"
    return other_db, "another kiosk file (the patron snapshot) in its place"


def test_a_damaged_spool_keeps_the_kiosk_out_of_service_and_is_kept(
    lent: KioskHome, tmp_path: Path
) -> None:
    """The kiosk's own start-up (kiosk.cli.run.build_runtime, as `kiosk run` does it), in
    this process for speed, over many damaged copies of a real spool; then the real command
    for one detected case of each kind."""
    clock = torture.Clock()
    rng = Random(SEED + 2)
    original = (lent.data_dir / "spool.db").read_bytes()
    (snapshot_db,) = (lent.data_dir / "snapshots").glob("snapshot-*.db")
    kinds = ["flip"] * 6 + ["cut", "cut", "zeroed page", "another database"]
    rounds = torture.scale(120, 1200)
    seen: Counter[str] = Counter()
    first_detected: dict[str, bytes] = {}
    for n in range(rounds):
        kind = kinds[n % len(kinds)]
        damaged, what = damage_spool(original, kind, rng, snapshot_db.read_bytes())
        folder = tmp_path / f"case-{n}"
        shutil.copytree(lent.data_dir, folder)
        (folder / "spool.db").write_bytes(damaged)
        if start_in_process(folder, damaged, what):
            seen[f"{kind}: refused"] += 1
            first_detected.setdefault(kind, damaged)
        else:
            seen[f"{kind}: SQLite sees no damage (kiosk lends)"] += 1
        shutil.rmtree(folder)
    for kind, damaged in first_detected.items():
        start_for_real(lent, tmp_path / f"real-{kind}", damaged)
    assert sum(v for k, v in seen.items() if k.endswith("refused")) > rounds // 4
    torture.record(
        "Damaged spool at start-up",
        tried=f"a real spool of {SPOOL_CHECKOUTS} checkouts with one bit flipped, cut short, "
        "a page zeroed, or another SQLite file in its place, then the kiosk started on it",
        times=rounds,
        lost=0,
        outcome="every damage SQLite's integrity_check can see kept the kiosk out of service "
        "(storage_error), the file byte-for-byte as it was and no new spool; the rest (a "
        "flip in a record's text or in unused space: SQLite keeps no checksums) passed "
        "integrity_check and the kiosk lent on it; "
        + "; ".join(f"{k}: {v}" for k, v in sorted(seen.items())),
        seconds=clock.seconds(),
        seed=SEED + 2,
        outcomes=dict(seen),
        real_kiosk_runs=len(first_detected),
    )


def integrity(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        return [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.Error as exc:
        return [f"error: {exc}"]
    except UnicodeDecodeError:
        return ["error: the report itself is garbled"]
    finally:
        conn.close()


def start_in_process(folder: Path, damaged: bytes, what: str) -> bool:
    """Start the kiosk's runtime on `folder`; True if it refused the spool."""
    before = sorted(p.name for p in folder.iterdir())
    marker = (folder / "spool.id").read_bytes()
    config = config_for(folder)
    clock = ManualClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    try:
        runtime = build_runtime(config, clock)
    except Exception as exc:  # the kiosk would die with a traceback at start
        raise AssertionError(f"{what}: start-up raised {type(exc).__name__}: {exc}") from exc
    try:
        first = [e.to_dict() for e in runtime.start()]
        if first[0]["event"] == "ready":
            events = [e.to_dict() for e in runtime.scan(patron(1)) + runtime.scan(item(9999))]
    finally:
        runtime.close()
    if first[0]["event"] == "out_of_service":
        assert first[0]["reason"] == "storage_error", (what, first)
        assert "\n" not in first[0]["detail"]
        # The damaged file is kept as it was, and no new spool was started beside it.
        assert (folder / "spool.db").read_bytes() == damaged, f"{what}: the file was changed"
        assert (folder / "spool.id").read_bytes() == marker
        after = {p.name for p in folder.iterdir()} - set(before)
        assert after <= {"spool.db-wal", "spool.db-shm", "status.json"}, (what, after)
        for side in ("spool.db-wal",):
            if (folder / side).exists():
                assert (folder / side).stat().st_size == 0, f"{what}: {side} was written"
        return True
    assert [e["event"] for e in first] == ["ready"], (what, first)
    # Running on it: only if SQLite itself finds nothing wrong with it.
    assert integrity(folder / "spool.db") == ["ok"], f"{what}: the kiosk runs on a bad spool"
    assert [e["event"] for e in events] == ["patron_accepted", "item_checked_out"], (what, events)
    return False


def start_for_real(lent: KioskHome, root: Path, damaged: bytes) -> None:
    shutil.copytree(lent.root, root, ignore=shutil.ignore_patterns("stderr-*"))
    home = KioskHome(root, root / "kiosk.toml", root / "data")
    home.write_config()
    (home.data_dir / "spool.db").write_bytes(damaged)
    run = headless(home, [patron(1), item(9999), "@done"])
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.names() == ["out_of_service"]
    assert run.events[0]["reason"] == "storage_error"
    assert (home.data_dir / "spool.db").read_bytes() == damaged
