"""Who may borrow and for how long ([policy], [loans]), and which scans are patron cards
and which are items ([barcodes])."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from kiosk.barcode_overlap import find_overlap
from kiosk.config.base import MODEL_CONFIG
from kiosk.domain.barcodes import PATTERN_FLAGS, BarcodeRule, CheckDigit
from kiosk.domain.items import material_key
from kiosk.domain.loans import WEEKDAYS


class _Model(BaseModel):
    model_config = MODEL_CONFIG


class PolicySection(_Model):
    block_fines_over: Decimal | None = None
    block_statuses: list[Literal["blocked", "lost", "expired"]] = ["blocked", "lost", "expired"]
    max_items_per_session: Annotated[int, Field(ge=0, le=1000)] = 20
    max_items_per_patron: Annotated[int, Field(ge=0)] = 0

    @field_validator("block_fines_over", mode="before")
    @classmethod
    def _amount_as_text(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError('write the amount as text, like "10.00", so it is exact')
        return value

    @field_validator("block_fines_over")
    @classmethod
    def _amount(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and (value < 0 or value.as_tuple().exponent < -2):  # type: ignore[operator]
            raise ValueError("must be an amount of money, zero or more, with at most 2 decimals")
        return value


class LoansSection(_Model):
    loan_days: Annotated[int, Field(ge=1, le=365)] = 21
    closed_dates: list[date] = []
    closed_weekdays: list[str] = []
    # Loan periods per material type, for items the item snapshot lists (dvd = 7). Any
    # other item, or any item without an item snapshot, has loan_days.
    by_material: dict[str, Annotated[int, Field(ge=1, le=365)]] = {}

    @field_validator("by_material")
    @classmethod
    def _materials(cls, value: dict[str, int]) -> dict[str, int]:
        keyed: dict[str, int] = {}
        for material, days in value.items():
            key = material_key(material)
            if not key:
                raise ValueError("a material type cannot be blank")
            if key in keyed:
                raise ValueError(f"{material!r} is listed twice (case does not matter)")
            keyed[key] = days
        return keyed

    @field_validator("closed_weekdays")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        unknown = [day for day in value if day.lower() not in WEEKDAYS]
        if unknown:
            raise ValueError(f"{unknown} are not weekdays (use {', '.join(WEEKDAYS)})")
        if len({day.lower() for day in value}) >= 7:
            raise ValueError("the library cannot be closed on every day of the week")
        return [day.lower() for day in value]


class BarcodeRuleSection(_Model):
    prefix: str = ""
    length: Annotated[int, Field(ge=1, le=64)] | None = None
    pattern: str | None = None
    check_digit: Literal["luhn", "none"] = "none"

    @model_validator(mode="after")
    def _shape(self) -> BarcodeRuleSection:
        if self.pattern is not None:
            if self.prefix or self.length is not None:
                raise ValueError("give either a pattern or prefix/length, not both")
            try:
                re.compile(self.pattern, PATTERN_FLAGS)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from exc
        elif not self.prefix and self.length is None:
            raise ValueError("give a prefix, a length, or a pattern")
        return self

    def rule(self) -> BarcodeRule:
        return BarcodeRule(self.prefix, self.length, self.pattern, CheckDigit(self.check_digit))


class BarcodesSection(_Model):
    patron: BarcodeRuleSection
    item: BarcodeRuleSection
    strip_aim_id: bool = True
    strip_codabar: bool = True
    max_length: Annotated[int, Field(ge=4, le=256)] = 64
    # Rules that can fit the same scan: refused, or told apart by the patron and item
    # snapshots (README, "Configuration").
    overlap: Literal["refuse", "lists"] = "refuse"

    @model_validator(mode="after")
    def _told_apart(self) -> BarcodesSection:
        if self.overlap == "refuse":
            patron, item = self.patron.rule(), self.item.rule()
            found = find_overlap(patron, item, self.max_length)
            if found is not None:
                raise ValueError(found.problem(patron, item))
        return self
