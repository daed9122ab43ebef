"""Scan-to-screen latency: from a wedge scanner's Enter to the frame that shows the item.

The real app runs offscreen (SDL's offscreen driver, Mesa llvmpipe) with a real StationRuntime
over a temporary kiosk folder: a generated patron snapshot and a real SQLite spool. Each scan
is dispatched on Kivy's Window exactly as SDL delivers a keyboard-wedge burst (key down and
text input per digit, then Enter), at a random moment relative to the app's frames, since
a patron's scan does not wait for the screen. (Kivy's clock runs such a callback once a loop
turn, as SDL's events are dispatched once a loop turn.) Measured from the Enter dispatch to

- view:  the app's once-a-frame pump has rendered a ScreenView listing the item (widgets
         updated, nothing drawn yet);
- frame: the first Window flip whose widget tree shows it, with the item's label textured;
         glFinish() first, so the time includes the GPU (llvmpipe) finishing that frame.

Baseline, in the same run: the engine alone, StationRuntime.scan for the same scans on the
calling thread (no worker thread, no UI), over its own kiosk folder. The UI's share is the
difference.

Python's full (generation 2) garbage collections on the UI thread are recorded with
gc.callbacks, to tell how much of the tail they explain.

Every 15 items a different patron card starts a new session (the default session limit is
20). A benchmark, not a test: it prints figures and writes bench/results/scan_to_screen.json;
it fails only if the kiosk does not do what a scan asks (an item never shown).

One run of today's code. `make bench` runs it through bench/screen_rounds.py, which takes
turns with the old code's own scan_to_screen.py (bench/old_code.py) and pools the rounds.

    make bench    or    .venv/bin/python bench/scan_to_screen.py [--items N] [--seed S] [--out F]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from random import Random
from typing import Any

from kiosk import demo
from kiosk.cli.common import utc_now
from kiosk.cli.run import build_runtime
from kiosk.config import KeyboardSection, KioskConfig, load_config
from kiosk.domain.events import ItemCheckedOut
from kiosk.runtime.clock import SystemClock
from kiosk.storage.snapshot import SnapshotStore
from kiosk.ui.env import prepare

RESULTS = Path(__file__).parent / "results" / "scan_to_screen.json"
ITEMS_PER_SESSION = 15
PATRON_CARDS = (demo.barcode("2", 1), demo.barcode("2", 2))  # both may borrow (demo data)
WARM_UP = 5  # first item scans of each run, left out of the figures (first writes, caches)
MAX_PAUSE = 0.05  # s; scans come at a random moment up to this long after the last one shows
STEP_TIMEOUT = 10.0  # s; an item not shown by then is a failure, not a slow sample
ENTER, ENTER_SCANCODE = 13, 40
SCANCODES = {str(d): 30 + (d - 1) % 10 for d in range(10)}  # SDL: '1'..'9' 30..38, '0' 39


# The plan: the same scans for the engine alone and for the app ---------------------------


@dataclass(frozen=True)
class Scan:
    barcode: str
    is_item: bool


def plan(items: int) -> list[Scan]:
    scans: list[Scan] = []
    for n in range(items):
        if n % ITEMS_PER_SESSION == 0:
            card = PATRON_CARDS[(n // ITEMS_PER_SESSION) % len(PATRON_CARDS)]
            scans.append(Scan(card, is_item=False))
        scans.append(Scan(demo.barcode("3", 1 + n), is_item=True))
    return scans


def kiosk_folder(root: Path) -> KioskConfig:
    """The demo config and snapshot, with a station's defaults for the keyboard (the demo
    lets a person type) and a window instead of full screen (nothing to fill offscreen)."""
    root.mkdir(parents=True)
    (root / "kiosk.toml").write_text(demo.CONFIG, encoding="utf-8")
    (root / "patrons.csv").write_text(demo.patrons_csv(date.today()), encoding="utf-8")
    config = load_config(root / "kiosk.toml")
    display = config.display.model_copy(update={"fullscreen": "windowed"})
    sounds = config.sounds.model_copy(update={"enabled": False})
    config = config.model_copy(
        update={"display": display, "sounds": sounds, "keyboard": KeyboardSection()}
    )
    SnapshotStore(config.data_dir).import_csv(
        root / "patrons.csv", patron_rule=config.barcode_rules().patron, now=utc_now()
    )
    return config


# The engine alone ---------------------------------------------------------------------------


def engine_alone(config: KioskConfig, scans: list[Scan]) -> list[float]:
    runtime = build_runtime(config, SystemClock())
    try:
        runtime.start()
        seconds = []
        for scan in scans:
            started = time.perf_counter()
            events = runtime.scan(scan.barcode)
            took = time.perf_counter() - started
            if scan.is_item:
                if not any(
                    isinstance(e, ItemCheckedOut) and e.stored.checkout.item == scan.barcode
                    for e in events
                ):
                    raise RuntimeError(f"the engine did not lend {scan.barcode}: {events}")
                seconds.append(took)
        return seconds
    finally:
        runtime.close()


# The app ------------------------------------------------------------------------------------


@dataclass
class Sample:
    barcode: str
    entered: float
    view: float | None = None
    frame: float | None = None


@dataclass
class Driver:
    """Drives the running app from Kivy's main thread: dispatches one scan, waits until the
    screen shows what it should, pauses a random moment, dispatches the next."""

    app: Any  # kiosk.ui.app.KioskApp
    window: Any  # kivy.core.window.Window
    scans: list[Scan]
    rng: Random
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None
    _next: int = 0
    _current: Sample | None = None
    _waiting_for_card: str | None = None
    _since: float = 0.0
    _started: bool = False

    # Hooks: the app's once-a-frame callback and the window's flip.

    def on_frame(self, app: Any) -> None:
        now = time.perf_counter()
        if not self._started:
            from kiosk.presenter.presenter import Screen

            if app.controller.state.screen is Screen.WELCOME:  # engine up, snapshot loaded
                self._started = True
                self._schedule()
            return
        sample = self._current
        if sample is not None and sample.view is None and self._listed(app.view.shown, sample):
            sample.view = now
        if self._waiting_for_card is not None and self._session_for(self._waiting_for_card):
            self._waiting_for_card = None
            self._schedule()
        if (sample or self._waiting_for_card) and now - self._since > STEP_TIMEOUT:
            what = sample.barcode if sample else self._waiting_for_card
            self._fail(f"{what} was not on the screen within {STEP_TIMEOUT} s")

    def on_flip(self, window: Any) -> None:
        sample = self._current
        if sample is None or sample.view is None or not self._drawn(sample):
            return
        from kivy.graphics.opengl import glFinish

        glFinish()
        sample.frame = time.perf_counter()
        self.samples.append(sample)
        self._current = None
        self._schedule()

    # Scans, as a wedge scanner's burst arrives from SDL.

    def _schedule(self) -> None:
        from kivy.clock import Clock

        if self._next >= len(self.scans):
            Clock.schedule_once(lambda dt: self.app.shutdown())
            return
        Clock.schedule_once(self._dispatch, self.rng.uniform(0, MAX_PAUSE))

    def _dispatch(self, dt: float) -> None:
        scan = self.scans[self._next]
        self._next += 1
        window = self.window
        for ch in scan.barcode:
            window.dispatch("on_key_down", ord(ch), SCANCODES[ch], ch, [])
            window.dispatch("on_textinput", ch)
            window.dispatch("on_key_up", ord(ch), SCANCODES[ch])
        self._since = entered = time.perf_counter()
        window.dispatch("on_key_down", ENTER, ENTER_SCANCODE, None, [])
        window.dispatch("on_key_up", ENTER, ENTER_SCANCODE)
        if scan.is_item:
            self._current = Sample(scan.barcode, entered)
        else:
            self._waiting_for_card = scan.barcode

    # What the screen shows.

    @staticmethod
    def _listed(shown: Any, sample: Sample) -> bool:
        return shown is not None and any(sample.barcode in line.item for line in shown.lines)

    def _drawn(self, sample: Sample) -> bool:
        """The item's label is in the widget tree and has its texture (text rendered)."""
        for row in self.app.view.lines.children:
            for label in getattr(row, "children", ()):
                if sample.barcode in label.text:
                    return label.texture is not None and label.texture_size[0] > 0
        return False

    def _session_for(self, card: str) -> bool:
        from kiosk.presenter.presenter import Screen

        state = self.app.controller.state
        return state.screen is Screen.CHECKOUT and state.patron == card and not state.loans

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message
            self.app.shutdown()


