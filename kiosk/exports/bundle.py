"""Handing the spool over on a drive: every export format plus a summary, each file read back
from the drive and checked before the checkouts count as handed over.

After each file is flushed, its cached pages are dropped (posix_fadvise DONTNEED), so the
read-back comes from the drive and not from memory where the kernel allows it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path

from kiosk.domain.checkout import SpooledCheckout
from kiosk.errors import ExportError
from kiosk.exports.formats import (
    FORMATS,
    RepeatedHourLine,
    koc_repeated_hour,
    render,
    repeated_hour_warning,
)
from kiosk.storage.files import atomic_writer, fsync_dir
from kiosk.storage.spool import ExportRecord, Spool

EXTENSIONS = {"koc": "koc", "csv": "csv", "jsonl": "jsonl", "evergreen": "xacts"}
SUMMARY_NAME = "SUMMARY.txt"


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    fmt: str  # a format, or "summary"
    sha256: str
    size: int
    checkouts: int


@dataclass(frozen=True)
class BundleResult:
    folder: Path | None  # None: nothing was pending, nothing written
    files: tuple[WrittenFile, ...]
    checkouts: int
    last_export: ExportRecord | None = None  # when nothing was pending: the last hand-over
    # .koc lines in the repeated hour of the autumn clock change (also in the summary)
    repeated_hour: tuple[RepeatedHourLine, ...] = ()


def _keys_back(fmt: str, data: bytes) -> list[tuple[str, str]]:
    """(patron, item) of every checkout in an export file, parsed back from its bytes."""
    text = data.decode("utf-8")
    if fmt == "koc":
        lines = text.splitlines()
        if not lines or not lines[0].startswith("Version=1.0\t"):
            raise ValueError("the .koc header is missing")
        out = []
        for line in lines[1:]:
            fields = line.split("\t")
            if len(fields) != 4 or fields[1] != "issue":
                raise ValueError(f"a .koc line does not read back: {line[:40]!r}")
            out.append((fields[2], fields[3]))
        return out
    if fmt == "csv":
        return [(row["patron"], row["item"]) for row in csv.DictReader(io.StringIO(text))]
    if fmt == "jsonl":
        return [
            (record["patron"], record["item"])
            for record in (json.loads(line) for line in text.splitlines())
        ]
    if fmt == "evergreen":
        return [
            (record["patron_barcode"], record["barcode"])
            for record in (json.loads(line) for line in text.split("\n")[:-1])
        ]
    raise ValueError(f"unknown format {fmt!r}")


def _write(path: Path, chunks: list[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with atomic_writer(path, mode=0o600) as handle:
        for data in chunks:
            digest.update(data)
            size += len(data)
            handle.write(data)
    return digest.hexdigest(), size


def _read_from_drive(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # clean pages: really dropped
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_bundle(
    spool: Spool,
    drive: Path,
    *,
    kiosk_id: str,
    library: str,
    now: datetime,
    tz: tzinfo | None = None,
) -> BundleResult:
    """Write the checkouts not handed over yet to a new folder on `drive`, read everything
    back, and only then record the hand-over in the spool. Raises ExportError (with nothing
    recorded) if anything could not be written or did not read back the same.

    tz: the library's time zone, for Evergreen's due dates; by default `now`'s zone, which
    must then be a real zone (a fixed UTC offset knows no daylight saving time)."""
    chosen: list[SpooledCheckout] = list(spool.checkouts(pending_only=True))
    if not chosen:
        exports = spool.exports()
        return BundleResult(None, (), 0, exports[-1] if exports else None)
    zone = tz or now.tzinfo
    if zone is None or (tz is None and isinstance(zone, timezone)):
        raise ExportError("the library's time zone is needed for Evergreen's due dates")
    stamp = now.strftime("%Y%m%d-%H%M%S")
    folder = drive / f"kiosk-{kiosk_id}-{stamp}"
    expected = [(c.checkout.patron, c.checkout.item) for c in chosen]
    repeated = koc_repeated_hour(chosen, zone)
    written: list[WrittenFile] = []
    try:
        folder.mkdir(parents=False, exist_ok=False)
        fsync_dir(drive)  # the new folder's entry on the drive: durable before anything counts
    except FileExistsError as exc:
        raise ExportError(f"{folder} already exists: try again in a second") from exc
    except OSError as exc:
        raise ExportError(
            f"the drive {drive} could not be written ({exc.strerror or exc}); "
            "nothing was marked as handed over"
        ) from exc
    try:
        for fmt in FORMATS:
            path = folder / f"{kiosk_id}-{stamp}.{EXTENSIONS[fmt]}"
            chunks = [text.encode("utf-8") for text in render(fmt, chosen, tz=zone)]
            sha, size = _write(path, chunks)
            back = _read_from_drive(path)
            if hashlib.sha256(back).hexdigest() != sha or _keys_back(fmt, back) != expected:
                raise ExportError(f"{path} did not read back the same: the drive may be failing")
            written.append(WrittenFile(path, fmt, sha, size, len(chosen)))
        summary = _summary(chosen, written, repeated, kiosk_id=kiosk_id, library=library, now=now)
        path = folder / SUMMARY_NAME
        data = summary.encode("utf-8")
        sha, size = _write(path, [data])
        if _read_from_drive(path) != data:
            raise ExportError(f"{path} did not read back the same: the drive may be failing")
        written.append(WrittenFile(path, "summary", sha, size, len(chosen)))
    except (OSError, ValueError, UnicodeDecodeError, ExportError) as exc:
        # A half-written hand-over must not look like a whole one: staff might import a
        # file that was fine from it and later export the same checkouts again.
        _remove_partial(folder)
        if isinstance(exc, ExportError):
            raise
        if isinstance(exc, OSError):
            raise ExportError(
                f"the drive {drive} could not be written ({exc.strerror or exc}); "
                "nothing was marked as handed over"
            ) from exc
        raise ExportError(f"an export file did not read back: {exc}") from exc
    # Each file was flushed with its folder entry (atomic_writer); the hand-over is recorded
    # only now, once everything on the drive would survive a power cut or a pulled stick.
    txn_ids = [c.txn_id for c in chosen]
    for file in written[:-1]:
        spool.record_export(file.fmt, str(file.path), file.sha256, txn_ids, now)
    return BundleResult(folder, tuple(written), len(chosen), repeated_hour=repeated)


def _remove_partial(folder: Path) -> None:
    """Remove this export's own files (never anything else) after a failed hand-over."""
    try:
        for path in folder.iterdir():
            path.unlink(missing_ok=True)
        folder.rmdir()
    except OSError:
        pass  # a drive pulled out mid-way: the summary is missing, so the folder reads as bad


