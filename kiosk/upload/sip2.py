"""SIP2 (3M Standard Interchange Protocol 2.00) messages a replaying self-check sends, and the
answers it reads. Pure: text and bytes in, values out; the connection lives in client.py.

Written here rather than taken from a library: the codecs on PyPI are server-side or young,
and the tests run this code against an independent implementation (pysip2's server), which
catches mistakes a shared codec would make on both ends at once.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

DELIMITER = "|"
LOCAL = "    "  # the zone part of a SIP2 date: four spaces = the library's local time


class Sip2FormatError(ValueError):
    """An answer that is not a well-formed SIP2 message."""


class ChecksumMismatch(Sip2FormatError):
    """An answer whose AZ checksum does not add up (the spec: ask for a resend)."""


def sip_datetime(moment: datetime, zone: tzinfo) -> str:
    """YYYYMMDDZZZZHHMMSS in the library's local time: `moment` (aware) as a clock in `zone`
    read it then, with the offset in force at that moment (a checkout made in summer time
    and checked on in winter each get their own)."""
    if moment.tzinfo is None:
        raise ValueError("a SIP2 date needs an aware moment")
    local = moment.astimezone(zone)
    return local.strftime("%Y%m%d") + LOCAL + local.strftime("%H%M%S")


def sip_due_date(due: date) -> str:
    """The due date the patron was given, as the end of that day (servers read the date by
    position; some refuse an all-space date, so every character is filled)."""
    return due.strftime("%Y%m%d") + LOCAL + "235959"


def checksum(data: bytes) -> str:
    """Two's complement of the 16-bit sum of every byte up to and including "AZ"."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def frame(body: str, sequence: int | None, encoding: str) -> bytes:
    """A message ready for the wire: body, AY/AZ error detection, carriage return."""
    if sequence is None:
        return body.encode(encoding) + b"\r"
    head = f"{body}AY{sequence % 10}AZ".encode(encoding)
    return head + checksum(head).encode("ascii") + b"\r"


def _field(code: str, value: str) -> str:
    if DELIMITER in value or "\r" in value or "\n" in value:
        raise ValueError(f"a {code} value cannot hold '|' or a line break: {value!r}")
    return f"{code}{value}{DELIMITER}"


# Requests -----------------------------------------------------------------------------------


def login(user: str, password: str, location: str) -> str:
    return "9300" + _field("CN", user) + _field("CO", password) + _field("CP", location)


def sc_status(paper_out: bool, max_width: int = 40) -> str:
    """99: status code 0 ok / 1 out of paper, max print width, protocol version."""
    return f"99{'1' if paper_out else '0'}{max_width:03d}2.00"


def checkout(
    *,
    occurred_at: datetime,
    due_date: date,
    zone: tzinfo,
    institution: str,
    patron: str,
    item: str,
    terminal_password: str,
) -> str:
    """11 for a checkout made offline: no block = Y (it already happened), the transaction
    date = when it happened, nb due date = the date on the patron's receipt."""
    return (
        "11"
        + "N"  # SC renewal policy
        + "Y"  # no block
        + sip_datetime(occurred_at, zone)
        + sip_due_date(due_date)
        + _field("AO", institution)
        + _field("AA", patron)
        + _field("AB", item)
        + _field("AC", terminal_password)
        + _field("BO", "N")
    )


def patron_information(
    *, now: datetime, zone: tzinfo, institution: str, patron: str, terminal_password: str
) -> str:
    """63 asking for the patron's charged items (summary position 3), to tell whether an
    item is already on loan to them."""
    summary = "  Y       "
    return (
        "63"
        + "001"  # language: English
        + sip_datetime(now, zone)
        + summary
        + _field("AO", institution)
        + _field("AA", patron)
        + _field("AC", terminal_password)
        + _field("BP", "1")
        + _field("BQ", "9999")
    )


RESEND = "97"  # "send your last message again"


