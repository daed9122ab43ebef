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
    os.environ.setdefault("KIVY_HOME", str(kivy_home))
    # Every Kivy setting the kiosk needs is set in code (kiosk.ui.window): Kivy reads and
    # writes no config.ini and copies no icons into the data folder (a first start would
    # otherwise log "Older configuration version detected" and leave 0644 files there).
    os.environ["KIVY_NO_CONFIG"] = "1"
    seal(kivy_home)  # a folder left by an older version of the kiosk
    os.environ["KIVY_NO_ARGS"] = "1"  # our command line is ours, not Kivy's
    # The interrupt clock ends the loop's wait between frames as soon as a callback is
    # scheduled (the engine's thread does, with events to draw): no waiting for a frame.
    os.environ.setdefault("KIVY_CLOCK", "interrupt")
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
    """Kivy copied its icons into KIVY_HOME with the modes they have in the package (0755,
    0644): inside the kiosk's data folder nothing is for others to read."""
    if not kivy_home.is_dir():
        return
    for path in (kivy_home, *kivy_home.rglob("*")):
        if path.is_symlink():
            continue
        private = 0o700 if path.is_dir() else 0o600
        if path.stat().st_mode & 0o777 != private:
            path.chmod(private)
