"""The config file: the contract config is valid; every bad value is reported with its dotted
path, all at once; `kiosk config check` exits 78 on a bad file."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from hardware.printer_kinds import check_settings as check_printer_settings
from hardware.printers import make_printer
from kiosk.config import DEFAULT_CONFIG_PATH, load_config, parse_config, resolve_paths
from kiosk.domain.barcodes import CheckDigit, luhn_valid
from kiosk.domain.ils_files import DEFAULT_LAYOUT, PatronFileFormat, PatronFileKind
from kiosk.domain.items import ItemStatus
from kiosk.domain.patrons import PatronStatus, SnapshotMode
from kiosk.errors import ConfigError
from tests.conftest import CONFIG_TEMPLATE, KioskHome, run_kiosk

EX_CONFIG = 78


def contract_text(data_dir: str = "/srv/kiosk-data") -> str:
    """The config every other test runs with (tests/conftest.py), as text."""
    return CONFIG_TEMPLATE.format(
        data_dir=data_dir, max_age_hours=0, max_items_per_session=20, max_items_per_patron=0
    )


def changed(*replacements: tuple[str, str]) -> str:
    """The contract config with some text replaced; each piece must be there to replace."""
    text = contract_text()
    for old, new in replacements:
        assert old in text, f"the contract config no longer contains {old!r}"
        text = text.replace(old, new, 1)
    return text


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "kiosk.toml")
    assert caught.value.path == "kiosk.toml"
    return caught.value.problems


PATRON_RULE = 'patron = { prefix = "2", length = 14, check_digit = "luhn" }'
ALL_WEEKDAYS = '["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]'


# The contract config -------------------------------------------------------------------------


def test_the_contract_config_is_valid() -> None:
    config = parse_config(contract_text(), "kiosk.toml")

    assert config.kiosk.id == "TEST-SC01"
    assert config.kiosk.library == "Test Library"
    assert config.data_dir == Path("/srv/kiosk-data")
    assert str(config.tz) == "America/New_York"
    assert config.policy.block_fines_over == Decimal("10.00")
    assert config.loans.closed_dates == [date(2026, 12, 25)]
    rules = config.barcode_rules()
    assert (rules.patron.prefix, rules.patron.length) == ("2", 14)
    assert rules.patron.check_digit is CheckDigit.LUHN
    assert (rules.item.prefix, rules.item.length) == ("3", 14)
    station = config.station_rules()
    assert station.kiosk_id == "TEST-SC01"
    assert station.loan_rules.loan_days == 21
    assert station.max_items_per_session == 20


def test_the_contract_config_file_loads_with_its_data_dir(home: KioskHome) -> None:
    config = load_config(home.config_path)
    assert config.data_dir == home.data_dir


def test_weekday_names_are_accepted_in_any_case() -> None:
    config = parse_config(
        changed(("closed_weekdays = []", 'closed_weekdays = ["Sunday", "MONDAY"]')), "k.toml"
    )
    assert config.loans.closed_weekdays == ["sunday", "monday"]
    assert config.station_rules().loan_rules.closed_weekdays == frozenset({6, 0})


def test_a_barcode_pattern_alone_is_a_valid_rule() -> None:
    config = parse_config(
        changed((PATRON_RULE, 'patron = { pattern = "2[0-9]{13}", check_digit = "luhn" }')),
        "k.toml",
    )
    assert config.barcode_rules().patron.pattern == "2[0-9]{13}"


def test_no_fine_limit_when_block_fines_over_is_left_out() -> None:
    config = parse_config(changed(('block_fines_over = "10.00"\n', "")), "k.toml")
    assert config.policy.block_fines_over is None


# One bad value: one problem, named by its dotted path ----------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        (
            'timezone = "America/New_York"',
            'timezone = "Mars/Olympus"',
            "kiosk.timezone",
            "IANA time zone",
        ),
        ('timezone = "America/New_York"', 'timezone = ""', "kiosk.timezone", "IANA time zone"),
        (
            'timezone = "America/New_York"',
            'timezone = "../../etc/passwd"',
            "kiosk.timezone",
            "IANA time zone",
        ),
        ('id = "TEST-SC01"', 'id = "TEST SC01"', "kiosk.id", "pattern"),
        (
            'block_fines_over = "10.00"',
            'block_fines_over = "ten dollars"',
            "policy.block_fines_over",
            "decimal",
        ),
        (
            'block_fines_over = "10.00"',
            "block_fines_over = 10.5",
            "policy.block_fines_over",
            "as text",
        ),
        (
            'block_fines_over = "10.00"',
            'block_fines_over = "10.001"',
            "policy.block_fines_over",
            "at most 2 decimals",
        ),
        (
            'block_fines_over = "10.00"',
            'block_fines_over = "-1.00"',
            "policy.block_fines_over",
            "zero or more",
        ),
        (
            'block_fines_over = "10.00"',
            'block_fines_over = "NaN"',
            "policy.block_fines_over",
            "finite",
        ),
        (
            'block_statuses = ["blocked", "lost", "expired"]',
            'block_statuses = ["banned"]',
            "policy.block_statuses.0",
            "'blocked', 'lost' or 'expired'",
        ),
        (
            "closed_weekdays = []",
            'closed_weekdays = ["Funday"]',
            "loans.closed_weekdays",
            "not weekdays",
        ),
        (
            "closed_weekdays = []",
            f"closed_weekdays = {ALL_WEEKDAYS}",
            "loans.closed_weekdays",
            "every day of the week",
        ),
        (
            "closed_weekdays = []",
            f"closed_weekdays = {ALL_WEEKDAYS.title()}",
            "loans.closed_weekdays",
            "every day of the week",
        ),
        (
            'closed_dates = ["2026-12-25"]',
            'closed_dates = ["2026-13-25"]',
            "loans.closed_dates.0",
            "date",
        ),
        ("loan_days = 21", "loan_days = 0", "loans.loan_days", "greater than or equal to 1"),
        (
            PATRON_RULE,
            'patron = { prefix = "2", length = 14, check_digit = "mod11" }',
            "barcodes.patron.check_digit",
            "'luhn' or 'none'",
        ),
        (
            PATRON_RULE,
            'patron = { pattern = "2[0-9", check_digit = "luhn" }',
            "barcodes.patron",
            "not a regular expression",
        ),
        (
            PATRON_RULE,
            'patron = { pattern = "2[0-9]{13}", prefix = "2" }',
            "barcodes.patron",
            "not both",
        ),
        (
            PATRON_RULE,
            'patron = { pattern = "2[0-9]{13}", length = 14 }',
            "barcodes.patron",
            "not both",
        ),
        (
            PATRON_RULE,
            'patron = { check_digit = "luhn" }',
            "barcodes.patron",
            "prefix, a length, or a pattern",
        ),
        (
            PATRON_RULE,
            'patron = { prefix = "2", length = 0 }',
            "barcodes.patron.length",
            "greater than or equal to 1",
        ),
        (
            "idle_timeout_seconds = 60",
            "idle_timeout_seconds = 5",
            "session.idle_timeout_seconds",
            "greater than or equal to 10",
        ),
    ],
)
def test_a_bad_value_is_reported_with_its_dotted_path(
    old: str, new: str, path: str, words: str
) -> None:
    problems = problems_of(changed((old, new)))

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}: "), problems
    assert words in problems[0]


@pytest.mark.parametrize(
    ("old", "path"),
    [
        ('id = "TEST-SC01"\n', "kiosk.id"),
        ('library = "Test Library"\n', "kiosk.library"),
        ('timezone = "America/New_York"\n', "kiosk.timezone"),
        (PATRON_RULE + "\n", "barcodes.patron"),
    ],
)
def test_a_missing_required_key_is_reported(old: str, path: str) -> None:
    assert problems_of(changed((old, ""))) == [f"{path}: required but missing"]


def test_a_missing_required_section_is_reported() -> None:
    text = contract_text()
    start = text.index("[barcodes]")
    end = text.index("[session]")
    assert problems_of(text[:start] + text[end:]) == ["barcodes: required but missing"]


# Unknown keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "loan_days = 21",
            "loan_dayz = 21",
            "loans.loan_dayz: unknown key (did you mean 'loan_days'?)",
        ),
        ("[session]", "[sesion]", "sesion: unknown key (did you mean 'session'?)"),
        (
            'timezone = "America/New_York"',
            'timezone = "America/New_York"\ntimezon = "UTC"',
            "kiosk.timezon: unknown key (did you mean 'timezone'?)",
        ),
        (
            PATRON_RULE,
            'patron = { prefix = "2", lenght = 14 }',
            "barcodes.patron.lenght: unknown key (did you mean 'length'?)",
        ),
    ],
)
def test_an_unknown_key_is_an_error_with_a_did_you_mean(old: str, new: str, problem: str) -> None:
    assert problem in problems_of(changed((old, new)))


def test_an_unknown_section_with_no_close_name_has_no_guess() -> None:
    problems = problems_of(contract_text() + '\n[weather]\nforecast = "rain"\n')
    assert problems == ["weather: unknown key"]


# Every problem at once ----------------------------------------------------------------------

SEVERAL_PROBLEMS = changed(
    ('id = "TEST-SC01"\n', ""),
    ('timezone = "America/New_York"', 'timezone = "Mars/Olympus"'),
    ('block_fines_over = "10.00"', "block_fines_over = 10.5"),
    ("loan_days = 21", "loan_dayz = 21"),
    (PATRON_RULE, 'patron = { prefix = "2", length = 14, check_digit = "mod11" }'),
)
SEVERAL_PATHS = [
    "kiosk.id: required but missing",
    "kiosk.timezone: ",
    "policy.block_fines_over: ",
    "loans.loan_dayz: unknown key",
    "barcodes.patron.check_digit: ",
]


def test_several_problems_are_reported_at_once_in_one_error() -> None:
    problems = problems_of(SEVERAL_PROBLEMS)

    assert len(problems) == len(SEVERAL_PATHS), problems
    for start in SEVERAL_PATHS:
        assert sum(p.startswith(start) for p in problems) == 1, (start, problems)


def test_the_error_message_names_the_file_and_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(SEVERAL_PROBLEMS, "/etc/kiosk/kiosk.toml")
    message = str(caught.value)
    assert message.startswith("/etc/kiosk/kiosk.toml: ")
    for problem in caught.value.problems:
        assert problem in message


def test_invalid_toml_is_a_config_error() -> None:
    problems = problems_of(contract_text().replace("loan_days = 21", "loan_days = = 21"))
    assert len(problems) == 1
    assert "not valid TOML" in problems[0]


# Loading a file -----------------------------------------------------------------------------


def test_a_relative_data_dir_is_resolved_against_the_config_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc" / "kiosk"
    folder.mkdir(parents=True)
    path = folder / "kiosk.toml"
    path.write_text(contract_text(data_dir="state/data"), encoding="utf-8")

    config = load_config(path)

    assert config.data_dir.is_absolute()
    assert config.data_dir == folder.resolve() / "state" / "data"


def test_an_absolute_data_dir_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(contract_text(data_dir="/var/lib/elsewhere"), encoding="utf-8")
    assert load_config(path).data_dir == Path("/var/lib/elsewhere")


def test_every_relative_path_setting_is_resolved_against_the_config_files_folder(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "etc" / "kiosk"
    folder.mkdir(parents=True)
    path = folder / "kiosk.toml"
    extra = (
        '\n[printer]\ntype = "file"\npath = "receipts/out.bin"\n'
        '\n[staff]\nexport_roots = ["usb", "/media"]\n'
        '\n[sounds]\nsuccess = "sounds/ok.wav"\n'
        '\n[sip2]\nhost = "ils"\ninstitution = "MAIN"\nca_file = "ca.pem"\n'
    )
    path.write_text(contract_text() + extra, encoding="utf-8")
    here = folder.resolve()

    config = load_config(path)

    assert config.printer.path == here / "receipts" / "out.bin"
    assert config.staff.export_roots == [here / "usb", Path("/media")]
    assert config.sounds.success == here / "sounds" / "ok.wav"
    assert config.sounds.problem is None
    assert config.sip2 is not None and config.sip2.ca_file == here / "ca.pem"
    assert config.data_dir == Path("/srv/kiosk-data")


class _Inner(BaseModel):
    model_config = ConfigDict(frozen=True)
    file: Path
    name: str = "not/a/path"


class _Settings(BaseModel):
    """A model the resolver has never heard of: it finds its paths by their types."""

    model_config = ConfigDict(frozen=True)
    one: Path
    maybe: Path | None = None
    many: list[Path] = []
    inner: _Inner
    inners: list[_Inner] | None = None
    text: str = "relative/text"


def test_a_new_path_setting_is_resolved_without_being_listed_anywhere(tmp_path: Path) -> None:
    settings = _Settings(
        one=Path("a"),
        maybe=Path("b"),
        many=[Path("c"), Path("/abs")],
        inner=_Inner(file=Path("d")),
        inners=[_Inner(file=Path("e"))],
    )

    got = resolve_paths(settings, tmp_path)

    assert got == _Settings(
        one=tmp_path / "a",
        maybe=tmp_path / "b",
        many=[tmp_path / "c", Path("/abs")],
        inner=_Inner(file=tmp_path / "d"),
        inners=[_Inner(file=tmp_path / "e")],
    )
    assert resolve_paths(_Settings(one=Path("/x"), inner=_Inner(file=Path("/y"))), tmp_path) == (
        _Settings(one=Path("/x"), inner=_Inner(file=Path("/y")))
    )


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert caught.value.path == str(missing)
    assert len(caught.value.problems) == 1
    assert "not found" in caught.value.problems[0]


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(contract_text().replace("Test Library", "Bibliothèque").encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "cannot be read" in caught.value.problems[0]


# `kiosk config check` -----------------------------------------------------------------------


def test_config_check_accepts_the_contract_config(home: KioskHome) -> None:
    result = home.kiosk("config", "check")

    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "TEST-SC01" in result.stdout
    assert str(home.data_dir) in result.stdout
    assert result.stderr == ""


def test_config_check_prints_the_resolved_data_dir(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "kiosk.toml"
    path.write_text(contract_text(data_dir="relative-data"), encoding="utf-8")

    result = run_kiosk("--config", str(path), "config", "check")

    assert result.returncode == 0, result.stderr
    assert f"data in {folder.resolve() / 'relative-data'})" in result.stdout


def test_config_check_exits_78_and_prints_every_problem(home: KioskHome) -> None:
    home.config_path.write_text(SEVERAL_PROBLEMS, encoding="utf-8")

    result = home.kiosk("config", "check")

    assert result.returncode == EX_CONFIG
    assert "OK" not in result.stdout
    assert str(home.config_path) in result.stderr
    listed = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(listed) == len(SEVERAL_PATHS), result.stderr
    for start in SEVERAL_PATHS:
        assert any(line.startswith(f"  - {start}") for line in listed), (start, result.stderr)
    assert "Traceback" not in result.stderr


def test_config_check_with_a_missing_file_exits_78_with_a_clear_message(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-kiosk.toml"

    result = run_kiosk("--config", str(missing), "config", "check")

    assert result.returncode == EX_CONFIG
    assert str(missing) in result.stderr
    assert "not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_config_option_wins_over_the_environment(home: KioskHome, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SEVERAL_PROBLEMS, encoding="utf-8")

    result = home.kiosk("config", "check", env={"KIOSK_CONFIG": str(bad)})

    assert result.returncode == 0, result.stderr
    assert str(home.config_path) in result.stdout


def test_the_environment_names_the_config_when_there_is_no_option(
    home: KioskHome, tmp_path: Path
) -> None:
    good = run_kiosk("config", "check", env={"KIOSK_CONFIG": str(home.config_path)})
    assert good.returncode == 0, good.stderr
    assert str(home.config_path) in good.stdout

    bad_path = tmp_path / "bad.toml"
    bad_path.write_text(SEVERAL_PROBLEMS, encoding="utf-8")
    bad = run_kiosk("config", "check", env={"KIOSK_CONFIG": str(bad_path)})
    assert bad.returncode == EX_CONFIG
    assert str(bad_path) in bad.stderr


def test_without_option_or_environment_the_default_path_is_used() -> None:
    result = run_kiosk("config", "check", env={"KIOSK_CONFIG": ""})
    # Whether or not this machine has a kiosk config, the command names the file it read.
    assert str(DEFAULT_CONFIG_PATH) in result.stdout + result.stderr
    assert result.returncode in (0, EX_CONFIG)


# Patron exports from other library systems, deny lists, loans per material ---------------------

KOHA = """
[snapshot.columns]
barcode = "cardnumber"
name = ["firstname", "surname"]
expires = "dateexpiry"
fines = "balance"
status = "status"