# Answers --------------------------------------------------------------------------------------

FIXED_LENGTH = {"94": 1, "98": 34, "12": 22, "64": 59, "96": 0}


@dataclass(frozen=True)
class Message:
    code: str
    fixed: str
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sequence: int | None = None
    undecodable: tuple[bytes, ...] = ()  # values not valid in the encoding, as received

    def first(self, code: str, default: str = "") -> str:
        values = self.fields.get(code)
        return values[0] if values else default

    def all(self, code: str) -> tuple[str, ...]:
        return self.fields.get(code, ())


def parse(raw: bytes, encoding: str) -> Message:
    """One answer (without its carriage return). Raises ChecksumMismatch or Sip2FormatError.

    Decoded field by field: the code, the fixed part and the checksum are ASCII by the
    protocol and read as bytes; a free-text value (a title, a patron's name) that is not
    valid in `encoding` is read with replacement characters and kept, raw, in
    `undecodable`, so one accented title never makes the whole answer unreadable."""
    data = raw.strip(b"\r\n")
    if len(data) < 2:
        raise Sip2FormatError("an empty answer")
    sequence = None
    az = data.rfind(b"AZ")
    trailer = data[az + 2 :] if az != -1 else b""
    if az != -1 and len(trailer) == 4 and all(b in b"0123456789ABCDEFabcdef" for b in trailer):
        if checksum(data[: az + 2]) != data[az + 2 :].decode("ascii", "replace").upper():
            raise ChecksumMismatch("the answer's checksum does not add up")
        ay = data.rfind(b"AY", 0, az)
        if ay != -1 and ay + 3 == az and data[ay + 2 : ay + 3].isdigit():
            sequence = int(data[ay + 2 : ay + 3])
            data = data[:ay]
        else:
            data = data[:az]
    # latin-1 maps each byte to one character: the fixed part keeps its length whatever it holds.
    code = data[:2].decode("latin-1")
    if code not in FIXED_LENGTH:
        raise Sip2FormatError(f"an answer with an unexpected code {code!r}")
    length = FIXED_LENGTH[code]
    fixed = data[2 : 2 + length].decode("latin-1")
    if len(fixed) < length:
        raise Sip2FormatError(f"a {code} answer that is cut short")
    if not fixed.isascii():
        raise Sip2FormatError(f"a {code} answer whose fixed part is not ASCII")
    fields: dict[str, list[str]] = {}
    undecodable: list[bytes] = []
    # The delimiter is one ASCII byte, never part of a multi-byte character in the encodings
    # SIP2 servers use (UTF-8 and the single-byte code pages).
    for part in data[2 + length :].split(DELIMITER.encode("ascii")):
        if len(part) < 2:
            continue
        value = part[2:]
        try:
            text = value.decode(encoding)
        except UnicodeDecodeError:
            text = value.decode(encoding, "replace")
            undecodable.append(value)
        fields.setdefault(part[:2].decode("latin-1"), []).append(text)
    return Message(
        code, fixed, {k: tuple(v) for k, v in fields.items()}, sequence, tuple(undecodable)
    )


# Encodings a SIP2 server is likely to answer in, in the order worth suggesting: cp1252 only
# when the text uses its printable characters in 0x80-0x9F (quotes, dashes), which ISO-8859-1
# reads as control characters.
LIKELY_ENCODINGS = ("utf-8", "iso-8859-1", "cp1252")


def _reads(values: tuple[bytes, ...], encoding: str) -> bool:
    try:
        for value in values:
            value.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def encoding_that_reads(values: tuple[bytes, ...], configured: str) -> str | None:
    """Which likely encoding reads every one of `values` (that `configured` did not), or None."""
    current = codecs.lookup(configured).name
    c1 = any(0x80 <= b <= 0x9F for value in values for b in value)
    order = ("utf-8", "cp1252", "iso-8859-1") if c1 else LIKELY_ENCODINGS
    for candidate in order:
        if codecs.lookup(candidate).name != current and _reads(values, candidate):
            return candidate
    return None


