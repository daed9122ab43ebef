"""Writing an export file safely and remembering it in the spool."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from kiosk.domain.checkout import SpooledCheckout
from kiosk.errors import ExportError
from kiosk.exports.formats import RENDERERS, RepeatedHourLine, koc_repeated_hour, render
from kiosk.storage.files import atomic_writer
from kiosk.storage.spool import ExportRecord, Spool


@dataclass(frozen=True)
class ExportResult:
    record: ExportRecord | None  # None: nothing to export
    exported_before: int  # how many of these checkouts were in an earlier export
    pending_total: int
    earlier_exports: tuple[ExportRecord, ...] = ()  # the exports that already held some
    # .koc lines in the repeated hour of the autumn clock change: Koha dates some an hour late
    repeated_hour: tuple[RepeatedHourLine, ...] = ()


def refuse_unsafe_target(out: Path) -> None:
    """An export never replaces a file (it may be the only copy of checkouts the spool now
    counts as handed over) and never makes a folder (a drive that is not mounted would get
    the file on the kiosk's own disk instead)."""
    if out.exists() or out.is_symlink():
        raise ExportError(
            f"{out} exists already: it may hold checkouts not imported yet. Import it into "
            "the library system and move it away, or give another --out name; nothing was "
            "exported"
        )
    if out.parent.exists() and not out.parent.is_dir():
        raise ExportError(f"{out.parent} is not a folder; nothing was exported")
    if not out.parent.is_dir():
        raise ExportError(
            f"the folder {out.parent} does not exist (is the drive plugged in and mounted?); "
            "nothing was exported"
        )


def export_spool(
    spool: Spool,
    fmt: str,
    out: Path,
    *,
    include_all: bool,
    now: datetime,
    tz: tzinfo | None = None,
) -> ExportResult:
    """Write the checkouts not yet handed over (or all of them) to `out` in `fmt`.

    tz: the library's time zone; the Evergreen format needs it for its due dates.

    The file appears whole or not at all; the spool records the export only after the file
    is on disk. Nothing is ever deleted from the spool.
    """
    if fmt not in RENDERERS:
        raise ExportError(f"unknown export format {fmt!r} (use {', '.join(RENDERERS)})")
    refuse_unsafe_target(out)
    chosen: list[SpooledCheckout] = list(spool.checkouts(pending_only=not include_all))
    pending_total = sum(1 for c in chosen if c.handed_over_at is None)
    if not chosen:
        return ExportResult(None, 0, 0)
    before = [c.txn_id for c in chosen if c.handed_over_at is not None]
    earlier = {e: None for found in spool.exports_of(before).values() for e in found}
    digest = hashlib.sha256()
    try:
        with atomic_writer(out, mode=0o600) as handle:
            for text in render(fmt, chosen, tz=tz):
                data = text.encode("utf-8")
                digest.update(data)
                handle.write(data)
    except OSError as exc:
        raise ExportError(f"{out}: could not be written: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a value the format cannot carry; nothing was written
        raise ExportError(f"{out}: not written: {exc}") from exc
    record = spool.record_export(
        fmt, str(out.resolve()), digest.hexdigest(), [c.txn_id for c in chosen], now
    )
    ordered = tuple(sorted(earlier, key=lambda e: e.exported_at))
    repeated = koc_repeated_hour(chosen, tz) if fmt == "koc" else ()
    return ExportResult(record, len(before), pending_total, ordered, repeated)
