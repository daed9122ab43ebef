"""Due dates computed offline: loan period (per material type when the item is known), closed
days, and a special due date set by staff."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from kiosk.domain.items import material_key

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class LoanRules:
    loan_days: int = 21
    closed_dates: frozenset[date] = field(default_factory=frozenset)
    closed_weekdays: frozenset[int] = field(default_factory=frozenset)  # 0 = Monday
    # Loan periods of their own for some material types: (material in lower case, days).
    material_days: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if len(self.closed_weekdays) >= 7:
            raise ValueError("the library cannot be closed on every day of the week")

    def days_for(self, material: str) -> int:
        """The loan period of an item of this material type; an unknown or missing one has
        the library's normal loan period."""
        wanted = material_key(material)
        if wanted:
            for name, days in self.material_days:
                if name == wanted:
                    return days
        return self.loan_days

    def is_open(self, day: date) -> bool:
        return day.weekday() not in self.closed_weekdays and day not in self.closed_dates


def next_open_day(day: date, rules: LoanRules) -> date:
    # Terminates: closed_dates is finite and at least one weekday is open.
    while not rules.is_open(day):
        day += timedelta(days=1)
    return day


def due_date(
    checkout_day: date, rules: LoanRules, special: date | None = None, material: str = ""
) -> date:
    """The due date of an item checked out on `checkout_day` (the library's local date).

    A special due date set by staff wins as long as it is not in the past; staff chose it on
    purpose, so it is not moved. Otherwise: checkout day + the loan period of the item's
    material type (`material`: "" when the kiosk does not know the item), moved forward to
    the next day the library is open.
    """
    if special is not None and special >= checkout_day:
        return special
    return next_open_day(checkout_day + timedelta(days=rules.days_for(material)), rules)


def is_special(checkout_day: date, special: date | None) -> bool:
    return special is not None and special >= checkout_day
