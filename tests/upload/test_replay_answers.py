"""What the library system answers, read right (issue 16): text in another encoding than
sip2.encoding, SIP2 dates on either side of the autumn clock change, and due dates other than
the receipt's. The test ILS on 127.0.0.1, a real spool."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from kiosk.domain.checkout import Checkout
from kiosk.storage.spool import Spool
from kiosk.upload.replay import upload
from kiosk.upload.report import build_report, render_csv, render_html, text_lines
from tests.upload.ils import Faults, ils, proxy
from tests.upload.replaying import (
    ACCOUNT,
    ANA,
    DUE,
    ITEMS,
    KIOSK_ID,
    SWALLOW_TIMEOUT,
    TZ,
    Sleeps,
    at,
    library,
    now,
    record,
    requests_of,
    seen,
    states,
)


def test_an_ils_answering_in_iso_8859_1_does_not_stop_the_upload(spool: Spool) -> None:
    record(spool, *ITEMS[:3])
    lib = library(
        encoding="iso-8859-1",
        titles={ITEMS[0]: "Cien años de soledad", ITEMS[1]: "Les Misérables"},
        personal_name="José Núñez",
    )
    # The answer to the first checkout is lost: the 63 asked about it names the patron with
    # an accent too.
    faults = Faults(swallow_answer=3)
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(
            spool, at(via, timeout=SWALLOW_TIMEOUT), ACCOUNT, now=now, sleep=Sleeps()
        )

    assert (run.accepted, run.rejected, run.still_pending, run.error) == (3, 0, 0, "")
    assert tally.resolved == 1 and len(requests_of(faults, b"63")) == 1
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:3], 1))
    assert tally.encoding_advice("utf-8") == (
        'answers were not valid utf-8: set sip2.encoding = "iso-8859-1"'
    )
    report = build_report(
        spool.upload_states(),
        kiosk_id=KIOSK_ID,
        run=run,
        made_at=now(),
        notes=(tally.encoding_advice("utf-8"),),
    )
    assert "set sip2.encoding = &quot;iso-8859-1&quot;" in render_html(report)
    assert text_lines(report)[0] == (
        'Note: answers were not valid utf-8: set sip2.encoding = "iso-8859-1".'
    )


def test_with_the_right_encoding_there_is_nothing_to_advise(spool: Spool) -> None:
    record(spool, *ITEMS[:2])
    lib = library(encoding="iso-8859-1", titles={ITEMS[0]: "Cien años de soledad"})
    with ils(lib) as port:
        run, tally = upload(
            spool, at(port, encoding="iso-8859-1"), ACCOUNT, now=now, sleep=Sleeps()
        )
    assert (run.accepted, run.error) == (2, "")
    assert tally.undecodable == [] and tally.encoding_advice("iso-8859-1") == ""


def checkout_at(spool: Spool, barcode: str, moment: datetime, due: date = DUE) -> str:
    return spool.record_checkout(
        Checkout(
            session_id="s1",
            patron=ANA,
            item=barcode,
            due_date=due,
            special_due=False,
            occurred_at=moment,
        ),
        KIOSK_ID,
        TZ,
    ).txn_id


def test_every_sip2_date_carries_the_offset_in_force_at_its_own_moment(spool: Spool) -> None:
    """A checkout made at noon EDT on 31 October, sent without an answer; one made at 01:30
    EST on 1 November (the second pass of that hour), never sent; the upload runs at 20:15
    EST on 2 November. The 63 asking about the first says 20:15, not 21:15."""
    sent = checkout_at(spool, ITEMS[0], datetime(2026, 10, 31, 16, 0, tzinfo=UTC))
    checkout_at(spool, ITEMS[1], datetime(2026, 11, 1, 6, 30, tzinfo=UTC), date(2026, 11, 1))
    spool.mark_sent(sent, datetime(2026, 10, 31, 12, 5, tzinfo=TZ))
    lib = library(loans={ITEMS[0]: ANA})  # the first did reach the library system
    faults = Faults()

    def evening() -> datetime:
        return datetime(2026, 11, 3, 1, 15, tzinfo=UTC).astimezone(TZ)

    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(spool, at(via), ACCOUNT, now=evening, sleep=Sleeps())

    assert (run.accepted, run.error, tally.resolved) == (2, "", 1)
    [info] = requests_of(faults, b"63")
    assert info[5:23] == b"20261102    201500"
    [checkout] = lib.checkouts_seen
    assert checkout.item_identifier == ITEMS[1]
    assert (checkout.transaction_date, checkout.nb_due_date) == (
        "20261101    013000",
        "20261101    235959",
    )


def test_a_due_date_the_ils_changed_is_listed_with_both_dates(spool: Spool) -> None:
    record(spool, *ITEMS[:4])
    lib = library(
        due={
            ITEMS[0]: "20261220    235959",  # another date: listed
            ITEMS[1]: "12/14/2026",  # the receipt's date, in the server's own words
            ITEMS[2]: "see your account",  # no date to compare
        }
    )
    with ils(lib) as port:
        run, _ = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())
    assert (run.accepted, run.error) == (4, "")
    assert states(spool)[ITEMS[0]].ils_due == "20261220    235959"

    report = build_report(spool.upload_states(), kiosk_id=KIOSK_ID, run=run, made_at=now())
    assert [line.state.checkout.checkout.item for line in report.other_due_dates] == [ITEMS[0]]
    html = render_html(report)
    assert "<h2>Due on other dates than the receipts said (1)</h2>" in html
    section = html[html.index("<h2>Due on other") : html.index("<h2>To follow up")]
    assert DUE.isoformat() in section and "20261220    235959" in section
    assert ITEMS[1] not in section and ITEMS[2] not in section
    rows = render_csv(report).splitlines()
    assert rows[0].endswith(",ils_due_differs,staff_answer")
    assert [row.endswith(",yes,") for row in rows[1:]] == [True, False, False, False]
    lines = text_lines(report)
    assert lines[:2] == [
        "1 loan due on other dates than the receipts said: see the report:",
        f"  #1 item {ITEMS[0]}: the receipt said 2026-12-14, the ILS says 20261220    235959",
    ]
