"""What every command shares: the config, loaded once and only when a command needs it."""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
from collections.abc import Callable
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
        # `kiosk run` starts out of service when a set-up data folder is missing.
        self.missing_data_folder_ok = False

    @property
    def config(self) -> KioskConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
            if not self.keep_root:
                self.act_as_data_owner()
            if self.check_data_folder:
                refuse_unusable_data_folder(
                    self._config.data_dir,
                    self._config.kiosk.spool_id,
                    missing_ok=self.missing_data_folder_ok,
                )
        return self._config

    def act_as_data_owner(self) -> None:
        act_as_owner_of(self.config.data_dir)


def in_data_owner_process(data_dir: Path, work: Callable[[], str]) -> str:
    """Run `work` as the owner of the data folder and return what it returned, while this
    process stays root (it has root's files to write afterwards, such as the config): in a
    forked child that switches user. Not root, or root's own folder: run it here."""
    if os.geteuid() != 0 or not data_dir.exists() or data_dir.stat().st_uid == 0:
        return work()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns to the caller
        status = 1
        try:
            os.close(read)
            act_as_owner_of(data_dir)
            result = "ok:" + work()
            status = 0
        except KioskError as exc:
            result = f"error:{exc.exit_code}:{exc}"
        except BaseException as exc:
            result = f"error:1:{type(exc).__name__}: {exc}"
        finally:
            with contextlib.suppress(BaseException):
                os.write(write, result.encode("utf-8"))
            os._exit(status)
    os.close(write)
    with os.fdopen(read, encoding="utf-8") as pipe:
        said = pipe.read()
    os.waitpid(pid, 0)
    if said.startswith("ok:"):
        return said[3:]
    _, code, message = [*said.split(":", 2), "", ""][:3] if said else ["", "1", ""]
    error = KioskError(message or "the command ended without a word")
    error.exit_code = int(code) if code.isdigit() else 1
    raise error


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
        AuditLog(state.config.data_dir, anchored=state.config.kiosk.spool_id is not None).append(
            action, actor=actor, at=utc_now().astimezone(state.config.tz), details=details
        )
    except StorageError as exc:
        click.echo(f"kiosk: warning: {exc}", err=True)


def utc_now() -> datetime:
    return datetime.now(UTC)
