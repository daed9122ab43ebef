"""A wheel built from the project holds everything the kiosk needs: the source catalogues
(compiled in memory when the wheel has no compiled ones), the migrations, the demo data, and
the appliance's units, rules and config template for `kiosk install`. An installed wheel, in
a venv of its own, draws a Spanish screen and lays out an appliance."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.appliance.machine import repository_snapshot


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = out / "src"
    # This tree's files as git has them (no compiled catalogues, as in a fresh clone).
    subprocess.run(
        ["git", "clone", "-q", str(repository_snapshot(out / "repo.git")), str(source)],
        check=True,
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(out)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("offline_kiosk-*.whl")
    return built


def test_the_wheel_carries_the_catalogues_units_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "offline_kiosk-0.1.0.data/data/share/offline-kiosk/systemd/"
    for needed in [
        "kiosk/locale/es/LC_MESSAGES/kiosk.po",
        "kiosk/storage/migrations/versions/0001_spool.py",
        "kiosk/storage/migrations/script.py.mako",
        f"{data}kiosk.service",
        f"{data}kiosk-backup.timer",
        f"{data}kiosk.toml.example",
        f"{data}udev/60-kiosk-devices.rules",
    ]:
        assert needed in names, needed


def test_an_installed_wheel_lays_out_an_appliance(wheel: Path, tmp_path: Path) -> None:
    """Installed in a venv of its own (its dependencies borrowed from this one through
    PYTHONPATH, where this checkout's editable install is not seen), the wheel's own
    `kiosk install --root` finds its units in the venv's share folder."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(site.getsitepackages()))
    subprocess.run(
        [str(venv / "bin/pip"), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    look = tmp_path / "look"
    done = subprocess.run(
        [str(venv / "bin/kiosk"), "install", "--root", str(look)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    unit = (look / "etc/systemd/system/kiosk.service").read_text(encoding="utf-8")
    assert f"ExecStart={venv / 'bin'}/kiosk --log-level INFO session" in unit
    assert (look / "etc/kiosk/kiosk.toml").exists()
    spanish = subprocess.run(
        [
            str(venv / "bin/python"),
            "-c",
            "from kiosk.presenter.i18n import load_language, LOCALE_DIR; "
            "print(LOCALE_DIR); print(load_language('es')._('Scan your library card'))",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    ).stdout.splitlines()
    assert spanish[0].startswith(str(venv)), "the wheel's own package, not the checkout"
    assert spanish[1] != "Scan your library card"
