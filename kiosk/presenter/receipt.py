"""A receipt as data: a device-neutral document in the patron's language. Pure."""

from __future__ import annotations

from datetime import datetime

from hardware.receipt import Align, Columns, Document, QRCode, Rule, Text
from kiosk.presenter.i18n import Language
from kiosk.presenter.presenter import FinishedSession


def receipt_document(
    session: FinishedSession,
    *,
    library: str,
    branch: str,
    kiosk_id: str,
    printed_at: datetime,
    lang: Language,
    qr: bool = False,
) -> Document:
    """printed_at: in the library's time zone. Only the card's last four digits appear."""
    _ = lang._
    blocks: list[Text | Columns | Rule | QRCode] = [
        Text(library, bold=True, large=True, align=Align.CENTER)
    ]
    if branch:
        blocks.append(Text(branch, align=Align.CENTER))
    blocks += [
        Text(printed_at.strftime("%Y-%m-%d %H:%M"), align=Align.CENTER),
        Text(_("Card ending {digits}").format(digits=session.patron[-4:]), align=Align.CENTER),
        Rule(),
    ]
    for c in (loan.checkout for loan in session.loans):
        if c.title:
            # The whole title (paper wraps it), and the barcode beside it for staff.
            blocks.append(Text(c.title, bold=True))
            blocks.append(Text("  " + c.item))
        else:
            blocks.append(Text(c.item, bold=True))
        blocks.append(Text("  " + _("Due {date}").format(date=lang.day(c.due_date))))
    n = len(session.loans)
    blocks += [
        Rule(),
        Text(lang.n_("{n} item checked out", "{n} items checked out", n).format(n=n), bold=True),
        Text(_("Checked out while the library system was offline.")),
        Text(
            _("Station {kiosk}, references {refs}").format(
                kiosk=kiosk_id, refs=", ".join(f"#{loan.seq}" for loan in session.loans)
            )
        ),
    ]
    if qr:
        blocks.append(QRCode(session.session_id))
    return Document(tuple(blocks))


def sample_receipt(library: str, kiosk_id: str, when: datetime, qr: bool) -> Document:
    """The test receipt staff print (staff screen, `kiosk hardware print-test`)."""
    blocks: list[Text | Columns | Rule | QRCode] = [
        Text(library, bold=True, large=True, align=Align.CENTER),
        Text("Test receipt", bold=True, align=Align.CENTER),
        Text(when.strftime("%Y-%m-%d %H:%M"), align=Align.CENTER),
        Rule(),
        Columns("31234000000016", "Dec 14"),
        Text("Ñandú, café, Müller: accents print correctly."),
        Rule(),
        Text(f"Station {kiosk_id}"),
    ]
    if qr:
        blocks.append(QRCode(f"{kiosk_id} test"))
    return Document(tuple(blocks))
