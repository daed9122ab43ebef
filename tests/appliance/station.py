"""A station installed the way README.md says, in a booted Debian 12 (tests/appliance/
machine.py): shared by the container test (test_boot.py) and the VM check (vm.py)."""

from __future__ import annotations

from pathlib import Path

from tests.appliance.machine import (
    REPO,
    Container,
    Result,
    image,
    pip_settings,
    readme_install_steps,
    repository_snapshot,
    unpack,
)
from tests.conftest import standard_csv

KIOSK = "/opt/kiosk/.venv/bin/kiosk --config /etc/kiosk/kiosk.toml"
PIN = "8642"
DROPIN = "etc/systemd/system/kiosk.service.d/container.conf"
# The drop-in standing in for the console and the GPU a container does not have.
CONTAINER_DROPIN = """\
# The appliance test's container has no GPU and no console: the kiosk draws with SDL's
# offscreen driver (software OpenGL) and reads no terminal. Everything else is the unit.
[Service]
Environment=SDL_VIDEODRIVER=offscreen
StandardInput=null
TTYReset=no
TTYVHangup=no
TTYVTDisallocate=no
"""


def station_config(scanner_port: int | None) -> str:
    """The README's `editor` step: the shipped example with this station's settings: the
    morning export on a share, a backup folder, and a serial scanner on the network (or,
    without a port, the keyboard-wedge scanner a station has by default)."""
    example = (REPO / "systemd/kiosk.toml.example").read_text(encoding="utf-8")
    example = example.replace('source = "/mnt/ils/patrons.csv"', 'source = "/srv/ils/patrons.csv"')
    assert 'source = "/srv/ils/patrons.csv"' in example
    example = example.replace("[backup]\n", '[backup]\nfolder = "/srv/backups"\n', 1)
    if scanner_port is None:
        return example
    return example + (
        f'\n[[scanners]]\ntype = "serial"\nname = "desk scanner"\n'
        f'url = "socket://127.0.0.1:{scanner_port}"\n'
    )


def prepare_root(root: Path, config: str, log: Path) -> None:
    """The cached Debian image unpacked, with what the installer brings along: this tree as
    a git repository, the library's patron export on a "share", the config staff will type."""
    unpack(image(log), root)
    repository_snapshot(root / "srv/kiosk.git")
    pip_settings(root)
    (root / "srv/ils").mkdir(parents=True)
    (root / "srv/ils/patrons.csv").write_text(standard_csv(), encoding="utf-8")
    (root / "srv/ils/patrons.csv").chmod(0o644)
    (root / "srv/test").mkdir()
    (root / "srv/test/kiosk.toml").write_text(config, encoding="utf-8")


def install_by_readme(container: Container) -> list[tuple[str, Result]]:
    """Every line of README.md's install block, in order, as root. Only what a person would
    type differently is replaced: the repository's address, the editor (the prepared config,
    and the backup folder made the kiosk's, as the config's comment says) and the PIN typed
    at the prompt. Before the last line the container's drop-in goes in."""
    steps = readme_install_steps(REPO / "README.md")
    done = []
    for step in steps:
        command, given = step, None
        if "<this repository>" in step:
            command = step.replace("<this repository>", "/srv/kiosk.git")
        if step.startswith("editor "):
            command = (
                f"cat /srv/test/kiosk.toml > {step.split()[1]}"
                " && install -d -o kiosk -g kiosk -m 700 /srv/backups"
            )
        if "add-pin" in step:
            given = f"{PIN}\n{PIN}\n"
        if step == steps[-1]:
            dropin = container.root / DROPIN
            dropin.parent.mkdir(parents=True, exist_ok=True)
            dropin.write_text(CONTAINER_DROPIN, encoding="utf-8")
        result = container.run(f"cd /opt/kiosk 2>/dev/null; {command}", input=given)
        done.append((step, result))
        result.check()
    return done


def boot_to_ready(container: Container) -> float:
    """From systemd's start in the container to kiosk.service active (READY=1 accepted)."""
    manager = container.show("", "UserspaceTimestampMonotonic")
    unit = container.show("kiosk.service", "ActiveEnterTimestampMonotonic")
    return (
        int(unit["ActiveEnterTimestampMonotonic"]) - int(manager["UserspaceTimestampMonotonic"])
    ) / 1e6
