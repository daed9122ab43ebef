"""Finding the drive staff plugged in: a mount under one of the export roots whose disk the
kernel marks removable or attached over USB. Read-only mounts are flagged, mountinfo's octal
escapes are decoded, and anything else (internal disks, mounts elsewhere, pseudo file systems,
a drive pulled out a moment ago) is left alone.

The kernel's tables are built in a temporary folder: a mountinfo file, and a sysfs tree where
/sys/class/block entries are symlinks into /sys/devices, as on a real machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kiosk.exports.drives import Drive, find_drives, folder_as_drive

# Where each disk sits on its bus, as under /sys/devices on a PC.
SD_READER = "pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0"  # removable media
USB_STICK = "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0"
NVME = "pci0000:00/0000:00:1d.0/nvme/nvme0"


def escaped(path: Path) -> str:
    """A path as /proc/self/mountinfo writes it (space, tab, newline, backslash as octal)."""
    return "".join(f"\\{ord(ch):03o}" if ch in " \t\n\\" else ch for ch in str(path))


@dataclass
class FakeKernel:
    """A mountinfo file and a /sys/class/block tree under `root`."""

    root: Path
    lines: list[str] = field(default_factory=list)

    @property
    def mountinfo(self) -> Path:
        return self.root / "proc" / "self" / "mountinfo"

    @property
    def sys_block(self) -> Path:
        return self.root / "sys" / "class" / "block"

    def disk(
        self, name: str, bus: str, *, removable: bool, partitions: tuple[str, ...] = ()
    ) -> None:
        disk = self.root / "sys" / "devices" / bus / "block" / name
        disk.mkdir(parents=True)
        (disk / "removable").write_text("1\n" if removable else "0\n")
        self.sys_block.mkdir(parents=True, exist_ok=True)
        (self.sys_block / name).symlink_to(disk)
        for part in partitions:
            (disk / part).mkdir()  # a partition has no `removable` of its own
            (self.sys_block / part).symlink_to(disk / part)

    def mount(
        self, device: str, mount_point: Path, *, options: str = "rw,nosuid,nodev", fs: str = "vfat"
    ) -> None:
        n = 30 + len(self.lines)
        self.lines.append(
            f"{n} 25 8:{n} / {escaped(mount_point)} {options} shared:{n} - {fs} {device} rw"
        )

    def write(self) -> None:
        self.mountinfo.parent.mkdir(parents=True, exist_ok=True)
        self.mountinfo.write_text("\n".join(self.lines) + "\n", encoding="utf-8")

    def find(self, roots: list[Path]) -> list[Drive]:
        self.write()
        return find_drives(roots, mountinfo=self.mountinfo, sys_block=self.sys_block)


@pytest.fixture
def kernel(tmp_path: Path) -> FakeKernel:
    k = FakeKernel(tmp_path / "kernel")
    k.disk("sdb", SD_READER, removable=True, partitions=("sdb1",))
    k.disk("sdc", USB_STICK, removable=False, partitions=("sdc1",))  # many sticks say 0
    k.disk("nvme0n1", NVME, removable=False, partitions=("nvme0n1p1", "nvme0n1p2"))
    k.mount("/dev/nvme0n1p1", Path("/"), options="rw,relatime", fs="ext4")
    return k


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


def folder(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def test_only_removable_or_usb_drives_under_the_roots_are_found(
    kernel: FakeKernel, media: Path, tmp_path: Path
) -> None:
    card = folder(media / "CARD")
    stick = folder(media / "STICK")
    kernel.mount("/dev/sdb1", card)
    kernel.mount("/dev/sdc1", stick)
    kernel.mount("/dev/nvme0n1p2", folder(media / "internal"), fs="ext4")
    kernel.mount("/dev/sdb1", folder(tmp_path / "elsewhere" / "CARD"))  # outside the roots
    kernel.mount("/dev/sdc1", folder(tmp_path / "media-old" / "STICK"))  # a root's name prefix
    kernel.mount("tmpfs", folder(media / "scratch"), fs="tmpfs")  # not a device
    kernel.mount("/dev/sdz1", folder(media / "ghost"))  # the kernel does not know it

    drives = kernel.find([media])

    assert [(d.mount_point, d.device, d.label) for d in drives] == [
        (card, "/dev/sdb1", "CARD"),
        (stick, "/dev/sdc1", "STICK"),
    ]
    assert all(d.free_bytes > 0 for d in drives)


def test_a_whole_disk_without_partitions_counts(kernel: FakeKernel, media: Path) -> None:
    kernel.disk("sdd", SD_READER.replace("ata2", "ata3"), removable=True)
    stick = folder(media / "WHOLE")
    kernel.mount("/dev/sdd", stick)

    assert [d.mount_point for d in kernel.find([media])] == [stick]


def test_every_root_is_searched(kernel: FakeKernel, tmp_path: Path) -> None:
    first = folder(tmp_path / "media" / "root" / "CARD")
    second = folder(tmp_path / "run" / "media" / "kiosk" / "STICK")
    kernel.mount("/dev/sdb1", first)
    kernel.mount("/dev/sdc1", second)

    drives = kernel.find([tmp_path / "media", tmp_path / "run" / "media"])

    assert [d.mount_point for d in drives] == [first, second]


def test_a_read_only_mount_is_flagged(kernel: FakeKernel, media: Path) -> None:
    kernel.mount("/dev/sdb1", folder(media / "LOCKED"), options="ro,nosuid,nodev,relatime")
    kernel.mount("/dev/sdc1", folder(media / "OPEN"), options="rw,nosuid,nodev,relatime")

    drives = kernel.find([media])

    assert [(d.label, d.read_only) for d in drives] == [("LOCKED", True), ("OPEN", False)]
    assert drives[0].describe() == f"LOCKED ({media / 'LOCKED'}, read-only)"


@pytest.mark.parametrize("label", ["KIOSK USB", "tab\there", "back\\slash", "two  spaces "])
def test_escaped_mount_points_are_decoded(kernel: FakeKernel, media: Path, label: str) -> None:
    mount_point = folder(media / label)
    kernel.mount("/dev/sdc1", mount_point)

    (drive,) = kernel.find([media])

    assert (drive.mount_point, drive.label) == (mount_point, label)


def test_a_drive_listed_but_already_pulled_out_is_skipped(kernel: FakeKernel, media: Path) -> None:
    kernel.mount("/dev/sdb1", media / "GONE")  # no such folder any more
    present = folder(media / "HERE")
    kernel.mount("/dev/sdc1", present)

    assert [d.mount_point for d in kernel.find([media])] == [present]


def test_no_mountinfo_means_no_drives(tmp_path: Path) -> None:
    assert find_drives([tmp_path], mountinfo=tmp_path / "missing", sys_block=tmp_path) == []


def test_malformed_mountinfo_lines_are_ignored(kernel: FakeKernel, media: Path) -> None:
    stick = folder(media / "STICK")
    unread = folder(media / "X")
    kernel.lines += ["", "garbage", f"1 2 3 / {unread} rw no-separator vfat /dev/sdb1 rw"]
    kernel.mount("/dev/sdc1", stick)

    assert [d.mount_point for d in kernel.find([media])] == [stick]


def test_a_drive_describes_itself_for_staff() -> None:
    drive = Drive(Path("/media/kiosk/STICK"), "/dev/sdc1", "STICK", False, 12_345_678_901)

    assert drive.describe() == "STICK (/media/kiosk/STICK, 12.3 GB free)"


# A folder named by staff --------------------------------------------------------------------


def test_a_folder_is_treated_like_a_drive(tmp_path: Path) -> None:
    target = folder(tmp_path / "exports")

    drive = folder_as_drive(target)

    assert (drive.mount_point, drive.device, drive.label) == (target, "", "exports")
    assert drive.read_only is not os.access(target, os.W_OK)
    assert drive.read_only is False
    assert drive.free_bytes > 0


def test_the_root_folder_is_labelled_by_its_path() -> None:
    assert folder_as_drive(Path("/")).label == "/"