@dataclass
class Collections:
    """Full garbage collections on the thread that installed it (Kivy's main thread)."""

    thread: int = field(default_factory=threading.get_ident)
    full: list[tuple[float, float]] = field(default_factory=list)  # (start, end)
    _started: float | None = None

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2 or threading.get_ident() != self.thread:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.full.append((self._started, time.perf_counter()))
            self._started = None

    def during(self, sample: Sample) -> bool:
        end = sample.frame or sample.entered
        return any(start < end and stop > sample.entered for start, stop in self.full)


def with_app(
    config: KioskConfig, scans: list[Scan], seed: int
) -> tuple[list[Sample], Collections, str]:
    prepare(config.data_dir / "kivy", offscreen=True)
    from kiosk.ui.launch import build_app  # imports Kivy: after prepare()

    app = build_app(config, build_runtime(config, SystemClock()), SystemClock(), silent=True)
    from kivy.core.window import Window
    from kivy.graphics.opengl import GL_RENDERER, glGetString

    driver = Driver(app, Window, scans, Random(seed))
    app.on_frame = driver.on_frame
    Window.bind(on_flip=driver.on_flip)
    renderer = glGetString(GL_RENDERER).decode()
    collections = Collections()
    gc.callbacks.append(collections)
    try:
        app.run()
    finally:
        gc.callbacks.remove(collections)
    if driver.error:
        raise RuntimeError(driver.error)
    expected = sum(1 for s in scans if s.is_item)
    if len(driver.samples) != expected:
        raise RuntimeError(f"{len(driver.samples)} of {expected} items were measured")
    return driver.samples, collections, renderer


