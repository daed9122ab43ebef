"""`kiosk`: the command line for staff with a shell, scripts and the systemd units."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from kiosk import __version__
from kiosk.cli import (
    appliance,
    audit,
    demo,
    hardware,
    reconcile,
    run,
    snapshot,
    spool,
    staff,
    status,
    upload,
)
from kiosk.cli.common import State
from kiosk.cli.paths import path_problems
from kiosk.config import CONFIG_ENV, DEFAULT_CONFIG_PATH, default_config_path
from kiosk.errors import ConfigError, KioskError
from kiosk.logs import setup_logging
from kiosk.runtime.staff_cards import StaffCards
from kiosk.runtime.uploads import replay_refusal


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"Config file [default: ${CONFIG_ENV}, else {DEFAULT_CONFIG_PATH}]",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="WARNING",
    show_default=True,
    help="How much to log to standard error.",
)
@click.version_option(__version__, prog_name="kiosk")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, log_level: str) -> None:
    """Offline self-checkout kiosk for public libraries."""
    os.umask(0o077)  # every file the kiosk makes is readable by its own user only
    setup_logging(log_level.upper())
    ctx.obj = State(config_path or default_config_path())


@cli.group("config")
def config_group() -> None:
    """Check the configuration."""


@config_group.command("check")
@click.pass_obj
def config_check(state: State) -> None:
    """Validate the config file and the paths it names (as the kiosk's user); exit 78 and
    list every problem if it is wrong."""
    state.check_data_folder = False
    config = state.config  # as root: read, then checked as the data folder's owner
    problems = path_problems(config)
    for problem in problems:
        click.echo(f"  {'-' if problem.fatal else 'warning:'} {problem}", err=True)
    slow = StaffCards(config.data_dir, config.staff.card_hashes()).without_fast_check
    if slow:
        click.echo(
            f"  warning: staff.cards: {slow} of {len(config.staff.cards)} staff cards have no "
            "fast check on this station (every patron card is checked the slow way): scan each "
            "once at the Welcome screen, or add them again with `kiosk staff add-card`",
            err=True,
        )
    refusal = replay_refusal(config) if config.sip2 is not None else None
    if refusal is not None and config.sip2 is not None and config.sip2.auto_upload:
        click.echo(
            f"  warning: sip2.auto_upload: the kiosk will not upload by itself to "
            f"ils.kind {config.ils.kind!r}: {refusal} Set [ils] allow_sip2_replay = true to "
            "send by SIP2 all the same.",
            err=True,
        )
    if any(p.fatal for p in problems):
        click.echo(f"kiosk: {state.config_path} names paths the kiosk cannot use.", err=True)
        sys.exit(os.EX_CONFIG)
    click.echo(
        f"{state.config_path}: OK (kiosk {config.kiosk.id} at {config.kiosk.library}"
        f"{', ' + config.kiosk.branch if config.kiosk.branch else ''}; data in {config.data_dir})"
    )


cli.add_command(snapshot.group)
cli.add_command(spool.group)
spool.group.add_command(upload.upload)
spool.group.add_command(upload.report)
spool.group.add_command(upload.resolve)
spool.group.add_command(reconcile.reconcile_cmd)
spool.group.add_command(appliance.backup)
snapshot.group.add_command(appliance.keygen)
snapshot.group.add_command(appliance.sign_cmd)
snapshot.group.add_command(appliance.fetch)
cli.add_command(appliance.install)
cli.add_command(appliance.session)
cli.add_command(run.run)
cli.add_command(demo.group)
cli.add_command(hardware.group)
cli.add_command(status.status)
cli.add_command(audit.group)
cli.add_command(staff.group)


def main() -> None:
    try:
        cli.main(standalone_mode=False, prog_name="kiosk")
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        if exc.whole_file:
            click.echo(f"kiosk: the config file {exc.path} {exc.problems[0]}", err=True)
            sys.exit(exc.exit_code)
        click.echo(f"kiosk: the config file {exc.path} is not valid:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(exc.exit_code)
    except KioskError as exc:
        click.echo(f"kiosk: {exc}", err=True)
        logging.getLogger("kiosk").debug("details", exc_info=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:  # a file or folder the kiosk met as it was: one line, not a trace
        where = f" ({exc.filename})" if exc.filename else ""
        click.echo(f"kiosk: {exc.strerror or exc}{where}", err=True)
        logging.getLogger("kiosk").debug("details", exc_info=True)
        sys.exit(os.EX_IOERR)
