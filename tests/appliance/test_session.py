"""`kiosk session`, what kiosk.service starts, as far as it runs without a screen: it
replaces itself with this installation's `kiosk run` on the console's KMS/DRM display, keeps
a video driver set from outside, and says in one line when there is no graphics card.
(tests/appliance/test_boot.py runs it under a real systemd.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli.appliance import NoScreen, session_command


@pytest.fixture
def config(tmp_path: Path) -> Path:
    # The session only passes the path on: `kiosk run` is the one that reads it.
    return tmp_path / "kiosk.toml"


@pytest.fixture
def dri(tmp_path: Path) -> Path:
    folder = tmp_path / "dri"
    folder.mkdir()
    (folder / "card0").touch()
    return folder


def test_the_kiosk_runs_straight_on_kms(config: Path, dri: Path) -> None:
    argv, env = session_command(config, {}, dri=dri)
    assert argv == [
        *(sys.executable, "-m", "kiosk", "--config", str(config)),
        *("--log-level", "WARNING", "run"),
    ]
    assert env == {"SDL_VIDEODRIVER": "kmsdrm"}


def test_the_log_level_is_passed_on(config: Path, dri: Path) -> None:
    argv, _ = session_command(config, {}, log_level="INFO", dri=dri)
    assert argv[-3:] == ["--log-level", "INFO", "run"]


def test_a_video_driver_set_from_outside_is_kept(config: Path, tmp_path: Path) -> None:
    """A drop-in (the container test's offscreen renderer) needs no graphics card."""
    argv, env = session_command(config, {"SDL_VIDEODRIVER": "offscreen"}, dri=tmp_path / "no")
    assert argv[-1] == "run"
    assert env == {}


def test_no_graphics_card_is_one_clear_error(config: Path, tmp_path: Path) -> None:
    empty = tmp_path / "dri"
    empty.mkdir()
    (empty / "renderD128").touch()  # a render node alone cannot show a screen
    with pytest.raises(NoScreen, match=r"no graphics card .* has no card\*"):
        session_command(config, {}, dri=empty)


def test_the_session_replaces_itself_so_systemd_watches_the_kiosk(tmp_path: Path) -> None:
    """exec, not a child: the process systemd started becomes `kiosk run`, so the service's
    main process is the one that lends, and its exit is the service's exit. Here `kiosk run`
    has no config to read: its one-line error and exit code come from the same process."""
    config = tmp_path / "missing.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--config", str(config), "session"],
        env={"PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "offscreen"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 78, stderr
    assert stderr.startswith(f"kiosk: the config file {config} ")
    assert stderr.count("\n") == 1


def test_session_without_a_graphics_card_exits_69(tmp_path: Path) -> None:
    if any(Path("/dev/dri").glob("card*")):
        pytest.skip("this machine has a graphics card")  # the unit test above covers it
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "--config", str(tmp_path / "k.toml"), "session"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 69, result.stderr
    assert result.stderr.startswith("kiosk: no graphics card to draw the kiosk on")
