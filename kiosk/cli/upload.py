"""`kiosk spool upload`, `kiosk spool report` and `kiosk spool resolve`: the checkouts into
the library system by SIP2, exactly once, what it made of them, and staff's answer where it
could not tell."""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import tzinfo
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID

from kiosk.cli.common import State, utc_now
from kiosk.config import KioskConfig
from kiosk.domain.barcodes import mask
from kiosk.errors import KioskError
from kiosk.exports.formats import in_repeated_hour
from kiosk.runtime.staff import StaffDesk
from kiosk.runtime.uploads import REPORTS, UploadOutcome, current_report, run_upload
from kiosk.storage.files import private_dir
from kiosk.storage.spool import CONFIRMED, RESEND, Spool
from kiosk.upload.report import Report, resolve_commands, text_lines, write_report


class IlsNotReached(KioskError):
    exit_code = os.EX_UNAVAILABLE  # 69


class ReplayNotConfirmed(KioskError):
    exit_code = 2  # as a missing command-line option: run it again with --yes


class AnswerRefused(KioskError):
    exit_code = os.EX_DATAERR  # 65: no such checkout, or not one sent with no answer


def _confirm_replay(config: KioskConfig, yes: bool) -> bool:
    """Warn before a SIP2 upload to an ILS known to ignore no-block or drop the dates ([ils]
    kind); True when it may go: --yes, [ils] allow_sip2_replay, or staff said yes at a
    terminal. Without a terminal and without either, refuse."""
    profile = config.ils.profile()
    warning = profile.replay_warning()
    if warning is None:
        return True
    click.echo(f"Warning: {warning}", err=True)
    if yes or config.ils.allow_sip2_replay:
        return True
    if sys.stdin.isatty():
        if click.confirm("Send them by SIP2 all the same?", default=False, err=True):
            return True
        click.echo(f"Nothing was sent. Use {profile.better_route}.")
        return False
    raise ReplayNotConfirmed(
        f"nothing was sent: {profile.name} would not keep these checkouts as made. Use "
        f"{profile.better_route} instead, or run it again with --yes."
    )


def repeated_hour_lines(report: Report, zone: tzinfo) -> list[str]:
    """The checkouts sent to the ILS that were made in the hour the clocks went back: a SIP2
    date in local time cannot say which pass it was (FORMATS.md section 6), so an ILS that
    keeps the transaction date may date them an hour off. Staff are told which to check."""
    sent = [
        line.state.checkout
        for line in report.lines
        if line.state.state is not None
        and in_repeated_hour(line.state.checkout.checkout.occurred_at, zone)
    ]
    if not sent:
        return []
    out = [
        f"Warning: {len(sent)} checkouts sent were made in the hour the clocks went back, "
        "which happens twice; SIP2's local times cannot say which pass, so the library system "
        "may date them an hour off. Check their checkout times in the ILS:"
    ]
    for c in sent:
        local = c.checkout.occurred_at.astimezone(zone)
        out.append(f"  #{c.seq} item {c.checkout.item}: {local:%Y-%m-%d %H:%M:%S %Z}")
    return out


def _print(outcome: UploadOutcome, zone: tzinfo) -> None:
    run, report = outcome.run, outcome.report
    if outcome.tally.connections == 0 and not run.error:
        click.echo("Nothing to send: the library system has had every checkout sent to it.")
    else:
        click.echo(
            f"Upload to {run.target}: {run.accepted} accepted, {run.rejected} rejected, "
            f"{run.still_pending} still to send."
        )
    if outcome.tally.resolved:
        click.echo(
            f"  {outcome.tally.resolved} sent last time without an answer were found on loan "
            "in the library system: counted as accepted, not sent again."
        )
    if outcome.tally.resent:
        click.echo(f"  {outcome.tally.resent} sent once more at staff's request.")
    if outcome.tally.unresolved:
        click.echo(
            f"  {len(outcome.tally.unresolved)} sent before without an answer were not sent "
            "again: the library system does not list the patron's loans, so it cannot tell "
            "whether it has them. Check them in the ILS, then answer with kiosk spool "
            "resolve (below)."
        )
    click.echo(f"This period: {report.summary()}.")
    for line in text_lines(report):
        click.echo(line)
    for line in repeated_hour_lines(report, zone):
        click.echo(line, err=True)
    csv_path, html_path = outcome.files
    click.echo(f"Report: {html_path} (printable), {csv_path}")


