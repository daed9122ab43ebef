"""What every command shares: the config, loaded once and only when a command needs it."""

from __future__ import annotations

import logging
import os
import pwd
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from kiosk.cli.paths import refuse_unusable_data_folder
from kiosk.config import KioskConfig, load_config
from kiosk.errors import KioskError, StorageError
from kiosk.storage.audit import AuditLog

log = logging.getLogger(__name__)


class State:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._config: KioskConfig | None = None
        # A command that must write root's files (the config) first sets this, and calls
        # act_as_data_owner() itself once that is done.
        self.keep_root = False
        # `config check` lists the data folder's problem with the others instead.
        self.check_data_folder = True

    @property
    def config(self) -> KioskConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
            if not self.keep_root:
                self.act_as_data_owner()
            if self.check_data_folder:
                refuse_unusable_data_folder(self._config.data_dir)
        return self._config

    def act_as_data_owner(self) -> None:
        act_as_owner_of(self.config.data_dir)


class WrongUser(KioskError):
    exit_code = os.EX_NOPERM  # 77


def act_as_owner_of(data_dir: Path) -> str | None:
    """Run by root, a command works as the owner of the kiosk's data folder (the `kiosk` user
    on an appliance): nothing it writes there becomes root's, which the kiosk could then not
    read. The config was read before, as root. Returns the user name when it switched."""
    if os.geteuid() != 0:
        return None
    try:
        uid = data_dir.stat().st_uid
    except OSError:
        return None  # not made yet: `kiosk install` makes it the kiosk's
    if uid == 0:
        return None
    try:
        user = pwd.getpwuid(uid)
    except KeyError as exc:
        raise WrongUser(
            f"{data_dir} belongs to uid {uid}, which has no user name here: run this as that "
            "user, not as root"
        ) from exc
    try:
        os.setgroups(os.getgrouplist(user.pw_name, user.pw_gid))
        os.setgid(user.pw_gid)
        os.setuid(uid)
    except OSError as exc:
        raise WrongUser(
            f"{data_dir} belongs to {user.pw_name}: run this as that user "
            f"(sudo -u {user.pw_name} kiosk ...)"
        ) from exc
    os.environ["HOME"] = user.pw_dir
    log.info("acting as %s, the owner of %s", user.pw_name, data_dir)
    return user.pw_name


def audit(state: State, action: str, details: dict[str, Any], actor: str = "cli") -> None:
    """Record a staff action in the audit trail. A trail that cannot be written is reported
    but does not undo what was done (the action itself succeeded)."""
    try:
        AuditLog(state.config.data_dir).append(
            action, actor=actor, at=utc_now().astimezone(state.config.tz), details=details
        )
    except StorageError as exc:
        click.echo(f"kiosk: warning: {exc}", err=True)


def utc_now() -> datetime:
    return datetime.now(UTC)
