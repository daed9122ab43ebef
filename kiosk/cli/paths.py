"""The paths a config names, checked as the user the kiosk runs as (commands run by root act
as that user first): `kiosk config check` lists every problem at once, and every command
refuses a data folder it could not use, in one line instead of a traceback."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.domain.patrons import SnapshotMode
from kiosk.errors import KioskError
from kiosk.storage.files import user_name
from kiosk.storage.items import ItemStore


class DataFolderError(KioskError):
    exit_code = os.EX_CANTCREAT  # 73: the kiosk cannot write where its data goes


@dataclass(frozen=True)
class PathProblem:
    setting: str  # the dotted path in the config
    path: Path
    problem: str
    fatal: bool = True  # False: a warning (a share or a device that may come later)

    def __str__(self) -> str:
        return f"{self.setting}: {self.path} {self.problem}"


def data_folder_problem(data_dir: Path) -> str | None:
    """Why this user could not keep the kiosk's data in `data_dir` (None: it can)."""
    if data_dir.exists() and not data_dir.is_dir():
        return "is a file, not a folder"
    if data_dir.is_dir():
        if not os.access(data_dir, os.R_OK | os.W_OK | os.X_OK):
            return f"cannot be written by {user_name()} (the user the kiosk runs as)"
        return None
    parent = data_dir.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be made: {parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"does not exist, and {user_name()} cannot make it in {parent}"
    return None


def refuse_unusable_data_folder(
    data_dir: Path, spool_id: str | None = None, *, missing_ok: bool = False
) -> None:
    """missing_ok: `kiosk run`, which then starts out of service and says why on the screen."""
    if spool_id is not None and not data_dir.exists() and not missing_ok:
        raise DataFolderError(
            f"the data folder {data_dir} is missing, but this kiosk was set up with a spool "
            f"there (kiosk.spool_id = {spool_id}): is its disk mounted? Nothing was created"
        )
    problem = data_folder_problem(data_dir)
    if problem is not None:
        raise DataFolderError(f"the data folder {data_dir} {problem} (kiosk.data_dir)")


def _readable_file(setting: str, path: Path | None, *, fatal: bool = True) -> list[PathProblem]:
    if path is None:
        return []
    if not path.exists():
        return [PathProblem(setting, path, "does not exist", fatal)]
    if path.is_dir():
        return [PathProblem(setting, path, "is a folder, not a file", fatal)]
    if not os.access(path, os.R_OK):
        return [PathProblem(setting, path, f"cannot be read by {user_name()}", fatal)]
    return []


def path_problems(config: KioskConfig) -> list[PathProblem]:
    """Every path in the config that the kiosk could not use as it stands."""
    problems = []
    data = data_folder_problem(config.data_dir)
    if data is not None:
        problems.append(PathProblem("kiosk.data_dir", config.data_dir, data))
    # A share that is not mounted yet, or a device not plugged in, may be there later: warn.
    problems += _readable_file("snapshot.source", config.snapshot.source, fatal=False)
    problems += _readable_file("display.logo", config.display.logo)
    problems += _readable_file("sounds.success", config.sounds.success)
    problems += _readable_file("sounds.problem", config.sounds.problem)
    if config.sip2 is not None:
        problems += _readable_file("sip2.login_password_file", config.sip2.login_password_file)
        problems += _readable_file("sip2.ca_file", config.sip2.ca_file)
    if config.printer.type == "file" and config.printer.path is not None:
        path = config.printer.path
        if not path.exists():
            problems.append(PathProblem("printer.path", path, "does not exist", fatal=False))
        elif not os.access(path, os.W_OK):
            problems.append(
                PathProblem("printer.path", path, f"cannot be written by {user_name()}")
            )
    problems += _item_snapshot_needed(config)
    folder = config.backup.folder
    if folder is not None and folder.exists() and not folder.is_dir():
        problems.append(PathProblem("backup.folder", folder, "is a file, not a folder"))
    elif folder is not None and not folder.exists():
        problems.append(PathProblem("backup.folder", folder, "does not exist", fatal=False))
    return problems


def _item_snapshot_needed(config: KioskConfig) -> list[PathProblem]:
    """barcodes.overlap = "lists" with a deny list: only the item snapshot tells a book from a
    card that may borrow, so a kiosk without one would refuse every scan that fits both."""
    deny = config.snapshot.file_format().mode is SnapshotMode.DENY
    if config.barcodes.overlap != "lists" or not deny:
        return []
    items = ItemStore(config.data_dir)
    try:
        if items.current() is not None:
            return []
        problem = "holds no item snapshot"
    except (KioskError, OSError) as exc:
        problem = f"holds no item snapshot that can be read ({exc})"
    return [
        PathProblem(
            "barcodes.overlap",
            items.folder,
            f'{problem}: overlap = "lists" with a deny list needs one to tell a book from a '
            "card (kiosk snapshot import-items FILE)",
        )
    ]
