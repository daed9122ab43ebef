"""The udev rules in the repository are well formed: every rule matches a vendor and grants
the kiosk group access with a stable name (there is no `udevadm verify` on Debian 12)."""

from __future__ import annotations

import re
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "systemd" / "udev" / "60-kiosk-devices.rules"
PAIR = re.compile(r'^(?P<key>[A-Z]+(\{[A-Za-z_]+\})?)(?P<op>==|!=|\+=|=)"(?P<value>[^"]*)"$')
MATCH_KEYS = {"SUBSYSTEM", "KERNEL", "ATTRS", "ENV"}
ASSIGN_KEYS = {"GROUP", "MODE", "SYMLINK"}


def rules() -> list[list[re.Match[str]]]:
    parsed = []
    for line in RULES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pairs = [PAIR.match(part.strip()) for part in line.split(", ")]
        assert all(pairs), f"not a udev rule: {line}"
        parsed.append([p for p in pairs if p])
    return parsed


def test_every_rule_is_well_formed_and_grants_the_kiosk_group() -> None:
    parsed = rules()
    assert len(parsed) >= 10
    for pairs in parsed:
        keys = {p["key"].split("{")[0]: p for p in pairs}
        for pair in pairs:
            key = pair["key"].split("{")[0]
            if pair["op"] in ("==", "!="):
                assert key in MATCH_KEYS, pair.group(0)
            else:
                assert key in ASSIGN_KEYS, pair.group(0)
        assert re.fullmatch(r"[0-9a-f]{4}", keys["ATTRS"]["value"]), pairs
        assert keys["GROUP"]["value"] == "kiosk"
        assert keys["MODE"]["value"] == "0660"  # never world-readable: scans are personal data
        assert keys["SYMLINK"]["op"] == "+="


def test_scanners_of_both_kinds_and_printers_are_covered() -> None:
    subsystems = {p["value"] for pairs in rules() for p in pairs if p["key"] == "SUBSYSTEM"}
    assert {"tty", "input", "usb", "usbmisc"} <= subsystems
