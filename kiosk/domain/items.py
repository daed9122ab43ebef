"""Items as the optional item snapshot knows them: a title to show and a material type that
can have a loan period of its own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemRecord:
    barcode: str
    title: str = ""
    material: str = ""  # the library system's material type code, in lower case ("dvd")


def material_key(text: str) -> str:
    """A material type as the kiosk compares it: 'DVD', ' dvd ' and 'Dvd' are one type."""
    return " ".join(text.split()).lower()
