"""`kiosk session`, what kiosk.service starts, as far as it runs without a screen: it
replaces itself with the cage compositor around `kiosk run`, or with `kiosk run` straight
on KMS/DRM when cage is not installed. Fake `cage` and `kiosk` commands on PATH record how
they were started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli.appliance import session_command

RECORDER = """#!/bin/sh
# Records how it was started: one argument a line, then SDL_VIDEODRIVER.
{{
  for arg in "$0" "$@"; do printf '%s\\n' "$arg"; done
  printf 'SDL_VIDEODRIVER=%s\\n' "${{SDL_VIDEODRIVER-<unset>}}"
}} > '{out}'
"""


def fake(folder: Path, name: str, out: Path) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(RECORDER.format(out=out), encoding="utf-8")
    path.chmod(0o755)
    return path


def session(config: Path, path: Path) -> subprocess.CompletedProcess[str]:
    """`kiosk session` with only `path` on PATH, in a clean environment like systemd's."""
    env = {"PATH": str(path), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "--config", str(config), "session"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def recorded(out: Path) -> tuple[list[str], str]:
    lines = out.read_text(encoding="utf-8").splitlines()
    return lines[:-1], lines[-1]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    # The session only passes the path on: `kiosk run` is the one that reads it.
    return tmp_path / "kiosk.toml"


def test_without_cage_the_kiosk_runs_straight_on_kms(config: Path) -> None:
    program, argv, env = session_command(config, which=lambda name: None)
    assert program == sys.executable
    assert argv == [sys.executable, "-m", "kiosk", "--config", str(config), "run"]
    assert env == {"SDL_VIDEODRIVER": "kmsdrm"}


def test_the_kiosk_run_is_this_installation_not_whatever_is_on_path(config: Path) -> None:
    found: list[str] = []

    def which(name: str) -> str | None:
        found.append(name)
        return None

    _program, argv, _ = session_command(config, which=which)
    assert found == ["cage"]  # `kiosk` is never looked up on PATH
    assert argv[:3] == [sys.executable, "-m", "kiosk"]


def test_with_cage_the_kiosk_runs_inside_the_compositor(tmp_path: Path, config: Path) -> None:
    bin_ = tmp_path / "bin"
    out = tmp_path / "started.txt"
    cage = fake(bin_, "cage", out)
    result = session(config, bin_)
    assert result.returncode == 0, result.stderr
    argv, driver = recorded(out)
    assert argv == [
        str(cage),
        "-s",
        "--",
        sys.executable,
        "-m",
        "kiosk",
        "--config",
        str(config),
        "run",
    ]
    assert driver == "SDL_VIDEODRIVER=<unset>"  # under cage SDL finds Wayland itself


def test_the_session_replaces_itself_so_systemd_watches_the_kiosk(
    tmp_path: Path, config: Path
) -> None:
    """exec, not a child: the process systemd started becomes cage (or the kiosk), so the
    service's main process is the one that lends, and its exit is the service's exit."""
    bin_ = tmp_path / "bin"
    out = tmp_path / "pid.txt"
    cage = bin_ / "cage"
    bin_.mkdir()
    cage.write_text(f"#!/bin/sh\necho $$ > '{out}'\n", encoding="utf-8")
    cage.chmod(0o755)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--config", str(config), "session"],
        env={"PATH": str(bin_)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert out.read_text(encoding="utf-8").strip() == str(proc.pid)
