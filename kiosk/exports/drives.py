"""Finding the removable drive staff plugged in, from the kernel's own tables.

A drive counts when it is mounted under one of the configured roots (/media, /run/media,
/mnt by default: where desktop automounters and udisks put them) and the kernel marks its
disk removable or attached over USB. The files read are parameters, so tests give their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
SYS_BLOCK = Path("/sys/class/block")


@dataclass(frozen=True)
class Drive:
    mount_point: Path
    device: str
    label: str
    read_only: bool
    free_bytes: int

    def describe(self) -> str:
        state = "read-only" if self.read_only else f"{self.free_bytes / 1e9:.1f} GB free"
        return f"{self.label} ({self.mount_point}, {state})"


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and len(field) >= i + 4 and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _is_removable(device: str, sys_block: Path) -> bool:
    """The device's disk says removable=1, or its sysfs path runs through a USB bus."""
    name = Path(device).name
    node = sys_block / name
    if not node.exists():
        return False
    candidates = [node, node.resolve().parent]  # a partition's disk is its parent
    for path in candidates:
        try:
            if (path / "removable").read_text().strip() == "1":
                return True
        except OSError:
            pass
    return "/usb" in str(node.resolve())


def find_drives(
    roots: list[Path],
    *,
    mountinfo: Path = MOUNTINFO,
    sys_block: Path = SYS_BLOCK,
) -> list[Drive]:
    try:
        lines = mountinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    resolved_roots = [str(r).rstrip("/") + "/" for r in roots]
    drives = []
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 6 or len(tail) < 2:
            continue
        mount_point = _unescape(fields[4])
        if not any(mount_point.startswith(root) for root in resolved_roots):
            continue
        device = _unescape(tail[1])
        if not device.startswith("/dev/") or not _is_removable(device, sys_block):
            continue
        options = fields[5].split(",")
        try:
            stats = os.statvfs(mount_point)
        except OSError:
            continue  # listed but gone (pulled out a moment ago)
        drives.append(
            Drive(
                mount_point=Path(mount_point),
                device=device,
                label=Path(mount_point).name,
                read_only="ro" in options,
                free_bytes=stats.f_bavail * stats.f_frsize,
            )
        )
    return drives


def folder_as_drive(folder: Path) -> Drive:
    """A folder staff named themselves (`--to`): treated like a drive."""
    stats = os.statvfs(folder)
    return Drive(
        mount_point=folder,
        device="",
        label=folder.name or str(folder),
        read_only=not os.access(folder, os.W_OK),
        free_bytes=stats.f_bavail * stats.f_frsize,
    )
