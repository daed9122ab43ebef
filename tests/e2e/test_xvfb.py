"""End to end through the real input path: X keyboard events into the full-screen kiosk.

The test starts its own X server (Xvfb, on a display number it picks itself), runs the real
`kiosk run` on it, and types barcodes with xdotool the way a keyboard-wedge scanner does:
digits a few milliseconds apart, then Return. The keys go through the X server, SDL and
Kivy's Window (on_textinput, on_key_down) into the wedge decoder, the engine and the spool.
The test then reads the spool (what was lent) and the screen (what the patron sees).

Finding the window: `xdotool search --name` (with or without --sync) never finds it. xprop
shows WM_NAME with the encoding "UTF-8", the locale's (set by SDL 2.30 in the Kivy wheel);
xdotool 3.20160805 matches names only through WM_NAME and Xlib's text conversion, which does
not take that encoding. _NET_WM_NAME is right (UTF8_STRING), and `getwindowname` reads it.
So the window is found by the kiosk's process id (_NET_WM_PID) and its name checked.

Typing: one xdotool process types the digits and then presses Return (`type --args 1`
ends the text, so `key Return` runs in the same process). Two processes would leave the
start-up time of the second between the last digit and Return, and the wedge decoder
rightly drops an Enter that comes later than [keyboard] max_key_gap_ms after the last key.
`type "...\\n"` does not work: xdotool 3.20160805 sends no Return for a newline here.

No window manager is needed: `windowfocus` gives the borderless window the X input focus.
"""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageGrab

from tests.conftest import KioskHome, item, kiosk_env, patron

WIDTH, HEIGHT = 1280, 800
WAIT_SECONDS = 30  # a guard against a hung kiosk or X server, not a timing assumption
POLL_SECONDS = 0.1
TITLE = "Library self-checkout"
DISPLAY_CONFIG = f"""
[display]
fullscreen = "borderless"
width = {WIDTH}
height = {HEIGHT}

[sounds]
enabled = false

[printer]
type = "fake"
"""

# Due dates are the only thing drawn in the theme's success colour (kiosk.ui.view), one line
# per item. Anti-aliased edges blend towards the white background; the core of each glyph
# stroke keeps the colour, so a small tolerance finds it without catching the other theme
# colours (near-black and grey text have R = G = B; the accent blue is far off in blue).
SUCCESS = (0x1E, 0x6B, 0x2E)  # ThemeSection.success, the default theme
BACKGROUND = (0xFF, 0xFF, 0xFF)  # ThemeSection.background
TEXT = (0x1B, 0x1B, 0x1B)  # ThemeSection.text
COLOUR_TOLERANCE = 24
MIN_PIXELS_IN_ROW = 3  # a pixel row belongs to a line of text if it has this many
MAX_GAP_IN_BAND = 8  # px; lines of the item list are about 25 px apart, glyph rows touch
MIN_BAND_HEIGHT = 8  # px; a due date in 26 sp is about 25 px tall
CENTRE_COLUMNS = (400, 880)  # px; centred text only: item numbers end left, due dates right
LONG_LIST = 7  # more items than the list has room for at 1280x800
SETTLE_SECONDS = 0.3


# The X server -----------------------------------------------------------------------------


@dataclass
class XServer:
    display: str  # ":N"
    proc: subprocess.Popen[bytes]
    log: Path

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "KIVY_HOME", "XAUTHORITY")
        }
        env["DISPLAY"] = self.display
        return env

    def xdotool(self, *args: str) -> str:
        result = subprocess.run(
            ["xdotool", *args],
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            env=self.env(),
            check=False,
        )
        assert result.returncode == 0, f"xdotool {' '.join(args)}: {result.stderr.strip()}"
        return result.stdout.strip()

    def grab(self) -> Image.Image:
        return ImageGrab.grab(xdisplay=self.display).convert("RGB")


