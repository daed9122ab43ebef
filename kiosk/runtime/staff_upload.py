"""Staff and the library system: an upload now, and staff's answer for a checkout sent
with no answer (the loan is in the ILS after all, or it is to be sent again)."""

from __future__ import annotations

from collections.abc import Sequence

from kiosk.errors import KioskError
from kiosk.runtime.staff_context import DeskContext, Outcome
from kiosk.runtime.uploads import replay_refusal, run_upload
from kiosk.storage.spool import CONFIRMED, RESEND, UploadState
from kiosk.upload.replay import upload_lock
from kiosk.upload.report import (
    ACCEPTED,
    BY_FILE,
    CONFIRMED_BY_STAFF,
    PENDING,
    REJECTED,
    TO_RESEND,
    other_due_dates_line,
    result_of,
    staff_note,
    waiting_for_staff_line,
)


def upload(desk: DeskContext) -> Outcome:
    """Send what the library system does not have yet (SIP2), and report."""
    if desk.config.sip2 is None:
        return Outcome(False, "No library system is configured ([sip2]).")
    refusal = replay_refusal(desk.config)
    if refusal is not None:  # no confirmation dialog here: staff choose in the config
        return Outcome(
            False,
            "Nothing was sent: this library system would not keep these checkouts as made.",
            (
                refusal,
                "To send by SIP2 all the same: kiosk spool upload --yes, or set [ils] "
                "allow_sip2_replay = true.",
            ),
        )
    try:
        outcome = run_upload(desk.config, actor=desk.actor, now=desk.clock)
    except KioskError as exc:
        return Outcome(False, "The upload did not run.", (str(exc),))
    run = outcome.run
    message = (
        f"Upload: {run.accepted} accepted, {run.rejected} refused by the library system, "
        f"{run.still_pending} still to send."
    )
    lines = [f"Report: {outcome.files[1].name} (kiosk spool report --out a USB drive)"]
    if run.error:
        advice = outcome.tally.stop_advice()
        lines.insert(0, f"Stopped: {run.error}" + (f"; {advice}" if advice else ""))
    lines[:0] = [f"Note: {note}." for note in outcome.report.notes]
    if outcome.report.other_due_dates:
        lines.insert(0, other_due_dates_line(len(outcome.report.other_due_dates)) + ".")
    if outcome.report.follow_up:
        lines.insert(0, f"{len(outcome.report.follow_up)} to follow up by hand (see the report).")
    if outcome.report.waiting_for_staff:
        lines.insert(1, waiting_for_staff_line(len(outcome.report.waiting_for_staff)) + ".")
    return Outcome(not run.error and not run.rejected, message, tuple(lines))


def waiting_for_staff(desk: DeskContext) -> list[UploadState]:
    """Checkouts sent with no answer that staff have not answered for, oldest first."""
    with desk.spool() as spool:
        return [s for s in spool.upload_states(to_send=True) if s.waits_for_staff]


def resolve_unanswered(desk: DeskContext, references: Sequence[str], answer: str) -> Outcome:
    """Staff looked in the ILS for checkouts sent with no answer (by receipt reference
    "#12", or txn id): CONFIRMED (the loan is there: accepted by staff, never sent again)
    or RESEND (it is not: the next upload sends it once more). All or nothing: one
    reference refused and none is answered. Each answer is audited. UploadBusy while an
    upload runs (it could be sending one of them)."""
    if answer not in (CONFIRMED, RESEND):
        raise ValueError(f"not a staff answer: {answer!r}")
    with desk.spool() as spool, upload_lock(spool):
        found: dict[str, UploadState] = {}
        refused = []
        for ref in references:
            state = spool.find_upload(ref)
            why = _not_answerable(ref, state, answer)
            if why:
                refused.append(why)
            elif state is not None:
                found.setdefault(state.checkout.txn_id, state)
        if refused or not found:
            return Outcome(
                False,
                "Nothing was changed.",
                (*refused, "`kiosk spool resolve` lists the ones waiting for staff."),
            )
        now = desk.now()
        done = []
        for state in found.values():
            c = state.checkout
            if spool.record_staff_answer(c.txn_id, answer, by=desk.actor, when=now):
                done.append(c.seq)
                desk.record(
                    "spool.resolve",
                    {"answer": answer, "checkout": f"#{c.seq}", "txn_id": c.txn_id},
                )
    if not done:  # each one changed since it was read
        return Outcome(False, "Nothing was changed: run `kiosk spool resolve` again.")
    refs = ", ".join(f"#{seq}" for seq in done)
    if answer == CONFIRMED:
        return Outcome(
            True,
            f"Confirmed by staff: {refs}. They count as accepted and are never sent again.",
        )
    return Outcome(
        True,
        f"To be sent again at staff's request: {refs}.",
        ("The next upload sends each once more (kiosk spool upload).",),
    )


def _not_answerable(ref: str, state: UploadState | None, answer: str) -> str:
    """Why staff cannot answer `answer` for this checkout ("" if they can)."""
    if state is None:
        what = f"checkout {ref}" if ref.removeprefix("#").isdigit() else f"txn id {ref}"
        return f"{ref}: no such checkout in this spool (no {what})."
    name = f"#{state.checkout.seq}"
    result = result_of(state)
    if state.waits_for_staff:
        return ""
    if result == TO_RESEND:
        if answer == CONFIRMED:
            return ""  # staff found it after all: safer than a second loan
        return f"{name} is already to be sent again ({staff_note(state)})."
    reasons = {
        ACCEPTED: "was accepted by the library system: there is nothing to answer",
        CONFIRMED_BY_STAFF: f"is already {staff_note(state)}",
        REJECTED: "was refused by the library system (see the report; kiosk spool upload "
        "--retry-rejected sends it again)",
        PENDING: "was never sent: the next upload sends it",
        BY_FILE: "was handed over in an export file, not sent by SIP2",
    }
    why = reasons.get(result, "was handed over already")
    return f"{name} is not a checkout sent with no answer: it {why}."
