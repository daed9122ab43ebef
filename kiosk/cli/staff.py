"""`kiosk staff ...`: what the staff screen does, for a person with a shell. A running kiosk
picks each change up at its next scan (or within a second on the screens)."""

from __future__ import annotations

import itertools
import os
import re
from datetime import date, timedelta
from pathlib import Path

import click
import tomlkit
from tomlkit.items import Array
from tomlkit.toml_document import TOMLDocument

from kiosk.cli.common import State, utc_now
from kiosk.cli.config_file import edit_config, table
from kiosk.domain.staff import (
    PIN_PATTERN,
    SALT_BYTES,
    SecretHash,
    find_match,
    hash_secret,
    matches,
    parse_hash,
)
from kiosk.errors import ConfigError, KioskError, PeriodNotHandedOver
from kiosk.exports.drives import folder_as_drive
from kiosk.runtime.staff import MAX_SPECIAL_DUE_DAYS, Outcome, StaffDesk
from kiosk.runtime.staff_cards import remember
from kiosk.runtime.station import CLEAR_SESSION_SETTING
from kiosk.storage.spool import Spool


@click.group("staff")
def group() -> None:
    """Staff actions: PINs and cards, unlock, special due date, pause, export, new period."""


def _desk(state: State) -> StaffDesk:
    return StaffDesk(state.config, actor="cli", now=utc_now)


class StaffActionFailed(KioskError):
    exit_code = os.EX_UNAVAILABLE  # 69


def _report(outcome: Outcome, *, exit_code: int | None = None) -> None:
    """Print an outcome; a failed one goes to stderr as "kiosk: ..." and exits non-zero."""
    if outcome.ok:
        click.echo(outcome.message)
        for line in outcome.lines:
            click.echo(f"  {line}")
        return
    click.echo(f"kiosk: {outcome.message}", err=True)
    for line in outcome.lines:
        click.echo(f"  {line}", err=True)
    raise SystemExit(exit_code if exit_code is not None else StaffActionFailed.exit_code)


# PINs and staff cards --------------------------------------------------------------------------


def _weak(pin: str) -> bool:
    """All one digit, or a run up or down (1234, 9876): the first PINs anyone tries."""
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def _add_hash(state: State, key: str, secret: str, *, share_salt: bool) -> tuple[int, SecretHash]:
    """Append a salted hash of `secret` to [staff].<key> in the config file, keeping its
    comments and layout; the new file is validated before it replaces the old one. Returns
    how many there are now, and the new hash."""
    path = state.config_path

    def add(document: TOMLDocument) -> tuple[int, SecretHash]:
        staff = table(document, path, "staff")
        entries = staff.get(key)
        if entries is None:
            entries = tomlkit.array()
            entries.multiline(True)
            staff[key] = entries
        if not isinstance(entries, Array):
            raise ConfigError(str(path), [f"staff.{key}: must be a list"])
        salt = os.urandom(SALT_BYTES)
        if share_salt and len(entries):
            # Cards share one salt, so a scan costs one derivation however many cards.
            salt = parse_hash(str(entries[0])).salt
        hashed = hash_secret(secret, salt)
        if any(str(e) == hashed.text() for e in entries):
            raise click.UsageError(f"that {key[:-1]} is already in {path}")
        entries.append(hashed.text())
        return len(entries), hashed

    return edit_config(path, add)


@group.command("add-pin")
@click.pass_obj
def add_pin(state: State) -> None:
    """Add a staff PIN (4 to 12 digits). Only a salted scrypt hash goes into the config."""
    state.keep_root = True  # the config is root's: written as root, the rest as the kiosk
    pin = click.prompt("New staff PIN", hide_input=True, confirmation_prompt="Again")
    if not PIN_PATTERN.match(pin):
        raise click.BadParameter("a PIN is 4 to 12 digits")
    if _weak(pin):
        raise click.BadParameter("that PIN is the first anyone would try: choose another")
    if matches(pin, state.config.staff.pin_hashes()):  # each PIN has its own salt
        raise click.UsageError(f"that PIN is already in {state.config_path}: nothing was added")
    count, _ = _add_hash(state, "pins", pin, share_salt=False)
    state.act_as_data_owner()
    _desk(state).record("staff.pin_added", {"pins": count})
    click.echo(f"PIN added to {state.config_path} ({count} PINs). Restart the kiosk to use it.")


@group.command("add-card")
@click.pass_obj
def add_card(state: State) -> None:
    """Add a staff card: scanning it at the Welcome screen opens the PIN pad."""
    state.keep_root = True
    card = click.prompt("Scan or type the staff card", hide_input=True).strip()
    if not re.fullmatch(r"[ -~]{4,64}", card):
        raise click.BadParameter("a card number is 4 to 64 plain characters")
    staff = state.config.staff
    if not staff.pins:
        raise click.UsageError("add a PIN first (kiosk staff add-pin): a card opens the PIN pad")
    known = find_match(card, staff.card_hashes())
    if known is not None:  # a config from another station: this one lacks its fast check
        click.echo(f"That staff card is already in {state.config_path}: nothing was added.")
        state.act_as_data_owner()
        _fast_check(state, card, known, staff.card_hashes())
        return
    count, hashed = _add_hash(state, "cards", card, share_salt=True)
    state.act_as_data_owner()
    _fast_check(state, card, hashed, (*staff.card_hashes(), hashed))
    _desk(state).record("staff.card_added", {"cards": count})
    click.echo(f"Staff card added to {state.config_path} ({count} cards). Restart the kiosk.")


