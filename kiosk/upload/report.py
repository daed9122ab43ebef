"""The upload report: one line per checkout of the period with what the library system did
with it, the counts, what staff must follow up by hand (sent and refused, sent with no
answer), what was never sent, and the loans the ILS gave another due date than the receipt.
Checkouts staff answered for (`kiosk spool resolve`) say so: confirmed by staff, to be sent
again or resent at staff's request, with who and when. CSV for a spreadsheet, HTML to print.
Patron barcodes are in full (staff need them to follow
up): the files are 0600 and stay on the kiosk unless staff copy them."""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from kiosk.exports.text_lines import listed
from kiosk.storage.files import write_report_files
from kiosk.storage.spool import CONFIRMED, RESEND, RESENT, UploadRun, UploadState
from kiosk.upload.sip2 import due_dates

ACCEPTED = "accepted"
CONFIRMED_BY_STAFF = "confirmed by staff"  # sent, no answer; staff found the loan in the ILS
REJECTED = "rejected"
UNANSWERED = "sent, no answer"
TO_RESEND = "to be sent again at staff's request"  # staff did not find it in the ILS
PENDING = "never sent"
BY_FILE = "handed over by file"
KINDS = (ACCEPTED, CONFIRMED_BY_STAFF, REJECTED, UNANSWERED, TO_RESEND, PENDING, BY_FILE)
FOLLOW_UP = (REJECTED, UNANSWERED)  # sent: only staff can tell what the ILS made of it
WHAT_TO_DO = {
    REJECTED: "Sent and refused: read the ILS's words; if the loan is right, check the item "
    "out by hand in the ILS.",
    UNANSWERED: "Sent, no answer: check in the ILS whether it is on loan to this patron "
    "before anything is sent again. The upload sends it again only if the ILS lists the "
    "patron's loans without it, or if staff say it is not there.",
    TO_RESEND: "Staff found no such loan in the ILS: the next upload sends it once more.",
    PENDING: "Not in the ILS: it goes with the next upload that gets through (or export it "
    "to a file).",
}
STAFF_SAID = {
    CONFIRMED: "confirmed by staff",
    RESEND: "to be sent again at staff's request",
    RESENT: "resent at staff's request",
}
RESOLVE = "kiosk spool resolve"


def resolve_commands(seqs: Iterable[int]) -> tuple[str, str]:
    """The two answers staff give for these checkouts (sent, no answer), as commands:
    ('kiosk spool resolve 3 7 --confirmed', 'kiosk spool resolve 3 7 --resend')."""
    refs = " ".join(str(seq) for seq in seqs)
    return f"{RESOLVE} {refs} --confirmed", f"{RESOLVE} {refs} --resend"


def resolve_advice(seqs: Iterable[int]) -> str:
    """After looking in the ILS: which command says what staff found."""
    confirmed, resend = resolve_commands(seqs)
    return f"On loan to the patron there: {confirmed}. Not there: {resend}."


def waiting_for_staff_line(count: int) -> str:
    """For the staff screen and the command: '2 sent with no answer wait for staff: ...'."""
    checkouts = "1 checkout" if count == 1 else f"{count} checkouts"
    wait = "waits" if count == 1 else "wait"
    return (
        f"{checkouts} sent with no answer {wait} for staff: look in the ILS, then "
        f"`{RESOLVE} REF --confirmed` (it is there) or `--resend` (it is not); "
        f"`{RESOLVE}` lists them"
    )


COLUMNS = (
    "seq",
    "occurred_at",
    "patron",
    "item",
    "due_date",
    "result",
    "ils_message",
    "ils_due_date",
    "attempts",
    "ils_due_differs",
    "staff_answer",
)


@dataclass(frozen=True)
class ReportLine:
    state: UploadState
    result: str
    due_differs: bool = False  # accepted with a due date other than the receipt's

    def row(self) -> list[str]:
        c = self.state.checkout
        return [
            str(c.seq),
            c.checkout.occurred_at.isoformat(timespec="seconds"),
            c.checkout.patron,
            c.checkout.item,
            c.checkout.due_date.isoformat(),
            self.result,
            self.state.message,
            self.state.ils_due,
            str(self.state.attempts),
            "yes" if self.due_differs else "",
            staff_note(self.state),
        ]

    @property
    def advice(self) -> str:
        """What to do about it; for one sent with no answer, the exact commands."""
        text = WHAT_TO_DO.get(self.result, "")
        if self.result == UNANSWERED:
            text += " " + resolve_advice([self.state.checkout.seq])
        return text