@click.command("upload")
@click.option(
    "--wait",
    is_flag=True,
    help="If the ILS does not answer, keep trying every --interval seconds until it does.",
)
@click.option(
    "--interval",
    type=click.IntRange(10, 86400),
    default=None,
    help="[default: sip2.check_interval_seconds]",
)
@click.option("--retry-rejected", is_flag=True, help="Send the ones the ILS refused once more.")
@click.option(
    "--yes",
    is_flag=True,
    help="Send even to an ILS known to ignore no-block or drop the dates ([ils] kind).",
)
@click.pass_obj
def upload(state: State, wait: bool, interval: int | None, retry_rejected: bool, yes: bool) -> None:
    """Send the checkouts the library system does not have yet (SIP2), oldest first; write a
    report of what it accepted. Running it twice sends nothing twice."""
    config = state.config
    if config.sip2 is not None and not _confirm_replay(config, yes):
        return
    console = Console(stderr=True)
    pause = interval or (config.sip2.check_interval_seconds if config.sip2 else 300)
    while True:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task("Uploading", total=None)

            def progress(done: int, total: int, task: TaskID = task) -> None:
                bar.update(task, completed=done, total=total)

            outcome = run_upload(
                config,
                actor="cli",
                now=utc_now,
                retry_rejected=retry_rejected,
                on_progress=progress,
            )
        if not outcome.run.error or not wait or outcome.tally.fatal:
            break  # done, or a refused login that waiting will not cure
        click.echo(f"{outcome.run.error}; trying again in {pause} s.", err=True)
        time.sleep(pause)
    _print(outcome, state.config.tz)
    if outcome.run.error:
        advice = outcome.tally.stop_advice()
        raise IlsNotReached(
            f"the upload stopped: {outcome.run.error}. "
            + (f"{advice[:1].upper()}{advice[1:]}." if advice else "Nothing was lost.")
        )


@click.command("report")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also copy the report (CSV and HTML) into this folder (a USB drive, say).",
)
@click.pass_obj
def report(state: State, out: Path | None) -> None:
    """The upload report for this period, as it stands now: what the ILS accepted, refused,
    and what is still to send."""
    config = state.config
    spool = Spool.open(config.data_dir, anchor=config.kiosk.spool_id)
    try:
        made = current_report(spool, config, utc_now().astimezone(config.tz))
    finally:
        spool.close()
    csv_path, html_path = write_report(made, config.data_dir / REPORTS)
    click.echo(f"This period: {made.summary()}.")
    click.echo(f"Report: {html_path}, {csv_path}")
    if out is not None:
        private_dir(out)
        for path in (csv_path, html_path):
            shutil.copyfile(path, out / path.name)
            (out / path.name).chmod(0o600)
        click.echo(f"Copied to {out}.")


@click.command("resolve")
@click.argument("references", nargs=-1, metavar="[REF]...")
@click.option(
    "--confirmed",
    is_flag=True,
    help="The loan is in the ILS: count it as accepted by staff, never send it again.",
)
@click.option(
    "--resend",
    is_flag=True,
    help="It is not in the ILS: the next upload sends it once more.",
)
@click.pass_obj
def resolve(state: State, references: tuple[str, ...], confirmed: bool, resend: bool) -> None:
    """Answer for checkouts sent with no answer, which the library system cannot tell about:
    look each up in the ILS first. REF is the reference on the receipt and in the report
    (#12 or 12) or the txn id. Without REF: list the ones waiting for staff."""
    if confirmed and resend:
        raise click.UsageError("give one answer: --confirmed or --resend, not both")
    desk = StaffDesk(state.config, actor="cli", now=utc_now)
    if not references:
        if confirmed or resend:
            raise click.UsageError("name the checkouts (REF: #12 or 12, as in the report)")
        _list_waiting(desk)
        return
    if not (confirmed or resend):
        raise click.UsageError(
            "say what you found in the ILS: --confirmed (the loan is there) or --resend (it is not)"
        )
    outcome = desk.resolve_unanswered(references, CONFIRMED if confirmed else RESEND)
    if not outcome.ok:
        raise AnswerRefused("\n  ".join((outcome.message, *outcome.lines)))
    click.echo(outcome.message)
    for line in outcome.lines:
        click.echo(f"  {line}")


def _list_waiting(desk: StaffDesk) -> None:
    waiting = desk.waiting_for_staff()
    if not waiting:
        click.echo("No checkout sent with no answer waits for staff.")
        return
    click.echo(
        f"{len(waiting)} sent with no answer; the library system cannot tell whether it has "
        "them. Look each up in the ILS:"
    )
    for s in waiting:
        seq, lent = s.checkout.seq, s.checkout.checkout
        click.echo(
            f"  #{seq}  {lent.occurred_at.strftime('%Y-%m-%d %H:%M')}  patron {mask(lent.patron)}"
            f"  item {lent.item}  due {lent.due_date.isoformat()}"
        )
    confirmed, resend = resolve_commands(s.checkout.seq for s in waiting)
    click.echo(f"On loan to the patron there: {confirmed}")
    click.echo(f"Not there: {resend}")
