"""Telling a patron card from an item, and a misread from both.

Rules are configuration (prefix + length, or a regular expression, and a check digit scheme);
this module only applies them. A scan that has a rule's shape but a wrong check digit is a
misread and is never treated as valid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

MAX_SCAN_LENGTH = 64
_AIM_ID = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_CODABAR_ENDS = "ABCDabcd"
# What may surround a scan (scanner suffixes). Not str.strip()'s set: that also eats
# separators such as GS (0x1D), which are data problems to refuse, not padding.
SCAN_PADDING = " \t\r\n"
# Barcode patterns are read with ASCII meanings (\d is 0-9, \w is [A-Za-z0-9_]): barcodes are
# ASCII, and it is the meaning the check for overlapping rules (kiosk.barcode_overlap) uses.
PATTERN_FLAGS = re.ASCII


class CheckDigit(Enum):
    LUHN = "luhn"
    NONE = "none"


class ScanKind(Enum):
    PATRON = "patron"
    ITEM = "item"
    MISREAD = "misread"
    UNRECOGNISED = "unrecognised"


def luhn_check_digit(payload: str) -> int:
    """The mod-10 (Luhn) check digit for a string of digits.

    Counting from the right of the payload, every first, third, ... digit is doubled; for the
    common 13-digit payload that is the 1st, 3rd, ... 13th digit from the left.
    """
    total = 0
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def luhn_valid(code: str) -> bool:
    if len(code) < 2 or not code.isascii() or not code.isdigit():
        return False
    return luhn_check_digit(code[:-1]) == int(code[-1])


# For luhn_all_valid: an ASCII digit's value, and its value doubled with 9 taken off above 9.
_DIGIT = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED = bytes.maketrans(b"0123456789", bytes((0, 2, 4, 6, 8, 1, 3, 5, 7, 9)))
_NOT_TENS = bytes(total % 10 != 0 for total in range(256))  # 1 where a Luhn sum fails
_MAX_SUMMED_LENGTH = 255 // 9  # a code's digit sum must fit in one byte (9 per digit)


def luhn_all_valid(codes: Sequence[str]) -> bool:
    """Whether luhn_valid holds for every code: the same answer, computed for a whole column
    at once (a snapshot import checks millions of cards).

    When the codes are all digits and all of one length, the column is summed position by
    position: the digits at one position of every code, one byte per code, make one big
    integer, and adding those integers adds every code's digits in its own byte (a byte
    never overflows: at most 9 per digit). Otherwise, one code at a time.
    """
    if not codes:
        return True
    length = len(codes[0])
    joined = "".join(codes)
    if not (
        2 <= length <= _MAX_SUMMED_LENGTH
        and joined.isascii()
        and joined.isdigit()
        and set(map(len, codes)) == {length}
    ):
        return all(map(luhn_valid, codes))
    data = joined.encode("ascii")
    total = 0
    for position in range(length):
        # Counted from the right, the check digit is not doubled, the digit before it is, ...
        values = _DOUBLED if (length - position) % 2 == 0 else _DIGIT
        total += int.from_bytes(data[position::length].translate(values), "big")
    sums = total.to_bytes(len(codes), "big")
    return 1 not in sums.translate(_NOT_TENS)


@dataclass(frozen=True)
class BarcodeRule:
    """The shape of one kind of barcode: prefix and length, or a full-match pattern."""

    prefix: str = ""
    length: int | None = None
    pattern: str | None = None
    check_digit: CheckDigit = CheckDigit.NONE

    def has_shape(self, code: str) -> bool:
        if self.pattern is not None:
            return re.fullmatch(self.pattern, code, PATTERN_FLAGS) is not None
        if self.length is not None and len(code) != self.length:
            return False
        return code.startswith(self.prefix)

    def check_ok(self, code: str) -> bool:
        if self.check_digit is CheckDigit.LUHN:
            return luhn_valid(code)
        return True

    def all_fit(self, codes: Sequence[str]) -> bool:
        """has_shape and check_ok for every code: the same answer, for a column at once."""
        if self.pattern is not None:
            shaped = all(map(re.compile(self.pattern, PATTERN_FLAGS).fullmatch, codes))
        elif self.length is not None and len(self.prefix) <= self.length:
            # All of one length: the prefix's k-th character is every length-th one from k.
            joined = "".join(codes)
            shaped = set(map(len, codes)) <= {self.length} and all(
                joined[k :: self.length] == char * len(codes) for k, char in enumerate(self.prefix)
            )
        else:
            shaped = all(map(self.has_shape, codes))
        if self.check_digit is CheckDigit.LUHN:
            return shaped and luhn_all_valid(codes)
        return shaped


@dataclass(frozen=True)
class BarcodeRules:
    patron: BarcodeRule
    item: BarcodeRule
    strip_aim_id: bool = True
    strip_codabar: bool = True
    max_length: int = MAX_SCAN_LENGTH


@dataclass(frozen=True)
class Scan:
    kind: ScanKind
    code: str
    # For a misread: which kind of barcode it looked like. For an unrecognised scan: why.
    detail: str = ""
    # A valid code of both rules: `expecting` chose the kind, and the runtime tells them
    # apart by the lists it has (card_or_item).
    fits_both: bool = False


def normalise(raw: str, rules: BarcodeRules) -> str:
    """Strip what scanners add around the data: whitespace, an AIM symbology identifier
    (`]F0` ...) and Codabar start/stop characters (A-D at both ends)."""
    code = raw.strip(SCAN_PADDING)
    if rules.strip_aim_id and _AIM_ID.match(code):
        code = code[3:]
    if (
        rules.strip_codabar
        and len(code) > 2
        and code[0] in _CODABAR_ENDS
        and code[-1] in _CODABAR_ENDS
        and code[1:-1].isdigit()
    ):
        code = code[1:-1]
    return code


def problem_with_text(raw: str, max_length: int) -> str | None:
    """Why a line of scanner input cannot be a barcode at all, in plain words, or None."""
    if len(raw) > max_length:
        return f"longer than {max_length} characters"
    for char in raw:
        if unicodedata.category(char)[0] == "C":
            return "contains control characters"
    return None


def classify(raw: str, rules: BarcodeRules, expecting: ScanKind = ScanKind.PATRON) -> Scan:
    """Classify one scan. `expecting` breaks the tie when a code fits both rules (card first,
    then items: the kiosk expects a patron when idle and an item during a session)."""
    # Scanners may be set to send a Tab or CR suffix: surrounding whitespace is not data.
    text_problem = problem_with_text(raw.strip(SCAN_PADDING), rules.max_length)
    if text_problem is not None:
        return Scan(ScanKind.UNRECOGNISED, raw, text_problem)
    code = normalise(raw, rules)
    fits = {
        kind: rule.has_shape(code)
        for kind, rule in ((ScanKind.PATRON, rules.patron), (ScanKind.ITEM, rules.item))
    }
    valid = [
        kind
        for kind, rule in ((ScanKind.PATRON, rules.patron), (ScanKind.ITEM, rules.item))
        if fits[kind] and rule.check_ok(code)
    ]
    if len(valid) == 2:
        return Scan(expecting if expecting in valid else ScanKind.PATRON, code, fits_both=True)
    if len(valid) == 1:
        return Scan(valid[0], code)
    misread_as = [kind.value for kind, fit in fits.items() if fit]
    if misread_as:
        return Scan(ScanKind.MISREAD, code, " or ".join(misread_as))
    return Scan(ScanKind.UNRECOGNISED, code, "not a library card or item barcode")


@dataclass(frozen=True)
class Listed:
    """What the kiosk's lists say about a code that fits both barcode rules."""

    card: bool  # a staff card, or a card in the patron snapshot (allow or deny list)
    item: bool  # in the item snapshot
    item_list: bool  # an item snapshot is loaded
    deny_list: bool  # the patron snapshot lists the cards that may NOT borrow


def card_or_item(listed: Listed, *, in_session: bool) -> ScanKind | None:
    """What a code that fits both barcode rules is (barcodes.overlap = "lists"): PATRON,
    ITEM, or None when the kiosk cannot tell, and then the scan is refused, never guessed.

    A card the lists know is a card, an item they know is an item. Anything else is a card
    when there is an item snapshot (an item it does not list is refused rather than a card
    lent as a book). Without one, a deny list cannot tell a good card from a book; an allow
    list takes it as a card at Welcome (then refused as unknown) and as an item in a session.
    """
    if listed.card:
        return ScanKind.PATRON
    if listed.item:
        return ScanKind.ITEM
    if listed.item_list:
        return ScanKind.PATRON
    if listed.deny_list:
        return None
    return ScanKind.ITEM if in_session else ScanKind.PATRON


def mask(barcode: str, keep: int = 4) -> str:
    """A barcode as logs and staff lists show it: only the last digits."""
    if keep <= 0 or len(barcode) <= keep:
        return "*" * len(barcode)
    return "*" * (len(barcode) - keep) + barcode[-keep:]
