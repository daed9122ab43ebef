"""Exactly once, whatever the wire does: a line that drops, an answer that never comes, a
corrupted answer, a 96, a kiosk that died between marking a checkout sent and sending it, and
two uploads at once. Faults come from a TCP proxy in front of the test ILS (tests/upload/ils.py);
`library.checkouts_seen` is what really reached the library system."""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

import pytest

from kiosk.storage.spool import Spool
from kiosk.upload import sip2
from kiosk.upload.client import Endpoint, connect
from kiosk.upload.replay import ALREADY_ON_LOAN, UploadBusy, upload
from kiosk.upload.report import UNANSWERED, WHAT_TO_DO, build_report
from tests.upload.ils import Faults, ils, proxy
from tests.upload.replaying import (
    ACCOUNT,
    ANA,
    ITEMS,
    SWALLOW_TIMEOUT,
    Sleeps,
    at,
    library,
    now,
    record,
    requests_of,
    seen,
    states,
)


def test_without_error_detection_the_replay_works_the_same(spool: Spool) -> None:
    record(spool, *ITEMS[:3])
    lib = library()
    faults = Faults()
    with ils(lib) as port, proxy(port, faults) as via:
        run, _ = upload(spool, at(via, error_detection=False), ACCOUNT, now=now, sleep=Sleeps())
    assert (run.accepted, run.error) == (3, "")
    assert all(b"AY" not in m and b"AZ" not in m for m in faults.log)
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:3], 1))


def test_two_uploads_at_once_cannot_happen_and_nothing_is_sent_twice(
    spool: Spool, tmp_path: Path
) -> None:
    """The kiosk's watcher (sip2.auto_upload) and `kiosk spool upload` from a shell can start
    together. The second one to start is refused plainly (UploadBusy) while the first runs;
    the first sends everything once."""
    record(spool, *ITEMS[:3])
    lib = library()
    other = Spool.open(tmp_path / "data")
    refused: list[UploadBusy] = []

    def connect_meanwhile(endpoint: Endpoint) -> socket.socket:
        if not refused:
            with pytest.raises(UploadBusy, match="another upload") as caught:
                upload(other, endpoint, ACCOUNT, now=now, sleep=Sleeps())
            refused.append(caught.value)
        return connect(endpoint)

    try:
        with ils(lib) as port:
            run, _ = upload(
                spool, at(port), ACCOUNT, now=now, sleep=Sleeps(), connector=connect_meanwhile
            )
            again, _ = upload(other, at(port), ACCOUNT, now=now, sleep=Sleeps())  # free now
    finally:
        other.close()

    assert len(refused) == 1 and refused[0].exit_code == 75
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:3], 1))
    assert run.error == "" and again.error == ""
    assert {s.state for s in spool.upload_states()} == {"accepted"}
    assert [s.attempts for s in spool.upload_states()] == [1, 1, 1]


def test_a_checkout_claimed_since_the_list_was_read_is_not_sent_blind(
    spool: Spool, tmp_path: Path
) -> None:
    """The list of what to send is read before connecting. If a checkout on it was marked
    `sent` meanwhile (its answer unknown), this run must not send it from its out-of-date
    list: it asks the ILS (63) first, as the next run would, and sends it only if the ILS
    does not have it."""
    ids = record(spool, *ITEMS[:2])
    lib = library()
    other = Spool.open(tmp_path / "data")
    claimed: list[bool] = []

    def connect_meanwhile(endpoint: Endpoint) -> socket.socket:
        if not claimed:
            claimed.append(other.mark_sent(ids[0], now()))  # as if sent, answer unknown
        return connect(endpoint)

    try:
        with ils(lib) as port, proxy(port, Faults()) as via:
            run, _ = upload(
                spool, at(via), ACCOUNT, now=now, sleep=Sleeps(), connector=connect_meanwhile
            )
    finally:
        other.close()

    assert claimed == [True]
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:2], 1))
    assert run.error == ""
    assert {s.state for s in spool.upload_states()} == {"accepted"}