def _summary(
    chosen: list[SpooledCheckout],
    files: list[WrittenFile],
    repeated: tuple[RepeatedHourLine, ...],
    *,
    kiosk_id: str,
    library: str,
    now: datetime,
) -> str:
    first, last = chosen[0], chosen[-1]
    patrons = len({c.checkout.patron for c in chosen})
    lines = [
        f"Offline checkouts from self-checkout {kiosk_id} ({library})",
        f"Exported: {now.isoformat(timespec='seconds')}",
        f"Checkouts: {len(chosen)} (sequence {first.seq} to {last.seq}), for {patrons} patrons",
        f"From {first.checkout.occurred_at.isoformat(timespec='seconds')} "
        f"to {last.checkout.occurred_at.isoformat(timespec='seconds')}",
        "",
        "The same checkouts, in each format (import ONE of them into the library system):",
    ]
    for file in files:
        lines.append(f"  {file.path.name}  {file.size} bytes  sha256 {file.sha256}")
    lines += [
        "",
        "Koha: Circulation > Offline circulation file upload (.koc).",
        *(f"  {line.strip()}" for line in repeated_hour_warning(repeated)),
        "Evergreen: Offline Circulation > Session Management > Import Transactions (.xacts),",
        "  then upload them to an offline session and process it.",
        "Other systems: the CSV (one row per checkout; txn_id is unique).",
        "Every file was read back from this drive after writing and matched.",
        "",
    ]
    return "\n".join(lines)