def _fast_check(state: State, card: str, hashed: SecretHash, cards: tuple[SecretHash, ...]) -> None:
    """The card's tag under this station's key (as the data folder's owner), so a patron's
    card at the Welcome screen costs no key derivation. A failure costs only that speed."""
    data_dir = state.config.data_dir
    later = "the kiosk checks it the slow way until it is scanned once at the Welcome screen"
    if not data_dir.is_dir():
        click.echo(f"Note: no data folder {data_dir} yet: {later}.")
        return
    try:
        remember(data_dir, card, hashed, keep=cards)
    except OSError as exc:
        click.echo(
            f"kiosk: warning: the card's fast check was not saved ({exc.strerror or exc}): "
            f"{later}.",
            err=True,
        )
        return
    click.echo("Its fast check is set on this station.")


@group.command("unlock")
@click.pass_obj
def unlock(state: State) -> None:
    """Lift a PIN lockout now (too many wrong PINs at a PIN pad); wrong PINs count from zero."""
    _report(_desk(state).unlock())


# Settings a running kiosk picks up -----------------------------------------------------------


@group.group("special-due")
def special_due() -> None:
    """A due date for every checkout from now on (when the library will be closed past the
    normal loan period), or back to the normal loan period."""


@special_due.command("set")
@click.argument("when", required=False)
@click.option(
    "--days",
    type=click.IntRange(1, MAX_SPECIAL_DUE_DAYS),
    help="Instead of a date: this many days.",
)
@click.pass_obj
def special_due_set(state: State, when: str | None, days: int | None) -> None:
    """Set the special due date: a DATE (YYYY-MM-DD) or --days N from today."""
    config = state.config
    today = utc_now().astimezone(config.tz).date()
    if (when is None) == (days is None):
        raise click.UsageError("give a date or --days, not both and not neither")
    if days is not None:
        due = today + timedelta(days=days)
    else:
        try:
            due = date.fromisoformat(when or "")
        except ValueError as exc:
            raise click.BadParameter(f"{when!r} is not a date (YYYY-MM-DD)") from exc
    if due < today:
        raise click.BadParameter(f"{due} is in the past")
    _report(_desk(state).set_special_due(due))


@special_due.command("clear")
@click.pass_obj
def special_due_clear(state: State) -> None:
    """Back to the normal loan period."""
    _report(_desk(state).set_special_due(None))


@group.command("pause")
@click.option("--message", default="", help="What patrons read on the screen meanwhile.")
@click.pass_obj
def pause(state: State, message: str) -> None:
    """Put the station out of service (patrons finish the session they are in)."""
    _report(_desk(state).pause(message))
    click.echo("`kiosk staff resume` puts it back in service.")


@group.command("resume")
@click.pass_obj
def resume(state: State) -> None:
    """Put a paused station back in service."""
    _report(_desk(state).resume())


@group.command("clear-session")
@click.pass_obj
def clear_session(state: State) -> None:
    """End the session a patron left open (its checkouts are stored already)."""
    spool = Spool.open(state.config.data_dir, create=True, anchor=state.config.kiosk.spool_id)
    try:
        spool.set_setting(CLEAR_SESSION_SETTING, utc_now().isoformat())
    finally:
        spool.close()
    _desk(state).record("staff.clear_session", {})
    click.echo("The running kiosk ends its session (if any) within a few seconds.")


# The snapshot, the hand-over and the period ---------------------------------------------------


@group.command("reload-snapshot")
@click.pass_obj
def reload_snapshot(state: State) -> None:
    """Import the snapshot again from its configured location (snapshot.source)."""
    _report(_desk(state).reload_snapshot(), exit_code=65)


@group.command("drives")
@click.pass_obj
def drives(state: State) -> None:
    """List the removable drives an export could go to."""
    found = _desk(state).drives()
    if not found:
        roots = ", ".join(str(r) for r in state.config.staff.export_roots)
        click.echo(f"No writable removable drive is mounted (looked under {roots}).")
        return
    for drive in found:
        click.echo(drive.describe())


@group.command("export")
@click.option(
    "--to",
    "folder",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="A folder to write to [default: the one removable drive mounted].",
)
@click.pass_obj
def export(state: State, folder: Path | None) -> None:
    """Write the checkouts not handed over yet in every format, plus a summary, to a drive;
    read them back; only then count them as handed over."""
    desk = _desk(state)
    if folder is not None:
        drive = folder_as_drive(folder)
    else:
        found = desk.drives()
        if len(found) != 1:
            names = "; ".join(d.describe() for d in found) or "none found"
            raise click.UsageError(f"give --to FOLDER: one removable drive is needed ({names})")
        drive = found[0]
    _report(desk.export_to(drive), exit_code=73)


@group.command("new-period")
@click.option("--yes", "confirmed", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def new_period(state: State, confirmed: bool) -> None:
    """Archive this offline period and start a new one (the "reset"). Only once every
    checkout in it was exported or uploaded; nothing is deleted."""
    desk = _desk(state)
    period = desk.status().period
    if period is None:
        raise StaffActionFailed("the spool cannot be read: see `kiosk status`")
    if period.pending:
        refusal = PeriodNotHandedOver(period.pending, period.checkouts)
        desk.record("period.refused", {"reason": str(refusal)})
        raise refusal
    if not confirmed:
        click.confirm(
            f"Archive this period's {period.checkouts} checkouts (all handed over) and start a "
            "new period?",
            abort=True,
        )
    _report(desk.start_new_period(expected_checkouts=period.checkouts), exit_code=75)
    purged = desk.apply_retention()
    if purged is not None:
        _report(purged)
