"""Signed snapshots through the real command: `kiosk snapshot keygen` and `sign` where the
file is built, `kiosk snapshot fetch` on the kiosk, from a folder (snapshot.source) or over
HTTPS (snapshot.url, a real TLS server on 127.0.0.1 with a certificate from a test CA). A file
that is not exactly what was signed is refused and the current snapshot stays active."""

from __future__ import annotations

import hashlib
import json
import os
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from kiosk.storage.snapshot import SnapshotInfo, SnapshotStore
from kiosk.storage.swap import POINTER
from tests.conftest import KioskHome, patron, standard_csv

EX_DATAERR = 65  # refused: not what was signed
EX_NOINPUT = 66  # could not be fetched


@dataclass(frozen=True)
class Key:
    pem: Path
    public: str


def make_key(home: KioskHome, folder: Path) -> Key:
    result = home.kiosk("snapshot", "keygen", "--out", str(folder))
    assert result.returncode == 0, result.stderr
    match = re.search(r'^public_key = "([A-Za-z0-9+/=]+)"$', result.stdout, re.MULTILINE)
    assert match, result.stdout
    return Key(folder / "snapshot-signing.pem", match.group(1))


def sign(home: KioskHome, key: Key, file: Path) -> Path:
    result = home.kiosk("snapshot", "sign", "--key", str(key.pem), str(file))
    assert result.returncode == 0, result.stderr
    signature = file.with_name(file.name + ".sig")
    assert f"Signed: {signature}" in result.stdout
    return signature


def configure(home: KioskHome, **snapshot: str) -> None:
    """The test config with these keys added to its [snapshot] table."""
    home.write_config()
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in snapshot.items())
    text = home.config_path.read_text(encoding="utf-8")
    assert "[snapshot]\n" in text
    home.config_path.write_text(text.replace("[snapshot]\n", "[snapshot]\n" + lines, 1), "utf-8")


def new_export(folder: Path) -> Path:
    """This morning's export: the standard patrons and one more."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "patrons.csv"
    path.write_text(standard_csv() + f'{patron(9)},"Park, Jin",0.00,ok,2099-01-01\n', "utf-8")
    return path


def current(home: KioskHome) -> SnapshotInfo:
    info = SnapshotStore(home.data_dir).current()
    assert info is not None
    return info


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def change_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(b"Rivera") + len("Rivera") - 1
    data[at] = ord("o")  # Rivera -> Rivero: still a perfectly good row
    path.write_bytes(bytes(data))


@pytest.fixture
def old(home: KioskHome) -> SnapshotInfo:
    """Yesterday's snapshot, active before each fetch."""
    home.import_standard_snapshot()
    return current(home)


@pytest.fixture
def key(home: KioskHome, tmp_path: Path) -> Key:
    return make_key(home, tmp_path / "keys")


def assert_still_active(home: KioskHome, old: SnapshotInfo) -> None:
    assert current(home) == old
    info = home.kiosk("snapshot", "info")
    assert info.returncode == 0, info.stderr
    assert old.sha256 in info.stdout


# From a folder (snapshot.source) ---------------------------------------------------------


def test_a_good_signature_is_imported(
    home: KioskHome, old: SnapshotInfo, key: Key, tmp_path: Path
) -> None:
    export = new_export(tmp_path / "share")
    sign(home, key, export)
    configure(home, source=str(export), public_key=key.public)
    result = home.kiosk("snapshot", "fetch")
    assert result.returncode == 0, result.stderr
    assert f"Imported 9 patrons from {export}." in result.stdout
    now = current(home)
    assert (now.sha256, now.rows) == (sha256(export), 9)
    assert now.sha256 != old.sha256
    audit = home.kiosk("audit", "show")
    assert re.search(rf"timer\s+snapshot\.import\s+source={re.escape(str(export))}", audit.stdout)


