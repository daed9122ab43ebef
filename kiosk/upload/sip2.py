"""SIP2 (3M Standard Interchange Protocol 2.00) messages a replaying self-check sends, and the
answers it reads. Pure: text and bytes in, values out; the connection lives in client.py.

Written here rather than taken from a library: the codecs on PyPI are server-side or young,
and the tests run this code against an independent implementation (pysip2's server), which
catches mistakes a shared codec would make on both ends at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

DELIMITER = "|"
LOCAL = "    "  # the zone part of a SIP2 date: four spaces = the library's local time


class Sip2FormatError(ValueError):
    """An answer that is not a well-formed SIP2 message."""


class ChecksumMismatch(Sip2FormatError):
    """An answer whose AZ checksum does not add up (the spec: ask for a resend)."""


def sip_datetime(moment: datetime) -> str:
    """YYYYMMDDZZZZHHMMSS in local time (`moment` is already in the library's zone)."""
    return moment.strftime("%Y%m%d") + LOCAL + moment.strftime("%H%M%S")


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
        + sip_datetime(occurred_at)
        + sip_due_date(due_date)
        + _field("AO", institution)
        + _field("AA", patron)
        + _field("AB", item)
        + _field("AC", terminal_password)
        + _field("BO", "N")
    )


def patron_information(
    *, now: datetime, institution: str, patron: str, terminal_password: str
) -> str:
    """63 asking for the patron's charged items (summary position 3), to tell whether an
    item is already on loan to them."""
    summary = "  Y       "
    return (
        "63"
        + "001"  # language: English
        + sip_datetime(now)
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

    def first(self, code: str, default: str = "") -> str:
        values = self.fields.get(code)
        return values[0] if values else default

    def all(self, code: str) -> tuple[str, ...]:
        return self.fields.get(code, ())


def parse(raw: bytes, encoding: str) -> Message:
    """One answer (without its carriage return). Raises ChecksumMismatch or Sip2FormatError."""
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
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Sip2FormatError(f"an answer that is not {encoding}") from exc
    code = text[:2]
    if code not in FIXED_LENGTH:
        raise Sip2FormatError(f"an answer with an unexpected code {code!r}")
    length = FIXED_LENGTH[code]
    fixed = text[2 : 2 + length]
    if len(fixed) < length:
        raise Sip2FormatError(f"a {code} answer that is cut short")
    fields: dict[str, list[str]] = {}
    for part in text[2 + length :].split(DELIMITER):
        if len(part) >= 2:
            fields.setdefault(part[:2], []).append(part[2:])
    return Message(code, fixed, {k: tuple(v) for k, v in fields.items()}, sequence)


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
