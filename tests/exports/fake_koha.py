"""A fake of what Koha does with an uploaded `.koc` file, built from the facts in FORMATS.md
sections 2 and 6 (no Koha code): the file is read as enqueue_koc reads it (tab-separated
records, `\\r` stripped, the header's `key=value` pairs, milliseconds dropped); each
timestamp is local time in Koha's own zone, and a time in the repeated hour of the autumn
change is read as its second (standard-time) pass; the queue is processed in time order; an
`issue` has no block or fines check, is dated at its timestamp, first returns the item from
a previous borrower, and gets a due date Koha computes itself (the file has none). An unknown
command stops the import: the lines before it stay queued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo


@dataclass(frozen=True)
class QueuedLine:
    line: int  # in the file, the header being line 1
    timestamp: datetime  # aware: the wall time read in Koha's zone
    command: str
    args: tuple[str, ...]


@dataclass
class KohaLoan:
    cardnumber: str
    barcode: str
    issued: datetime  # when Koha dates the loan, in UTC (an instant in a fold of its own
    # zone never compares equal to one in another zone)
    due: datetime  # Koha's own due date
    line: int  # the .koc line it came from
    returned: datetime | None = None  # in UTC


@dataclass
class KohaCirculation:
    """What Koha holds after processing one file."""

    header: dict[str, str]
    queued: list[QueuedLine]
    loans: list[KohaLoan] = field(default_factory=list)  # in the order Koha made them
    aborted_at: int | None = None  # the line of an unknown command, if any

    def on_loan(self) -> dict[str, KohaLoan]:
        """barcode -> the open loan."""
        return {loan.barcode: loan for loan in self.loans if loan.returned is None}


COMMANDS = {"issue": 2, "return": 1, "payment": 2}  # command -> number of arguments


def read_timestamp(text: str, zone: tzinfo) -> datetime:
    """`YYYY-MM-DD HH:MM:SS mmm` as Koha reads it: milliseconds dropped, the wall time in
    Koha's zone, the repeated autumn hour as its second pass (fold=1)."""
    day, clock, *_milliseconds = text.split(" ")
    wall = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M:%S")
    return wall.replace(tzinfo=zone, fold=1)


def enqueue(text: str, zone: tzinfo) -> tuple[dict[str, str], list[QueuedLine], int | None]:
    lines = text.replace("\r", "").split("\n")
    header = dict(pair.split("=", 1) for pair in lines[0].split("\t"))
    if header.get("Version") != "1.0":
        raise ValueError(f"not a .koc 1.0 header: {lines[0]!r}")
    queued = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        stamp, command, *args = line.split("\t")
        if command not in COMMANDS:
            return header, queued, number
        if len(args) != COMMANDS[command]:
            raise ValueError(f"line {number}: {command} takes {COMMANDS[command]} fields")
        queued.append(QueuedLine(number, read_timestamp(stamp, zone), command, tuple(args)))
    return header, queued, None


def process_koc(text: str, *, zone: tzinfo, loan_days: int) -> KohaCirculation:
    """Koha's offline circulation upload, then processing the whole queue."""
    header, queued, aborted_at = enqueue(text, zone)
    koha = KohaCirculation(header, queued, aborted_at=aborted_at)
    # Processed in time order (the instants Koha read); lines at one instant in file order.
    for entry in sorted(queued, key=lambda q: (q.timestamp.timestamp(), q.line)):
        open_loans = koha.on_loan()
        instant = entry.timestamp.astimezone(UTC)
        if entry.command == "issue":
            cardnumber, barcode = entry.args
            previous = open_loans.get(barcode)
            if previous is not None and previous.cardnumber == cardnumber:
                continue  # on loan to this patron already: Koha would renew; nothing new
            if previous is not None:
                previous.returned = instant
            due_day = entry.timestamp.date() + timedelta(days=loan_days)
            due = datetime.combine(due_day, time(23, 59), tzinfo=zone)
            koha.loans.append(KohaLoan(cardnumber, barcode, instant, due, entry.line))
        elif entry.command == "return":
            (barcode,) = entry.args
            if barcode in open_loans:
                open_loans[barcode].returned = instant
    return koha
