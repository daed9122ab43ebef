"""Running an upload from the config: the `kiosk spool upload` command, the staff screen and
the kiosk's own watcher (sip2.auto_upload) all come through here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.config import KioskConfig, Sip2Section
from kiosk.errors import KioskError
from kiosk.runtime.devices import read_status
from kiosk.storage.audit import AuditLog
from kiosk.storage.spool import Spool, UploadRun
from kiosk.upload.client import Connector, Endpoint, connect
from kiosk.upload.replay import Account, Tally, upload
from kiosk.upload.report import Report, build_report, write_report

log = logging.getLogger(__name__)

REPORTS = "reports"


class NotConfigured(KioskError):
    exit_code = 78


@dataclass(frozen=True)
class UploadOutcome:
    run: UploadRun
    tally: Tally
    report: Report
    files: tuple[Path, Path]


def endpoint(section: Sip2Section) -> Endpoint:
    return Endpoint(
        host=section.host,
        port=section.port,
        tls=section.tls,
        ca_file=section.ca_file,
        timeout=section.timeout_seconds,
        retries=section.retries,
        encoding=section.encoding,
        error_detection=section.error_detection,
    )


def account(section: Sip2Section) -> Account:
    return Account(
        login_user=section.login_user,
        login_password=section.password(),
        location=section.location,
        institution=section.institution,
        terminal_password=section.terminal_password,
    )


def _paper_out(config: KioskConfig) -> bool:
    printer = (read_status(config.data_dir) or {}).get("printer") or {}
    return bool(printer.get("state") == "paper_out")


def replay_refusal(config: KioskConfig) -> str | None:
    """Why an upload nobody confirms (the watcher, the staff screen) must not go by SIP2: the
    ILS (`[ils] kind`) is known to ignore no-block or drop a date, and `[ils]
    allow_sip2_replay` is not set. None: it may go."""
    warning = config.ils.profile().replay_warning()
    if warning is None or config.ils.allow_sip2_replay:
        return None
    return warning


def current_report(
    spool: Spool, config: KioskConfig, made_at: datetime, tally: Tally | None = None
) -> Report:
    """The period's report; with the `tally` of the upload just run, what it found too (an
    answer in another encoding, why it stopped), which the spool does not keep."""
    first = spool.current_period().first_seq
    states = [s for s in spool.upload_states() if s.checkout.seq >= first]
    notes: tuple[str, ...] = ()
    if tally is not None and config.sip2 is not None:
        notes = (tally.encoding_advice(config.sip2.encoding),)
    return build_report(
        states,
        kiosk_id=config.kiosk.id,
        run=spool.last_upload_run(),
        made_at=made_at,
        notes=notes,
        stop_advice=tally.stop_advice() if tally is not None else "",
    )


def run_upload(
    config: KioskConfig,
    *,
    actor: str,
    now: Callable[[], datetime],
    retry_rejected: bool = False,
    connector: Connector = connect,
    on_progress: Callable[[int, int], None] | None = None,
) -> UploadOutcome:
    section = config.sip2
    if section is None:
        raise NotConfigured("no [sip2] section in the config: there is no ILS to upload to")

    def local() -> datetime:  # the library's local time: SIP2 dates are local
        return now().astimezone(config.tz)

    spool = Spool.open(config.data_dir, anchor=config.kiosk.spool_id)
    try:
        run, tally = upload(
            spool,
            endpoint(section),
            account(section),
            now=local,
            zone=config.tz,
            paper_out=_paper_out(config),
            reconnects=section.reconnects,
            retry_rejected=retry_rejected,
            connector=connector,
            on_progress=on_progress,
        )
        report = current_report(spool, config, local(), tally)
    finally:
        spool.close()
    files = write_report(report, config.data_dir / REPORTS)
    details: dict[str, object] = {
        "target": run.target,
        "accepted": run.accepted,
        "rejected": run.rejected,
        "still_pending": run.still_pending,
        "report": str(files[1]),
    }
    if run.error:
        details["error"] = run.error
    try:
        AuditLog(config.data_dir, anchored=config.kiosk.spool_id is not None).append(
            "spool.upload", actor=actor, at=local(), details=details
        )
    except KioskError as exc:
        log.error("the audit trail could not be written: %s", exc)
    return UploadOutcome(run, tally, report, files)


class UploadWatcher:
    """sip2.auto_upload: while the kiosk runs, every check interval, if checkouts wait to be
    sent, try the ILS; when it answers again they go up by themselves."""

    def __init__(
        self, config: KioskConfig, now: Callable[[], datetime], connector: Connector = connect
    ) -> None:
        assert config.sip2 is not None
        self.config = config
        self.interval = config.sip2.check_interval_seconds
        self._now = now
        self._connector = connector
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="upload", daemon=True)
        self.last: UploadOutcome | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _waiting(self) -> int:
        spool = Spool.open(self.config.data_dir, anchor=self.config.kiosk.spool_id)
        try:
            return spool.to_send_count()
        finally:
            spool.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self._waiting():
                    continue
                self.last = run_upload(
                    self.config, actor="kiosk", now=self._now, connector=self._connector
                )
                run = self.last.run
                if run.error:
                    log.info("automatic upload: the ILS is not there yet (%s)", run.error)
                else:
                    log.info(
                        "automatic upload: %d accepted, %d rejected", run.accepted, run.rejected
                    )
            except KioskError as exc:
                log.warning("automatic upload failed: %s", exc)
            except Exception:  # the watcher must never take the kiosk down
                log.exception("automatic upload failed")