# Figures ------------------------------------------------------------------------------------


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p90_ms": round(cuts[89], 3),
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(ms[-1], 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--items", type=int, default=240, help="item scans (a p99 wants 200 or more)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="for the pauses between scans")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    # Kivy sets its own logger's level when imported: the handler keeps its chatter out.
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    scans = plan(args.items)

    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        engine_config = kiosk_folder(Path(tmp) / "engine")
        app_config = kiosk_folder(Path(tmp) / "app")
        engine = engine_alone(engine_config, scans)[WARM_UP:]
        samples, collections, renderer = with_app(app_config, scans, args.seed)
    samples = samples[WARM_UP:]
    first, last = samples[0].entered, samples[-1].frame or samples[-1].entered
    full = [stop - start for start, stop in collections.full if first <= start <= last]
    view = [s.view - s.entered for s in samples if s.view is not None]
    frame = [s.frame - s.entered for s in samples if s.frame is not None]

    figures = {
        "engine": summary(engine),
        "view": summary(view),
        "frame": summary(frame),
    }
    rows = [
        ("engine alone: StationRuntime.scan", figures["engine"]),
        ("app: Enter -> view rendered", figures["view"]),
        ("app: Enter -> frame shown", figures["frame"]),
    ]
    print(
        f"Scan-to-screen latency: {len(frame)} item scans "
        f"({WARM_UP} warm-up scans left out), {ITEMS_PER_SESSION} items a session"
    )
    print(f"{'':36} {'median':>9} {'p90':>9} {'p99':>9} {'max':>9}")
    for name, f in rows:
        print(
            f"{name:36} {f['median_ms']:7.2f}ms {f['p90_ms']:7.2f}ms "
            f"{f['p99_ms']:7.2f}ms {f['max_ms']:7.2f}ms"
        )
    ui_median = figures["frame"]["median_ms"] - figures["engine"]["median_ms"]
    ui_p99 = figures["frame"]["p99_ms"] - figures["engine"]["p99_ms"]
    share = ui_median / figures["frame"]["median_ms"] if figures["frame"]["median_ms"] else 0
    print(
        f"UI's share: {ui_median:.2f} ms of the median ({share:.0%}), "
        f"{ui_p99:.2f} ms of the p99 (the engine wakes the app when it has events)"
    )

    slow_cut = figures["frame"]["p90_ms"] / 1000
    slow = [s for s in samples if s.frame is not None and s.frame - s.entered > slow_cut]
    slow_in_gc = sum(1 for s in slow if collections.during(s))
    if full:
        print(
            f"Full garbage collections on the UI thread: {len(full)}, "
            f"{min(full) * 1000:.0f}-{max(full) * 1000:.0f} ms each; "
            f"{slow_in_gc} of the {len(slow)} scans slower than the p90 overlap one"
        )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "scan_to_screen",
        "when": utc_now().isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "gl_renderer": renderer,
            "sdl_videodriver": os.environ.get("SDL_VIDEODRIVER"),
        },
        "settings": {
            "items": args.items,
            "warm_up": WARM_UP,
            "items_per_session": ITEMS_PER_SESSION,
            "max_pause_s": MAX_PAUSE,
            "seed": args.seed,
        },
        "figures": figures,
        "ui_share_ms": {"median": round(ui_median, 3), "p99": round(ui_p99, 3)},
        "full_gc_on_ui_thread": {
            "count": len(full),
            "ms": [round(f * 1000, 3) for f in full],
            "slower_than_p90": len(slow),
            "slower_than_p90_during_full_gc": slow_in_gc,
        },
        "samples_ms": {
            "engine": [round(s * 1000, 3) for s in engine],
            "view": [round(s * 1000, 3) for s in view],
            "frame": [round(s * 1000, 3) for s in frame],
        },
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"Written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
