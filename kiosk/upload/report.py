"""The upload report: one line per checkout of the period with what the library system did
with it, the counts, and what staff must follow up by hand. CSV for a spreadsheet, HTML to
print. Patron barcodes are in full (staff need them to follow up): the files are 0600 and
stay on the kiosk unless staff copy them."""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.storage.files import atomic_write_bytes, private_dir
from kiosk.storage.spool import UploadRun, UploadState

ACCEPTED = "accepted"
REJECTED = "rejected"
UNANSWERED = "sent, no answer yet"
PENDING = "pending"
BY_FILE = "handed over by file"
FOLLOW_UP = (REJECTED, UNANSWERED, PENDING)
WHAT_TO_DO = {
    REJECTED: "Check the ILS's message; check the item out by hand in the ILS if it is right.",
    UNANSWERED: "Run the upload again: it asks the ILS before sending it again.",
    PENDING: "Run the upload again (or export it to a file).",
}
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
)


@dataclass(frozen=True)
class ReportLine:
    state: UploadState
    result: str

    def row(self) -> list[str]:
        c = self.state.checkout
        return [
            str(c.seq),
            c.occurred_at.isoformat(timespec="seconds"),
            c.patron,
            c.item,
            c.due_date.isoformat(),
            self.result,
            self.state.message,
            self.state.ils_due,
            str(self.state.attempts),
        ]


def result_of(state: UploadState) -> str:
    if state.state == "accepted":
        return ACCEPTED
    if state.state == "rejected":
        return REJECTED
    if state.state == "sent":
        return UNANSWERED
    return BY_FILE if state.checkout.handed_over_at is not None else PENDING


@dataclass(frozen=True)
class Report:
    made_at: datetime
    kiosk_id: str
    run: UploadRun | None
    lines: tuple[ReportLine, ...]

    @property
    def counts(self) -> Counter[str]:
        return Counter(line.result for line in self.lines)

    @property
    def follow_up(self) -> tuple[ReportLine, ...]:
        return tuple(line for line in self.lines if line.result in FOLLOW_UP)

    def summary(self) -> str:
        """'no checkouts', '1 checkout: 1 accepted', '12 checkouts: 10 accepted, 2 rejected'."""
        counts = self.counts
        total = len(self.lines)
        if total == 0:
            return "no checkouts"
        kinds = (ACCEPTED, REJECTED, UNANSWERED, PENDING, BY_FILE)
        parts = ", ".join(f"{counts[k]} {k}" for k in kinds if counts[k])
        head = f"{total} checkout" if total == 1 else f"{total} checkouts"
        return f"{head}: {parts}" if parts else head


def build_report(
    states: list[UploadState], *, kiosk_id: str, run: UploadRun | None, made_at: datetime
) -> Report:
    return Report(made_at, kiosk_id, run, tuple(ReportLine(s, result_of(s)) for s in states))


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
        "font-size:11pt}th{background:#eee}.rejected,.pending,.sent{background:#fde8e8}"
        "@media print{body{margin:0}}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>Made {e(report.made_at.isoformat(timespec='seconds'))}. {e(report.summary())}.</p>",
    ]
    if run is not None:
        finished = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "?"
        head.append(
            f"<p>Last upload to {e(run.target)}: {run.accepted} accepted, {run.rejected} "
            f"rejected, {run.still_pending} still to send (finished {e(finished)})."
            + (f" <strong>Stopped: {e(run.error)}</strong>" if run.error else "")
            + "</p>"
        )
    body = []
    follow = report.follow_up
    body.append(f"<h2>To follow up by hand ({len(follow)})</h2>")
    if follow:
        body.append(_table(follow, with_advice=True))
    else:
        body.append("<p>Nothing: the library system has every checkout.</p>")
    body.append(f"<h2>Every checkout ({len(report.lines)})</h2>")
    body.append(_table(report.lines, with_advice=False))
    return "\n".join([*head, *body, "</body></html>", ""])


def _table(lines: tuple[ReportLine, ...], *, with_advice: bool) -> str:
    e = html.escape
    names = ["#", "When", "Patron", "Item", "Due", "Result", "ILS message"]
    if with_advice:
        names.append("What to do")
    out = ["<table><tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"]
    for line in lines:
        row = line.row()
        cells = [row[0], row[1], row[2], row[3], row[4], row[5], row[6]]
        if with_advice:
            cells.append(WHAT_TO_DO.get(line.result, ""))
        css = line.result.split(",")[0].split(" ")[0]
        out.append(f'<tr class="{e(css)}">' + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def write_report(report: Report, folder: Path) -> tuple[Path, Path]:
    """Both files, named by the time they were made, readable only by the kiosk's user."""
    private_dir(folder)
    stem = folder / f"upload-{report.made_at.strftime('%Y%m%d-%H%M%S')}"
    csv_path, html_path = stem.with_suffix(".csv"), stem.with_suffix(".html")
    atomic_write_bytes(csv_path, render_csv(report).encode("utf-8"))
    atomic_write_bytes(html_path, render_html(report).encode("utf-8"))
    return csv_path, html_path
