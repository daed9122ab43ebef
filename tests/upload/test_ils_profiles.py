"""`[ils] kind`: what the kiosk knows about a library system's handling of a replayed SIP2
checkout, and how the staff screen and the upload watcher refuse to replay to one known to drop
the patron's dates unless `[ils] allow_sip2_replay` says so. A real config, a real spool, the
test ILS on 127.0.0.1."""

from __future__ import annotations

import io
import logging
import typing
from datetime import UTC, date, datetime

import pytest

from kiosk.cli.run import upload_watcher
from kiosk.cli.upload import _confirm_replay
from kiosk.config import IlsSection, KioskConfig, load_config, parse_config
from kiosk.domain.checkout import Checkout
from kiosk.domain.ils_profiles import KINDS, PROFILES, Known, profile
from kiosk.errors import ConfigError
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.staff import StaffDesk
from kiosk.runtime.uploads import replay_refusal
from kiosk.storage.spool import Spool
from tests.conftest import KioskHome, item, patron
from tests.test_config import contract_text
from tests.upload.ils import Library, ils

ANA = patron(1)
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def configured(
    home: KioskHome, port: int, ils_section: str, *, auto: bool = False, lend: bool = True
) -> KioskConfig:
    """The config with [sip2] and `ils_section`; with `lend`, Ana borrows item 1 as well."""
    home.write_config(
        extra=f"""
[sip2]
host = "127.0.0.1"
port = {port}
institution = "MAIN"
login_user = "kiosk1"
login_password = "secret"
timeout_seconds = 5
auto_upload = {"true" if auto else "false"}

{ils_section}
"""
    )
    config = load_config(home.config_path)
    if not lend:
        return config
    spool = Spool.open(config.data_dir, create=True)
    try:
        spool.record_checkout(
            Checkout(
                session_id="s1",
                patron=ANA,
                item=item(1),
                due_date=date(2026, 12, 14),
                special_due=False,
                occurred_at=T0,
            ),
            config.kiosk.id,
            config.tz,
        )
    finally:
        spool.close()
    return config


# The profiles, as data -------------------------------------------------------------------------


def test_the_config_offers_every_profile_and_nothing_else() -> None:
    allowed = typing.get_args(IlsSection.model_fields["kind"].annotation)
    assert set(allowed) == set(KINDS)


@pytest.mark.parametrize("kind", ["evergreen", "folio", "koha"])
def test_an_ils_known_to_drop_a_date_warns_and_names_the_better_route(kind: str) -> None:
    p = profile(kind)
    warning = p.replay_warning()
    assert warning is not None
    assert p.better_route in warning
    assert Known.NO in (p.no_block, p.keeps_checkout_time, p.keeps_due_date)


@pytest.mark.parametrize("kind", ["generic", "polaris", "sierra"])
def test_an_ils_of_unknown_behaviour_does_not_warn(kind: str) -> None:
    assert profile(kind).replay_warning() is None
    assert profile(kind).no_block is Known.UNKNOWN


def test_the_file_routes_are_the_ones_that_keep_the_dates() -> None:
    assert PROFILES["koha"].export_format == "koc"
    assert PROFILES["evergreen"].export_format == "evergreen"
    assert "kiosk spool export --format evergreen" in PROFILES["evergreen"].better_route
    assert PROFILES["evergreen"].no_block is Known.NO
    assert PROFILES["koha"].no_block is Known.YES
    assert PROFILES["koha"].keeps_checkout_time is Known.NO


# The config --------------------------------------------------------------------------------------


def test_ils_defaults_to_generic_and_no_replay_consent() -> None:
    config = parse_config(contract_text(), "kiosk.toml")
    assert config.ils.kind == "generic"
    assert config.ils.allow_sip2_replay is False
    assert config.ils.profile() is PROFILES["generic"]


