"""End to end: `kiosk spool upload` to an ILS known to ignore SIP2's no-block ([ils] kind =
"evergreen", "folio") warns, and without a terminal refuses unless --yes; a generic ILS is sent
to as before. Real checkouts from `kiosk run --headless`, the real command, the test ILS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import KioskHome, item
from tests.e2e.test_upload_cli import ANA, BUILT, check_out, sip2_section, uploads
from tests.upload.ils import Library, ils

EX_USAGE = 2


@pytest.fixture
def ready(home: KioskHome) -> KioskHome:
    home.import_standard_snapshot(built_at=BUILT)
    return home


@pytest.fixture
def library() -> Library:
    return Library(patrons={ANA}, items={item(1), item(2)})


@pytest.fixture
def port(library: Library) -> Iterator[int]:
    with ils(library) as p:
        yield p


def test_evergreen_is_refused_without_yes_and_names_pending_xacts(
    ready: KioskHome, library: Library, port: int
) -> None:
    check_out(ready, item(1), item(2))
    ready.write_config(extra=sip2_section(port) + '\n[ils]\nkind = "evergreen"\n')

    refused = ready.kiosk("spool", "upload")
    assert refused.returncode == EX_USAGE, refused.stderr
    assert "Traceback" not in refused.stderr
    assert "Warning: Evergreen ignores SIP2's no-block" in refused.stderr
    assert "kiosk spool export --format evergreen" in refused.stderr
    assert "run it again with --yes" in refused.stderr
    assert library.logins == 0 and library.checkouts_seen == []
    assert uploads(ready) == {}

    sent = ready.kiosk("spool", "upload", "--yes")
    assert sent.returncode == 0, sent.stderr
    assert "Warning: Evergreen ignores SIP2's no-block" in sent.stderr  # said, then sent
    assert "2 accepted, 0 rejected" in sent.stdout
    assert [r.item_identifier for r in library.checkouts_seen] == [item(1), item(2)]


def test_folio_is_refused_without_yes_and_sent_with_allow_sip2_replay(
    ready: KioskHome, library: Library, port: int
) -> None:
    check_out(ready, item(1))
    ready.write_config(extra=sip2_section(port) + '\n[ils]\nkind = "folio"\n')

    refused = ready.kiosk("spool", "upload")
    assert refused.returncode == EX_USAGE, refused.stderr
    assert "FOLIO's edge-sip2 ignores SIP2's no-block" in refused.stderr
    assert library.checkouts_seen == []

    ready.write_config(
        extra=sip2_section(port) + '\n[ils]\nkind = "folio"\nallow_sip2_replay = true\n'
    )
    sent = ready.kiosk("spool", "upload")
    assert sent.returncode == 0, sent.stderr
    assert "1 accepted" in sent.stdout
    assert [r.item_identifier for r in library.checkouts_seen] == [item(1)]


@pytest.mark.parametrize("ils_section", ["", '\n[ils]\nkind = "generic"\n'])
def test_a_generic_ils_is_sent_to_as_before_without_a_warning(
    ready: KioskHome, library: Library, port: int, ils_section: str
) -> None:
    check_out(ready, item(1))
    ready.write_config(extra=sip2_section(port) + ils_section)

    sent = ready.kiosk("spool", "upload")
    assert sent.returncode == 0, sent.stderr
    assert "Warning" not in sent.stderr
    assert "1 accepted" in sent.stdout
    assert [r.item_identifier for r in library.checkouts_seen] == [item(1)]
