"""`make appliance-vm`: the screen the container test cannot see. The same Debian 12 image,
installed by README.md's lines in a container (as test_boot.py does), is booted as a QEMU
virtual machine with a virtual GPU (virtio-vga: KMS/DRM) and a real tty1, with no drop-in:
kiosk.service exactly as installed. Once it is active, the console is saved as a PNG; then
a patron card is typed on the VM's keyboard (a keyboard-wedge scanner is a keyboard) and the
console is saved again. Software emulation (TCG): about ten minutes.

    python -m tests.appliance.vm OUT_DIR
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from tests.appliance.machine import CACHE, Container, missing_tools
from tests.appliance.station import DROPIN, install_by_readme, prepare_root, station_config
from tests.conftest import patron

# Tells the serial console when kiosk.service is active, with systemd's own timestamps.
REPORT_UNIT = """\
[Unit]
Description=Appliance check: report when the kiosk is up (make appliance-vm only)
After=kiosk.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'until systemctl is-active -q kiosk.service; do sleep 1; done; \
echo "KIOSK-ACTIVE $(systemctl show -p UserspaceTimestampMonotonic --value) \
$(systemctl show -p ActiveEnterTimestampMonotonic --value kiosk.service) \
$(systemctl show -p StatusText --value kiosk.service)" > /dev/ttyS0; \
sleep 30; journalctl -u kiosk.service -p warning --no-pager -o cat | sed "s/^/KIOSK-WARNING /" \
> /dev/ttyS0; echo KIOSK-JOURNAL-END > /dev/ttyS0'

[Install]
WantedBy=multi-user.target
"""


class Monitor:
    """QEMU's human monitor on a unix socket."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(path))
        self._read()

    def _read(self) -> str:
        self.sock.settimeout(5)
        data = b""
        while not data.endswith(b"(qemu) "):
            chunk = self.sock.recv(4096)
            if not chunk:  # QEMU closed the monitor (after `quit`)
                break
            data += chunk
        return data.decode(errors="replace")

    def command(self, text: str) -> str:
        self.sock.sendall(text.encode() + b"\n")
        return self._read()

    def screendump(self, png: Path) -> Path:
        ppm = png.with_suffix(".ppm")
        self.command(f"screendump {ppm}")
        for _ in range(50):
            if ppm.exists() and ppm.stat().st_size > 0:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        Image.open(ppm).save(png)
        ppm.unlink()
        return png

    def type(self, text: str) -> None:
        for char in text:
            self.command(f"sendkey {char}")
            time.sleep(0.01)  # a wedge scanner's pace
        self.command("sendkey ret")


def build(work: Path) -> Path:
    """The root filesystem as installed by the README, without the container's drop-in."""
    root = work / "root"
    prepare_root(root, station_config(None), work / "build.log")
    container = Container(root, work / "container.log")
    container.boot()
    try:
        install_by_readme(container)
    finally:
        container.poweroff()
    (root / DROPIN).unlink()
    unit = root / "etc/systemd/system/appliance-report.service"
    unit.write_text(REPORT_UNIT, encoding="utf-8")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / unit.name).symlink_to(f"/etc/systemd/system/{unit.name}")
    disk = work / "disk.img"
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", str(root), str(disk), "4G"], check=True)
    return disk


def boot(work: Path, disk: Path, out: Path, timeout: float) -> dict[str, object]:
    root = work / "root"
    kernel = sorted((root / "boot").glob("vmlinuz-*"))[-1]
    initrd = sorted((root / "boot").glob("initrd.img-*"))[-1]
    serial, monitor_path = work / "serial.log", work / "monitor.sock"
    qemu = subprocess.Popen(
        [
            "qemu-system-x86_64",
            *("-m", "2048", "-smp", "2", "-nic", "none"),
            *("-kernel", str(kernel), "-initrd", str(initrd)),
            *("-append", "root=/dev/vda rw console=ttyS0 quiet"),
            *("-drive", f"file={disk},format=raw,if=virtio"),
            *("-vga", "none", "-device", "virtio-vga", "-display", "none"),
            *("-serial", f"file:{serial}"),
            *("-monitor", f"unix:{monitor_path},server,nowait"),
        ]
    )
    started = time.monotonic()
    facts: dict[str, object] = {}
    try:
        while not monitor_path.exists():
            time.sleep(0.1)
        monitor = Monitor(monitor_path)
        line = None
        while line is None:
            if time.monotonic() - started > timeout or qemu.poll() is not None:
                monitor.screendump(out / "vm-timeout.png")
                raise SystemExit(f"kiosk.service did not become active; see {serial}")
            found = re.search(r"KIOSK-ACTIVE (\d+) (\d+) (.*)", serial.read_text(errors="replace"))
            line = found
            time.sleep(2)
        userspace, active, status = int(line.group(1)), int(line.group(2)), line.group(3)
        facts["vm_boot_to_ready_s"] = round((active - userspace) / 1e6, 1)
        facts["vm_qemu_start_to_active_s"] = round(time.monotonic() - started, 1)
        facts["vm_status"] = status.strip()
        time.sleep(3)
        facts["welcome"] = monitor.screendump(out / "vm-welcome.png").name
        monitor.type(patron(1))  # a card in the snapshot: the checkout screen greets Ana
        time.sleep(20)
        facts["checkout"] = monitor.screendump(out / "vm-after-card.png").name
        while "KIOSK-JOURNAL-END" not in serial.read_text(errors="replace"):
            if time.monotonic() - started > timeout:
                break
            time.sleep(2)
        facts["kiosk_journal_warnings"] = re.findall(
            r"KIOSK-WARNING (.*)", serial.read_text(errors="replace")
        )
        monitor.command("quit")
    finally:
        if qemu.poll() is None:
            qemu.kill()
        qemu.wait(30)
    shutil.copy(serial, out / "vm-serial.log")
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for READY")
    args = parser.parse_args()
    missing = missing_tools() + [t for t in ("qemu-system-x86_64", "mke2fs") if not shutil.which(t)]
    if missing:
        sys.exit(f"appliance-vm needs: {', '.join(missing)}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kiosk-vm-") as tmp:
        work = Path(tmp)
        disk = build(work)
        facts = boot(work, disk, args.out.resolve(), args.timeout)
    (args.out / "vm.json").write_text(json.dumps(facts, indent=2) + "\n")
    figures = CACHE / "appliance-figures.json"
    old = json.loads(figures.read_text()) if figures.exists() else {}
    figures.write_text(json.dumps({**old, **facts}, indent=2) + "\n")
    print(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
