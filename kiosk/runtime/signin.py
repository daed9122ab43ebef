"""Staff PINs at two PIN pads, each with its own count of wrong PINs and its own lockout.

Anyone can hold the hidden corner, so anyone can use up the tries of the pad it opens and
lock it. That must never keep staff out: the pad a staff card opens counts its own wrong
PINs, so a patron at the corner cannot lock a card holder out (the card pad locks only after
wrong PINs typed behind a staff card). `kiosk staff unlock`, or the staff screen, lifts
either lock at once. Counts and locks are kept in the data folder: a restart resets nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from kiosk.config import StaffSection
from kiosk.domain.staff import PinGate, matches
from kiosk.presenter.staff import PinResult
from kiosk.storage.files import atomic_write_bytes

log = logging.getLogger(__name__)

LOCK_FILE = "staff-lock.json"  # wrong PINs survive a restart: pulling the plug resets nothing


class Pad(Enum):
    CORNER = "corner"  # the hidden corner: anyone can open it
    CARD = "card"  # opened by a staff card at the Welcome screen


@dataclass(frozen=True)
class PinCheck:
    result: PinResult
    tries_left: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class PinLock:
    """A PIN pad locked now, in words staff read."""

    pad: Pad
    until: datetime  # in the library's time zone
    wrong_pins: int

    @property
    def name(self) -> str:
        return "the PIN pad" if self.pad is Pad.CORNER else "the PIN pad after a staff card"

    def reason(self, now: datetime) -> str:
        """'until 10:15 after 5 wrong PINs' (with the date when it is not today's)."""
        same_day = self.until.date() == now.date()
        when = self.until.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
        return f"until {when} after {self.wrong_pins} wrong PINs"

    def describe(self, now: datetime) -> str:
        return f"{self.name[0].upper()}{self.name[1:]} is locked {self.reason(now)}."


def read_gates(data_dir: Path) -> dict[Pad, PinGate]:
    try:
        data = json.loads((data_dir / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if isinstance(data, dict) and "failures" in data:  # written before there were two pads
        data = {Pad.CORNER.value: data}
    gates = {}
    for pad in Pad:
        try:
            gates[pad] = _gate(data[pad.value])
        except (KeyError, ValueError, TypeError):
            continue
    return gates


def _gate(data: Any) -> PinGate:
    until = data.get("locked_until")
    return PinGate(
        int(data["failures"]),
        datetime.fromisoformat(until) if until else None,
        int(data.get("locked_after", 0)),
    )


def save_gates(data_dir: Path, gates: dict[Pad, PinGate]) -> None:
    data = {
        pad.value: {
            "failures": gate.failures,
            "locked_until": gate.locked_until.isoformat() if gate.locked_until else None,
            "locked_after": gate.locked_after,
        }
        for pad, gate in gates.items()
    }
    try:
        atomic_write_bytes(data_dir / LOCK_FILE, json.dumps(data).encode())
    except OSError as exc:
        log.error("the wrong-PIN count could not be saved: %s", exc)


class SignIn:
    def __init__(
        self,
        staff: StaffSection,
        data_dir: Path,
        *,
        now: Callable[[], datetime],
        record: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.staff = staff
        self.data_dir = data_dir
        self._now = now
        self._record = record

    def lock(self, pad: Pad) -> PinCheck | None:
        """This pad is locked after too many wrong PINs: until when."""
        gate = read_gates(self.data_dir).get(pad, PinGate())
        if gate.locked(self._now()):
            return PinCheck(PinResult.LOCKED, 0, gate.locked_until)
        return None

    def locks(self) -> tuple[PinLock, ...]:
        now = self._now()
        return tuple(
            PinLock(pad, gate.locked_until.astimezone(now.tzinfo), gate.locked_after)
            for pad, gate in read_gates(self.data_dir).items()
            if gate.locked_until is not None and gate.locked(now)
        )

    def check_pin(self, pin: str, pad: Pad) -> PinCheck:
        staff = self.staff
        pins = staff.pin_hashes()
        if not pins:
            return PinCheck(PinResult.NOT_SET_UP)
        locked = self.lock(pad)
        if locked is not None:
            return locked  # not even checked: a locked pad gives no oracle
        gates = read_gates(self.data_dir)
        gate = gates.get(pad, PinGate())
        now = self._now()
        if matches(pin, pins):
            gates[pad] = gate.right()
            save_gates(self.data_dir, gates)
            self._record("staff.sign_in", {"pad": pad.value})
            return PinCheck(PinResult.OK)
        gate = gate.wrong(now, staff.wrong_pin_limit, timedelta(minutes=staff.lockout_minutes))
        gates[pad] = gate
        save_gates(self.data_dir, gates)
        if gate.locked_until is not None and gate.locked(now):
            until = gate.locked_until.isoformat()
            self._record(
                "staff.locked", {"pad": pad.value, "until": until, "wrong_pins": gate.locked_after}
            )
            return PinCheck(PinResult.LOCKED, 0, gate.locked_until)
        tries_left = gate.tries_left(staff.wrong_pin_limit)
        self._record("staff.wrong_pin", {"pad": pad.value, "tries_left": tries_left})
        return PinCheck(PinResult.WRONG, tries_left)

    def unlock(self) -> tuple[PinLock, ...]:
        """Lift every lock and forget every wrong PIN; audited when a lock was lifted."""
        lifted = self.locks()
        gates = read_gates(self.data_dir)
        if any(gate != PinGate() for gate in gates.values()):
            save_gates(self.data_dir, {pad: PinGate() for pad in gates})
        if lifted:
            self._record(
                "staff.unlocked",
                {
                    "pads": [lock.pad.value for lock in lifted],
                    "was_locked_until": {lock.pad.value: lock.until.isoformat() for lock in lifted},
                },
            )
        return lifted
