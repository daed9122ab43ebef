"""The reconciliation report as files: CSV for a spreadsheet (one row per loan involved in a
finding), HTML to print. Patron barcodes are in full (staff need them to follow up): the files
are 0600 in data_dir/reports, as the upload reports."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from kiosk.domain.checkout import SpooledCheckout
from kiosk.exports.reconcile import Reconciliation
from kiosk.storage.files import write_report_files

LENT_TWICE = "lent to more than one patron"
CARD_REFUSED = "card now refused"
ON_LOAN = "ILS: on loan to someone else"
COLUMNS = (
    "finding",
    "item",
    "patron",
    "occurred_at",
    "kiosk_id",
    "seq",
    "due_date",
    "txn_id",
    "detail",
)
WHAT_TO_DO = {
    LENT_TWICE: "Find the item: check it in, then out to the patron who has it; tell the other.",
    CARD_REFUSED: "Check the patron's record in the ILS: the loan stands, but follow it up.",
    ON_LOAN: "The ILS has the item on loan to someone else: check it in and lend it again by "
    "hand, or ask the patrons.",
}


def _row(finding: str, c: SpooledCheckout, detail: str) -> list[str]:
    return [
        finding,
        c.checkout.item,
        c.checkout.patron,
        c.checkout.occurred_at.isoformat(timespec="seconds"),
        c.kiosk_id,
        str(c.seq),
        c.checkout.due_date.isoformat(),
        c.txn_id,
        detail,
    ]


def rows(result: Reconciliation) -> list[list[str]]:
    out = []
    for f in result.lent_twice:
        for n, c in enumerate(f.loans, start=1):
            out.append(_row(LENT_TWICE, c, f"loan {n} of {len(f.loans)}"))
    out.extend(_row(CARD_REFUSED, r.checkout, r.reason) for r in result.cards_refused)
    out.extend(_row(ON_LOAN, o.checkout, o.message) for o in result.on_loan_elsewhere)
    return out


def render_csv(result: Reconciliation) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(result))
    return out.getvalue()


def render_html(result: Reconciliation) -> str:
    e = html.escape
    title = "Reconciliation of the offline period"
    span = ""
    if result.first and result.last:
        span = (
            f" Checkouts from {result.first.isoformat(timespec='minutes')} to "
            f"{result.last.isoformat(timespec='minutes')}."
        )
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "width:100%}th,td{border:1px solid #888;padding:4px 6px;text-align:left;"
        "font-size:11pt}th{background:#eee}@media print{body{margin:0}}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>Made {e(result.made_at.isoformat(timespec='seconds'))} from "
        f"{e(', '.join(result.sources))}.{e(span)} {e(result.summary())}.</p>",
        f"<p>Patron cards checked against {e(result.snapshot)}.</p>",
    ]
    if not result.ils_answers:
        out.append(
            "<p>Export files carry no answers from the ILS: run it on each kiosk for "
            "the loans the ILS refused.</p>"
        )
    sections = (
        (LENT_TWICE, "Items lent to more than one patron", len(result.lent_twice)),
        (
            CARD_REFUSED,
            "Checkouts to cards the patron snapshot now refuses",
            len(result.cards_refused),
        ),
        (ON_LOAN, "Refused by the ILS as on loan to someone else", len(result.on_loan_elsewhere)),
    )
    all_rows = rows(result)
    for finding, heading, count in sections:
        out.append(f"<h2>{e(heading)} ({count})</h2>")
        mine = [r for r in all_rows if r[0] == finding]
        if not mine:
            out.append("<p>None.</p>")
            continue
        out.append(f"<p>{e(WHAT_TO_DO[finding])}</p>")
        names = ["Item", "Patron", "When", "Kiosk", "#", "Due", "Detail"]
        out.append("<table><tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>")
        for r in mine:
            cells = [r[1], r[2], r[3], r[4], r[5], r[6], r[8]]
            out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
        out.append("</table>")
    out.extend(["</body></html>", ""])
    return "\n".join(out)


def write_reconciliation(result: Reconciliation, folder: Path) -> tuple[Path, Path]:
    """Both files, named by the time they were made, readable only by the kiosk's user."""
    stem = f"reconcile-{result.made_at.strftime('%Y%m%d-%H%M%S')}"
    return write_report_files(folder, stem, render_csv(result), render_html(result))
