"""Bad input, property-based (hypothesis): scan streams into the real station, patron snapshot
files, config files. Each must end in a clear refusal or a good result, never in another
exception, and nothing stored may go unannounced. (SIP2 answers: tests/upload/test_sip2_codec.)

Example counts are moderate in `make test` and ten times larger under KIOSK_TORTURE=long.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import tomlkit
from hypothesis import example, given
from hypothesis import strategies as st

from kiosk.cli.run import build_runtime
from kiosk.config import KioskConfig, load_config, parse_config
from kiosk.errors import ConfigError, InputFileError, SnapshotError
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.headless import HeadlessRunner
from kiosk.storage.snapshot import SnapshotStore
from tests.conftest import (
    CONFIG_TEMPLATE,
    STANDARD_PATRONS,
    exported_at,
    item,
    patron,
    standard_csv,
)
from tests.reliability import torture
from tests.storage.test_snapshot import RULE

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
EXAMPLE_CONFIG = Path(__file__).parents[2] / "systemd" / "kiosk.toml.example"


def config_text(data_dir: Path) -> str:
    return CONFIG_TEMPLATE.format(
        data_dir=data_dir, max_age_hours=0, max_items_per_session=5, max_items_per_patron=10**6
    )


class Station:
    """A kiosk folder with the standard snapshot; each example starts the station on it
    afresh, as `kiosk run` does (kiosk.cli.run.build_runtime), on the same spool."""

    def __init__(self, root: Path) -> None:
        self.data_dir = root / "data"
        self.config = parse_config(config_text(self.data_dir), "kiosk.toml")
        source = root / "patrons.csv"
        source.write_text(standard_csv(), encoding="utf-8")
        exported_at(source, T0 - timedelta(hours=1))
        SnapshotStore(self.data_dir).import_csv(source, patron_rule=RULE, now=T0)
        self.starts = 0

    def clock(self) -> ManualClock:
        self.starts += 1
        return ManualClock(T0 + timedelta(hours=self.starts))  # each start a little later

    def rows_after(self, last_id: int) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.data_dir / 'spool.db'}?mode=ro", uri=True)
        try:
            return conn.execute(
                "SELECT id, txn_id, seq, item, patron FROM checkouts WHERE id > ? ORDER BY id",
                (last_id,),
            ).fetchall()
        finally:
            conn.close()

    def last_id(self) -> int:
        if not (self.data_dir / "spool.db").exists():
            return 0
        rows = self.rows_after(-1)
        return int(rows[-1][0]) if rows else 0


def settle(station: Station, last_id: int, shown: list[dict[str, Any]], seen: Counter[str]) -> None:
    """After one example: count what was shown, and the spool must hold exactly the checkouts
    announced, each once, with consecutive sequence numbers."""
    seen.update(e["event"] for e in shown)
    announced = [e for e in shown if e["event"] == "item_checked_out"]
    assert len({e["txn_id"] for e in announced}) == len(announced)
    stored = station.rows_after(last_id)
    assert [(r[1], r[2], r[3], r[4]) for r in stored] == [
        (e["txn_id"], e["seq"], e["item"], e["patron"]) for e in announced
    ]
    seqs = [r[2] for r in stored]
    if seqs:  # consecutive: a refused checkout never uses up a sequence number
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


# What a scanner (or a person at a keyboard) may send.
CARDS = [patron(n) for n in STANDARD_PATRONS] + [patron(99), patron(1)[:-1] + "0"]
ITEMS = [item(n) for n in range(1, 12)] + [item(5)[:-1] + "0"]
scans = st.one_of(
    st.sampled_from(CARDS),
    st.sampled_from(ITEMS),
    st.text(max_size=40),
    st.text(alphabet="0123456789 \t", min_size=1, max_size=20),
    st.sampled_from(ITEMS + CARDS).map(lambda code: f" {code}\t"),
)
noise = st.one_of(
    st.tuples(st.just("scan"), scans),
    st.tuples(st.just("done"), st.none()),
    st.tuples(st.just("advance"), st.integers(0, 200)),
    st.tuples(st.just("tick"), st.none()),
    st.tuples(st.just("still_here"), st.none()),
    st.tuples(st.just("reject"), st.text(max_size=20)),
)
# A patron's visit: a card and a few items (so that checkouts really happen), noise between.
visit = st.tuples(st.sampled_from(CARDS), st.lists(st.sampled_from(ITEMS), max_size=7)).map(
    lambda v: [("scan", v[0]), *(("scan", code) for code in v[1])]
)
actions = st.lists(st.one_of(visit, noise.map(lambda a: [a])), max_size=12).map(
    lambda groups: [action for group in groups for action in group]
)


def test_any_scan_stream_into_the_station_stores_exactly_what_it_announces(
    tmp_path: Path,
) -> None:
    clock_ = torture.Clock()
    station = Station(tmp_path)
    seen: Counter[str] = Counter()

    @torture.examples(120, 1500)
    @given(actions)
    @example([("scan", patron(1)), ("scan", item(1)), ("scan", item(1)), ("done", None)])
    @example([("scan", patron(1)), ("advance", 61), ("scan", item(2))])
    def check(stream: list[tuple[str, Any]]) -> None:
        clock = station.clock()
        last = station.last_id()
        runtime = build_runtime(station.config, clock)
        events = []
        try:
            events += runtime.start()
            for action, value in stream:
                if action == "scan":
                    events += runtime.scan(value)
                elif action == "done":
                    events += runtime.done()
                elif action == "advance":
                    clock.advance(value)
                    events += runtime.tick()
                elif action == "tick":
                    events += runtime.tick()
                elif action == "still_here":
                    events += runtime.still_here()
                else:
                    events += runtime.reject(value, "not a scan")
            events += runtime.end_of_input()
        finally:
            runtime.close()
        shown = [json.loads(json.dumps(e.to_dict())) for e in events]
        assert shown[0]["event"] == "ready"
        settle(station, last, shown, seen)

    check()
    assert seen["item_checked_out"] > 0 and seen["scan_rejected"] > 0
    torture.record(
        "Bad input: scan streams (station)",
        tried="hypothesis: lists of scans (cards, items, any text), Done, clock moves and "
        "refused input, fed to the station started as `kiosk run` starts it",
        times=station.starts,
        lost=0,
        outcome="no exception; every stored checkout announced exactly once, nothing else "
        f"stored ({seen['item_checked_out']:,} checkouts, {seen['scan_rejected']:,} scans "
        f"refused, {seen['patron_refused']:,} cards refused)",
        seconds=clock_.seconds(),
        events=dict(seen),
    )


# What may arrive on the headless kiosk's standard input: any bytes, between scan lines.
chunks = st.one_of(
    st.binary(max_size=120),
    st.sampled_from(CARDS + ITEMS).map(lambda code: code.encode() + b"\n"),
    visit.map(lambda v: b"".join(f"{value}\n".encode() for _, value in v)),
    st.sampled_from([b"@done\n", b"@advance 30\n", b"@advance 61\n", b"@advance x\n", b"@\n"]),
    st.text(max_size=30).map(lambda text: text.encode("utf-8", "surrogatepass") + b"\r\n"),
)


def test_any_bytes_on_the_headless_input_store_exactly_what_is_announced(
    tmp_path: Path,
) -> None:
    clock_ = torture.Clock()
    station = Station(tmp_path)
    seen: Counter[str] = Counter()
    fed = 0

    @torture.examples(100, 1000)
    @given(st.lists(chunks, max_size=30).map(b"".join))
    @example(b"\xff\xfe\x00" + patron(1).encode() + b"\n" + item(1).encode() + b"\n")
    @example(b"x" * 5000 + b"\n" + patron(1).encode() + b"\r" + item(3).encode())
    def check(data: bytes) -> None:
        nonlocal fed
        clock = station.clock()
        last = station.last_id()
        runtime = build_runtime(station.config, clock)
        out = io.StringIO()
        with tempfile.TemporaryFile() as stdin:
            stdin.write(data)
            stdin.seek(0)
            try:
                code = HeadlessRunner(runtime, out, manual_clock=clock).run(stdin.fileno())
            finally:
                runtime.close()
        assert code == 0
        fed += len(data)
        lines = out.getvalue().split("\n")
        assert lines[-1] == ""
        settle(station, last, [json.loads(line) for line in lines[:-1]], seen)

    check()
    assert seen["item_checked_out"] > 0 and seen["scan_rejected"] > 0
    torture.record(
        "Bad input: bytes on the headless input",
        tried="hypothesis: any bytes (not UTF-8, NUL, overlong lines, CR/LF mixes) between "
        "scan lines and commands, through the headless runner and the station",
        times=station.starts,
        lost=0,
        outcome=f"no exception, exit 0 every time ({fed:,} bytes fed); every stored checkout "
        f"announced exactly once ({seen['item_checked_out']:,}); "
        f"{seen['scan_rejected']:,} lines refused",
        seconds=clock_.seconds(),
        events=dict(seen),
    )


# Patron snapshot files -----------------------------------------------------------------------

COLUMNS = ["barcode", "name", "fines", "status", "expires", "Barcode ", "notes", ""]
fields = st.one_of(
    st.sampled_from([patron(n) for n in range(1, 40)]),
    st.sampled_from([patron(n) for n in range(1, 40)]),
    st.sampled_from(["0", "0.00", "12.50", "-1", "1e3", "NaN", "ok", "blocked", "lost", ""]),
    st.sampled_from(["2099-01-01", "2020-02-30", "expired", '"Smith, Ann"', '"unclosed']),
    st.text(max_size=12),
)


good_row = st.builds(
    lambda n, name, fines, status, expires: [patron(n), name, fines, status, expires],
    st.integers(1, 60),
    st.sampled_from(['"Rivera, Ana"', "Bao Nguyen", "", '"Smith, ""Jo"""']),
    st.sampled_from(["0", "0.00", "12.50", ""]),
    st.sampled_from(["ok", "blocked", "lost", "expired", ""]),
    st.sampled_from(["2099-01-01", "2020-01-01", ""]),
)
STANDARD_HEADER = ["barcode", "name", "fines", "status", "expires"]


