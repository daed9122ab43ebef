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
    missing = f"is missing, but this kiosk was set up with one (kiosk.spool_id = {spool_id})"
    for command in (["staff", "pause"], ["spool", "list"], ["spool", "info"]):
        result = set_up.kiosk(*command)
        assert missing in result.stdout + result.stderr, (command, result)
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
