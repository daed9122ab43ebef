"""Building the full-screen kiosk from the config: the one place that wires it together."""

from __future__ import annotations

import logging
from datetime import timedelta

from hardware.printer import ReceiptPrinter
from hardware.wedge import WedgeDecoder
from kiosk.config import KioskConfig
from kiosk.presenter.i18n import load_language
from kiosk.runtime.clock import Clock
from kiosk.runtime.devices import DeviceStatus, build_hub, open_printer
from kiosk.runtime.receipts import ReceiptDesk
from kiosk.runtime.staff import StaffDesk
from kiosk.runtime.staff_jobs import StaffJobs
from kiosk.runtime.station import StationRuntime
from kiosk.runtime.worker import EngineWorker
from kiosk.ui.controller import KioskController
from kiosk.ui.sounds import (
    SOUND_DEVICES,
    SilentPlayer,
    SoundPlayer,
    has_playback_device,
    sound_files,
)

log = logging.getLogger(__name__)


def build_controller(
    config: KioskConfig,
    runtime: StationRuntime,
    clock: Clock,
    *,
    sounds: SoundPlayer,
    printer: ReceiptPrinter | None,
    worker: EngineWorker | None = None,
    status: DeviceStatus | None = None,
) -> KioskController:
    """Everything behind the screen, from the config (no Kivy needed)."""
    settings = config.presenter_settings()
    worker = worker or EngineWorker(runtime)
    staff = None
    if config.staff.pins:
        desk = StaffDesk(config, actor="staff screen", now=clock.now)
        staff = StaffJobs(desk, clear_session=worker.clear_session)
    return KioskController(
        worker=worker,
        settings=settings,
        languages={code: load_language(code) for code in settings.languages},
        clock=clock,
        sounds=sounds,
        receipts=ReceiptDesk(printer, status),
        kiosk_id=config.kiosk.id,
        timezone=config.tz,
        wedge=WedgeDecoder(config.keyboard.max_key_gap_ms / 1000, config.keyboard.min_scan_length),
        staff=staff,
        staff_idle=timedelta(seconds=config.staff.idle_seconds),
        loan_rules=config.station_rules().loan_rules,
    )


def build_app(config: KioskConfig, runtime: StationRuntime, clock: Clock, *, silent: bool = False):  # type: ignore[no-untyped-def]
    """The Kivy app for this config. Kivy is imported here, after the window is configured."""
    from kiosk.ui.window import configure_window

    configure_window(config)  # before anything imports kivy.core.window

    from kiosk.ui.app import KioskApp
    from kiosk.ui.sounds import KivyPlayer

    sounds: SoundPlayer = SilentPlayer()
    if config.sounds.enabled and not silent:
        if not has_playback_device():
            log.warning(
                "no sound output device here (%s has no playback device): the kiosk stays "
                "silent (set sounds.enabled = false if the station has no speaker)",
                SOUND_DEVICES,
            )
        elif config.data_dir.is_dir():  # the tones are written there; a lost folder is not made
            files = sound_files(
                config.data_dir / "sounds", config.sounds.success, config.sounds.problem
            )
            sounds = KivyPlayer(files)
    status = DeviceStatus(config.data_dir)
    status.watch_errors()
    controller = build_controller(
        config, runtime, clock, sounds=sounds, printer=open_printer(config, status), status=status
    )
    return KioskApp(controller, config, hub=build_hub(config, status))
