"""The kiosk's .koc files, run through a fake of Koha's offline circulation import
(tests/exports/fake_koha.py, from FORMATS.md sections 2 and 6), in the 2026 clock changes of
five zones: the kiosk's own zone and Koha's the same, or not.

Real spools in a temporary folder, exported with the kiosk's own writer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.exports.formats import RepeatedHourLine
from kiosk.exports.writer import export_spool
from kiosk.storage.spool import Spool
from tests.conftest import item, patron
from tests.exports.fake_koha import KohaCirculation, process_koc

ZONE_NAMES = ("America/New_York", "America/Chicago", "Europe/London", "Australia/Sydney", "UTC")
ZONES = [ZoneInfo(name) for name in ZONE_NAMES]
LOAN_DAYS = 21
HOUR = timedelta(hours=1)
README = Path(__file__).resolve().parents[2] / "README.md"


def clock_changes(zone: tzinfo) -> list[datetime]:
    """The instants (UTC) at which `zone`'s offset changes in 2026: all on the hour."""
    moment, changes = datetime(2026, 1, 1, tzinfo=UTC), []
    while moment.year == 2026:
        if moment.astimezone(zone).utcoffset() != (moment - HOUR).astimezone(zone).utcoffset():
            changes.append(moment)
        moment += HOUR
    return changes


def moments(zone: tzinfo) -> list[datetime]:
    """Checkout moments around each of the zone's 2026 clock changes (New York's for UTC): the
    day before and after, 90 minutes before and after, and 30 minutes before and 15 after,
    which in autumn are the repeated hour's first and second pass (the first pass a quarter
    of an hour earlier in wall time than the second: made first, it reads as made later)."""
    changes = clock_changes(zone) or clock_changes(ZoneInfo("America/New_York"))
    offsets = (-24 * 60, -90, -30, 15, 90, 24 * 60)
    return sorted(t + timedelta(minutes=m) for t in changes for m in offsets)


def record(spool: Spool, zone: tzinfo, lent: list[tuple[datetime, str, str]]) -> None:
    for n, (moment, card, barcode) in enumerate(lent, start=1):
        spool.record_checkout(
            Checkout(
                session_id=f"session-{n}",
                patron=card,
                item=barcode,
                due_date=(moment.astimezone(zone) + timedelta(days=LOAN_DAYS)).date(),
                special_due=False,
                occurred_at=moment,
            ),
            "TEST-SC01",
            zone,
        )


def export(
    tmp_path: Path, zone: tzinfo, lent: list[tuple[datetime, str, str]]
) -> tuple[str, list[SpooledCheckout], tuple[RepeatedHourLine, ...]]:
    """Record `lent` in a real spool and export it as .koc: the file's text, the spool's
    checkouts (line n is checkout n - 2) and the lines the kiosk warned about."""
    spool = Spool.open(tmp_path / "data", create=True)
    try:
        record(spool, zone, lent)
        out = tmp_path / "main.koc"
        now = max(m for m, _, _ in lent) + timedelta(days=1)
        result = export_spool(spool, "koc", out, include_all=False, now=now, tz=zone)
        checkouts = list(spool.checkouts())
    finally:
        spool.close()
    assert result.pending_total == len(lent)
    return out.read_text(encoding="utf-8"), checkouts, result.repeated_hour


def one_each(zone: tzinfo) -> list[tuple[datetime, str, str]]:
    """A checkout at each of moments(zone), each its own patron and item."""
    return [(m, patron(n), item(n)) for n, m in enumerate(moments(zone), start=1)]


def made_at(koha: KohaCirculation, checkouts: list[SpooledCheckout]) -> dict[int, datetime]:
    """line -> the instant the checkout on it was made."""
    by_line = {n: c.checkout.occurred_at for n, c in enumerate(checkouts, start=2)}
    return {loan.line: by_line[loan.line] for loan in koha.loans}


# The fake reads files as FORMATS.md says ------------------------------------------------------


def test_the_fake_reads_the_wiki_example_with_crlf_and_stops_at_an_unknown_command() -> None:
    text = (
        "Version=1.0\tGenerator=kiosk\tGeneratorVersion=0.1\r\n"
        "2008-06-11 12:24:11 547\tissue\t85947584\t8364585674\r\n"
        "2008-06-11 12:25:00 000\tdance\t85947584\r\n"
        "2008-06-11 12:26:00 000\tissue\t85947584\t111\r\n"
    )
    koha = process_koc(text, zone=ZoneInfo("Europe/Paris"), loan_days=14)

    assert koha.header == {"Version": "1.0", "Generator": "kiosk", "GeneratorVersion": "0.1"}
    assert koha.aborted_at == 3
    [loan] = koha.loans
    assert (loan.cardnumber, loan.barcode) == ("85947584", "8364585674")
    assert loan.issued == datetime(2008, 6, 11, 12, 24, 11, tzinfo=ZoneInfo("Europe/Paris"))
    assert loan.due.date() == date(2008, 6, 25)


