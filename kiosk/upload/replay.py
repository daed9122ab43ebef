"""Store and forward: every checkout made offline goes to the library system once, oldest
first, and what it answered is kept.

Exactly once, durably: a checkout is marked `sent` (committed) before its message leaves,
and `accepted`/`rejected` when the answer is in. A checkout left `sent` (the connection or
the kiosk died before the answer) is resolved first on the next connection: if the ILS
already shows the item on loan to that patron, it counts as accepted; if it lists the
patron's loans in full without it, it is sent again. An ILS that lists no loans at all (not
every server or configuration sends them) gives no evidence either way: such a checkout is
left for staff to check in the ILS, never sent on a guess: staff answer `confirmed` (it is
there: accepted by staff) or `resend` (it is not: this upload sends it once more, without
asking). Running the upload twice sends nothing twice.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import Enum

from kiosk.domain.barcodes import mask
from kiosk.domain.checkout import SpooledCheckout
from kiosk.errors import KioskError
from kiosk.storage.spool import RESEND, Spool, UploadRun, UploadState
from kiosk.upload import sip2
from kiosk.upload.client import (
    ConnectionLost,
    Connector,
    Endpoint,
    ProtocolFailure,
    Sip2Connection,
    connect,
)

log = logging.getLogger(__name__)

ALREADY_ON_LOAN = "already on loan to this patron in the library system"
LOCK_FILE = "upload.lock"


@dataclass(frozen=True)
class Account:
    """Who the kiosk is to the ILS (the [sip2] config)."""

    login_user: str
    login_password: str
    location: str
    institution: str
    terminal_password: str = ""


class Stop(Enum):
    """Why an upload stopped before the end, and so what helps."""

    NONE = "went through"
    UNREACHABLE = "nothing was sent: run it again when the ILS is up"
    LOGIN_REFUSED = "nothing was sent: running it again will not help until the login is fixed"
    ILS_OFFLINE = "the ILS is off-line or not taking checkouts: run it again when it is up"
    INTERRUPTED = (
        "nothing was lost: run it again later (a checkout sent without an answer is asked "
        "about, never sent blind)"
    )


@dataclass
class Tally:
    accepted: int = 0
    rejected: int = 0
    resolved: int = 0  # sent before without an answer, found on loan: accepted now
    unresolved: set[str] = field(default_factory=set)  # sent, no answer, the ILS cannot tell
    resent: int = 0  # sent once more because staff found no such loan in the ILS
    connections: int = 0
    answered: set[str] = field(default_factory=set)  # txn ids the ILS answered in this run
    fatal: bool = False  # retrying will not help (the login was refused)
    stop: Stop = Stop.NONE
    undecodable: list[bytes] = field(default_factory=list)  # answer text not in sip2.encoding

    def stop_advice(self) -> str:
        """What helps after this run stopped early ("" if it did not)."""
        return "" if self.stop is Stop.NONE else self.stop.value

    def encoding_advice(self, encoding: str) -> str:
        """'answers were not valid utf-8: set sip2.encoding = "iso-8859-1"', or ""."""
        return sip2.encoding_advice(tuple(self.undecodable), encoding)


class IlsUnavailable(ConnectionLost):
    """The ILS answered but says it is off-line or refuses checkouts: try later."""


class LoginRefused(IlsUnavailable):
    """Wrong user or password: trying again will not help until the config is fixed."""


class UploadBusy(KioskError):
    """Another upload of this spool is running (the kiosk's own, or a staff command)."""

    exit_code = 75


@contextmanager
def upload_lock(spool: Spool) -> Iterator[None]:
    """One upload of a spool at a time (a lock file beside it), and no staff answer for a
    checkout while an upload may be sending it: UploadBusy if one runs."""
    lock = spool.path.with_name(LOCK_FILE).open("a")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UploadBusy("another upload of this spool is running: wait for it") from exc
        yield
    finally:
        lock.close()


def upload(
    spool: Spool,
    endpoint: Endpoint,
    account: Account,
    *,
    now: Callable[[], datetime],
    zone: tzinfo | None = None,
    paper_out: bool = False,
    reconnects: int = 5,
    retry_rejected: bool = False,
    connector: Connector = connect,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[UploadRun, Tally]:
    """Send what the ILS does not have yet. Returns the run (also recorded in the spool).

    One upload of a spool at a time (a lock file beside it): two at once could send the
    same checkout twice. UploadBusy if another one runs.

    zone: the library's time zone, in which every SIP2 date is written (default: the zone
    of `now()`)."""
    with upload_lock(spool):
        return _upload(
            spool,
            endpoint,
            account,
            now,
            zone,
            paper_out,
            reconnects,
            retry_rejected,
            connector,
            sleep,
            on_progress,
        )


def _upload(
    spool: Spool,
    endpoint: Endpoint,
    account: Account,
    now: Callable[[], datetime],
    zone: tzinfo | None,
    paper_out: bool,
    reconnects: int,
    retry_rejected: bool,
    connector: Connector,
    sleep: Callable[[float], None],
    on_progress: Callable[[int, int], None] | None,
) -> tuple[UploadRun, Tally]:
    started = now()
    if zone is None:
        zone = started.tzinfo
    if zone is None:
        raise ValueError("upload needs the library's time zone: now() gave a naive time")
    tally = Tally()
    error = ""
    failures = 0
    while True:
        todo = [
            s
            for s in spool.upload_states(to_send=True, retry_rejected=retry_rejected)
            # each answered once per run, at most; one the ILS cannot tell about is asked once
            if s.checkout.txn_id not in tally.answered | tally.unresolved
        ]
        if not todo:
            break
        before = len(tally.answered)
        try:
            _session(
                spool,
                endpoint,
                account,
                todo,
                now,
                zone,
                paper_out,
                tally,
                on_progress,
                connector,
            )
            failures = 0
            if len(tally.answered) == before:
                break  # a whole session changed nothing: never loop on it
        except IlsUnavailable as exc:
            error = str(exc)
            tally.fatal = isinstance(exc, LoginRefused)
            tally.stop = Stop.LOGIN_REFUSED if tally.fatal else Stop.ILS_OFFLINE
            break
        except (ConnectionLost, ProtocolFailure) as exc:
            if tally.connections == 0:
                error = str(exc)  # not reachable at all: say so now (--wait tries later)
                tally.stop = Stop.UNREACHABLE
                break
            failures += 1
            if failures > reconnects:
                error = str(exc)
                tally.stop = Stop.INTERRUPTED
                break
            log.info("upload interrupted (%s): reconnecting (%d of %d)", exc, failures, reconnects)
            sleep(min(30.0, 0.5 * 2 ** (failures - 1)))
    left = spool.to_send_count()
    run = UploadRun(
        started, now(), endpoint.describe(), tally.accepted, tally.rejected, left, error
    )
    if tally.connections or error:
        spool.record_upload_run(run)  # a run with nothing to send is not one to report
    return run, tally


def _session(
    spool: Spool,
    endpoint: Endpoint,
    account: Account,
    todo: list[UploadState],
    now: Callable[[], datetime],
    zone: tzinfo,
    paper_out: bool,
    tally: Tally,
    on_progress: Callable[[int, int], None] | None,
    connector: Connector,
) -> None:
    conn = Sip2Connection(endpoint, connector)
    tally.connections += 1
    try:
        if account.login_user:
            answer = conn.exchange(
                sip2.login(account.login_user, account.login_password, account.location)
            )
            if answer.code != "94" or answer.fixed != "1":
                raise LoginRefused(
                    f"the ILS ({endpoint.describe()}) refused the login of "
                    f"{account.login_user!r}: check sip2.login_user / the password file"
                )
        status = sip2.acs_status(conn.exchange(sip2.sc_status(paper_out)))
        if not status.online or not status.checkout_ok:
            raise IlsUnavailable(
                f"{endpoint.describe()} answers but is off-line or not taking checkouts yet"
            )
        total = len(todo)
        for done, entry in enumerate(todo, start=1):
            c = entry.checkout
            # Sent before with no answer: ask the ILS first, unless staff looked and found
            # no such loan there (then it goes once more, as they asked).
            by_staff = entry.state == "sent" and entry.staff_answer == RESEND
            ask = entry.state == "sent" and not by_staff
            known = _on_loan(conn, account, c, now(), zone) if ask else False
            if known is True:
                spool.mark_answered(
                    c.txn_id, accepted=True, message=ALREADY_ON_LOAN, ils_due="", when=now()
                )
                tally.answered.add(c.txn_id)
                tally.accepted += 1
                tally.resolved += 1
            elif known is None:
                # Sending it again could make a second loan: staff check it in the ILS.
                tally.unresolved.add(c.txn_id)
                log.warning(
                    "checkout #%d (item %s) was sent without an answer and the ILS does not "
                    "list the patron's loans: not sent again, for staff to check",
                    c.seq,
                    mask(c.checkout.item),
                )
            else:
                _send(spool, conn, account, c, entry.state, now, zone, tally, by_staff=by_staff)
            if on_progress is not None:
                on_progress(done, total)
    finally:
        tally.undecodable.extend(conn.undecodable)
        conn.close()


def _on_loan(
    conn: Sip2Connection, account: Account, c: SpooledCheckout, at: datetime, zone: tzinfo
) -> bool | None:
    """Whether the ILS has this item on loan to this patron: True, False, or None when its
    patron information cannot tell (it lists no charged items, or fewer than it counts)."""
    answer = conn.exchange(
        sip2.patron_information(
            now=at,
            zone=zone,
            institution=account.institution,
            patron=c.checkout.patron,
            terminal_password=account.terminal_password,
        )
    )
    charged = sip2.charged_items(answer)
    if c.checkout.item in charged:
        return True
    count = sip2.charged_items_count(answer)
    if not charged or (count is not None and count > len(charged)):
        return None
    return False


def _send(
    spool: Spool,
    conn: Sip2Connection,
    account: Account,
    c: SpooledCheckout,
    state: str | None,
    now: Callable[[], datetime],
    zone: tzinfo,
    tally: Tally,
    *,
    by_staff: bool = False,
) -> None:
    """Send one checkout and keep the answer (by_staff: once more, as staff asked)."""
    try:
        message = sip2.checkout(
            occurred_at=c.checkout.occurred_at,
            due_date=c.checkout.due_date,
            zone=zone,
            institution=account.institution,
            patron=c.checkout.patron,
            item=c.checkout.item,
            terminal_password=account.terminal_password,
        )
        message.encode(conn.endpoint.encoding)
    except (ValueError, UnicodeEncodeError) as exc:
        # Never sent, so never in the ILS: refused here, for staff to do by hand.
        reason = f"cannot be sent by SIP2 ({exc})"
        if not spool.mark_sent(c.txn_id, now(), expected=state):
            return
        spool.mark_answered(c.txn_id, accepted=False, message=reason, ils_due="", when=now())
        tally.answered.add(c.txn_id)
        tally.rejected += 1
        return
    if not spool.mark_sent(c.txn_id, now(), expected=state):
        return  # no longer what this run read: another upload dealt with it
    if by_staff:
        tally.resent += 1
    answer = sip2.checkout_answer(conn.exchange(message))
    accepted = answer.ok
    text = answer.screen_message
    if not accepted and _on_loan(conn, account, c, now(), zone) is True:
        # Some systems refuse a checkout of an item already on loan to the same patron (or
        # renew it): either way the loan exists once. It counts as accepted.
        accepted, text = True, f"{ALREADY_ON_LOAN} ({text})" if text else ALREADY_ON_LOAN
    spool.mark_answered(
        c.txn_id, accepted=accepted, message=text, ils_due=answer.due_date, when=now()
    )
    tally.answered.add(c.txn_id)
    if accepted:
        tally.accepted += 1
    else:
        tally.rejected += 1
        log.info(
            "checkout #%d (item %s) refused by the ILS: %s", c.seq, mask(c.checkout.item), text
        )