def read_display_number(fd: int, proc: subprocess.Popen[bytes], log: Path) -> int:
    """Xvfb writes the display number it bound (and a newline) to -displayfd once it is
    ready for clients."""
    deadline = time.monotonic() + WAIT_SECONDS
    text = b""
    while not text.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"Xvfb did not say its display within {WAIT_SECONDS} s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 64)
        if not chunk:
            proc.wait(timeout=WAIT_SECONDS)
            raise AssertionError(
                f"Xvfb ended ({proc.returncode}) before it was ready: {log.read_text()}"
            )
        text += chunk
    return int(text)


@pytest.fixture
def xserver(tmp_path: Path) -> Iterator[XServer]:
    log = tmp_path / "xvfb.log"
    read_end, write_end = os.pipe()
    try:
        with log.open("wb") as log_file:
            try:
                proc = subprocess.Popen(
                    [
                        "Xvfb",
                        "-displayfd",
                        str(write_end),
                        "-screen",
                        "0",
                        f"{WIDTH}x{HEIGHT}x24",
                        "-nolisten",
                        "tcp",  # local clients only (a Unix socket)
                        "-noreset",
                    ],
                    pass_fds=(write_end,),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log_file,
                )
            except FileNotFoundError:
                pytest.fail("Xvfb is not installed (`make debs` installs xvfb and xdotool)")
        os.close(write_end)
        write_end = -1
        try:
            number = read_display_number(read_end, proc, log)
            yield XServer(f":{number}", proc, log)
        finally:
            stop(proc)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# The kiosk --------------------------------------------------------------------------------


@dataclass
class Station:
    home: KioskHome
    x: XServer
    proc: subprocess.Popen[bytes]
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"the kiosk ended ({self.proc.returncode}):\n{self.stderr()}")

    def window(self) -> str:
        """The kiosk's window, mapped and named: found by its process id (see the top)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            self.alive()
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--pid", str(self.proc.pid)],
                capture_output=True,
                text=True,
                timeout=WAIT_SECONDS,
                env=self.x.env(),
                check=False,
            ).stdout.split()
            assert len(found) <= 1, f"the kiosk has more than one window: {found}"
            # SDL maps the window first and names it a moment later.
            if found and self.x.xdotool("getwindowname", found[0]) == TITLE:
                return found[0]
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"no kiosk window within {WAIT_SECONDS} s:\n{self.stderr()}")

    def scan(self, barcode: str) -> None:
        """A wedge scanner's burst: the digits 10 ms apart, then Return, in one process."""
        self.x.xdotool("type", "--delay", "10", "--args", "1", barcode, "key", "Return")

    def checkouts(self) -> list[tuple[str, str]]:
        """(patron, item) for each checkout in the spool, in the order they were made. Read
        only: the kiosk owns the spool."""
        path = self.home.data_dir / "spool.db"
        if not path.exists():
            return []
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT patron, item FROM checkouts ORDER BY seq").fetchall()
        except sqlite3.OperationalError:  # the kiosk has not created its tables yet
            return []
        finally:
            conn.close()
        return [(str(p), str(i)) for p, i in rows]


@pytest.fixture
def station(home: KioskHome, xserver: XServer, tmp_path: Path) -> Iterator[Station]:
    yield from start_station(home, xserver, tmp_path, DISPLAY_CONFIG)


@pytest.fixture
def auto_station(home: KioskHome, xserver: XServer, tmp_path: Path) -> Iterator[Station]:
    """The shipped default (fullscreen = "auto"), on an X server with no window manager."""
    auto = DISPLAY_CONFIG.replace('fullscreen = "borderless"', 'fullscreen = "auto"')
    auto = auto.replace(f"width = {WIDTH}", "width = 800").replace(f"height = {HEIGHT}", "")
    yield from start_station(home, xserver, tmp_path, auto)


