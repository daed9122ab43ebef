"""`kiosk install --root DIR`: the real command lays the appliance out under a folder, with
the modes the kiosk relies on, leaves alone what is already right (and any edited config),
and never reaches outside that folder."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import load_config
from tests.appliance.test_units import SERVICES, SYSTEMD, TIMERS, unit_keys, verify
from tests.conftest import run_kiosk

BINDIR = Path(sys.executable).parent
UNITS = SERVICES + TIMERS
REAL_PATHS = [  # what an install on this machine would write: it must not appear
    Path("/etc/systemd/system/kiosk.service"),
    Path("/etc/kiosk"),
    Path("/etc/udev/rules.d/60-kiosk-devices.rules"),
    Path("/usr/lib/sysusers.d/kiosk.conf"),
    Path("/usr/lib/tmpfiles.d/kiosk.conf"),
    Path("/var/lib/kiosk"),
]


def install(root: Path, bindir: Path | None = BINDIR) -> subprocess.CompletedProcess[str]:
    args = ["install", "--root", str(root)]
    if bindir is not None:
        args += ["--bindir", str(bindir)]
    return run_kiosk(*args)  # no --config: installing needs none


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def tree(root: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every path under root: (mode, mtime_ns, contents for files)."""
    found = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        data = path.read_bytes() if path.is_file() else None
        found[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, data)
    return found


def fingerprint(path: Path) -> tuple[int, int] | None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


def test_install_lays_out_every_file_with_its_mode(root: Path) -> None:
    bindir = Path("/opt/kiosk/.venv/bin")
    result = install(root, bindir)
    assert result.returncode == 0, result.stderr
    assert f"Installed under {root} only" in result.stdout

    etc = root / "etc/kiosk"
    assert mode(etc) == 0o750
    assert mode(etc / "kiosk.toml") == 0o640
    assert (etc / "kiosk.toml").read_bytes() == (SYSTEMD / "kiosk.toml.example").read_bytes()
    assert mode(root / "var/lib/kiosk") == 0o700
    assert list((root / "var/lib/kiosk").iterdir()) == []

    for name in UNITS:
        unit = root / "etc/systemd/system" / name
        assert mode(unit) == 0o644, name
        text = unit.read_text(encoding="utf-8")
        assert "@BINDIR@" not in text, name
        expected = (SYSTEMD / name).read_text(encoding="utf-8").replace("@BINDIR@", str(bindir))
        assert text == expected, name
    assert f"ExecStart={bindir}/kiosk --log-level INFO session\n" in (
        root / "etc/systemd/system/kiosk.service"
    ).read_text(encoding="utf-8")

    rules = root / "etc/udev/rules.d/60-kiosk-devices.rules"
    assert mode(rules) == 0o644
    assert rules.read_bytes() == (SYSTEMD / "udev/60-kiosk-devices.rules").read_bytes()

    sysusers = root / "usr/lib/sysusers.d/kiosk.conf"
    tmpfiles = root / "usr/lib/tmpfiles.d/kiosk.conf"
    assert mode(sysusers) == 0o644 and mode(tmpfiles) == 0o644
    [user] = [line.split() for line in sysusers.read_text(encoding="utf-8").splitlines()]
    assert user[:2] == ["u", "kiosk"]
    assert tmpfiles.read_text(encoding="utf-8").split() == [
        "d",
        "/var/lib/kiosk",
        "0700",
        "kiosk",
        "kiosk",
        "-",
    ]
    for line in result.stdout.splitlines()[:-1]:
        assert line.startswith(f"wrote {root}/"), line


def test_the_installed_config_passes_config_check(root: Path) -> None:
    assert install(root).returncode == 0
    check = run_kiosk("--config", str(root / "etc/kiosk/kiosk.toml"), "config", "check")
    assert check.returncode == 0, check.stderr
    assert ": OK (kiosk MAIN-SC01" in check.stdout


def test_the_installed_units_verify(root: Path) -> None:
    assert install(root, BINDIR).returncode == 0
    result = verify(*(root / "etc/systemd/system" / name for name in UNITS))
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


