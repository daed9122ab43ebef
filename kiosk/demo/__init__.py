"""Bundled demo data: a synthetic patron snapshot, a config and a script of scans.

Generated, not stored, so expiry dates are always relative to the day the demo runs. The same
seed gives the same patrons every time; every barcode has a valid check digit.
"""

from __future__ import annotations

import csv
import io
import os
import random
from dataclasses import dataclass
from datetime import date, timedelta

from kiosk.domain.barcodes import luhn_check_digit
from kiosk.domain.staff import SALT_BYTES, hash_secret

INSTITUTION = "1234"
FIRST = [
    "Ana",
    "Chidi",
    "Bao",
    "Ewa",
    "Omar",
    "John",
    "Lucía",
    "Priya",
    "Mateo",
    "Sofia",
    "Kenji",
    "Amara",
    "Liam",
    "Fatima",
    "Noah",
    "Yara",
    "Olga",
    "Diego",
    "Mei",
    "Tomás",
]
LAST = [
    "Rivera",
    "Okafor",
    "Nguyen",
    "Kowalski",
    "Haddad",
    "Smith",
    "García",
    "Patel",
    "Rossi",
    "Müller",
    "Tanaka",
    "Mensah",
    "O'Brien",
    "Khan",
    "Jensen",
    "Silva",
]


def barcode(kind: str, serial: int) -> str:
    payload = f"{kind}{INSTITUTION}{serial:08d}"
    return payload + str(luhn_check_digit(payload))


@dataclass(frozen=True)
class DemoPatron:
    barcode: str
    name: str
    fines: str
    status: str
    expires: date


def patrons(today: date, count: int = 300, seed: int = 2026) -> list[DemoPatron]:
    later = today + timedelta(days=730)
    showcase = [
        DemoPatron(barcode("2", 1), "Rivera, Ana", "0.00", "ok", later),
        DemoPatron(barcode("2", 2), "Okafor, Chidi", "4.50", "ok", later),
        DemoPatron(barcode("2", 3), "Nguyen, Bao", "12.75", "ok", later),
        DemoPatron(barcode("2", 4), "Kowalski, Ewa", "0.00", "blocked", later),
        DemoPatron(barcode("2", 5), "Haddad, Omar", "0.00", "lost", later),
        DemoPatron(barcode("2", 6), "Smith, John", "0.00", "ok", today - timedelta(days=3)),
        DemoPatron(barcode("2", 7), "García, Lucía", "9.99", "ok", today + timedelta(days=30)),
    ]
    rng = random.Random(seed)
    rest = []
    for serial in range(100, 100 + count - len(showcase)):
        roll = rng.random()
        status = "blocked" if roll < 0.03 else "lost" if roll < 0.05 else "ok"
        fines = rng.choice(["0.00"] * 6 + ["1.25", "3.00", "8.40", "10.00", "15.50", "42.00"])
        expires = today + timedelta(days=rng.randint(-60, 1000))
        name = f"{rng.choice(LAST)}, {rng.choice(FIRST)}"
        rest.append(DemoPatron(barcode("2", serial), name, fines, status, expires))
    return showcase + rest


def patrons_csv(today: date) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["barcode", "name", "fines", "status", "expires"])
    for p in patrons(today):
        writer.writerow([p.barcode, p.name, p.fines, p.status, p.expires.isoformat()])
    return out.getvalue()


CONFIG = """\
# Demo configuration: every key is explained in the README ("Configuration").
[kiosk]
id = "DEMO-SC01"
library = "Example Public Library"
branch = "Main"
timezone = "America/New_York"
data_dir = "data"                # relative to this file

[snapshot]
source = "patrons.csv"          # where staff reload it from (staff screen, kiosk staff)
max_age_hours = 48              # an older patron list puts the station out of service
warn_age_hours = 36

[policy]
block_fines_over = "10.00"
block_statuses = ["blocked", "lost", "expired"]
max_items_per_session = 20
max_items_per_patron = 0

[loans]
loan_days = 21
closed_dates = ["2026-12-25", "2027-01-01"]
closed_weekdays = ["sunday"]

[barcodes]
patron = { prefix = "2", length = 14, check_digit = "luhn" }
item = { prefix = "3", length = 14, check_digit = "luhn" }

[session]
idle_timeout_seconds = 60

[display]
fullscreen = "auto"
languages = ["en", "es"]

[receipt]
mode = "ask"

[printer]
type = "fake"                   # a stand-in printer, so the receipt screens can be tried

[keyboard]
max_key_gap_ms = 2000           # demo only: lets a person type a barcode by hand. A real
                                # station keeps the default (100), so only scanners make scans.
"""


STAFF_PIN = "2468"  # demo only: a real kiosk's PINs are added with `kiosk staff add-pin`


def staff_card() -> str:
    return barcode("2", 9000)


def config_text() -> str:
    """The demo config with a staff PIN and card, hashed with fresh salts like add-pin does."""
    pin = hash_secret(STAFF_PIN, os.urandom(SALT_BYTES)).text()
    card = hash_secret(staff_card(), os.urandom(SALT_BYTES)).text()
    return CONFIG + (
        "\n[staff]\n"
        f"# Demo PIN {STAFF_PIN}; demo staff card {staff_card()}. Only their hashes are kept.\n"
        f'pins = ["{pin}"]\n'
        f'cards = ["{card}"]\n'
        "retention_days = 90             # archived periods are removed this long after hand-over\n"
    )


def scans() -> str:
    item = [barcode("3", n) for n in range(1, 6)]
    misread = item[2][:-1] + str((int(item[2][-1]) + 1) % 10)
    lines = [
        item[0],  # an item before any card
        barcode("2", 1),  # Ana: accepted
        item[0],
        item[1],
        item[0],  # the same item again
        misread,  # a misread: wrong check digit
        "HELLO WORLD",  # not a library barcode
        "@done",
        barcode("2", 3),  # fines over the limit
        barcode("2", 5),  # lost card
        barcode("2", 6),  # expired
        barcode("2", 99999),  # valid card number, not in the snapshot
        barcode("2", 2),  # Chidi: small fines, accepted
        item[2],
        f"]F0A{barcode('2', 7)}B",  # Lucía's card through a Codabar scanner that adds AIM + A/B
        f"A{item[3]}B",
        item[4],
    ]
    return "\n".join(lines) + "\n"