def staff_note(state: UploadState) -> str:
    """'confirmed by staff (cli, 2026-11-24 09:12)', or "" when staff did not answer."""
    if state.staff_answer is None:
        return ""
    said = STAFF_SAID.get(state.staff_answer, state.staff_answer)
    who = [state.staff_by] if state.staff_by else []
    if state.staff_at is not None:
        who.append(state.staff_at.strftime("%Y-%m-%d %H:%M"))
    return f"{said} ({', '.join(who)})" if who else said


def result_of(state: UploadState) -> str:
    if state.state == "accepted":
        return CONFIRMED_BY_STAFF if state.staff_answer == CONFIRMED else ACCEPTED
    if state.state == "rejected":
        return REJECTED
    if state.state == "sent":
        return TO_RESEND if state.staff_answer == RESEND else UNANSWERED
    return BY_FILE if state.checkout.handed_over_at is not None else PENDING


def due_differs(state: UploadState, zone: tzinfo) -> bool:
    """Accepted, and the ILS named a due date (read tolerantly) that is not the receipt's.
    A due date the kiosk cannot read is not counted: it is in the report as the ILS wrote it."""
    if state.state != "accepted" or not state.ils_due:
        return False
    read = due_dates(state.ils_due, zone)
    return bool(read) and state.checkout.checkout.due_date not in read


@dataclass(frozen=True)
class Report:
    made_at: datetime
    kiosk_id: str
    run: UploadRun | None
    lines: tuple[ReportLine, ...]
    notes: tuple[str, ...] = ()  # what the upload that made it found (an encoding, say)
    stop_advice: str = ""  # what helps after that upload stopped early

    @property
    def counts(self) -> Counter[str]:
        return Counter(line.result for line in self.lines)

    @property
    def follow_up(self) -> tuple[ReportLine, ...]:
        return tuple(line for line in self.lines if line.result in FOLLOW_UP)

    @property
    def never_sent(self) -> tuple[ReportLine, ...]:
        return tuple(line for line in self.lines if line.result == PENDING)

    @property
    def other_due_dates(self) -> tuple[ReportLine, ...]:
        return tuple(line for line in self.lines if line.due_differs)

    @property
    def waiting_for_staff(self) -> tuple[ReportLine, ...]:
        """Sent with no answer, the ILS could not tell: staff look and answer."""
        return tuple(line for line in self.lines if line.result == UNANSWERED)

    @property
    def answered_by_staff(self) -> tuple[ReportLine, ...]:
        return tuple(line for line in self.lines if line.state.staff_answer is not None)

    def summary(self) -> str:
        """'no checkouts', '1 checkout: 1 accepted', '12 checkouts: 10 accepted, 2 rejected'."""
        counts = self.counts
        total = len(self.lines)
        if total == 0:
            return "no checkouts"
        parts = ", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k])
        head = f"{total} checkout" if total == 1 else f"{total} checkouts"
        return f"{head}: {parts}" if parts else head


def build_report(
    states: list[UploadState],
    *,
    kiosk_id: str,
    run: UploadRun | None,
    made_at: datetime,
    notes: tuple[str, ...] = (),
    stop_advice: str = "",
) -> Report:
    """made_at is in the library's zone: due dates the ILS gave in UTC are read in it."""
    zone = made_at.tzinfo
    assert zone is not None
    lines = tuple(ReportLine(s, result_of(s), due_differs(s, zone)) for s in states)
    return Report(made_at, kiosk_id, run, lines, tuple(n for n in notes if n), stop_advice)


def other_due_dates_line(count: int) -> str:
    """For the staff screen and the command: '3 loans due on other dates than the receipts
    said: see the report'."""
    loans = "1 loan" if count == 1 else f"{count} loans"
    return f"{loans} due on other dates than the receipts said: see the report"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def text_lines(report: Report, limit: int = 20) -> list[str]:
    """The report's findings for a terminal: notes, other due dates, what to follow up by
    hand, what was never sent; each with only the advice that fits it."""
    out = [f"Note: {note}." for note in report.notes]
    other = report.other_due_dates
    out += listed(
        f"{_sentence(other_due_dates_line(len(other)))}:",
        other,
        lambda line: (
            f"#{line.state.checkout.seq} item {line.state.checkout.checkout.item}: the receipt "
            f"said {line.state.checkout.checkout.due_date.isoformat()}, "
            f"the ILS says {line.state.ils_due.strip()}"
        ),
        limit,
        more="",
    )
    follow = report.follow_up
    if follow:
        out += listed(
            f"To follow up by hand ({len(follow)}):",
            follow,
            lambda line: (
                f"#{line.state.checkout.seq} item {line.state.checkout.checkout.item}: "
                f"{line.result}{f': {line.state.message}' if line.state.message else ''}"
            ),
            limit,
        )
        out.extend(f"  {WHAT_TO_DO[kind]}" for kind in FOLLOW_UP if report.counts[kind])
        waiting = report.waiting_for_staff
        if waiting:
            out.append(f"  {resolve_advice(line.state.checkout.seq for line in waiting)}")
    staff = report.answered_by_staff
    out += listed(
        f"Answered by staff ({len(staff)}):",
        staff,
        lambda line: (
            f"#{line.state.checkout.seq} item {line.state.checkout.checkout.item}: "
            f"{staff_note(line.state)}"
            + ("" if line.result in (CONFIRMED_BY_STAFF, TO_RESEND) else f"; {line.result}")
        ),
        limit,
    )
    if report.never_sent:
        out.append(f"Never sent ({len(report.never_sent)}): {WHAT_TO_DO[PENDING]}")
    return out


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in report.lines:
        writer.writerow(line.row())
    return out.getvalue()


