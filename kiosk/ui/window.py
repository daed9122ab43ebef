"""Window settings Kivy reads when it creates the window: set them before importing
kivy.core.window (kiosk.ui.app does), or they are ignored."""

from __future__ import annotations

import logging

from kivy.config import Config

from kiosk.config import KioskConfig


def configure_window(config: KioskConfig) -> None:
    """Window settings Kivy reads when the window is created."""
    # Kivy logs through our (masked) handler; it follows --log-level, not its own setting.
    level = logging.getLevelName(logging.getLogger().level).lower()
    Config.set("kivy", "log_level", "warning" if level not in ("debug", "info") else level)
    logging.getLogger("kivy").setLevel(logging.getLogger().level)
    display = config.display
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("graphics", "resizable", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    if display.fullscreen == "auto":
        Config.set("graphics", "fullscreen", "auto")
    else:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "width", str(display.width))
        Config.set("graphics", "height", str(display.height))
        if display.fullscreen == "borderless":
            # Under X with no window manager `fullscreen=auto` draws wrongly: a borderless
            # window the size of the screen at its top left corner does the same job.
            Config.set("graphics", "borderless", "1")
            Config.set("graphics", "position", "custom")
            Config.set("graphics", "left", "0")
            Config.set("graphics", "top", "0")