def csv_file(header: list[str]) -> st.SearchStrategy[bytes]:
    """Rows for this header (mostly good ones under our own header), joined with a separator
    and a line end."""
    width = len(header)
    any_row = st.lists(fields, min_size=width, max_size=width) | st.lists(fields, max_size=7)
    row = good_row | good_row | good_row | any_row if header == STANDARD_HEADER else any_row
    return st.builds(
        lambda rows, sep, end, bom: (
            ("\ufeff" if bom else "")
            + end.join(sep.join(row) for row in [header, *rows])
            + (end if rows else "")
        ).encode("utf-8", "surrogatepass"),
        st.lists(row, max_size=25),
        st.sampled_from([",", ",", "\t", ";"]),
        st.sampled_from(["\n", "\r\n", "\r"]),
        st.booleans(),
    )


csv_text = st.one_of(
    st.just(STANDARD_HEADER),
    st.just(STANDARD_HEADER),
    st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6),
).flatmap(csv_file)
snapshot_files = st.one_of(st.binary(max_size=2000), csv_text)


def test_any_snapshot_file_is_imported_or_refused_and_a_refusal_changes_nothing(
    tmp_path: Path,
) -> None:
    clock_ = torture.Clock()
    data_dir = tmp_path / "data"
    store = SnapshotStore(data_dir)
    good = tmp_path / "patrons.csv"
    good.write_text(standard_csv(), encoding="utf-8")
    exported_at(good, T0 - timedelta(hours=1))
    store.import_csv(good, patron_rule=RULE, now=T0)
    standard = store.current()
    assert standard is not None
    outcomes: Counter[str] = Counter()

    @torture.examples(150, 2000)
    @given(snapshot_files, st.sampled_from([1.0, 1.0, 50.0, 100.0]), st.booleans())
    @example(b"barcode\n" + patron(1).encode() + b"\n" + patron(2).encode(), 1.0, True)
    @example(b'barcode,name\n21234000000018,"Rivera, Ana\n', 100.0, True)
    def check(content: bytes, max_bad_percent: float, allow_shrink: bool) -> None:
        source = tmp_path / "incoming.csv"
        source.write_bytes(content)
        exported_at(source, T0)
        moment = T0 + timedelta(seconds=sum(outcomes.values()) + 1)
        try:
            report = store.import_csv(
                source,
                patron_rule=RULE,
                now=moment,
                max_bad_percent=max_bad_percent,
                allow_shrink=allow_shrink,
            )
        except (SnapshotError, InputFileError) as exc:
            assert str(exc) and "\n" not in str(exc).strip()
            assert store.current() == standard
            reader = store.open_reader()
            try:
                found = reader.lookup(patron(1))
            finally:
                reader.close()
            assert found is not None and found.name == "Rivera, Ana"
            outcomes["refused"] += 1
            return
        info = store.current()
        assert info is not None and info.file == report.info.file
        assert info.rows == report.counts.imported > 0
        conn = sqlite3.connect(f"file:{info.file}?mode=ro", uri=True)
        try:
            assert conn.execute("SELECT count(*) FROM patrons").fetchone()[0] == info.rows
        finally:
            conn.close()
        outcomes["imported"] += 1
        assert store.rollback() == standard  # the standard snapshot again for the next one

    check()
    assert outcomes["refused"] > 0 and outcomes["imported"] > 0
    assert [p.name for p in data_dir.glob("snapshots/*.building")] == []
    torture.record(
        "Bad input: patron snapshot files",
        tried="hypothesis: any bytes, and CSV-like text (odd headers, separators, line ends, "
        "BOM, bad fields, quotes), imported over a good snapshot",
        times=sum(outcomes.values()),
        lost=0,
        outcome="each imported (count matching the file) or refused with SnapshotError or "
        f"InputFileError and the old snapshot unchanged ({outcomes['imported']:,} imported, "
        f"{outcomes['refused']:,} refused); no other exception, no half-built file left",
        seconds=clock_.seconds(),
    )