def test_one_changed_byte_is_refused_and_the_old_snapshot_stays(
    home: KioskHome, old: SnapshotInfo, key: Key, tmp_path: Path
) -> None:
    export = new_export(tmp_path / "share")
    sign(home, key, export)
    change_one_byte(export)
    configure(home, source=str(export), public_key=key.public)
    result = home.kiosk("snapshot", "fetch")
    assert result.returncode == EX_DATAERR, result.stderr
    assert "does not match its signature" in result.stderr
    assert "Traceback" not in result.stderr
    assert_still_active(home, old)
    audit = home.kiosk("audit", "show")
    assert "refused=" in audit.stdout and "does not match its signature" in audit.stdout


def test_a_signature_made_with_another_key_is_refused(
    home: KioskHome, old: SnapshotInfo, key: Key, tmp_path: Path
) -> None:
    other = make_key(home, tmp_path / "other-keys")
    export = new_export(tmp_path / "share")
    sign(home, other, export)
    configure(home, source=str(export), public_key=key.public)
    result = home.kiosk("snapshot", "fetch")
    assert result.returncode == EX_DATAERR, result.stderr
    assert "does not match its signature" in result.stderr
    assert_still_active(home, old)


def test_a_missing_signature_is_refused(
    home: KioskHome, old: SnapshotInfo, key: Key, tmp_path: Path
) -> None:
    export = new_export(tmp_path / "share")
    sign(home, key, export).unlink()
    configure(home, source=str(export), public_key=key.public)
    result = home.kiosk("snapshot", "fetch")
    assert result.returncode == EX_DATAERR, result.stderr
    assert "patrons.csv is not signed (patrons.csv.sig is missing)" in result.stderr
    assert_still_active(home, old)


def test_without_a_public_key_an_unsigned_snapshot_is_imported(
    home: KioskHome, old: SnapshotInfo, tmp_path: Path
) -> None:
    export = new_export(tmp_path / "share")
    change_one_byte(export)  # nothing to compare it with: any good file is taken
    configure(home, source=str(export))
    result = home.kiosk("snapshot", "fetch")
    assert result.returncode == 0, result.stderr
    assert current(home).sha256 == sha256(export) != old.sha256


def test_keygen_keeps_the_private_key_private_and_never_replaces_it(
    home: KioskHome, key: Key
) -> None:
    assert key.pem.stat().st_mode & 0o777 == 0o600
    assert key.pem.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    before = key.pem.read_bytes()
    again = home.kiosk("snapshot", "keygen", "--out", str(key.pem.parent))
    assert again.returncode == 2
    assert "exists already" in again.stderr
    assert key.pem.read_bytes() == before


def test_a_public_key_that_is_not_one_is_a_config_error(home: KioskHome) -> None:
    configure(home, public_key="not-a-key")
    result = home.kiosk("config", "check")
    assert result.returncode == 78
    assert "snapshot.public_key" in result.stderr


# Over HTTPS (snapshot.url) ---------------------------------------------------------------


@dataclass
class Site:
    base: str
    folder: Path
    requests: list[str]


@contextmanager
def https_site(folder: Path, cert: trustme.LeafCert) -> Iterator[Site]:
    """A real HTTPS server on 127.0.0.1 serving `folder`, stopped afterwards."""
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"https://127.0.0.1:{server.server_address[1]}", folder, requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trust(ca: trustme.CA, tmp_path: Path) -> dict[str, str]:
    """The kiosk's environment: it trusts the test CA and nothing else."""
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    empty = tmp_path / "no-other-cas"
    empty.mkdir()
    return {"SSL_CERT_FILE": str(pem), "SSL_CERT_DIR": str(empty), "no_proxy": "*"}


@pytest.fixture
def site(ca: trustme.CA, tmp_path: Path) -> Iterator[Site]:
    with https_site(tmp_path / "www", ca.issue_cert("127.0.0.1")) as served:
        yield served


def test_a_signed_snapshot_is_fetched_over_https(
    home: KioskHome, old: SnapshotInfo, key: Key, site: Site, trust: dict[str, str]
) -> None:
    export = new_export(site.folder)
    sign(home, key, export)
    url = f"{site.base}/patrons.csv"
    configure(home, url=url, public_key=key.public)
    result = home.kiosk("snapshot", "fetch", env=trust)
    assert result.returncode == 0, result.stderr
    assert f"Imported 9 patrons from {url}." in result.stdout
    assert site.requests == ["/patrons.csv", "/patrons.csv.sig"]
    assert current(home).sha256 == sha256(export) != old.sha256
    assert not (home.data_dir / "incoming").exists()  # the download is not left lying about


