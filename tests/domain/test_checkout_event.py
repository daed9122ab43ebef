"""The item_checked_out event carries the stored checkout (kiosk.domain.checkout) and shows it
as the headless line always was: these keys, in this order, and no others."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import ClassVar

import pytest

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.domain.events import Event, ItemCheckedOut
from tests.conftest import item, patron

AT = datetime(2026, 3, 10, 15, 0, 0, 123000, tzinfo=UTC)


def line(event: Event) -> str:
    """The headless line, as kiosk.runtime.headless writes it."""
    return json.dumps(event.to_dict(), ensure_ascii=False)


def checked_out(title: str | None = None, material: str | None = None) -> ItemCheckedOut:
    lent = Checkout("S1", patron(1), item(1), date(2026, 3, 31), False, AT, title, material)
    return ItemCheckedOut(SpooledCheckout(lent, "TEST-SC01", "T1", 7))


def test_the_item_checked_out_line_without_an_item_snapshot() -> None:
    assert line(checked_out()) == (
        '{"event": "item_checked_out", "patron": "21234000000018", "item": "31234000000016", '
        '"due_date": "2026-03-31", "txn_id": "T1", "seq": 7, "special_due": false}'
    )


def test_the_item_checked_out_line_with_a_title_and_material() -> None:
    assert line(checked_out("Amélie", "dvd")) == (
        '{"event": "item_checked_out", "patron": "21234000000018", "item": "31234000000016", '
        '"due_date": "2026-03-31", "txn_id": "T1", "seq": 7, "special_due": false, '
        '"title": "Amélie", "material": "dvd"}'
    )


def test_the_line_never_shows_the_session_the_moment_the_kiosk_or_the_hand_over() -> None:
    shown = checked_out("Amélie", "dvd").to_dict()
    assert not {"session_id", "occurred_at", "kiosk_id", "handed_over_at", "checkout"} & set(shown)


# The flattening, on events made up for it ----------------------------------------------------


@dataclass(frozen=True)
class Inner:
    b: int
    c: str | None = None


@dataclass(frozen=True)
class Flat(Event):
    name: ClassVar[str] = "flat"
    a: str
    inner: Inner
    d: bool = False


@dataclass(frozen=True)
class Chosen(Flat):
    name: ClassVar[str] = "chosen"
    keys: ClassVar[tuple[str, ...]] = ("d", "b", "a")


@dataclass(frozen=True)
class Clash(Event):
    name: ClassVar[str] = "clash"
    b: int
    inner: Inner


def test_a_value_an_event_holds_is_flattened_in_its_place() -> None:
    assert list(Flat("x", Inner(1, "y")).to_dict().items()) == [
        ("event", "flat"),
        ("a", "x"),
        ("b", 1),
        ("c", "y"),
        ("d", False),
    ]
    assert "c" not in Flat("x", Inner(1)).to_dict()  # None is left out, nested or not


def test_keys_choose_and_order_what_the_line_shows() -> None:
    assert list(Chosen("x", Inner(1, "y"), True).to_dict().items()) == [
        ("event", "chosen"),
        ("d", True),
        ("b", 1),
        ("a", "x"),
    ]


def test_two_fields_of_one_name_cannot_be_flattened() -> None:
    with pytest.raises(TypeError, match="two fields named b"):
        Clash(1, Inner(2)).to_dict()