def start_station(
    home: KioskHome, xserver: XServer, tmp_path: Path, display_config: str
) -> Iterator[Station]:
    home.write_config(extra=display_config)
    home.import_standard_snapshot()
    stderr_path = tmp_path / "kiosk.stderr"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk",
                "--config",
                str(home.config_path),
                "--log-level",
                "info",
                "run",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=kiosk_env(xserver.env()),
        )
    try:
        yield Station(home, xserver, proc, stderr_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# Reading the screen -------------------------------------------------------------------------


def colour_mask(image: Image.Image, colour: tuple[int, int, int], tolerance: int) -> bytes:
    """One byte a pixel, row by row: 255 where every channel is within tolerance, else 0."""
    channels = []
    for band, target in zip(image.split(), colour, strict=True):
        lo, hi = target - tolerance, target + tolerance
        channels.append(band.point(lambda v, lo=lo, hi=hi: 255 if lo <= v <= hi else 0))
    mask = channels[0]
    for channel in channels[1:]:
        mask = ImageChops.multiply(mask, channel)  # 255 only where all three are 255
    return mask.tobytes()


def colour_bands(
    image: Image.Image, colour: tuple[int, int, int], columns: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    """Horizontal bands (first row, last row) of text drawn in `colour`, within `columns`
    (left, right) if given."""
    if columns is not None:
        image = image.crop((columns[0], 0, columns[1], image.height))
    width, height = image.size
    mask = colour_mask(image, colour, COLOUR_TOLERANCE)
    rows = [
        y for y in range(height) if mask.count(255, y * width, (y + 1) * width) >= MIN_PIXELS_IN_ROW
    ]
    bands: list[tuple[int, int]] = []
    for y in rows:
        if bands and y - bands[-1][1] <= MAX_GAP_IN_BAND:
            bands[-1] = (bands[-1][0], y)
        else:
            bands.append((y, y))
    return [(top, bottom) for top, bottom in bands if bottom - top + 1 >= MIN_BAND_HEIGHT]


def success_bands(image: Image.Image) -> list[tuple[int, int]]:
    """The due dates on the screen: one band a line of the item list."""
    return colour_bands(image, SUCCESS)


def share(image: Image.Image, colour: tuple[int, int, int]) -> float:
    mask = colour_mask(image, colour, COLOUR_TOLERANCE)
    return mask.count(255) / len(mask)


def welcome_drawn(image: Image.Image) -> bool:
    """Mostly background, with the heading and message in the text colour."""
    return share(image, BACKGROUND) > 0.5 and share(image, TEXT) > 0.001


def wait_for_screen(
    station: Station, done: Callable[[Image.Image], bool], path: Path
) -> tuple[Image.Image, Path]:
    """Grab the screen until `done(image)` holds (bounded), then save the last grab."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        station.alive()
        image = station.x.grab()
        if done(image) or time.monotonic() > deadline:
            image.save(path)
            return image, path
        time.sleep(POLL_SECONDS)


def settled(station: Station, path: Path) -> Image.Image:
    """The screen once two grabs a moment apart are the same (bounded), saved to `path`.
    The kiosk redraws only when what it shows changes."""
    deadline = time.monotonic() + WAIT_SECONDS
    before = station.x.grab()
    while True:
        time.sleep(SETTLE_SECONDS)
        station.alive()
        now = station.x.grab()
        if ImageChops.difference(before, now).getbbox() is None or time.monotonic() > deadline:
            now.save(path)
            return now
        before = now


# The tests ---------------------------------------------------------------------------------


def ready(station: Station, tmp_path: Path) -> Path:
    """Window found, covering the screen, focused, the Welcome screen drawn without due
    dates (so the bands counted later are new). Returns the Welcome screenshot."""
    x = station.x
    window = station.window()
    geometry = dict(
        line.split("=", 1) for line in x.xdotool("getwindowgeometry", "--shell", window).split()
    )
    assert (geometry["X"], geometry["Y"], geometry["WIDTH"], geometry["HEIGHT"]) == (
        "0",
        "0",
        str(WIDTH),
        str(HEIGHT),
    ), f"the borderless window should cover the screen: {geometry}"

    x.xdotool("windowfocus", "--sync", window)
    assert x.xdotool("getwindowfocus") == window

    welcome, welcome_path = wait_for_screen(station, welcome_drawn, tmp_path / "welcome.png")
    assert welcome_drawn(welcome), f"the Welcome screen was never drawn: {welcome_path}"
    assert success_bands(welcome) == [], f"due dates on the Welcome screen: {welcome_path}"
    return welcome_path


def lend(station: Station, card: str, items: list[str]) -> list[tuple[str, str]]:
    """Scan the card and the items; wait (bounded) until the spool holds as many checkouts
    as items were scanned and check they are exactly those, for that card."""
    for barcode in [card, *items]:
        station.scan(barcode)
    expected = [(card, code) for code in items]
    deadline = time.monotonic() + WAIT_SECONDS
    while len(station.checkouts()) < len(expected) and time.monotonic() < deadline:
        station.alive()
        time.sleep(POLL_SECONDS)
    assert station.checkouts() == expected, station.stderr()
    return expected


def test_wedge_scans_typed_on_x_are_lent_and_shown(station: Station, tmp_path: Path) -> None:
    welcome_path = ready(station, tmp_path)
    card = patron(1)
    items = [item(101), item(102), item(103)]
    expected = lend(station, card, items)

    # One due date a line, one line an item: as many success-coloured bands as items. The
    # spool is written before the screen hears of a checkout, so the screen may be a frame
    # or two behind: grab until it catches up.
    shown, shot = wait_for_screen(
        station,
        lambda im: len(success_bands(im)) == len(items),
        tmp_path / "checkout.png",
    )
    bands = success_bands(shown)
    assert len(bands) == len(items), (
        f"{len(items)} items lent but {len(bands)} due-date lines shown at rows {bands}; "
        f"screenshot: {shot} (Welcome: {welcome_path})"
    )
    assert station.checkouts() == expected, "more checkouts arrived after the screen showed"

    # systemd stops the kiosk with SIGTERM: it closes its window and exits cleanly.
    station.proc.send_signal(signal.SIGTERM)
    try:
        code = station.proc.wait(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the kiosk ignored SIGTERM:\n{station.stderr()}") from None
    log = station.stderr()
    assert code == 0, log
    assert "Traceback" not in log, log


def test_a_long_item_list_is_not_drawn_over_the_message(station: Station, tmp_path: Path) -> None:
    """More items than the list has room for: the newest that fit and a "+ N" line. At the
    default 1280x800 the list must keep clear of the heading and message above it."""
    ready(station, tmp_path)
    items = [item(200 + n) for n in range(LONG_LIST)]
    lend(station, patron(1), items)

    shot = tmp_path / "long-list.png"
    shown = settled(station, shot)
    due_dates = success_bands(shown)
    assert 1 <= len(due_dates) < len(items), f"due-date lines at rows {due_dates}: {shot}"
    # Only the centred lines (heading, message, count) have text-coloured pixels here: the
    # item numbers end further left and the due dates start further right.
    centred = colour_bands(shown, TEXT, CENTRE_COLUMNS)
    overlaps = [
        (due, text)
        for due in due_dates
        for text in centred
        if due[0] <= text[1] and text[0] <= due[1]
    ]
    assert not overlaps, (
        f"item lines drawn over centred text (due-date rows, text rows): {overlaps}; "
        f"screenshot: {shot}"
    )


def test_on_x_with_no_window_manager_the_default_fills_the_screen(
    auto_station: Station, tmp_path: Path
) -> None:
    """`fullscreen = "auto"` under a bare X server: the window covers the screen (checked in
    ready()) and the layout fits it: the heading is drawn near the top of the screen, and
    the background reaches every corner (no black border from an 800x600 window)."""
    welcome_path = ready(auto_station, tmp_path)
    image = Image.open(welcome_path).convert("RGB")
    heading = colour_bands(image.crop((0, 0, WIDTH, HEIGHT // 3)), TEXT)
    assert heading, f"no heading in the top third of the screen: {welcome_path}"
    for corner in ((0, 0), (WIDTH - 1, 0), (0, HEIGHT - 1), (WIDTH - 1, HEIGHT - 1)):
        assert image.getpixel(corner) == BACKGROUND, (corner, welcome_path)
