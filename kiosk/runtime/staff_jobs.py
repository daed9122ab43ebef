"""The staff screen's actions, run one at a time off the UI thread.

An export or a snapshot reload takes seconds; the screen keeps drawing meanwhile. Every job
answers, even when it fails, so the staff screen never waits forever.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import assert_never

from kiosk.exports.drives import Drive
from kiosk.presenter.staff import Facts, Job, Result, StatusLine
from kiosk.runtime.inbox import drain_queue
from kiosk.runtime.signin import PinCheck
from kiosk.runtime.staff import Outcome, StaffDesk, StaffStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PinAnswer:
    check: PinCheck


@dataclass(frozen=True)
class FactsAnswer:
    facts: Facts


@dataclass(frozen=True)
class DrivesAnswer:
    names: tuple[str, ...]


@dataclass(frozen=True)
class JobAnswer:
    job: Job
    result: Result


Answer = PinAnswer | FactsAnswer | DrivesAnswer | JobAnswer


def facts(status: StaffStatus) -> Facts:
    """The staff screen's status panel, in plain words."""
    lines = [StatusLine("PIN pad", line, warn=True) for line in status.lock_lines()]
    lines.append(StatusLine("Snapshot", status.snapshot, warn=bool(status.snapshot_warning)))
    if status.snapshot_warning:
        lines.append(StatusLine("", status.snapshot_warning, warn=True))
    if status.snapshot_source:
        lines.append(StatusLine("Reloads from", status.snapshot_source))
    period = status.period
    if period is None:
        lines.append(StatusLine("Checkouts", status.spool_problem, warn=True))
    else:
        local = period.started_at.astimezone(status.checked_at.tzinfo)
        started = local.strftime("%Y-%m-%d %H:%M")
        lines.append(
            StatusLine(
                "Checkouts",
                f"{period.checkouts} this period (since {started}): {period.handed_over} handed "
                f"over, {period.pending} not yet",
            )
        )
    if status.paused is not None:
        lines.append(StatusLine("Station", "PAUSED by staff", warn=True))
    else:
        lines.append(StatusLine("Station", "in service (unless a problem above)"))
    special = status.special_due
    lines.append(
        StatusLine(
            "Special due date",
            f"{special:%A} {special.isoformat()}" if special else "none (normal loan period)",
        )
    )
    for device in status.devices:
        lines.append(
            StatusLine(
                device.name.capitalize(),
                f"{device.state}: {device.detail}".rstrip(": "),
                warn=not device.ok,
            )
        )
    if not status.devices:
        lines.append(StatusLine("Devices", "no report yet"))
    if status.ils:
        lines.append(StatusLine("Library system", status.ils, warn=status.ils_warn))
    if status.conflicts:
        lines.append(StatusLine("Conflicts", status.conflicts, warn=True))
    if status.cards_without_fast_check:
        lines.append(StatusLine("Staff cards", status.fast_check_line(), warn=True))
    lines.append(StatusLine("Disk", status.free_disk))
    lines.append(
        StatusLine("Last error", status.last_error or "none", warn=bool(status.last_error))
    )
    return Facts(
        lines=tuple(lines),
        paused=status.paused is not None,
        period_checkouts=period.checkouts if period else None,
        period_pending=period.pending if period else 0,
        retention_days=status.retention_days,
        can_upload=bool(status.ils),
        pin_locked=bool(status.pin_locks),
    )


def _result(outcome: Outcome) -> Result:
    return Result(outcome.ok, outcome.message, outcome.lines)


class StaffJobs:
    def __init__(self, desk: StaffDesk, *, clear_session: Callable[[], None]) -> None:
        self.desk = desk
        self._clear_session = clear_session
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staff")
        self._answers: queue.Queue[Answer] = queue.Queue()
        self._drives: list[Drive] = []
        # Called on the staff thread when an answer is ready, so the screen wakes to show it.
        self.on_answer: Callable[[], None] | None = None

    # Called from the UI thread ------------------------------------------------------------------

    @property
    def cards(self) -> bool:
        """Staff cards are set up: one still signs in while the corner's PIN pad is locked."""
        return bool(self.desk.config.staff.cards)

    def pin_lock(self, *, by_card: bool) -> PinCheck | None:
        return self.desk.pin_lock(by_card=by_card)

    def check_pin(self, pin: str, *, by_card: bool) -> None:
        self._pool.submit(
            self._guarded,
            Job.STATUS,
            lambda: PinAnswer(self.desk.check_pin(pin, by_card=by_card)),
        )

    def run(self, job: Job, arg: int | str | None = None) -> None:
        self._pool.submit(self._guarded, job, lambda: self._do(job, arg))

    def drain(self) -> list[Answer]:
        return drain_queue(self._answers)

    def close(self) -> None:
        # Queued jobs still run (a sign-out's audit entry, an export under way): the pool's
        # thread finishes them before the process exits.
        self._pool.shutdown(wait=False, cancel_futures=False)

    # The staff thread ---------------------------------------------------------------------------

    def _guarded(self, job: Job, work: Callable[[], Answer | None]) -> None:
        try:
            answer = work()
        except Exception as exc:  # an answer always comes: the screen must not hang
            log.exception("staff action %s failed", job.value)
            answer = JobAnswer(job, Result(False, f"That did not work: {exc}"))
        if answer is not None:
            self._answers.put(answer)
            if self.on_answer is not None:
                self.on_answer()

    def _do(self, job: Job, arg: int | str | None) -> Answer | None:
        """Carry out one staff job. Every Job is handled here: mypy checks the match is
        exhaustive (assert_never), so a new job cannot be forgotten."""
        desk = self.desk
        match job:
            case Job.STATUS:
                return FactsAnswer(facts(desk.status()))
            case Job.DRIVES:
                self._drives = desk.drives()
                return DrivesAnswer(tuple(d.describe() for d in self._drives))
            case Job.SPECIAL_DUE:
                due = None if arg is None else desk.now().date() + timedelta(days=int(arg))
                return JobAnswer(job, _result(desk.set_special_due(due)))
            case Job.PAUSE:
                return JobAnswer(job, _result(desk.pause()))
            case Job.RESUME:
                return JobAnswer(job, _result(desk.resume()))
            case Job.CLEAR_SESSION:
                self._clear_session()
                desk.record("staff.clear_session", {})
                return JobAnswer(
                    job, Result(True, "Any open session was ended. Its checkouts are kept.")
                )
            case Job.TEST_RECEIPT:
                raise ValueError("the test receipt is printed by the app, not a staff job")
            case Job.UPLOAD:
                return JobAnswer(job, _result(desk.upload()))
            case Job.UNLOCK_PIN_PAD:
                return JobAnswer(job, _result(desk.unlock()))
            case Job.RELOAD_SNAPSHOT:
                return JobAnswer(job, _result(desk.reload_snapshot()))
            case Job.EXPORT:
                index = int(arg) if arg is not None else -1
                if not 0 <= index < len(self._drives):
                    return JobAnswer(job, Result(False, "That drive is gone: look again."))
                return JobAnswer(job, _result(desk.export_to(self._drives[index])))
            case Job.NEW_PERIOD:
                outcome = desk.start_new_period(expected_checkouts=int(arg or 0))
                purged = desk.apply_retention() if outcome.ok else None
                lines = outcome.lines + ((purged.message,) if purged else ())
                return JobAnswer(job, Result(outcome.ok, outcome.message, lines))
            case Job.SIGN_OUT:
                desk.record("staff.sign_out", {"reason": str(arg)})
                return None
            case _:
                assert_never(job)