# Config files ---------------------------------------------------------------------------------

toml_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.sampled_from(["luhn", "none", "2026-12-25", "America/New_York", "#FFFFFF", "fake"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)


# A replacement of the same kind as the value it replaces: more of these configs get past
# the first check, so the later ones (ranges, cross-field rules) are reached too.
SAME_KIND: dict[type, st.SearchStrategy[Any]] = {
    bool: st.booleans(),
    int: st.integers(-5, 10**6) | st.integers(),
    float: st.floats(allow_nan=False),
    str: st.text(max_size=16) | st.sampled_from(["", "0", "none", "ask", "always", "auto"]),
    list: st.lists(st.text(max_size=8) | st.integers(), max_size=3),
}


def mutated(base: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """The base config with a few of its values replaced, removed, or keys added."""
    doc = json.loads(json.dumps(base, default=str))
    for _ in range(data.draw(st.integers(1, 4))):
        table = doc
        while True:
            keys = sorted(table)
            if not keys:
                break
            key = data.draw(st.sampled_from(keys))
            if isinstance(table[key], dict) and data.draw(st.booleans()):
                table = table[key]
                continue
            change = data.draw(st.sampled_from(["replace", "replace", "remove", "add"]))
            if change == "replace":
                table[key] = data.draw(SAME_KIND.get(type(table[key]), toml_values))
            elif change == "remove":
                del table[key]
            else:
                table[data.draw(st.text(min_size=1, max_size=12))] = data.draw(toml_values)
            break
    return doc


def use(config: KioskConfig) -> None:
    """What `kiosk run` derives from a config at start: none of it may raise."""
    config.station_rules()
    config.barcode_rules()
    config.presenter_settings()
    config.snapshot.limits()
    config.snapshot.file_format()
    config.staff.pin_hashes()
    config.staff.card_hashes()
    assert config.tz is not None


def test_any_config_file_is_accepted_or_refused_with_a_config_error(tmp_path: Path) -> None:
    clock_ = torture.Clock()
    bases = [
        tomllib.loads(config_text(tmp_path / "data")),
        tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8")),
    ]
    outcomes: Counter[str] = Counter()

    @torture.examples(200, 3000)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(["mutated", "text", "bytes"]))
        if kind == "mutated":
            doc = mutated(data.draw(st.sampled_from(bases)), data)
            try:
                content = tomlkit.dumps(doc).encode("utf-8", "surrogatepass")
            except (ValueError, TypeError):  # not expressible as TOML: text instead
                content = repr(doc).encode("utf-8", "surrogatepass")
        elif kind == "text":
            content = data.draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
        else:
            content = data.draw(st.binary(max_size=300))
        path = tmp_path / "kiosk.toml"
        path.write_bytes(content)
        try:
            config = load_config(path)
        except ConfigError as exc:
            assert exc.problems and all(p for p in exc.problems)
            outcomes[f"{kind}: refused"] += 1
            return
        use(config)
        outcomes[f"{kind}: accepted"] += 1

    check()
    assert outcomes["mutated: refused"] > 0 and outcomes["mutated: accepted"] > 0
    # The text of each base parses as is (the mutations start from valid configs).
    for base in bases:
        use(parse_config(tomlkit.dumps(base), "kiosk.toml"))
    torture.record(
        "Bad input: config files",
        tried="hypothesis: the test config and the shipped example with values replaced, "
        "removed or keys added, any text, any bytes, loaded as `kiosk` loads its config",
        times=sum(outcomes.values()),
        lost=0,
        outcome="each accepted (and everything `kiosk run` derives from it computed without "
        "error) or refused with ConfigError naming the problems; no other exception ("
        + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items()))
        + ")",
        seconds=clock_.seconds(),
    )