def test_systemds_own_tools_make_the_user_and_the_data_folder_from_them(root: Path) -> None:
    """sysusers.d and tmpfiles.d read by systemd-sysusers and systemd-tmpfiles, pointed at the
    folder instead of this machine."""
    assert install(root).returncode == 0
    users = subprocess.run(
        ["systemd-sysusers", f"--root={root}"], capture_output=True, text=True, check=False
    )
    assert users.returncode == 0, users.stderr
    [entry] = [
        line.split(":")
        for line in (root / "etc/passwd").read_text(encoding="utf-8").splitlines()
        if line.startswith("kiosk:")
    ]
    assert entry[5] == "/var/lib/kiosk"
    assert entry[6] == "/usr/sbin/nologin"
    (root / "var/lib/kiosk").rmdir()
    made = subprocess.run(
        ["systemd-tmpfiles", f"--root={root}", "--create"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    data = (root / "var/lib/kiosk").stat()
    assert stat.S_IMODE(data.st_mode) == 0o700
    assert (data.st_uid, data.st_gid) == (int(entry[2]), int(entry[3]))


def test_a_second_install_finds_everything_in_place_and_changes_nothing(root: Path) -> None:
    assert install(root).returncode == 0
    before = tree(root)
    again = install(root)
    assert again.returncode == 0, again.stderr
    assert "Everything was already in place." in again.stdout
    assert "wrote" not in again.stdout
    assert tree(root) == before


def test_a_changed_unit_is_rewritten_and_only_that_one(root: Path) -> None:
    assert install(root).returncode == 0
    unit = root / "etc/systemd/system/kiosk-backup.timer"
    unit.write_text("[Timer]\nOnCalendar=yearly\n", encoding="utf-8")
    unit.chmod(0o600)
    again = install(root)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[:-1] == [f"wrote {unit}"]
    assert unit.read_bytes() == (SYSTEMD / "kiosk-backup.timer").read_bytes()
    assert mode(unit) == 0o644


def test_an_edited_config_is_never_overwritten(root: Path) -> None:
    assert install(root).returncode == 0
    config = root / "etc/kiosk/kiosk.toml"
    edited = config.read_text(encoding="utf-8").replace("MAIN-SC01", "BRANCH-7")
    config.write_text(edited, encoding="utf-8")
    again = install(root)
    assert again.returncode == 0, again.stderr
    assert str(config) not in again.stdout
    assert config.read_text(encoding="utf-8") == edited
    assert mode(config) == 0o640


def test_install_under_a_root_never_touches_this_machine(root: Path) -> None:
    before = {path: fingerprint(path) for path in REAL_PATHS}
    assert install(root).returncode == 0
    assert install(root).returncode == 0
    assert {path: fingerprint(path) for path in REAL_PATHS} == before
    assert fingerprint(Path("/etc/systemd/system/kiosk.service")) is None
    assert (root / "etc/systemd/system/kiosk.service").is_file()


def test_bindir_defaults_to_the_folder_of_the_kiosk_command_that_runs(root: Path) -> None:
    command = BINDIR / "kiosk"
    result = subprocess.run(
        [str(command), "install", "--root", str(root)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    keys = unit_keys(root / "etc/systemd/system/kiosk.service")
    assert keys["Service.ExecStart"] == [
        f"{command.resolve().parent}/kiosk --log-level INFO session"
    ]


def test_the_backup_folder_from_the_config_is_made_writable_for_the_backup_service(
    root: Path,
) -> None:
    """kiosk-backup.service runs with ProtectSystem=strict: every folder outside its state
    directory is read-only unless named in ReadWritePaths=. The unit says the installer adds
    backup.folder that way (a drop-in); run again after the config names the folder, the
    installed service must be allowed to write there."""
    assert install(root).returncode == 0
    config = root / "etc/kiosk/kiosk.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('# folder = "/mnt/backup/kiosk"', 'folder = "/mnt/backup/kiosk"'), "utf-8"
    )
    assert load_config(config).backup.folder == Path("/mnt/backup/kiosk")
    assert install(root).returncode == 0
    system = root / "etc/systemd/system"
    writable: list[str] = []
    for unit in [system / "kiosk-backup.service", *sorted(system.glob("kiosk-backup.service.d/*"))]:
        for value in unit_keys(unit).get("Service.ReadWritePaths", []):
            writable += [path.lstrip("-") for path in value.split()]  # "-": may be missing
    assert "/mnt/backup/kiosk" in writable, "the backup folder stays read-only for the service"
    result = verify(system / "kiosk-backup.service")  # reads the drop-ins too
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")
    before = tree(root)
    again = install(root)
    assert "Everything was already in place." in again.stdout
    assert tree(root) == before
