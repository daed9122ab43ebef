"""A receipt as data: the lines to print, in the patron's language. Pure."""

from __future__ import annotations

from datetime import datetime

from kiosk.presenter.i18n import Language
from kiosk.presenter.presenter import FinishedSession


def receipt_lines(
    session: FinishedSession,
    *,
    library: str,
    branch: str,
    kiosk_id: str,
    printed_at: datetime,
    lang: Language,
) -> list[str]:
    _ = lang._
    lines = [library]
    if branch:
        lines.append(branch)
    lines += [
        printed_at.strftime("%Y-%m-%d %H:%M"),
        _("Card ending {digits}").format(digits=session.patron[-4:]),
        "",
    ]
    for loan in session.loans:
        lines.append(loan.item)
        lines.append("  " + _("Due {date}").format(date=lang.day(loan.due_date)))
    n = len(session.loans)
    lines += [
        "",
        lang.n_("{n} item checked out", "{n} items checked out", n).format(n=n),
        _("Checked out while the library system was offline."),
        _("Station {kiosk}, references {refs}").format(
            kiosk=kiosk_id, refs=", ".join(f"#{loan.seq}" for loan in session.loans)
        ),
    ]
    return lines