def test_a_file_changed_after_signing_is_refused_over_https(
    home: KioskHome, old: SnapshotInfo, key: Key, site: Site, trust: dict[str, str]
) -> None:
    export = new_export(site.folder)
    sign(home, key, export)
    change_one_byte(export)
    configure(home, url=f"{site.base}/patrons.csv", public_key=key.public)
    result = home.kiosk("snapshot", "fetch", env=trust)
    assert result.returncode == EX_DATAERR, result.stderr
    assert "does not match its signature" in result.stderr
    assert_still_active(home, old)
    assert not (home.data_dir / "incoming").exists()


def test_no_signature_on_the_server_is_refused(
    home: KioskHome, old: SnapshotInfo, key: Key, site: Site, trust: dict[str, str]
) -> None:
    export = new_export(site.folder)
    sign(home, key, export).unlink()
    configure(home, url=f"{site.base}/patrons.csv", public_key=key.public)
    result = home.kiosk("snapshot", "fetch", env=trust)
    assert result.returncode == EX_DATAERR, result.stderr
    assert "is not signed" in result.stderr
    assert site.requests == ["/patrons.csv", "/patrons.csv.sig"]
    assert_still_active(home, old)


def test_a_file_the_server_does_not_have_is_refused(
    home: KioskHome, old: SnapshotInfo, key: Key, site: Site, trust: dict[str, str]
) -> None:
    new_export(site.folder)
    url = f"{site.base}/missing.csv"
    configure(home, url=url, public_key=key.public)
    result = home.kiosk("snapshot", "fetch", env=trust)
    assert result.returncode == EX_NOINPUT, result.stderr
    assert f"{url}: the server answered 404" in result.stderr
    assert site.requests == ["/missing.csv"]
    assert_still_active(home, old)
    assert (home.data_dir / "snapshots" / POINTER).exists()


def test_a_server_whose_certificate_is_not_trusted_is_refused(
    home: KioskHome, old: SnapshotInfo, key: Key, tmp_path: Path, trust: dict[str, str]
) -> None:
    stranger = trustme.CA()  # not the CA the kiosk trusts
    with https_site(tmp_path / "www", stranger.issue_cert("127.0.0.1")) as site:
        export = new_export(site.folder)
        sign(home, key, export)
        configure(home, url=f"{site.base}/patrons.csv", public_key=key.public)
        result = home.kiosk("snapshot", "fetch", env=trust)
        assert site.requests == []  # no request was sent over the untrusted connection
    assert result.returncode == EX_NOINPUT, result.stderr
    assert "certificate verify failed" in result.stderr
    assert_still_active(home, old)


def three_days_old(path: Path) -> datetime:
    """Make the export look like the one the library system wrote three days ago (its
    nightly job stopped): snapshot.max_age_hours exists to catch exactly that."""
    stamp = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    os.utime(path, (stamp.timestamp(), stamp.timestamp()))
    return stamp


def test_a_stale_export_on_the_share_keeps_its_age(
    home: KioskHome, old: SnapshotInfo, key: Key, tmp_path: Path
) -> None:
    export = new_export(tmp_path / "share")
    sign(home, key, export)
    built = three_days_old(export)
    configure(home, source=str(export), public_key=key.public)
    assert home.kiosk("snapshot", "fetch").returncode == 0
    assert current(home).built_at == built


def test_a_stale_export_fetched_over_https_keeps_its_age(
    home: KioskHome, old: SnapshotInfo, key: Key, site: Site, trust: dict[str, str]
) -> None:
    """The server says when the file was last changed (Last-Modified); the download's own
    modification time is now, and taking that would make a three-day-old export look fresh
    and defeat snapshot.max_age_hours."""
    export = new_export(site.folder)
    sign(home, key, export)
    built = three_days_old(export)
    configure(home, url=f"{site.base}/patrons.csv", public_key=key.public)
    result = home.kiosk("snapshot", "fetch", env=trust)
    assert result.returncode == 0, result.stderr
    assert current(home).built_at == built
