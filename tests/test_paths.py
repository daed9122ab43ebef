"""The paths a config names: `kiosk config check` lists every one the kiosk could not use,
at once, with its setting; every command refuses an unusable data folder in one line; a
password file that cannot be read names itself, not the config."""

from __future__ import annotations

import os
import pwd
import tempfile
from pathlib import Path

import pytest

from kiosk.cli.paths import data_folder_problem
from tests.conftest import KioskHome, item, patron

SIP2 = """
[sip2]
host = "127.0.0.1"
institution = "MAIN"
login_user = "kiosk1"
login_password_file = "{password}"
"""


def test_config_check_lists_every_path_the_kiosk_cannot_use(home: KioskHome) -> None:
    missing = home.root / "missing"
    home.write_config(
        extra=SIP2.format(password=missing / "pw")
        + f'\n[display]\nlogo = "{missing / "logo.png"}"\n'
        + f'\n[sounds]\nsuccess = "{home.root}"\n'
        + f'\n[printer]\ntype = "file"\npath = "{missing / "lp0"}"\n'
        + f'\n[backup]\nfolder = "{missing / "backups"}"\n'
    )
    text = home.config_path.read_text(encoding="utf-8")
    home.config_path.write_text(
        text.replace("[snapshot]\n", f'[snapshot]\nsource = "{missing / "patrons.csv"}"\n'),
        encoding="utf-8",
    )
    result = home.kiosk("config", "check")
    assert result.returncode == 78, result.stderr
    assert result.stderr.splitlines() == [
        f"  warning: snapshot.source: {missing / 'patrons.csv'} does not exist",
        f"  - display.logo: {missing / 'logo.png'} does not exist",
        f"  - sounds.success: {home.root} is a folder, not a file",
        f"  - sip2.login_password_file: {missing / 'pw'} does not exist",
        f"  warning: printer.path: {missing / 'lp0'} does not exist",
        f"  warning: backup.folder: {missing / 'backups'} does not exist",
        f"kiosk: {home.config_path} names paths the kiosk cannot use.",
    ]


def test_warnings_alone_pass(home: KioskHome) -> None:
    home.write_config(extra=f'\n[backup]\nfolder = "{home.root / "share"}"\n')
    result = home.kiosk("config", "check")
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"  warning: backup.folder: {home.root / 'share'} does not exist\n"
    assert result.stdout.startswith(f"{home.config_path}: OK")


@pytest.mark.parametrize(
    "command",
    [["status"], ["spool", "list"], ["staff", "pause"], ["run", "--headless"], ["config", "check"]],
)
def test_a_data_folder_that_is_a_file_is_one_line(home: KioskHome, command: list[str]) -> None:
    home.data_dir.write_text("not a folder\n", encoding="utf-8")
    result = home.kiosk(*command, input="@done\n")
    assert "Traceback" not in result.stderr
    if command == ["config", "check"]:
        assert result.returncode == 78
        assert f"kiosk.data_dir: {home.data_dir} is a file, not a folder" in result.stderr
    else:
        assert result.returncode == 73, result.stderr
        assert result.stderr == (
            f"kiosk: the data folder {home.data_dir} is a file, not a folder (kiosk.data_dir)\n"
        )
    assert home.data_dir.read_text(encoding="utf-8") == "not a folder\n"


def test_an_unreadable_password_file_names_itself_not_the_config(home: KioskHome) -> None:
    home.import_standard_snapshot()
    lent = home.kiosk("run", "--headless", input=f"{patron(1)}\n{item(1)}\n@done\n")
    assert lent.returncode == 0, lent.stderr
    home.write_config(extra=SIP2.format(password=home.root / "pw"))
    (home.root / "pw").mkdir()  # cannot be read as a file, whoever runs the test
    result = home.kiosk("spool", "upload")
    assert result.returncode == 78, result.stderr
    assert result.stderr == (
        f"kiosk: sip2.login_password_file {home.root / 'pw'} cannot be read: Is a directory\n"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another user needs root")
def test_a_data_folder_the_kiosk_user_cannot_write_is_named() -> None:
    """As the kiosk's user (nobody here), a root-owned data folder is refused in words."""
    shared = Path(tempfile.mkdtemp(prefix="kiosk-paths-"))
    shared.chmod(0o755)  # reachable by nobody (pytest's own folders are 0700)
    folder = shared / "data"
    folder.mkdir(mode=0o755)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            os.close(read)
            nobody = pwd.getpwnam("nobody")
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os.write(write, str(data_folder_problem(folder)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        said = pipe.read()
    os.waitpid(pid, 0)
    folder.rmdir()
    shared.rmdir()
    assert said == "cannot be written by nobody (the user the kiosk runs as)"
