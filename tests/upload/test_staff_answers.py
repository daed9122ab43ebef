"""Staff's answer for a checkout sent with no answer that the ILS cannot tell about (issue
16): the test ILS processes a checkout whose answer never reaches the kiosk, and its patron
information (63) lists no loans, so the replay leaves it for staff. `confirmed` makes every
later upload skip it; `resend` makes the next one send it exactly once more."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime

import pytest

from kiosk.storage.spool import CONFIRMED, RESEND, RESENT, Spool
from kiosk.upload.replay import upload
from kiosk.upload.report import (
    ACCEPTED,
    CONFIRMED_BY_STAFF,
    TO_RESEND,
    UNANSWERED,
    build_report,
    render_csv,
    render_html,
    text_lines,
)
from tests.upload.ils import Faults, Library, ils, proxy
from tests.upload.replaying import (
    ACCOUNT,
    ANA,
    ITEMS,
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

STAFF_AT = datetime(2026, 11, 24, 9, 12, tzinfo=TZ)


def left_for_staff(spool: Spool) -> tuple[list[str], Library]:
    """Two checkouts; the answer to the first is lost on the wire and the ILS lists no
    loans: the first is left sent with no answer (the ILS did make the loan), the second is
    accepted."""
    ids = record(spool, *ITEMS[:2])
    lib = library(lists_charged_items=False)
    faults = Faults(swallow_answer=3)  # 94, 98, then the first checkout's answer
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(
            spool, at(via, timeout=SWALLOW_TIMEOUT), ACCOUNT, now=now, sleep=Sleeps()
        )
    assert tally.unresolved == {ids[0]}
    assert (run.accepted, run.still_pending) == (1, 1)
    assert lib.loans == {ITEMS[0]: ANA, ITEMS[1]: ANA}
    first = states(spool)[ITEMS[0]]
    assert (first.state, first.staff_answer, first.waits_for_staff) == ("sent", None, True)
    return ids, lib


def test_the_report_names_the_exact_commands_for_a_checkout_left_for_staff(
    spool: Spool,
) -> None:
    left_for_staff(spool)
    report = build_report(spool.upload_states(), kiosk_id="K1", run=None, made_at=now())
    (waiting,) = report.waiting_for_staff
    assert waiting.result == UNANSWERED
    assert "kiosk spool resolve 1 --confirmed" in waiting.advice
    assert "kiosk spool resolve 1 --resend" in waiting.advice
    assert "kiosk spool resolve 1 --confirmed" in render_html(report)
    assert (
        "  On loan to the patron there: kiosk spool resolve 1 --confirmed. Not there: "
        "kiosk spool resolve 1 --resend."
    ) in text_lines(report)


def test_confirmed_by_staff_is_never_sent_again_and_the_report_says_so(spool: Spool) -> None:
    ids, lib = left_for_staff(spool)
    assert spool.record_staff_answer(ids[0], CONFIRMED, by="cli", when=STAFF_AT)

    first = states(spool)[ITEMS[0]]
    assert (first.state, first.staff_answer, first.staff_by) == ("accepted", CONFIRMED, "cli")
    assert first.staff_at == STAFF_AT and first.checkout.handed_over_at is not None
    assert spool.to_send_count() == 0
    faults = Faults()
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(spool, at(via), ACCOUNT, now=now, sleep=Sleeps())
    assert faults.log == [] and tally.connections == 0  # nothing to send: not even a login
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:2], 1))

    report = build_report(spool.upload_states(), kiosk_id="K1", run=run, made_at=now())
    assert [line.result for line in report.lines] == [CONFIRMED_BY_STAFF, ACCEPTED]
    assert report.follow_up == () and report.waiting_for_staff == ()
    assert report.summary() == "2 checkouts: 1 accepted, 1 confirmed by staff"
    lines = text_lines(report)
    assert "Answered by staff (1):" in lines
    assert f"  #1 item {ITEMS[0]}: confirmed by staff (cli, 2026-11-24 09:12)" in lines
    html = render_html(report)
    assert "<h2>Answered by staff (1)</h2>" in html
    assert "confirmed by staff (cli, 2026-11-24 09:12)" in html
    assert (
        render_csv(report)
        .splitlines()[1]
        .endswith(',confirmed by staff,,,1,,"confirmed by staff (cli, 2026-11-24 09:12)"')
    )


def test_resend_sends_it_exactly_once_more_without_asking(spool: Spool) -> None:
    ids, lib = left_for_staff(spool)
    del lib.loans[ITEMS[0]]  # staff looked: the ILS has no such loan after all
    assert spool.record_staff_answer(ids[0], RESEND, by="cli", when=STAFF_AT)
    assert not states(spool)[ITEMS[0]].waits_for_staff
    report = build_report(spool.upload_states(), kiosk_id="K1", run=None, made_at=now())
    assert [line.result for line in report.lines] == [TO_RESEND, ACCEPTED]
    assert report.waiting_for_staff == ()

    faults = Faults()
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(spool, at(via), ACCOUNT, now=now, sleep=Sleeps())
    assert [m[:2] for m in faults.log] == [b"93", b"99", b"11"]  # sent, not asked about
    assert (run.accepted, run.still_pending, tally.resent) == (1, 0, 1)
    assert seen(lib) == Counter({ITEMS[0]: 2, ITEMS[1]: 1})  # the lost one, and this one
    first = states(spool)[ITEMS[0]]
    assert (first.state, first.attempts, first.staff_answer) == ("accepted", 2, RESENT)

    report = build_report(spool.upload_states(), kiosk_id="K1", run=run, made_at=now())
    assert f"  #1 item {ITEMS[0]}: resent at staff's request (cli, 2026-11-24 09:12); accepted" in (
        text_lines(report)
    )
    assert "resent at staff&#x27;s request (cli, 2026-11-24 09:12)" in render_html(report)

    # A later upload has nothing to send.
    with ils(lib) as port:
        again, _ = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())
    assert seen(lib) == Counter({ITEMS[0]: 2, ITEMS[1]: 1}) and again.still_pending == 0


def test_a_resend_whose_answer_is_lost_again_is_asked_about_not_sent_a_third_time(
    spool: Spool,
) -> None:
    ids, lib = left_for_staff(spool)
    del lib.loans[ITEMS[0]]
    assert spool.record_staff_answer(ids[0], RESEND, by="cli", when=STAFF_AT)
    faults = Faults(swallow_answer=3)  # the resend's answer is lost too
    with ils(lib) as port, proxy(port, faults) as via:
        _, tally = upload(spool, at(via, timeout=SWALLOW_TIMEOUT), ACCOUNT, now=now, sleep=Sleeps())
    assert seen(lib)[ITEMS[0]] == 2  # the first send and the one staff asked for
    assert len(requests_of(faults, b"63")) == 1  # then asked, on the reconnection
    assert tally.unresolved == {ids[0]} and tally.resent == 1
    first = states(spool)[ITEMS[0]]
    assert (first.state, first.staff_answer, first.waits_for_staff) == ("sent", RESENT, True)
    # Staff can answer for it again.
    assert spool.record_staff_answer(ids[0], CONFIRMED, by="cli", when=STAFF_AT)


def test_only_a_checkout_sent_with_no_answer_takes_a_staff_answer(spool: Spool) -> None:
    ids, _ = left_for_staff(spool)
    never = record(spool, ITEMS[2], start=3)[0]
    for txn_id in (ids[1], never, "no-such-txn"):  # accepted, never sent, unknown
        for answer in (CONFIRMED, RESEND):
            assert not spool.record_staff_answer(txn_id, answer, by="cli", when=STAFF_AT)
    assert spool.record_staff_answer(ids[0], RESEND, by="cli", when=STAFF_AT)
    assert not spool.record_staff_answer(ids[0], RESEND, by="cli", when=STAFF_AT)  # once
    assert spool.record_staff_answer(ids[0], CONFIRMED, by="cli", when=STAFF_AT)
    assert not spool.record_staff_answer(ids[0], CONFIRMED, by="cli", when=STAFF_AT)
    with pytest.raises(ValueError, match="not a staff answer"):
        spool.record_staff_answer(ids[0], RESENT, by="cli", when=STAFF_AT)
    after = states(spool)
    assert [after[i].staff_answer for i in ITEMS[:3]] == [CONFIRMED, None, None]
    assert after[ITEMS[2]].state is None


def test_the_database_refuses_a_staff_answer_for_a_checkout_the_ils_answered(
    spool: Spool,
) -> None:
    left_for_staff(spool)
    with sqlite3.connect(spool.path) as raw, pytest.raises(sqlite3.IntegrityError):
        raw.execute(
            "UPDATE uploads SET staff_answer = 'resend' WHERE checkout_id = "
            "(SELECT id FROM checkouts WHERE item = ?)",
            (ITEMS[1],),  # accepted: the trigger on accepted uploads refuses it first
        )
    with sqlite3.connect(spool.path) as raw, pytest.raises(sqlite3.IntegrityError):
        raw.execute("UPDATE uploads SET staff_answer = 'maybe'")


def test_references_are_the_receipts_numbers_or_txn_ids(spool: Spool) -> None:
    ids = record(spool, *ITEMS[:2])
    for ref in ("2", "#2", " #2 ", ids[1]):
        found = spool.find_upload(ref)
        assert found is not None and found.checkout.txn_id == ids[1]
    assert spool.find_upload("#9") is None and spool.find_upload("nope") is None
