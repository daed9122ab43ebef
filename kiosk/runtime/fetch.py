"""Getting the morning's patron snapshot from where the library puts it: a file on a mounted
share (snapshot.source) or an HTTPS address (snapshot.url), its signature checked when a
public key is configured, then imported with the usual checks and atomic swap. Any failure
leaves the current snapshot active."""

from __future__ import annotations

import email.utils
import shutil
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.errors import InputFileError, KioskError
from kiosk.storage.files import private_dir
from kiosk.storage.signing import SUFFIX, public_key, signed_check
from kiosk.storage.snapshot import ImportReport, SnapshotStore

INCOMING = "incoming"
MAX_DOWNLOAD = 4 * 1024**3  # a patron export is never this large: stop a runaway download
TIMEOUT = 60


class NothingToFetch(KioskError):
    exit_code = 78


def _download(url: str, target: Path, *, required: bool) -> datetime | bool | None:
    """url -> target (0600). Returns the server's Last-Modified time (None if it sends
    none), or False when the server has no such file and it is not `required`.
    Certificates are checked against the system's authorities."""
    request = urllib.request.Request(url, headers={"User-Agent": "offline-kiosk"})  # noqa: S310
    try:
        with (
            urllib.request.urlopen(  # noqa: S310 (https only: checked by the config)
                request, timeout=TIMEOUT, context=ssl.create_default_context()
            ) as answer,
            target.open("wb") as out,
        ):
            target.chmod(0o600)
            modified = _last_modified(answer.headers.get("Last-Modified"))
            copied = 0
            while chunk := answer.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_DOWNLOAD:
                    raise InputFileError(f"{url}: larger than {MAX_DOWNLOAD // 1024**3} GB")
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        target.unlink(missing_ok=True)
        if exc.code == 404 and not required:
            return False
        raise InputFileError(f"{url}: the server answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        target.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise InputFileError(f"{url}: could not be fetched: {reason}") from exc
    return modified


def _last_modified(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def fetch_snapshot(
    config: KioskConfig,
    *,
    now: Callable[[], datetime],
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    snapshot = config.snapshot
    key = public_key(snapshot.public_key) if snapshot.public_key else None
    incoming = config.data_dir / INCOMING
    built_at: datetime | None = None  # None: the file's modification time
    if snapshot.url is None and snapshot.source is None:
        raise NothingToFetch("no snapshot location is configured (snapshot.source or snapshot.url)")
    try:
        if snapshot.url:
            private_dir(incoming)
            name = snapshot.url.rstrip("/").rsplit("/", 1)[-1] or "patrons.csv"
            source = incoming / name
            signature = incoming / (name + SUFFIX)
            signature.unlink(missing_ok=True)
            modified = _download(snapshot.url, source, required=True)
            # An export the ILS stopped refreshing must keep its age (max_age_hours): the
            # server's Last-Modified, not the moment it was downloaded.
            built_at = modified if isinstance(modified, datetime) else now()
            if key is not None:
                _download(snapshot.url + SUFFIX, signature, required=False)
        else:
            assert snapshot.source is not None
            source = snapshot.source
            signature = source.with_name(source.name + SUFFIX)
        if key is not None and not source.exists():
            raise InputFileError(f"{source}: file not found")
        return SnapshotStore(config.data_dir).import_file(
            source,
            patron_rule=config.barcode_rules().patron,
            file_format=snapshot.file_format(),
            built_at=built_at,
            now=now(),
            max_bad_percent=snapshot.max_bad_rows_percent,
            progress=progress,
            verify=None if key is None else signed_check(source, key, signature),
        )
    finally:
        if snapshot.url:
            shutil.rmtree(incoming, ignore_errors=True)  # the imported copy is in the snapshot