def test_retry_rejected_sends_each_refused_one_once_even_across_a_reconnect(
    spool: Spool,
) -> None:
    """ "Once more" holds for the run, not per connection: a drop halfway through the retry
    must not send the ones already refused again in the same run."""
    record(spool, ITEMS[0], ITEMS[1])
    lib = library(refuse={ITEMS[0]: "Hold for another patron", ITEMS[1]: "Lost"})
    lib.loans[ITEMS[4]] = ANA  # a loan the 63 lists: evidence item 1 is not on loan to her
    with ils(lib) as port:
        first, _ = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())
        assert first.rejected == 2
        # Login, status, the retry of item 0 and the 63 that double-checks the refusal:
        # then the line drops, with item 1 on its way.
        faults = Faults(drop_after_answers=4)
        with proxy(port, faults) as via:
            retried, _ = upload(
                spool, at(via), ACCOUNT, now=now, sleep=Sleeps(), retry_rejected=True
            )

    assert retried.error == ""
    assert faults.drops == 1
    assert seen(lib) == Counter({ITEMS[0]: 2, ITEMS[1]: 2})  # the first run, plus once more
    assert {s.state for s in states(spool).values()} == {"rejected"}


# A line that drops, an answer that never comes --------------------------------------------


def test_a_dropped_connection_resumes_without_losing_or_repeating_anything(
    spool: Spool,
) -> None:
    record(spool, *ITEMS)
    lib = library()
    faults = Faults(drop_after_answers=4)  # login, status, two checkouts: then it drops
    sleeps = Sleeps()
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(spool, at(via), ACCOUNT, now=now, sleep=sleeps)

    assert faults.drops == 1
    assert (run.accepted, run.rejected, run.still_pending, run.error) == (5, 0, 0, "")
    assert tally.connections == 2
    assert sleeps.asked == [0.5]  # one back-off before the reconnect
    assert seen(lib) == Counter(dict.fromkeys(ITEMS, 1))  # nothing lost, nothing twice
    assert [r.item_identifier for r in lib.checkouts_seen] == ITEMS
    after = states(spool)
    assert {s.state for s in after.values()} == {"accepted"}
    # The third was marked sent before the drop, never reached the ILS, was checked with a
    # 63 on the next connection and then sent.
    assert after[ITEMS[2]].attempts == 2
    assert len(requests_of(faults, b"63")) == 1
    assert [after[i].attempts for i in (ITEMS[0], ITEMS[1], ITEMS[3], ITEMS[4])] == [1] * 4


def test_a_swallowed_answer_is_resolved_by_asking_not_by_sending_again(spool: Spool) -> None:
    record(spool, *ITEMS[:3])
    lib = library()
    faults = Faults(swallow_answer=3)  # the answer to the first checkout never arrives
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(
            spool, at(via, timeout=SWALLOW_TIMEOUT), ACCOUNT, now=now, sleep=Sleeps()
        )

    assert (run.accepted, run.rejected, run.still_pending, run.error) == (3, 0, 0, "")
    assert (tally.resolved, tally.connections) == (1, 2)
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:3], 1))  # no second request for it
    first = states(spool)[ITEMS[0]]
    assert first.state == "accepted"
    assert first.message == ALREADY_ON_LOAN
    assert first.attempts == 1
    assert first.checkout.handed_over_at is not None
    patron_info = requests_of(faults, b"63")
    assert len(patron_info) == 1 and f"AA{ANA}|".encode() in patron_info[0]


def test_a_sent_checkout_the_ils_never_got_is_sent_on_the_next_run(spool: Spool) -> None:
    ids = record(spool, *ITEMS[:2])
    spool.mark_sent(ids[0], now())  # the kiosk died right after this, before the send
    assert states(spool)[ITEMS[0]].state == "sent"
    assert [c.checkout.item for c in spool.checkouts(pending_only=True)] == [
        ITEMS[1]
    ]  # not exported
    lib = library(loans={ITEMS[4]: ANA})  # the 63 lists her loans, and not this one
    faults = Faults()
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(spool, at(via), ACCOUNT, now=now, sleep=Sleeps())

    assert (run.accepted, run.still_pending, tally.resolved) == (2, 0, 0)
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:2], 1))
    assert len(requests_of(faults, b"63")) == 1  # asked first
    # ... and the ask came before the send.
    codes = [m[:2] for m in faults.log]
    assert codes == [b"93", b"99", b"63", b"11", b"11"]
    first = states(spool)[ITEMS[0]]
    assert (first.state, first.attempts, first.message) == ("accepted", 2, "")


