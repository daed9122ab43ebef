"""What every command shares: the config, loaded once and only when a command needs it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from kiosk.config import KioskConfig, load_config
from kiosk.errors import StorageError
from kiosk.storage.audit import AuditLog


class State:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._config: KioskConfig | None = None

    @property
    def config(self) -> KioskConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


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