def test_ils_kind_is_read_and_an_unknown_kind_is_an_error() -> None:
    config = parse_config(
        contract_text() + '\n[ils]\nkind = "evergreen"\nallow_sip2_replay = true\n', "kiosk.toml"
    )
    assert config.ils.profile().name == "Evergreen"
    assert config.ils.allow_sip2_replay
    with pytest.raises(ConfigError) as caught:
        parse_config(contract_text() + '\n[ils]\nkind = "alma"\n', "kiosk.toml")
    assert any(p.startswith("ils.kind") for p in caught.value.problems), caught.value.problems


def test_config_check_warns_that_auto_upload_will_not_replay_to_evergreen(
    home: KioskHome,
) -> None:
    configured(home, 6001, '[ils]\nkind = "evergreen"', auto=True)
    result = home.kiosk("config", "check")
    assert result.returncode == 0, result.stderr
    assert "sip2.auto_upload: the kiosk will not upload by itself" in result.stderr
    assert "allow_sip2_replay = true" in result.stderr

    configured(
        home, 6001, '[ils]\nkind = "evergreen"\nallow_sip2_replay = true', auto=True, lend=False
    )
    result = home.kiosk("config", "check")
    assert result.returncode == 0, result.stderr
    assert "auto_upload" not in result.stderr


# The staff screen and the watcher ------------------------------------------------------------


def test_the_staff_screen_does_not_replay_to_evergreen_without_consent(home: KioskHome) -> None:
    lib = Library(patrons={ANA}, items={item(1)})
    with ils(lib) as port:
        config = configured(home, port, '[ils]\nkind = "evergreen"')
        desk = StaffDesk(config, actor="staff:test", now=ManualClock(T0).now)
        refused = desk.upload()
        assert not refused.ok
        assert "Nothing was sent" in refused.message
        assert any("pending.xacts" in line for line in refused.lines)
        assert lib.checkouts_seen == []

        config = configured(
            home, port, '[ils]\nkind = "evergreen"\nallow_sip2_replay = true', lend=False
        )
        sent = StaffDesk(config, actor="staff:test", now=ManualClock(T0).now).upload()
    assert sent.ok, sent
    assert [r.item_identifier for r in lib.checkouts_seen] == [item(1)]


def test_the_staff_screen_uploads_to_a_generic_ils_as_before(home: KioskHome) -> None:
    lib = Library(patrons={ANA}, items={item(1)})
    with ils(lib) as port:
        config = configured(home, port, "")
        assert replay_refusal(config) is None
        sent = StaffDesk(config, actor="staff:test", now=ManualClock(T0).now).upload()
    assert sent.ok, sent
    assert len(lib.checkouts_seen) == 1


def test_the_watcher_refuses_to_start_for_folio_without_consent(
    home: KioskHome, caplog: pytest.LogCaptureFixture
) -> None:
    config = configured(home, 6001, '[ils]\nkind = "folio"', auto=True)
    caplog.set_level(logging.ERROR, logger="kiosk")
    with upload_watcher(config, ManualClock(T0)):
        pass
    assert "will not upload by itself" in caplog.text
    assert "FOLIO" in caplog.text

    caplog.clear()
    consenting = configured(
        home, 6001, '[ils]\nkind = "folio"\nallow_sip2_replay = true', lend=False
    )
    assert replay_refusal(consenting) is None


# At a terminal, `kiosk spool upload` asks -------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "goes"), [("y\n", True), ("n\n", False), ("\n", False)])
def test_at_a_terminal_staff_are_asked_before_a_replay_to_evergreen(
    home: KioskHome,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    goes: bool,
) -> None:
    config = configured(home, 6001, '[ils]\nkind = "evergreen"', lend=False)
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    assert _confirm_replay(config, yes=False) is goes
    said = capsys.readouterr()
    assert "Warning: Evergreen ignores SIP2's no-block" in said.err
    assert "Send them by SIP2 all the same? [y/N]" in said.err
    if not goes:
        assert "Nothing was sent. Use Evergreen's offline transactions file" in said.out
