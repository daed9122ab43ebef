"""`kiosk spool init` names the spool in the config (kiosk.spool_id), outside the data
folder: a data folder that vanished (an unmounted partition, a deleted folder) is then
refused by every command and by the running kiosk, never given a new, empty spool."""

from __future__ import annotations

import shutil

import pytest

from kiosk.config import load_config
from tests.conftest import KioskHome, item, patron


@pytest.fixture
def set_up(home: KioskHome) -> KioskHome:
    home.import_standard_snapshot()
    done = home.kiosk("spool", "init")
    assert done.returncode == 0, done.stderr
    return home


def test_init_creates_the_spool_names_it_in_the_config_and_audits_it(set_up: KioskHome) -> None:
    spool_id = load_config(set_up.config_path).kiosk.spool_id
    assert spool_id is not None
    assert (set_up.data_dir / "spool.id").read_text(encoding="utf-8").strip() == spool_id
    shown = set_up.kiosk("audit", "show").stdout
    assert "spool.created" in shown and spool_id in shown
    again = set_up.kiosk("spool", "init")
    assert again.returncode == 0, again.stderr
    assert "set up already" in again.stdout
    assert load_config(set_up.config_path).kiosk.spool_id == spool_id


def test_init_takes_a_spool_that_exists(home: KioskHome) -> None:
    home.import_standard_snapshot()
    lent = home.kiosk("run", "--headless", input=f"{patron(1)}\n{item(1)}\n@done\n")
    assert lent.returncode == 0, lent.stderr
    existing = (home.data_dir / "spool.id").read_text(encoding="utf-8").strip()
    done = home.kiosk("spool", "init")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Took the existing spool")
    assert load_config(home.config_path).kiosk.spool_id == existing
    assert "spool.adopted" in home.kiosk("audit", "show").stdout


def test_a_vanished_data_folder_is_never_given_an_empty_spool(set_up: KioskHome) -> None:
    spool_id = load_config(set_up.config_path).kiosk.spool_id
    shutil.rmtree(set_up.data_dir)
    for command in (["staff", "pause"], ["spool", "list"], ["spool", "info"]):
        result = set_up.kiosk(*command)
        said = result.stdout + result.stderr
        assert "is missing, but this kiosk was set up with" in said, (command, said)
        assert f"(kiosk.spool_id = {spool_id})" in said, (command, said)
        assert not (set_up.data_dir / "spool.db").exists()
    run = set_up.kiosk("run", "--headless", input=f"{patron(1)}\n@done\n")
    assert run.returncode == 0, run.stderr
    # (the log masks long digit runs, and an id may have one)
    assert "is missing, but this kiosk was set up with one (kiosk.spool_id = " in run.stderr
    assert '"screen": "out_of_service"' in run.stdout or "out_of_service" in run.stdout
    assert not (set_up.data_dir / "spool.db").exists()


def test_a_data_folder_with_another_spool_is_refused(set_up: KioskHome, tmp_path_factory) -> None:
    other = tmp_path_factory.mktemp("other")
    other_home = KioskHome(other, other / "kiosk.toml", other / "data")
    other_home.write_config()
    made = other_home.kiosk("spool", "init")
    assert made.returncode == 0, made.stderr
    shutil.rmtree(set_up.data_dir)
    shutil.copytree(other_home.data_dir, set_up.data_dir)
    result = set_up.kiosk("spool", "list")
    assert result.returncode == 74
    assert "is not the one this kiosk was set up with" in result.stderr


def test_nothing_is_made_where_a_set_up_data_folder_vanished(set_up: KioskHome) -> None:
    """No command and no running kiosk recreates the folder, a fresh audit trail in it, or a
    spool: the commands refuse in one line, the kiosk starts out of service."""
    shutil.rmtree(set_up.data_dir)
    for command in (["staff", "pause"], ["snapshot", "import", str(set_up.root / "patrons.csv")]):
        result = set_up.kiosk(*command)
        assert result.returncode == 73, (command, result.stderr)
        assert result.stderr.startswith(f"kiosk: the data folder {set_up.data_dir} is missing")
    run = set_up.kiosk("run", "--headless", input=f"{patron(1)}\n@done\n")
    assert run.returncode == 0, run.stderr
    assert "out_of_service" in run.stdout
    assert not set_up.data_dir.exists(), sorted(set_up.data_dir.rglob("*"))


def test_an_empty_data_folder_in_its_place_gets_no_fresh_audit_trail(set_up: KioskHome) -> None:
    """An empty partition mounted where the data was: the folder exists, its spool does not.
    The kiosk says so and writes no new trail there."""
    shutil.rmtree(set_up.data_dir)
    set_up.data_dir.mkdir(mode=0o700)
    run = set_up.kiosk("run", "--headless", input="@done\n")
    assert run.returncode == 0, run.stderr
    assert "the audit trail is not started anew in its place" in run.stderr
    assert not (set_up.data_dir / "audit.log").exists()
    assert not (set_up.data_dir / "spool.db").exists()