[snapshot.status_values]
"LOST" = "lost"
"DEBARRED" = "blocked"
"""


def with_snapshot(lines: str, extra: str = "") -> str:
    """The contract config with `lines` in its [snapshot] table and `extra` tables after it."""
    return changed(("[snapshot]\n", f"[snapshot]\n{lines}")) + extra


def test_a_koha_column_mapping_becomes_the_layout_rows_are_read_with() -> None:
    config = parse_config(with_snapshot('date_format = "%Y-%m-%d"\n', KOHA), "k.toml")

    file_format = config.snapshot.file_format()
    assert (file_format.kind, file_format.mode) == (PatronFileKind.CSV, SnapshotMode.ALLOW)
    layout = file_format.layout
    assert (layout.barcode, layout.name, layout.fines) == (
        "cardnumber",
        ("firstname", "surname"),
        "balance",
    )
    assert layout.required == frozenset(
        {"cardnumber", "firstname", "surname", "dateexpiry", "balance", "status"}
    )
    assert dict(layout.status_values) == {
        "lost": PatronStatus.LOST,
        "debarred": PatronStatus.BLOCKED,
    }
    assert layout.date_format == "%Y-%m-%d"


def test_without_a_mapping_the_layout_is_our_own_columns() -> None:
    config = parse_config(contract_text(), "k.toml")
    assert config.snapshot.file_format() == PatronFileFormat(layout=DEFAULT_LAYOUT)


def test_a_block_list_format_is_a_deny_list_and_the_command_line_can_choose_it() -> None:
    block_list = parse_config(with_snapshot('format = "evergreen-blocklist"\n'), "k.toml")
    assert block_list.snapshot.file_format().mode is SnapshotMode.DENY
    assert block_list.snapshot.file_format().kind is PatronFileKind.EVERGREEN_BLOCKLIST
    plain = parse_config(contract_text(), "k.toml")
    chosen = plain.snapshot.file_format("evergreen-blocklist")
    assert (chosen.kind, chosen.mode) == (PatronFileKind.EVERGREEN_BLOCKLIST, SnapshotMode.DENY)
    # mode = "deny" alone means the usual deny list, Evergreen's; a CSV can be one too.
    deny = parse_config(with_snapshot('mode = "deny"\n'), "k.toml").snapshot.file_format()
    assert (deny.kind, deny.mode) == (PatronFileKind.EVERGREEN_BLOCKLIST, SnapshotMode.DENY)
    deny_csv = parse_config(with_snapshot('format = "csv"\nmode = "deny"\n'), "k.toml")
    csv_format = deny_csv.snapshot.file_format()
    assert (csv_format.kind, csv_format.mode) == (PatronFileKind.CSV, SnapshotMode.DENY)
    assert deny_csv.snapshot.file_format("csv") == csv_format


def test_loan_periods_per_material_reach_the_loan_rules() -> None:
    config = parse_config(
        contract_text() + '\n[loans.by_material]\nDVD = 7\n"Large Print" = 28\n', "k"
    )
    assert config.loans.by_material == {"dvd": 7, "large print": 28}
    rules = config.station_rules().loan_rules
    assert rules.material_days == (("dvd", 7), ("large print", 28))
    assert (rules.days_for("DVD"), rules.days_for("book"), rules.days_for("")) == (7, 21, 21)


def test_item_status_words_map_to_our_statuses() -> None:
    text = contract_text() + (
        '\n[items.status_values]\n"On holds shelf" = "on_hold"\nREFERENCE = "not_for_loan"\n'
    )
    config = parse_config(text, "k.toml")
    assert config.items.status_map() == {
        "On holds shelf": ItemStatus.ON_HOLD,
        "REFERENCE": ItemStatus.NOT_FOR_LOAN,
    }
    assert parse_config(contract_text(), "k.toml").items.status_map() == {}


def test_item_columns_map_our_names_to_the_exports() -> None:
    text = contract_text() + '\n[items.columns]\nbarcode = "Item Barcode"\nmaterial = "itype"\n'
    config = parse_config(text, "k.toml")
    assert config.items.column_map() == {"barcode": "Item Barcode", "material": "itype"}
    assert parse_config(contract_text(), "k.toml").items.column_map() == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            contract_text() + '\n[items.status_values]\n"Damaged" = "broken"\n',
            "items.status_values.Damaged: Input should be 'available', 'on_hold', 'in_transit', "
            "'not_for_loan', 'lost' or 'missing'",
        ),
        (
            contract_text() + '\n[items.status_values]\n"Lost" = "lost"\n" LOST" = "missing"\n',
            "items.status_values: ' LOST' is listed twice",
        ),
        (
            contract_text() + '\n[items.status_values]\n" " = "available"\n',
            "items.status_values: a status word cannot be blank (an empty status is available)",
        ),
        (
            contract_text() + '\n[items.columns]\ntitle = "T"\nmaterial = "t"\n',
            "items.columns: the column 't' is named twice (title, material)",
        ),
        (
            contract_text() + '\n[items.columns]\nholdfor = "reserved"\n',
            "items.columns.holdfor: unknown key (did you mean 'hold_for'?)",
        ),
        (
            contract_text() + "\n[items]\nstatus_value = {}\n",
            "items.status_value: unknown key (did you mean 'status_values'?)",
        ),
        (
            with_snapshot("", '\n[snapshot.columns]\nbarcode = "  "\n'),
            "snapshot.columns.barcode: a column name cannot be blank",
        ),
        (
            with_snapshot("", "\n[snapshot.columns]\nname = []\n"),
            "snapshot.columns.name: give at least one column",
        ),
        (
            with_snapshot("", '\n[snapshot.columns]\nbarcode = "card"\nfines = "Card"\n'),
            "snapshot.columns: the column 'Card' is named twice (barcode, fines)",
        ),
        (
            with_snapshot("", '\n[snapshot.columns]\nbarcod = "cardnumber"\n'),
            "snapshot.columns.barcod: unknown key (did you mean 'barcode'?)",
        ),
        (
            with_snapshot("", '\n[snapshot.status_values]\n"LOST" = "missing"\n'),
            "snapshot.status_values.LOST: Input should be 'ok', 'blocked', 'lost' or 'expired'",
        ),
        (
            with_snapshot("", '\n[snapshot.status_values]\n"Lost" = "lost"\n"LOST" = "lost"\n'),
            "snapshot.status_values: 'LOST' is listed twice",
        ),
        (
            with_snapshot('date_format = "%m/%d"\n'),
            "snapshot.date_format: '%m/%d' does not read a whole date",
        ),
        (
            with_snapshot('date_format = "expiry"\n'),
            "snapshot.date_format: 'expiry' does not read a whole date",
        ),
        (
            with_snapshot('format = "koha"\n'),
            "snapshot.format: Input should be 'csv' or 'evergreen-blocklist'",
        ),
        (
            with_snapshot('format = "evergreen-blocklist"\nmode = "allow"\n'),
            "snapshot: an Evergreen block list lists the cards that may NOT borrow",
        ),
        (
            with_snapshot('format = "evergreen-blocklist"\n', KOHA),
            'snapshot: columns, status_values: only for format = "csv"',
        ),
        (
            with_snapshot('mode = "deny"\ndate_format = "%m/%d/%Y"\n'),
            'snapshot: date_format: only for format = "csv"',
        ),
        (
            with_snapshot('mode = "block"\n'),
            "snapshot.mode: Input should be 'allow' or 'deny'",
        ),
        (
            contract_text() + "\n[loans.by_material]\ndvd = 0\n",
            "loans.by_material.dvd: Input should be greater than or equal to 1",
        ),
        (
            contract_text() + '\n[loans.by_material]\ndvd = 7\n"DVD " = 14\n',
            "loans.by_material: 'DVD ' is listed twice",
        ),
        (
            contract_text() + '\n[loans.by_material]\ndvd = "seven"\n',
            "loans.by_material.dvd: Input should be a valid integer",
        ),
    ],
    ids=lambda v: "" if v.startswith("[kiosk]") else v.split(":", 1)[0],
)
def test_bad_snapshot_and_material_settings_are_reported_with_their_path(
    text: str, problem: str
) -> None:
    problems = problems_of(text)
    assert any(p.startswith(problem) for p in problems), problems


# Barcode rules that can fit the same scan ------------------------------------------------------

ITEM_RULE = 'item = { prefix = "3", length = 14, check_digit = "luhn" }'
ANY_14_DIGITS = '{ pattern = "[0-9]{14}", check_digit = "luhn" }'
OVERLAPPING_RULES = (
    (PATRON_RULE, f"patron = {ANY_14_DIGITS}"),
    (ITEM_RULE, f"item = {ANY_14_DIGITS}"),
)


def with_barcodes(*extra: str) -> str:
    """The contract config with the overlapping rules, and these lines in [barcodes]."""
    text = changed(*OVERLAPPING_RULES)
    return text.replace("[barcodes]\n", "[barcodes]\n" + "".join(f"{e}\n" for e in extra), 1)


def write_home_config(home: KioskHome, text: str) -> None:
    home.config_path.write_text(text.replace("/srv/kiosk-data", str(home.data_dir)), "utf-8")


def test_config_check_refuses_rules_that_fit_the_same_scan_and_names_one(home: KioskHome) -> None:
    write_home_config(home, with_barcodes())

    result = home.kiosk("config", "check")

    assert result.returncode == EX_CONFIG, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("  - barcodes: ")]
    found = re.search(r"such as ([0-9]+)", line)
    assert found is not None, line
    example = found.group(1)
    assert len(example) == 14 and luhn_valid(example)  # fits both rules
    assert "a Luhn check digit on both does not tell them apart" in line
    assert "make the rules distinct" in line and 'set overlap = "lists"' in line
    # The kiosk does not start on such rules either.
    run = home.kiosk("run", "--headless", "--clock", "2026-11-23T10:00:00-05:00")
    assert run.returncode == EX_CONFIG and example in run.stderr


@pytest.mark.parametrize(
    "rules",
    [
        (
            (PATRON_RULE, 'patron = { prefix = "21", length = 14, check_digit = "luhn" }'),
            (ITEM_RULE, 'item = { prefix = "31", length = 14, check_digit = "luhn" }'),
        ),
        (
            (PATRON_RULE, 'patron = { pattern = "21[0-9]{12}", check_digit = "luhn" }'),
            (ITEM_RULE, 'item = { pattern = "31[0-9]{12}", check_digit = "luhn" }'),
        ),
        (
            (PATRON_RULE, 'patron = { pattern = "^21\\\\d{12}$", check_digit = "luhn" }'),
            (ITEM_RULE, 'item = { prefix = "31", length = 14 }'),
        ),
    ],
    ids=["prefixes", "patterns", "pattern-and-prefix"],
)
def test_distinct_rules_are_accepted(rules: tuple[tuple[str, str], ...]) -> None:
    config = parse_config(changed(*rules), "k.toml")
    assert config.barcodes.overlap == "refuse"


@pytest.mark.parametrize(
    ("patron", "problem"),
    [
        # Luhn by hand (FORMATS.md): 3 doubled is 6, check digit 4; 3 doubled + 1 is 7, so 3.
        ('{ prefix = "3", length = 14 }', "such as 30000000000004"),  # the item's own prefix
        ('{ prefix = "31", length = 14 }', "such as 31000000000003"),
        ('{ prefix = "3" }', "such as 30000000000004"),  # a length unset
        ('{ pattern = "(3)\\\\1[0-9]{12}" }', "cannot be compared (interegular"),
    ],
)
def test_each_overlap_is_refused_with_what_shows_it(patron: str, problem: str) -> None:
    [found] = problems_of(changed((PATRON_RULE, f"patron = {patron}")))
    assert found.startswith("barcodes: ") and problem in found, found


def test_overlap_lists_accepts_rules_that_fit_the_same_scan(home: KioskHome) -> None:
    config = parse_config(with_barcodes('overlap = "lists"'), "k.toml")
    assert config.barcodes.overlap == "lists"
    write_home_config(home, with_barcodes('overlap = "lists"'))
    result = home.kiosk("config", "check")
    assert result.returncode == 0, result.stderr


def test_overlap_has_two_values() -> None:
    [found] = problems_of(with_barcodes('overlap = "guess"'))
    assert found == "barcodes.overlap: Input should be 'refuse' or 'lists'"


def test_overlap_lists_with_a_deny_list_needs_an_item_snapshot(home: KioskHome) -> None:
    text = with_barcodes('overlap = "lists"').replace(
        "[snapshot]\n", '[snapshot]\nmode = "deny"\nformat = "csv"\n', 1
    )
    write_home_config(home, text)

    refused = home.kiosk("config", "check")

    assert refused.returncode == EX_CONFIG
    assert f"  - barcodes.overlap: {home.data_dir / 'items'} holds no item snapshot" in (
        refused.stderr
    )
    assert "kiosk snapshot import-items" in refused.stderr
    items = home.root / "items.csv"
    items.write_text("barcode,title\n31234000000016,A book\n", encoding="utf-8")
    assert home.kiosk("snapshot", "import-items", str(items)).returncode == 0
    accepted = home.kiosk("config", "check")
    assert accepted.returncode == 0, accepted.stderr


# Printer settings: checked against the printers' own table --------------------------------------


@pytest.mark.parametrize(
    ("printer", "settings"),
    [
        ('type = "usb"\nvendor_id = 1208', {"vendor_id": 1208}),
        ('type = "serial"', {}),
        ('type = "network"', {}),
        ('type = "file"', {}),
    ],
)
def test_a_printer_without_what_it_needs_is_refused_in_the_printers_own_words(
    printer: str, settings: dict[str, object]
) -> None:
    kind = printer.split('"')[1]
    with pytest.raises(ValueError, match="needs") as caught:
        make_printer(kind, **settings)
    assert problems_of(contract_text() + f"\n[printer]\n{printer}\n") == [
        f"printer: {caught.value}"
    ]


@pytest.mark.parametrize(
    "printer",
    [
        'type = "usb"\nvendor_id = 1208\nproduct_id = 3605',
        'type = "serial"\nurl = "/dev/ttyUSB0"',
        'type = "network"\nhost = "10.0.0.9"',
        'type = "file"\npath = "/dev/usb/lp0"',
        'type = "cups"',  # the default CUPS queue, as make_printer takes it
        'type = "cups"\nname = "receipts"',
        'type = "fake"\npaper_for = 3',
    ],
)
def test_what_the_config_accepts_the_printer_factory_accepts(printer: str) -> None:
    config = parse_config(contract_text() + f"\n[printer]\n{printer}\n", "kiosk.toml")
    check_printer_settings(config.printer.type, config.printer.settings())
