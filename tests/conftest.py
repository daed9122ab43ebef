"""Shared fixtures: a kiosk folder with a real config, real SQLite files, and a way to run the
real `kiosk` command as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kiosk.demo import barcode as make_barcode
from kiosk.domain.checkout import Checkout, SpooledCheckout

CONFIG_TEMPLATE = """\
[kiosk]
id = "TEST-SC01"
library = "Test Library"
branch = "Main"
timezone = "America/New_York"
data_dir = "{data_dir}"

[snapshot]
max_age_hours = {max_age_hours}
warn_age_hours = 36

[policy]
block_fines_over = "10.00"
block_statuses = ["blocked", "lost", "expired"]
max_items_per_session = {max_items_per_session}
max_items_per_patron = {max_items_per_patron}

[loans]
loan_days = 21
closed_dates = ["2026-12-25"]
closed_weekdays = []

[barcodes]
patron = {{ prefix = "2", length = 14, check_digit = "luhn" }}
item = {{ prefix = "3", length = 14, check_digit = "luhn" }}

[session]
idle_timeout_seconds = 60
"""


def patron(serial: int) -> str:
    """A patron card number with a valid check digit (prefix 2, institution 1234)."""
    return make_barcode("2", serial)


def item(serial: int) -> str:
    """An item barcode with a valid check digit (prefix 3, institution 1234)."""
    return make_barcode("3", serial)


def stored(
    patron: str,
    item: str,
    due_date: date,
    txn_id: str,
    seq: int,
    special_due: bool = False,
    title: str | None = None,
    material: str | None = None,
) -> SpooledCheckout:
    """A checkout the spool stored, as the screens and receipts see it: its session, moment
    and kiosk are never shown there."""
    at = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    lent = Checkout("session-1", patron, item, due_date, special_due, at, title, material)
    return SpooledCheckout(lent, "TEST-SC01", txn_id, seq)


def lent(n: int, who: int, what: int, at: datetime) -> Checkout:
    """A test's n-th checkout: patron serial `who` borrows item serial `what` at `at`, in
    session s<n>, due Monday 2026-12-14."""
    return Checkout(f"s{n}", patron(who), item(what), date(2026, 12, 14), False, at)


# A standard snapshot used across tests: serial -> (name, fines, status, expires)
STANDARD_PATRONS = {
    1: ("Rivera, Ana", "0.00", "ok", "2099-01-01"),
    2: ("Okafor, Chidi", "10.00", "ok", "2099-01-01"),  # exactly at the limit: allowed
    3: ("Nguyen, Bao", "10.01", "ok", "2099-01-01"),  # over the limit
    4: ("Kowalski, Ewa", "0", "blocked", ""),
    5: ("Haddad, Omar", "", "lost", ""),
    6: ("Smith, John", "0", "ok", "2020-01-01"),  # expired by date
    7: ("Lee, Min", "0", "expired", ""),  # expired by status
    8: ("García, Lucía", "0", "ok", ""),
}


def exported_at(path: Path, moment: datetime) -> Path:
    """Give a file the modification time of an export made at `moment`: an import takes its
    build time from it, and refuses one ahead of the clock it is given."""
    stamp = moment.timestamp()
    os.utime(path, (stamp, stamp))
    return path


def standard_csv() -> str:
    lines = ["barcode,name,fines,status,expires"]
    for serial, (name, fines, status, expires) in STANDARD_PATRONS.items():
        lines.append(f'{patron(serial)},"{name}",{fines},{status},{expires}')
    return "\n".join(lines) + "\n"


@dataclass
class KioskHome:
    root: Path
    config_path: Path
    data_dir: Path

    def write_config(
        self,
        *,
        max_age_hours: float = 0,
        max_items_per_session: int = 20,
        max_items_per_patron: int = 0,
        extra: str = "",
    ) -> Path:
        self.config_path.write_text(
            CONFIG_TEMPLATE.format(
                data_dir=self.data_dir,
                max_age_hours=max_age_hours,
                max_items_per_session=max_items_per_session,
                max_items_per_patron=max_items_per_patron,
            )
            + extra,
            encoding="utf-8",
        )
        return self.config_path

    def kiosk(
        self,
        *args: str,
        input: bytes | str | None = None,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `kiosk` command with this home's config."""
        return run_kiosk(
            "--config", str(self.config_path), *args, input=input, timeout=timeout, env=env
        )

    def import_standard_snapshot(self, built_at: str | None = None) -> None:
        csv_path = self.root / "patrons.csv"
        csv_path.write_text(standard_csv(), encoding="utf-8")
        args = ["snapshot", "import", str(csv_path)]
        if built_at:
            args += ["--built-at", built_at]
        result = self.kiosk(*args)
        assert result.returncode == 0, result.stderr


def kiosk_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_kiosk(
    *args: str,
    input: bytes | str | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    data = input.encode() if isinstance(input, str) else input
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        input=data if data is not None else b"",
        capture_output=True,
        timeout=timeout,
        env=kiosk_env(env),
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


@pytest.fixture
def home(tmp_path: Path) -> KioskHome:
    h = KioskHome(tmp_path, tmp_path / "kiosk.toml", tmp_path / "data")
    h.write_config()
    return h