def encoding_advice(values: tuple[bytes, ...], configured: str) -> str:
    """What to tell staff when answers held text `configured` could not read ("" if none)."""
    if not values:
        return ""
    better = encoding_that_reads(values, configured)
    head = f"answers were not valid {configured}"
    if better is None:
        return f"{head} (some text shows as \ufffd): check sip2.encoding"
    return f'{head}: set sip2.encoding = "{better}"'


@dataclass(frozen=True)
class CheckoutAnswer:
    ok: bool
    renewal: bool
    due_date: str  # as the ILS wrote it (formats vary)
    screen_message: str
    title: str


def checkout_answer(message: Message) -> CheckoutAnswer:
    if message.code != "12":
        raise Sip2FormatError(f"expected a checkout answer (12), got {message.code}")
    return CheckoutAnswer(
        ok=message.fixed[0] == "1",
        renewal=message.fixed[1] == "Y",
        due_date=message.first("AH"),
        screen_message=" ".join(message.all("AF")),
        title=message.first("AJ"),
    )


_SIP_DATE = re.compile(r"(\d{8})(.{4})(\d{6})")
_DIGITS = re.compile(r"(\d{8})(?!\d)")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?!\d)")


def due_dates(text: str, zone: tzinfo) -> frozenset[date]:
    """The calendar dates (in the library's `zone`) a due date from the ILS can mean: one for
    a SIP2 date or an ISO date, two for a day/month order it does not say (03/04/2026), none
    for text that names no date. Servers put SIP2 dates, ISO dates or their own free text in
    AH; only the date counts, not the time of day."""
    text = text.strip()
    if sip := _SIP_DATE.fullmatch(text):
        try:
            stamp = datetime.strptime(sip[1] + sip[3], "%Y%m%d%H%M%S")
        except ValueError:
            return frozenset()
        if sip[2] == "   Z":
            return frozenset({stamp.replace(tzinfo=UTC).astimezone(zone).date()})
        return frozenset({stamp.date()})
    if _ISO.match(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return _one(lambda: date.fromisoformat(text[:10]))
        if moment.tzinfo is not None:
            return frozenset({moment.astimezone(zone).date()})
        return frozenset({moment.date()})
    if digits := _DIGITS.match(text):
        return _one(lambda: datetime.strptime(digits[1], "%Y%m%d").date())
    if numeric := _NUMERIC.match(text):
        first, second, year = int(numeric[1]), int(numeric[2]), int(numeric[3])
        year += 2000 if year < 100 else 0
        found = set()
        for month, day in ((first, second), (second, first)):
            try:
                found.add(date(year, month, day))
            except ValueError:
                continue
        return frozenset(found)
    return frozenset()


def _one(make: Callable[[], date]) -> frozenset[date]:
    try:
        return frozenset({make()})
    except ValueError:
        return frozenset()


@dataclass(frozen=True)
class AcsStatus:
    online: bool
    checkout_ok: bool
    offline_ok: bool
    institution: str


def acs_status(message: Message) -> AcsStatus:
    if message.code != "98":
        raise Sip2FormatError(f"expected an ACS status (98), got {message.code}")
    flags = message.fixed[:6]
    return AcsStatus(flags[0] == "Y", flags[2] == "Y", flags[5] == "Y", message.first("AO"))


def charged_items(message: Message) -> tuple[str, ...]:
    if message.code != "64":
        raise Sip2FormatError(f"expected patron information (64), got {message.code}")
    return message.all("AU")


def charged_items_count(message: Message) -> int | None:
    """The 64's own count of the patron's charged items (fixed positions 44-47), if given."""
    if message.code != "64":
        raise Sip2FormatError(f"expected patron information (64), got {message.code}")
    count = message.fixed[43:47]
    return int(count) if count.isdigit() else None
