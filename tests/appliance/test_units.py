"""The systemd units as systemd itself reads them: `systemd-analyze verify` (offline; unknown
keys and bad values only warn, so any output at all is a failure) and `systemd-analyze
security`, which scores each service's hardening (0 is locked down, 10 is wide open)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
BINDIR = Path(sys.executable).parent  # the venv's bin folder, where `kiosk` is
SERVICES = sorted(p.name for p in SYSTEMD.glob("*.service"))
TIMERS = sorted(p.name for p in SYSTEMD.glob("*.timer"))
MAX_EXPOSURE = 2.0
EXPOSURE = re.compile(r"Overall exposure level for (\S+): (\d+\.\d+)")


def render(folder: Path, bindir: Path = BINDIR) -> list[Path]:
    """Every unit with @BINDIR@ filled in, as `kiosk install` lays it out."""
    folder.mkdir(parents=True, exist_ok=True)
    rendered = []
    for name in SERVICES + TIMERS:
        text = (SYSTEMD / name).read_text(encoding="utf-8").replace("@BINDIR@", str(bindir))
        (folder / name).write_text(text, encoding="utf-8")
        rendered.append(folder / name)
    return rendered


def verify(*units: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def exposure(unit: Path) -> tuple[float, str]:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = EXPOSURE.findall(result.stdout)
    assert len(found) == 1, result.stdout[-2000:]
    name, level = found[0]
    assert name == unit.name
    return float(level), result.stdout


def unit_keys(path: Path) -> dict[str, list[str]]:
    """Section.Key -> every value given (systemd keys can repeat)."""
    keys: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        keys.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return keys


def test_the_expected_units_are_shipped() -> None:
    assert "kiosk.service" in SERVICES
    assert {"kiosk-snapshot.timer", "kiosk-backup.timer"} <= set(TIMERS)
    for timer in TIMERS:  # a timer starts the service of the same name
        assert timer.replace(".timer", ".service") in SERVICES, timer
    assert (BINDIR / "kiosk").is_file(), "ExecStart points at this command: it must exist"


def test_every_unit_verifies_without_a_word(tmp_path: Path) -> None:
    units = render(tmp_path / "units")
    assert not any("@BINDIR@" in u.read_text(encoding="utf-8") for u in units)
    result = verify(*units)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == ""


def test_verify_catches_an_unknown_key_that_only_warns(tmp_path: Path) -> None:
    """The proof that the empty-stderr check above can fail: systemd ignores an unknown key
    with exit 0 and a warning."""
    [service] = [u for u in render(tmp_path / "units") if u.name == "kiosk.service"]
    text = service.read_text(encoding="utf-8")
    service.write_text(text.replace("[Service]\n", "[Service]\nFrobnicate=yes\n", 1), "utf-8")
    result = verify(service)
    assert result.returncode == 0  # only a warning: exit status alone would miss it
    assert "Unknown key 'Frobnicate'" in result.stderr


def test_verify_catches_a_command_that_does_not_exist(tmp_path: Path) -> None:
    units = render(tmp_path / "units", bindir=tmp_path / "no-such-bin")
    result = verify(*units)
    assert result.returncode != 0 or result.stderr != ""
    assert "no-such-bin/kiosk" in result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_hardened(tmp_path: Path, name: str) -> None:
    [unit] = [u for u in render(tmp_path / "units") if u.name == name]
    level, report = exposure(unit)
    print(f"{name}: exposure {level}")  # shown with -s / -rA: the measured score
    assert level <= MAX_EXPOSURE, report[-3000:]


def test_the_exposure_check_can_fail(tmp_path: Path) -> None:
    """A service with no hardening at all scores far above the limit."""
    bare = tmp_path / "bare.service"
    bare.write_text(f"[Service]\nExecStart={BINDIR}/kiosk session\n", encoding="utf-8")
    level, _ = exposure(bare)
    assert level > MAX_EXPOSURE


def test_the_kiosk_service_is_a_watched_notify_service_running_locked_down() -> None:
    keys = unit_keys(SYSTEMD / "kiosk.service")
    expected = {
        "Service.Type": "notify",
        "Service.Restart": "always",
        "Service.User": "kiosk",
        "Service.ProtectSystem": "strict",
        "Service.NoNewPrivileges": "yes",
        "Service.PrivateTmp": "yes",
        "Service.ProtectHome": "yes",
        "Service.ExecStart": "@BINDIR@/kiosk --log-level INFO session",
        # The process systemd started is the one that lends: only it may say READY=1.
        "Service.NotifyAccess": "main",
        # tty1 is handed over from the login prompt by the unit itself.
        "Unit.Conflicts": "getty@tty1.service",
        "Service.TTYPath": "/dev/tty1",
        "Service.ConfigurationDirectoryMode": "0750",  # what `kiosk install` makes /etc/kiosk
    }
    for key, value in expected.items():
        assert keys.get(key) == [value], key
    assert "getty@tty1.service" in keys["Unit.After"][0].split()
    # A PAM login session would move the kiosk out of its own unit (into session-N.scope):
    # READY=1 ignored, no watchdog, `systemctl stop` leaving it running.
    assert "Service.PAMName" not in keys
    [watchdog] = keys["Service.WatchdogSec"]
    assert watchdog.isdigit() and int(watchdog) > 0


@pytest.mark.parametrize(
    ("timer", "command"),
    [
        ("kiosk-snapshot.timer", "@BINDIR@/kiosk snapshot fetch"),
        ("kiosk-backup.timer", "@BINDIR@/kiosk spool backup"),
    ],
)
def test_the_timers_start_their_oneshot_services(timer: str, command: str) -> None:
    keys = unit_keys(SYSTEMD / timer)
    assert keys["Timer.OnCalendar"], timer
    assert keys["Install.WantedBy"] == ["timers.target"]
    service = unit_keys(SYSTEMD / timer.replace(".timer", ".service"))
    assert service["Service.Type"] == ["oneshot"]
    assert service["Service.ExecStart"] == [command]
    assert service["Service.User"] == ["kiosk"]
