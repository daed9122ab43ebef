"""Settings Kivy reads when it is first imported: they must be in place before that."""

from __future__ import annotations

import logging
import os
from pathlib import Path


class NoDisplayError(RuntimeError):
    pass


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def prepare(kivy_home: Path, *, offscreen: bool = False) -> None:
    """Set Kivy's environment. offscreen: render with no screen (SDL's offscreen driver),
    for screenshots and tests."""
    if "kivy" in __import__("sys").modules:
        return
    kivy_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("KIVY_HOME", str(kivy_home))
    os.environ["KIVY_NO_ARGS"] = "1"  # our command line is ours, not Kivy's
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # Kivy logs through our masked handler
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    # Kivy logs while it is first imported, before any Config.set: its KCFG_ override
    # makes it follow our --log-level from the start.
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
    os.environ["KCFG_KIVY_LOG_LEVEL"] = level if level in ("debug", "info") else "warning"
    if offscreen:
        os.environ.pop("DISPLAY", None)
        os.environ.pop("WAYLAND_DISPLAY", None)
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    elif not has_display() and not os.environ.get("SDL_VIDEODRIVER"):
        raise NoDisplayError(
            "no display to open the kiosk on (DISPLAY and WAYLAND_DISPLAY are not set); "
            "run it with --headless, or start it from the kiosk's display session"
        )


def seal(kivy_home: Path) -> None:
    """Kivy copies its icons into KIVY_HOME with the modes they have in the package (0755,
    0644): inside the kiosk's data folder nothing is for others to read."""
    for path in (kivy_home, *kivy_home.rglob("*")):
        if path.is_symlink():
            continue
        private = 0o700 if path.is_dir() else 0o600
        if path.stat().st_mode & 0o777 != private:
            path.chmod(private)
