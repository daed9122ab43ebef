"""Window settings Kivy reads when it creates the window: set them before importing
kivy.core.window (kiosk.ui.app does), or they are ignored."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

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
    fullscreen, width, height = display.fullscreen, display.width, display.height
    screen = x11_screen_size() if fullscreen == "auto" and on_x11() else None
    if screen is not None:
        # X11 with no window manager (a bare X server, xinit, Xvfb) ignores a full-screen
        # request: the window stays 800x600 while Kivy lays out the whole screen. A borderless
        # window the size of the screen at its top left corner is full screen everywhere.
        fullscreen, (width, height) = "borderless", screen
    if fullscreen == "auto":
        Config.set("graphics", "fullscreen", "auto")
    else:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "width", str(width))
        Config.set("graphics", "height", str(height))
        if fullscreen == "borderless":
            # Under X with no window manager `fullscreen=auto` draws wrongly: a borderless
            # window the size of the screen at its top left corner does the same job.
            Config.set("graphics", "borderless", "1")
            Config.set("graphics", "position", "custom")
            Config.set("graphics", "left", "0")
            Config.set("graphics", "top", "0")


def on_x11() -> bool:
    """SDL will open an X11 window: DISPLAY is set and nothing chose another video driver."""
    driver = os.environ.get("SDL_VIDEODRIVER", "")
    if driver:
        return driver == "x11"
    return bool(os.environ.get("DISPLAY")) and not os.environ.get("WAYLAND_DISPLAY")


def x11_screen_size() -> tuple[int, int] | None:
    """The X screen's size in pixels, asked of the X server itself (libX11, which SDL loads
    anyway to open its window). None where it cannot be asked."""
    name = ctypes.util.find_library("X11")
    if name is None:
        return None
    try:
        xlib = ctypes.CDLL(name)
    except OSError:
        return None
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XDefaultScreen.argtypes = [ctypes.c_void_p]
    xlib.XDisplayWidth.argtypes = [ctypes.c_void_p, ctypes.c_int]
    xlib.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = xlib.XOpenDisplay(None)
    if not connection:
        return None
    try:
        screen = xlib.XDefaultScreen(connection)
        size = xlib.XDisplayWidth(connection, screen), xlib.XDisplayHeight(connection, screen)
    finally:
        xlib.XCloseDisplay(connection)
    return size if min(size) > 0 else None