# Koha in the kiosk's zone ---------------------------------------------------------------------


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_koha_in_the_kiosk_s_zone_dates_every_loan_at_its_moment_but_the_warned_ones(
    tmp_path: Path, zone: ZoneInfo
) -> None:
    text, checkouts, warned = export(tmp_path, zone, one_each(zone))

    koha = process_koc(text, zone=zone, loan_days=LOAN_DAYS)

    made = made_at(koha, checkouts)
    assert len(koha.loans) == len(checkouts) and koha.aborted_at is None
    late = {loan.line for loan in koha.loans if loan.issued - made[loan.line] == HOUR}
    on_time = {loan.line for loan in koha.loans if loan.issued == made[loan.line]}
    assert late | on_time == set(made)  # nothing else: an hour late or exact
    # The kiosk's warning names both passes of the repeated hour and says which is late.
    assert late == {w.line for w in warned if w.occurred_at.fold == 0}
    assert {w.line for w in warned if w.occurred_at.fold == 1} <= on_time
    autumn = [t for t in clock_changes(zone) if (t - HOUR).astimezone(zone).dst()]
    assert len(warned) == 2 * len(autumn) and len(late) == len(autumn)
    if str(zone) != "UTC":
        assert autumn, "each of these zones but UTC goes back in 2026"

    # Outside the repeated hour, loans are made in the order the patrons borrowed.
    named = {w.line for w in warned}
    order = [loan.line for loan in koha.loans if loan.line not in named]
    assert order == sorted(order, key=lambda line: made[line])
    # A first-pass loan is processed after a checkout made later (the second pass's).
    for line in late:
        after = koha.loans[[loan.line for loan in koha.loans].index(line) :]
        before = [loan.line for loan in koha.loans[: len(koha.loans) - len(after)]]
        assert any(made[other] > made[line] for other in before)
    # Koha's due date is its own: LOAN_DAYS after the day it dates the loan.
    for loan in koha.loans:
        issued_on = loan.issued.astimezone(zone).date()
        assert loan.due.date() == issued_on + timedelta(days=LOAN_DAYS)


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_an_item_lent_twice_offline_ends_with_the_second_patron(
    tmp_path: Path, zone: ZoneInfo
) -> None:
    ana, bao, book = patron(1), patron(2), item(7)
    noon = datetime(2026, 11, 1, 12, tzinfo=zone).astimezone(UTC)
    later = noon + timedelta(hours=3, minutes=17)
    text, _, _ = export(tmp_path, zone, [(noon, ana, book), (later, bao, book)])

    koha = process_koc(text, zone=zone, loan_days=LOAN_DAYS)

    first, second = koha.loans
    assert (first.cardnumber, first.issued, first.returned) == (ana, noon, later)
    assert (second.cardnumber, second.issued, second.returned) == (bao, later, None)
    assert koha.on_loan()[book].cardnumber == bao


# Koha in another zone: why the README says both must share one ----------------------------


def first_pass(moment: datetime, zone: tzinfo) -> bool:
    """Whether `moment` falls in the first pass of `zone`'s repeated autumn hour."""
    local = moment.astimezone(zone)
    return local.fold == 0 and local.replace(fold=1).utcoffset() != local.utcoffset()


@pytest.mark.parametrize("kiosk", ZONES, ids=str)
def test_koha_in_another_zone_shifts_every_loan_the_two_clocks_disagree_on(
    tmp_path: Path, kiosk: ZoneInfo
) -> None:
    """A loan lands at its moment only where the two zones' clocks read the same then (and
    it is not in Koha's first pass): London in winter and UTC; Chicago's first pass of the
    repeated hour and New York's standard time in the hour between their changes."""
    text, checkouts, _ = export(tmp_path, kiosk, one_each(kiosk))

    for koha_zone in (z for z in ZONES if z != kiosk):
        koha = process_koc(text, zone=koha_zone, loan_days=LOAN_DAYS)
        made = made_at(koha, checkouts)
        shifted = {loan.line for loan in koha.loans if loan.issued != made[loan.line]}
        disagree = {
            line
            for line, moment in made.items()
            if moment.astimezone(kiosk).replace(tzinfo=None)
            != moment.astimezone(koha_zone).replace(tzinfo=None)
        }
        late_in_koha = {line for line, moment in made.items() if first_pass(moment, koha_zone)}
        assert shifted == disagree | late_in_koha, f"Koha in {koha_zone}"
        if {str(kiosk), str(koha_zone)} != {"Europe/London", "UTC"}:
            assert len(shifted) >= len(made) - 1, f"Koha in {koha_zone}"


def test_a_new_york_kiosk_s_loans_land_an_hour_late_or_more_in_a_chicago_koha(
    tmp_path: Path,
) -> None:
    kiosk = ZoneInfo("America/New_York")
    text, checkouts, _ = export(tmp_path, kiosk, one_each(kiosk))

    koha = process_koc(text, zone=ZoneInfo("America/Chicago"), loan_days=LOAN_DAYS)

    made = made_at(koha, checkouts)
    assert all(loan.issued - made[loan.line] >= HOUR for loan in koha.loans)


def test_the_readme_says_koha_and_the_kiosk_must_share_a_zone() -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    start = text.index("- `koc`: Koha offline circulation file")
    paragraph = text[start : text.index("- `csv` and `jsonl`", start)]
    assert "same time zone" in paragraph
