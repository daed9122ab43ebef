"""The reconciliation of this kiosk's current offline period, from its spool and the current
patron snapshot: for `kiosk spool reconcile` and the staff screen's status."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from kiosk.config import KioskConfig
from kiosk.domain.checkout import SpooledCheckout
from kiosk.domain.patrons import PatronRefusal, card_record, check_patron
from kiosk.errors import NoSnapshotError
from kiosk.exports.reconcile import Reconciliation, reconcile
from kiosk.storage.snapshot import SnapshotReader, SnapshotStore
from kiosk.storage.spool import Spool, UploadState


def _card_check(
    reader: SnapshotReader, config: KioskConfig, today: date
) -> Callable[[str], PatronRefusal | None]:
    policy = config.station_rules().patron_policy

    def check(barcode: str) -> PatronRefusal | None:
        record = card_record(barcode, reader.lookup(barcode), reader.mode)
        return check_patron(record, policy, today, outstanding=0)

    return check


def period_states(spool: Spool) -> list[UploadState]:
    """Every checkout of the current period with what the ILS made of it."""
    first = spool.current_period().first_seq
    return [s for s in spool.upload_states() if s.checkout.seq >= first]


def reconciled(
    config: KioskConfig,
    checkouts: Sequence[SpooledCheckout],
    *,
    now: datetime,
    sources: tuple[str, ...],
    states: Sequence[UploadState] | None,
) -> Reconciliation:
    """These checkouts reconciled against the current patron snapshot (and the ILS's answers
    when `states` are given)."""
    try:
        reader: SnapshotReader | None = SnapshotStore(config.data_dir).open_reader()
    except NoSnapshotError as exc:
        reader, snapshot = None, f"nothing: {exc}"
    try:
        check = None
        if reader is not None:
            built = reader.info.built_at.astimezone(config.tz)
            snapshot = f"the patron snapshot built {built:%Y-%m-%d %H:%M}"
            check = _card_check(reader, config, now.date())
        return reconcile(
            checkouts,
            made_at=now,
            sources=sources,
            card_check=check,
            snapshot=snapshot,
            upload_states=states,
        )
    finally:
        if reader is not None:
            reader.close()


def period_reconciliation(config: KioskConfig, spool: Spool, now: datetime) -> Reconciliation:
    """This kiosk's current period, from its spool."""
    states = period_states(spool)
    return reconciled(
        config,
        [s.checkout for s in states],
        now=now.astimezone(config.tz),
        sources=(f"the spool of {config.kiosk.id} (this period)",),
        states=states,
    )