# The protocol's own error recovery ----------------------------------------------------------


def test_a_corrupted_answer_is_asked_for_again_with_97(spool: Spool) -> None:
    record(spool, *ITEMS[:3])
    lib = library()
    faults = Faults(corrupt_answer=3)  # the answer to the first checkout
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(spool, at(via), ACCOUNT, now=now, sleep=Sleeps())

    assert b"97" in faults.log
    assert [m[:2] for m in faults.log] == [b"93", b"99", b"11", b"97", b"11", b"11"]
    assert (run.accepted, run.error, tally.connections) == (3, "", 1)
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:3], 1))
    assert all(s.attempts == 1 for s in spool.upload_states())


def test_a_96_makes_the_kiosk_send_the_same_message_again_and_it_counts_once(
    spool: Spool,
) -> None:
    record(spool, *ITEMS[:2])
    lib = library()
    faults = Faults(resend_request=3)  # the first checkout is answered "96: send it again"
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(spool, at(via), ACCOUNT, now=now, sleep=Sleeps())

    checkouts = requests_of(faults, b"11")
    assert len(checkouts) == 3
    assert checkouts[0] == checkouts[1]  # byte for byte: sequence number and checksum too
    assert (run.accepted, tally.accepted, tally.connections) == (2, 2, 1)
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:2], 1))
    assert states(spool)[ITEMS[0]].attempts == 1


# When the ILS cannot tell whether it has a loan (issue 16) -----------------------------------


def test_a_sent_checkout_is_not_sent_again_when_the_ils_lists_no_loans(spool: Spool) -> None:
    """Two SIP server processes that do not share state: the one asked has no record of the
    first send and lists no charged items. That is no evidence: the checkout is left for
    staff, not sent a second time."""
    ids = record(spool, *ITEMS[:2])
    spool.mark_sent(ids[0], now())  # sent, and then nothing was heard
    lib = library(lists_charged_items=False)
    faults = Faults()
    with ils(lib) as port, proxy(port, faults) as via:
        run, tally = upload(spool, at(via), ACCOUNT, now=now, sleep=Sleeps())

    assert seen(lib) == Counter({ITEMS[1]: 1})  # the first never went a second time
    assert [m[:2] for m in faults.log] == [b"93", b"99", b"63", b"11"]  # one session, one ask
    assert (run.accepted, run.still_pending, run.error) == (1, 1, "")
    assert (tally.unresolved, tally.resolved, tally.connections) == ({ids[0]}, 0, 1)
    first = states(spool)[ITEMS[0]]
    assert (first.state, first.attempts, first.checkout.handed_over_at) == ("sent", 1, None)
    report = build_report(spool.upload_states(), kiosk_id="K1", run=run, made_at=now())
    assert [(line.state.checkout.checkout.item, line.result) for line in report.follow_up] == [
        (ITEMS[0], UNANSWERED)
    ]
    assert "check in the ILS whether it is on loan to this patron" in WHAT_TO_DO[UNANSWERED]

    # Each later run asks again and, still without evidence, still does not send it.
    with ils(lib) as port:
        again, _ = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())
    assert seen(lib) == Counter({ITEMS[1]: 1}) and again.still_pending == 1


def test_a_patron_list_shorter_than_its_own_count_is_no_evidence(spool: Spool) -> None:
    """A server that counts the patron's charged items but lists only some of them."""
    ids = record(spool, ITEMS[0])
    spool.mark_sent(ids[0], now())
    lib = library(loans={ITEMS[4]: ANA, ITEMS[3]: ANA}, charged_items_listed=1)
    with ils(lib) as port:
        _, tally = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())
    assert tally.unresolved == {ids[0]} and lib.checkouts_seen == []


def test_charged_items_count_reads_the_fixed_part() -> None:
    body = "64" + " " * 14 + "001" + "20261123    100000" + "0000" + "0000" + "0003" + "0" * 12
    message = sip2.parse(body.encode() + b"AOMAIN|AU1|AU2|", "utf-8")
    assert sip2.charged_items_count(message) == 3
    assert sip2.charged_items(message) == ("1", "2")