def render_html(report: Report) -> str:
    e = html.escape
    run = report.run
    title = f"Upload report, self-checkout {report.kiosk_id}"
    head = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "width:100%}th,td{border:1px solid #888;padding:4px 6px;text-align:left;"
        "font-size:11pt}th{background:#eee}.rejected,.never,.sent{background:#fde8e8}"
        "@media print{body{margin:0}}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>Made {e(report.made_at.isoformat(timespec='seconds'))}. {e(report.summary())}.</p>",
    ]
    if run is not None:
        finished = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "?"
        head.append(
            f"<p>Last upload to {e(run.target)}: {run.accepted} accepted, {run.rejected} "
            f"rejected, {run.still_pending} still to send (finished {e(finished)})."
            + (f" <strong>Stopped: {e(run.error)}.</strong>" if run.error else "")
            + (f" {e(_sentence(report.stop_advice))}." if run.error and report.stop_advice else "")
            + "</p>"
        )
    head.extend(f"<p><strong>{e(_sentence(note))}.</strong></p>" for note in report.notes)
    body = []
    other = report.other_due_dates
    if other:
        body.append(f"<h2>Due on other dates than the receipts said ({len(other)})</h2>")
        body.append(
            "<p>The library system accepted these loans with another due date than the "
            "patron's receipt: tell the patron, or change the due date in the ILS.</p>"
        )
        body.append(_due_table(other))
    follow = report.follow_up
    body.append(f"<h2>To follow up by hand ({len(follow)})</h2>")
    if follow:
        body.append(_table(follow, with_advice=True))
    elif not report.never_sent:
        body.append("<p>Nothing: the library system has every checkout.</p>")
    else:
        body.append("<p>Nothing sent is in doubt.</p>")
    staff = report.answered_by_staff
    if staff:
        body.append(f"<h2>Answered by staff ({len(staff)})</h2>")
        body.append(
            "<p>Sent with no answer, and the library system could not tell whether it has "
            "them: staff looked in it and either confirmed the loan (it is never sent again) "
            "or had it sent once more.</p>"
        )
        body.append(_table(staff, with_advice=False, with_staff=True))
    never = report.never_sent
    if never:
        body.append(f"<h2>Never sent ({len(never)})</h2>")
        body.append(_table(never, with_advice=True))
    body.append(f"<h2>Every checkout ({len(report.lines)})</h2>")
    body.append(_table(report.lines, with_advice=False, with_staff=bool(staff)))
    return "\n".join([*head, *body, "</body></html>", ""])


def _table(lines: tuple[ReportLine, ...], *, with_advice: bool, with_staff: bool = False) -> str:
    e = html.escape
    names = ["#", "When", "Patron", "Item", "Due", "Result", "ILS message"]
    if with_staff:
        names.append("Staff")
    if with_advice:
        names.append("What to do")
    out = ["<table><tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"]
    for line in lines:
        row = line.row()
        cells = [row[0], row[1], row[2], row[3], row[4], row[5], row[6]]
        if with_staff:
            cells.append(staff_note(line.state))
        if with_advice:
            cells.append(line.advice)
        css = line.result.split(",")[0].split(" ")[0]
        out.append(f'<tr class="{e(css)}">' + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _due_table(lines: tuple[ReportLine, ...]) -> str:
    e = html.escape
    names = ["#", "Patron", "Item", "Receipt said", "ILS says"]
    out = ["<table><tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"]
    for line in lines:
        c = line.state.checkout
        cells = [
            str(c.seq),
            c.checkout.patron,
            c.checkout.item,
            c.checkout.due_date.isoformat(),
            line.state.ils_due,
        ]
        out.append('<tr class="due">' + "".join(f"<td>{e(x)}</td>" for x in cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def write_report(report: Report, folder: Path) -> tuple[Path, Path]:
    """Both files, named by the time they were made, readable only by the kiosk's user."""
    stem = f"upload-{report.made_at.strftime('%Y%m%d-%H%M%S')}"
    return write_report_files(folder, stem, render_csv(report), render_html(report))
