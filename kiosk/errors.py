"""One exception tree. Expected errors become one clear line and an exit code or a screen."""

from __future__ import annotations

import os


class KioskError(Exception):
    """Base of every error the kiosk expects and explains."""

    exit_code = 1  # sysexits.h values where one fits


class ConfigError(KioskError):
    exit_code = os.EX_CONFIG  # 78

    def __init__(self, path: str, problems: list[str], *, whole_file: bool = False) -> None:
        self.path = path
        self.problems = problems
        self.whole_file = whole_file  # the file as a whole (missing, unreadable, not TOML)
        super().__init__(f"{path}: " + "; ".join(problems))


class SettingError(KioskError):
    """A setting names something that cannot be used (a file that cannot be read): the
    config file itself is fine."""

    exit_code = os.EX_CONFIG  # 78


class SnapshotError(KioskError):
    """A snapshot file was refused; the current snapshot stays active."""

    exit_code = os.EX_DATAERR  # 65


class NoSnapshotError(KioskError):
    exit_code = os.EX_UNAVAILABLE  # 69


class InputFileError(KioskError):
    exit_code = os.EX_NOINPUT  # 66


class StorageError(KioskError):
    """The spool could not be read or written (full disk, damaged file, permissions)."""

    exit_code = os.EX_IOERR  # 74


class DiskFullError(StorageError):
    """The disk holding the data folder is full: nothing is damaged, freeing space is all
    that is needed (never restore a backup for this: it would lose checkouts)."""


class SpoolDamagedError(StorageError):
    """The spool database failed its integrity check or is missing; never start a new one."""


class ExportError(KioskError):
    exit_code = os.EX_CANTCREAT  # 73


class MergeError(KioskError):
    """Export files that cannot be merged (not a kiosk's export, damaged, or disagreeing
    about a checkout): nothing was written."""

    exit_code = os.EX_DATAERR  # 65


class PeriodNotHandedOver(KioskError):
    """A new offline period was asked for too early: nothing was archived."""

    exit_code = os.EX_TEMPFAIL  # 75: try again once the checkouts are exported or uploaded

    def __init__(self, pending: int, held: int, *, changed_from: int | None = None) -> None:
        self.pending = pending
        self.held = held
        self.changed_from = changed_from
        if changed_from is not None:
            text = (
                f"the period now holds {held} checkouts, not the {changed_from} you confirmed; "
                "nothing was archived: look at the status again"
            )
        else:
            text = (
                f"{pending} of the period's {held} checkouts have not been exported or uploaded "
                "yet; nothing was archived: export them first"
            )
        super().__init__(text)
