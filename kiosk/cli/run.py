"""`kiosk run`: the station itself."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import click

from kiosk import __version__
from kiosk.cli.common import State
from kiosk.config import KioskConfig
from kiosk.errors import KioskError, StorageError
from kiosk.presenter.i18n import load_language
from kiosk.presenter.text import TextScreen
from kiosk.runtime.clock import Clock, ManualClock, SystemClock
from kiosk.runtime.devices import DeviceStatus, build_hub
from kiosk.runtime.headless import HeadlessRunner, parse_clock
from kiosk.runtime.lifecycle import Parts
from kiosk.runtime.notify import Notifier
from kiosk.runtime.receipts import headless_receipts
from kiosk.runtime.staff import StaffDesk
from kiosk.runtime.staff_cards import StaffCards
from kiosk.runtime.station import StationRuntime
from kiosk.runtime.uploads import UploadWatcher, replay_refusal
from kiosk.storage.audit import AuditLog
from kiosk.storage.files import private_dir
from kiosk.storage.items import ItemStore
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.spool import SPOOL_FILE, Spool

log = logging.getLogger(__name__)


class AlreadyRunning(KioskError):
    exit_code = os.EX_TEMPFAIL  # 75


@contextmanager
def station_lock(data_dir: Path, *, anchored: bool = False) -> Iterator[None]:
    """One kiosk process per data folder. The kernel releases the lock if the process dies.
    anchored (kiosk.spool_id is set): a missing data folder is not made anew; the kiosk
    starts out of service and says why, locking a file of its own in the temporary folder."""
    if anchored and not data_dir.is_dir():
        digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
        lock = Path(tempfile.gettempdir()) / f"kiosk-{digest}.lock"
    else:
        private_dir(data_dir)
        lock = data_dir / "kiosk.lock"
    handle = lock.open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise AlreadyRunning(f"another kiosk is already running on {data_dir}") from exc
        yield
    finally:
        handle.close()


@contextmanager
def upload_watcher(config: KioskConfig, clock: Clock) -> Iterator[None]:
    """sip2.auto_upload: upload by itself when the ILS answers again, while the kiosk runs."""
    if config.sip2 is None or not config.sip2.auto_upload:
        yield
        return
    refusal = replay_refusal(config)
    if refusal is not None:
        log.error(
            "sip2.auto_upload is on, but the kiosk will not upload by itself: %s Set [ils] "
            "allow_sip2_replay = true to send by SIP2 all the same.",
            refusal,
        )
        yield
        return
    watcher = UploadWatcher(config, clock.now)
    watcher.start()
    try:
        yield
    finally:
        watcher.stop()


def build_runtime(config: KioskConfig, clock: Clock) -> StationRuntime:
    """Wire the station from the config. A spool that cannot be opened, or would not take a
    checkout, does not stop the kiosk from starting: it starts out of service and says why
    (and comes back by itself once a spool it could open takes checkouts again)."""
    trail = AuditLog(config.data_dir, anchored=config.kiosk.spool_id is not None)

    def record(action: str, details: dict[str, str]) -> None:
        try:
            trail.append(
                action, actor="kiosk", at=clock.now().astimezone(config.tz), details=details
            )
        except StorageError as exc:  # the trail matters, but lending matters more
            log.error("audit trail: %s", exc)

    def service_changed(reason: str | None, detail: str) -> None:
        if reason is None:
            record("service.in", {})
        else:
            record("service.out", {"reason": reason, "detail": detail})

    record("kiosk.start", {"version": __version__, "kiosk_id": config.kiosk.id})
    spool: Spool | None = None
    problem: str | None = None
    first = not (config.data_dir / SPOOL_FILE).exists()
    try:
        # At start the whole spool is checked, indexes too: a damaged one is never used.
        spool = Spool.open(
            config.data_dir, create=True, thorough=True, anchor=config.kiosk.spool_id
        )
    except StorageError as exc:
        log.error("%s", exc)
        problem = str(exc)
    else:
        if first:  # a kiosk set up without `kiosk spool init` (a demo, a test): said here
            record("spool.created", {"spool_id": spool.spool_id, "path": str(spool.path)})
        # Archived periods long handed over are removed at each start (and at each new
        # period): the retention rule, never a person.
        StaffDesk(config, actor="kiosk", now=clock.now).apply_retention()
        try:
            spool.probe()  # a checkout would be stored: else out of service until it would
        except StorageError as exc:
            log.error("%s", exc)
            problem = str(exc)
    # Asked of every scan at the Welcome screen: a patron's card costs one HMAC, no scrypt.
    cards = StaffCards(config.data_dir, config.staff.card_hashes())
    snapshots, items = SnapshotStore(config.data_dir), ItemStore(config.data_dir)
    for store in (snapshots, items):
        try:
            store.remove_stale_builds()  # an import killed mid-way leaves one behind
        except OSError as exc:
            log.error("stale snapshot builds in %s: %s", store.folder, exc.strerror or exc)
    return StationRuntime(
        rules=config.station_rules(),
        barcode_rules=config.barcode_rules(),
        limits=config.snapshot.limits(),
        snapshots=snapshots,
        items=items,
        spool=spool,
        spool_problem=problem,
        clock=clock,
        on_service_change=service_changed,
        is_staff_card=cards.is_staff_card if cards.cards else None,
    )


@click.command("run")
@click.option(
    "--headless",
    is_flag=True,
    help="No screen: scans from standard input, events on standard output.",
)
@click.option(
    "--show",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="Headless output: JSON lines (the contract), or the screen's words.",
)
@click.option(
    "--clock",
    "clock_start",
    default=None,
    help="Headless: start a clock that stands still at this time (ISO 8601) and "
    "moves only with '@advance SECONDS' lines.",
)
@click.option(
    "--language",
    "language_code",
    type=click.Choice(["en", "es"]),
    default=None,
    help="Headless --show text: the language of the screen's words [default: the first one].",
)
@click.option(
    "--offscreen",
    is_flag=True,
    help="Full-screen kiosk rendered with no screen (for tests and screenshots).",
)
@click.option(
    "--scratch",
    is_flag=True,
    help="Try it out: run on a copy of the snapshots in a temporary folder, with a spool of "
    "its own that is thrown away at the end. The real spool is not touched.",
)
@click.pass_obj
def run(
    state: State,
    headless: bool,
    show: str,
    clock_start: str | None,
    language_code: str | None,
    offscreen: bool,
    scratch: bool,
) -> None:
    """Run the kiosk: full screen on the display, or --headless."""
    state.missing_data_folder_ok = True
    with scratch_copy(state.config) if scratch else nullcontext(state.config) as config:
        run_with(config, headless, show, clock_start, language_code, offscreen, scratch)


@contextmanager
def scratch_copy(config: KioskConfig) -> Iterator[KioskConfig]:
    """The config with its data folder replaced by a temporary one holding a copy of the
    snapshots (patrons and items): checkouts made there are thrown away at the end."""
    folder = Path(tempfile.mkdtemp(prefix="kiosk-scratch-"))
    try:
        for name in ("snapshots", "items"):
            if (config.data_dir / name).is_dir():
                shutil.copytree(config.data_dir / name, folder / name)
        click.echo(
            f"scratch: a copy of the snapshots of {config.data_dir} in {folder}; nothing is "
            "stored in the real spool, and the copy is removed at the end.",
            err=True,
        )
        kiosk = config.kiosk.model_copy(update={"spool_id": None, "data_dir": folder})
        yield config.model_copy(update={"kiosk": kiosk})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_with(
    config: KioskConfig,
    headless: bool,
    show: str,
    clock_start: str | None,
    language_code: str | None,
    offscreen: bool,
    scratch: bool = False,
) -> None:
    manual = ManualClock(parse_clock(clock_start, config.tz)) if clock_start else None
    if manual is not None and headless and not scratch:
        click.echo(
            f"note: --clock: checkouts are stored in {config.data_dir / SPOOL_FILE} with that "
            "clock's dates and times (--scratch tries it on a copy instead).",
            err=True,
        )
    clock: Clock = manual or SystemClock()
    if not headless:
        if manual is not None:
            raise click.UsageError("--clock works only with --headless")
        run_screen(config, clock, offscreen=offscreen)
        return
    # In dependency order (stopped in reverse): the lock on the data folder, the upload
    # watcher, the station; HeadlessRunner.run then starts the engine's loop and the scanners.
    with Parts() as parts:
        parts.enter(station_lock(config.data_dir, anchored=config.kiosk.spool_id is not None))
        parts.enter(upload_watcher(config, clock))
        runtime = build_runtime(config, clock)
        parts.on_stop("the station", runtime.close)
        text_screen = None
        if show == "text":
            settings = config.presenter_settings()
            language = load_language(language_code or settings.languages[0])
            text_screen = TextScreen(settings, language)
        status = DeviceStatus(config.data_dir)
        status.watch_errors()
        notifier = Notifier()
        runner = HeadlessRunner(
            runtime,
            sys.stdout,
            text_screen=text_screen,
            echo_input=text_screen is not None,
            manual_clock=manual,
            hub=build_hub(config, status),
            receipts=headless_receipts(config, status, language_code),
            on_ready=lambda: notifier.ready("headless: lending"),
            on_loop=notifier.watchdog,
            max_wait=notifier.watchdog_interval / 2 if notifier.watchdog_interval else None,
        )
        code = runner.run(sys.stdin.fileno())
    sys.exit(code)


class NoDisplay(KioskError):
    exit_code = os.EX_UNAVAILABLE  # 69


def run_screen(config: KioskConfig, clock: Clock, *, offscreen: bool) -> None:
    from kiosk.ui.env import NoDisplayError, prepare

    try:
        prepare(config.data_dir / "kivy", offscreen=offscreen)
    except NoDisplayError as exc:
        raise NoDisplay(str(exc)) from exc
    # In dependency order (stopped in reverse): the lock, the upload watcher, the station;
    # the app then starts the engine's loop and the scanners in its own Parts (on_start).
    with Parts() as parts:
        parts.enter(station_lock(config.data_dir, anchored=config.kiosk.spool_id is not None))
        parts.enter(upload_watcher(config, clock))
        from kiosk.ui.launch import build_app

        runtime = build_runtime(config, clock)  # the engine's thread closes it when it ends
        app = build_app(config, runtime, clock)
        app.run()
