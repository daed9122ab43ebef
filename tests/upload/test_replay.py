"""Store and forward against a real SIP2 server (pysip2, on 127.0.0.1): every checkout goes to
the library system once, oldest first, with the dates it had at the kiosk; what the library
system answers is kept. A real spool in a temporary folder; no waiting for back-off (the
`sleep` is recorded, not slept). Faults on the wire are in test_replay_faults.py."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest
import trustme

from kiosk.errors import StorageError
from kiosk.storage.spool import Spool
from kiosk.upload.client import ConnectionLost, Sip2Connection
from kiosk.upload.replay import ALREADY_ON_LOAN, upload
from tests.conftest import item
from tests.upload.ils import Faults, ils, proxy, tls_files
from tests.upload.replaying import (
    ACCOUNT,
    ANA,
    BAO,
    ITEMS,
    SWALLOW_TIMEOUT,
    Sleeps,
    at,
    closed_port,
    library,
    now,
    record,
    seen,
    states,
)

# The happy path ---------------------------------------------------------------------------


def test_a_full_replay_sends_each_checkout_once_in_order_with_its_own_dates(
    spool: Spool,
) -> None:
    ids = record(spool, *ITEMS)
    lib = library()
    sleeps = Sleeps()
    with ils(lib) as port:
        run, tally = upload(spool, at(port), ACCOUNT, now=now, sleep=sleeps)

    assert run.error == ""
    assert (run.accepted, run.rejected, run.still_pending) == (5, 0, 0)
    assert (tally.accepted, tally.rejected, tally.resolved, tally.connections) == (5, 0, 0, 1)
    assert sleeps.asked == []
    assert run.target == f"sip2://127.0.0.1:{port}"
    assert lib.logins == 1
    # Oldest first, each once.
    assert [r.item_identifier for r in lib.checkouts_seen] == ITEMS
    for n, req in enumerate(lib.checkouts_seen, start=1):
        assert req.transaction_date == f"20261123    10{n:02d}00"  # local wall-clock time
        assert req.nb_due_date == "20261214    235959"  # the date on the patron's receipt
        assert req.no_block == "Y"
        assert req.institution_id == "MAIN"
        assert req.patron_identifier == ANA
        assert req.terminal_password == "tpw"
    assert lib.loans == dict.fromkeys(ITEMS, ANA)

    after = spool.upload_states()
    assert [s.checkout.txn_id for s in after] == ids
    for s in after:
        assert s.state == "accepted"
        assert s.attempts == 1
        assert s.checkout.handed_over_at is not None
        assert s.ils_due == "20261214    235959"
        assert s.answered_at is not None
    assert spool.upload_states(to_send=True) == []
    assert list(spool.checkouts(pending_only=True)) == []
    assert spool.last_upload_run() == run.__class__(
        run.started_at.replace(microsecond=0),
        run.finished_at.replace(microsecond=0) if run.finished_at else None,
        run.target,
        5,
        0,
        0,
        "",
    )


def test_a_second_run_sends_nothing_and_does_not_even_connect(spool: Spool) -> None:
    record(spool, *ITEMS[:3])
    lib = library()
    faults = Faults()
    with ils(lib) as port, proxy(port, faults) as via:
        first, _ = upload(spool, at(via), ACCOUNT, now=now, sleep=Sleeps())
        assert first.accepted == 3
        sent_before = len(faults.log)
        second, tally = upload(spool, at(via), ACCOUNT, now=now, sleep=Sleeps())

    assert (second.accepted, second.rejected, second.still_pending, second.error) == (0, 0, 0, "")
    assert tally.connections == 0
    assert len(faults.log) == sent_before  # not a byte more
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:3], 1))
    assert lib.logins == 1


# Refusals ---------------------------------------------------------------------------------


def test_refused_checkouts_keep_the_ils_message_and_are_not_handed_over(spool: Spool) -> None:
    unknown = item(99)  # an item the library system does not know
    record(spool, ITEMS[0], ITEMS[1], unknown, ITEMS[2])
    lib = library(refuse={ITEMS[1]: "Item on hold for another patron"})
    with ils(lib) as port:
        run, tally = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())

    assert (run.accepted, run.rejected, run.still_pending, run.error) == (2, 2, 0, "")
    assert (tally.accepted, tally.rejected) == (2, 2)
    after = states(spool)
    assert after[ITEMS[1]].state == "rejected"
    assert after[ITEMS[1]].message == "Item on hold for another patron"
    assert after[unknown].state == "rejected"
    assert after[unknown].message == "Item not found"
    for refused in (ITEMS[1], unknown):
        assert after[refused].checkout.handed_over_at is None
        assert after[refused].ils_due == ""
        assert refused not in lib.loans
    for taken in (ITEMS[0], ITEMS[2]):
        assert after[taken].state == "accepted"
        assert after[taken].checkout.handed_over_at is not None
    # Refused ones are not sent again by a plain second run.
    again, _ = upload(spool, at(closed_port()), ACCOUNT, now=now, sleep=Sleeps())
    assert again.error == "" and again.still_pending == 0
    assert seen(lib) == Counter({ITEMS[0]: 1, ITEMS[1]: 1, unknown: 1, ITEMS[2]: 1})


def test_an_item_already_on_loan_to_the_same_patron_counts_as_accepted_once(
    spool: Spool,
) -> None:
    record(spool, ITEMS[0], ITEMS[1])
    lib = library(loans={ITEMS[0]: ANA})  # staff checked it out by hand meanwhile
    with ils(lib) as port:
        run, _ = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())

    assert (run.accepted, run.rejected) == (2, 0)
    first = states(spool)[ITEMS[0]]
    assert first.state == "accepted"
    assert first.message.startswith(ALREADY_ON_LOAN)
    assert first.checkout.handed_over_at is not None
    assert lib.loans == {ITEMS[0]: ANA, ITEMS[1]: ANA}  # one loan each, no second one
    assert seen(lib)[ITEMS[0]] == 1


def test_an_item_on_loan_to_another_patron_is_rejected(spool: Spool) -> None:
    record(spool, ITEMS[0], ITEMS[1])
    lib = library(loans={ITEMS[0]: BAO})
    with ils(lib) as port:
        run, _ = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())

    assert (run.accepted, run.rejected) == (1, 1)
    first = states(spool)[ITEMS[0]]
    assert first.state == "rejected"
    assert first.message == "Item already checked out"
    assert first.checkout.handed_over_at is None
    assert lib.loans[ITEMS[0]] == BAO


def test_retry_rejected_sends_the_refused_ones_once_more(spool: Spool) -> None:
    record(spool, *ITEMS[:3])
    lib = library(refuse={ITEMS[1]: "Hold for another patron"})
    with ils(lib) as port:
        first, _ = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())
        assert (first.accepted, first.rejected) == (2, 1)
        lib.refuse.clear()  # staff sorted it out in the library system
        plain, _ = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps())
        assert seen(lib)[ITEMS[1]] == 1  # not retried without being asked
        assert plain.rejected == 0 and states(spool)[ITEMS[1]].state == "rejected"
        retried, tally = upload(
            spool, at(port), ACCOUNT, now=now, sleep=Sleeps(), retry_rejected=True
        )

    assert (retried.accepted, retried.rejected, retried.error) == (1, 0, "")
    assert tally.connections == 1
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:3], 1)) + Counter({ITEMS[1]: 1})
    after = states(spool)[ITEMS[1]]
    assert after.state == "accepted"
    assert after.attempts == 2
    assert after.checkout.handed_over_at is not None


# TLS ----------------------------------------------------------------------------------------


def test_tls_with_the_librarys_ca(spool: Spool, tmp_path: Path) -> None:
    record(spool, *ITEMS[:2])
    lib = library()
    server_context, ca_file = tls_files(tmp_path)
    with ils(lib, tls=server_context) as port:
        endpoint = at(port, tls=True, ca_file=ca_file)
        run, _ = upload(spool, endpoint, ACCOUNT, now=now, sleep=Sleeps())

    assert run.target == f"sip2+tls://127.0.0.1:{port}"
    assert (run.accepted, run.error) == (2, "")
    assert seen(lib) == Counter(dict.fromkeys(ITEMS[:2], 1))


def test_tls_with_a_certificate_the_kiosk_does_not_trust_is_refused(
    spool: Spool, tmp_path: Path
) -> None:
    record(spool, *ITEMS[:2])
    lib = library()
    server_context, _ = tls_files(tmp_path)
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    sleeps = Sleeps()
    with ils(lib, tls=server_context) as port:
        endpoint = at(port, tls=True, ca_file=stranger)
        with pytest.raises(ConnectionLost, match=r"TLS failed.*CERTIFICATE_VERIFY_FAILED"):
            Sip2Connection(endpoint)
        run, tally = upload(spool, endpoint, ACCOUNT, now=now, sleep=sleeps, reconnects=2)

    assert "TLS failed" in run.error
    assert "CERTIFICATE_VERIFY_FAILED" in run.error
    assert (run.accepted, run.still_pending) == (0, 2)
    assert sleeps.asked == []  # never connected in this run: it says so at once
    assert tally.connections == 0
    assert lib.checkouts_seen == [] and lib.logins == 0
    assert {s.state for s in spool.upload_states()} == {None}  # nothing marked sent


def test_plain_tcp_to_a_tls_server_is_a_lost_connection_not_a_crash(
    spool: Spool, tmp_path: Path
) -> None:
    record(spool, ITEMS[0])
    server_context, _ = tls_files(tmp_path)
    with ils(library(), tls=server_context) as port:
        run, _ = upload(
            spool,
            at(port, timeout=SWALLOW_TIMEOUT),
            ACCOUNT,
            now=now,
            sleep=Sleeps(),
            reconnects=0,
        )
    assert "the ILS closed the connection" in run.error
    assert run.still_pending == 1
    assert states(spool)[ITEMS[0]].state is None  # it never got past the login


# The library system says no ---------------------------------------------------------------


def test_a_refused_login_stops_the_upload_with_a_clear_error(spool: Spool) -> None:
    record(spool, *ITEMS[:2])
    lib = library(password="something else")
    sleeps = Sleeps()
    with ils(lib) as port:
        run, tally = upload(spool, at(port), ACCOUNT, now=now, sleep=sleeps)

    assert "refused the login of 'kiosk1'" in run.error
    assert "password" in run.error
    assert (run.accepted, run.rejected, run.still_pending) == (0, 0, 2)
    assert tally.connections == 1 and sleeps.asked == []  # no point in trying again
    assert lib.logins == 1
    assert lib.checkouts_seen == []
    assert {s.state for s in spool.upload_states()} == {None}


def test_an_ils_that_says_it_is_off_line_gets_nothing(spool: Spool) -> None:
    record(spool, *ITEMS[:2])
    lib = library(online=False)
    sleeps = Sleeps()
    with ils(lib) as port:
        run, tally = upload(spool, at(port), ACCOUNT, now=now, sleep=sleeps)

    assert "off-line" in run.error
    assert (run.accepted, run.still_pending) == (0, 2)
    assert tally.connections == 1 and sleeps.asked == []
    assert lib.checkouts_seen == []
    assert {s.state for s in spool.upload_states()} == {None}


def test_no_ils_listening_says_so_at_once_and_loses_nothing(
    spool: Spool,
) -> None:
    record(spool, *ITEMS[:2])
    sleeps = Sleeps()
    run, tally = upload(spool, at(closed_port()), ACCOUNT, now=now, sleep=sleeps, reconnects=3)
    assert "does not answer" in run.error
    # Reconnects are for a line that drops mid-way; an ILS that is not there at all is
    # reported at once (`--wait` and the kiosk's watcher try again later).
    assert sleeps.asked == []
    assert (run.accepted, run.still_pending, tally.connections) == (0, 2, 0)
    assert {s.state for s in spool.upload_states()} == {None}
    assert spool.last_upload_run() is not None
    assert spool.last_upload_run().error == run.error  # type: ignore[union-attr]


def test_a_barcode_that_cannot_go_on_the_wire_does_not_block_the_others(
    spool: Spool,
) -> None:
    """A prefix-only item rule lets `3|7` through as an item barcode; SIP2 cannot carry it.
    The upload must carry on with the others and leave that one for staff, not stop."""
    odd = "3|7"
    record(spool, ITEMS[0], odd, ITEMS[1])
    lib = library()
    with ils(lib) as port:
        run, _ = upload(spool, at(port), ACCOUNT, now=now, sleep=Sleeps(), reconnects=0)

    assert seen(lib) == Counter({ITEMS[0]: 1, ITEMS[1]: 1})
    assert run.accepted == 2
    assert states(spool)[odd].state != "accepted"
    assert states(spool)[odd].checkout.handed_over_at is None


# The database's own guard -------------------------------------------------------------------


def test_the_database_refuses_to_change_an_accepted_upload(spool: Spool, tmp_path: Path) -> None:
    ids = record(spool, ITEMS[0])
    spool.mark_sent(ids[0], now())
    spool.mark_answered(ids[0], accepted=True, message="", ils_due="x", when=now())
    # Claiming it for sending again is refused (it is no longer what the caller read) ...
    assert spool.mark_sent(ids[0], now()) is False
    assert spool.mark_sent(ids[0], now(), expected="accepted") is False  # handed over
    # ... and the database refuses the change itself.
    with pytest.raises(StorageError, match="never sent again"):
        spool.mark_answered(ids[0], accepted=False, message="no", ils_due="", when=now())

    conn = sqlite3.connect(tmp_path / "data" / "spool.db", isolation_level=None)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="never sent again"):
            conn.execute("UPDATE uploads SET state = 'sent'")
        row = conn.execute("SELECT state, attempts, ils_due FROM uploads").fetchone()
    finally:
        conn.close()
    assert row == ("accepted", 1, "x")
    assert states(spool)[ITEMS[0]].state == "accepted"


def test_the_database_refuses_an_unknown_upload_state(spool: Spool, tmp_path: Path) -> None:
    ids = record(spool, ITEMS[0])
    spool.mark_sent(ids[0], now())
    conn = sqlite3.connect(tmp_path / "data" / "spool.db", isolation_level=None)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="ck_upload_state"):
            conn.execute("UPDATE uploads SET state = 'maybe'")
    finally:
        conn.close()
    assert states(spool)[ITEMS[0]].state == "sent"
