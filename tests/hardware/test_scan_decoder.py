"""Bytes from a serial scanner to scans: terminators, what scanners add, and what is refused."""

from __future__ import annotations

import itertools
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.scan_decoder import ScanDecoder, Terminator, is_aim_identifier
from hardware.scanner import Rejected, Scanned, mask

ITEM = "31234000000016"


def decode(stream: bytes, chunk: int = 0, **options: object) -> list[Scanned | Rejected]:
    decoder = ScanDecoder("s1", **options)  # type: ignore[arg-type]
    if chunk:
        out: list[Scanned | Rejected] = []
        for i in range(0, len(stream), chunk):
            out += decoder.feed(stream[i : i + chunk], 0.0)
        return out
    return decoder.feed(stream, 0.0)


def scans(*texts: str) -> list[Scanned | Rejected]:
    return [Scanned("s1", text) for text in texts]


# Terminators ----------------------------------------------------------------------------------

TERMINATOR_CASES: list[tuple[Terminator, bytes, list[str]]] = [
    ("any", b"111\n222\r333\r\n444", ["111", "222", "333"]),
    ("any", b"111\r\n\r\n222\n", ["111", "222"]),  # empty lines give nothing
    ("cr", b"111\r222\r", ["111", "222"]),
    ("cr", b"111\r\n", ["111"]),  # the LF is then the start of the next line...
    ("lf", b"111\n222\n", ["111", "222"]),
    ("lf", b"\n\n111\n", ["111"]),
    ("crlf", b"111\r\n222\r\n", ["111", "222"]),
    ("crlf", b"\r\n111\r\n", ["111"]),
    ("crlf", b"111\r\n222", ["111"]),  # no line end yet
]


@pytest.mark.parametrize(("terminator", "stream", "expected"), TERMINATOR_CASES)
@pytest.mark.parametrize("chunk", [0, 1, 2, 3])
def test_terminators(
    terminator: Terminator, stream: bytes, expected: list[str], chunk: int
) -> None:
    assert decode(stream, chunk, terminator=terminator) == scans(*expected)


@pytest.mark.parametrize(
    ("terminator", "stream", "reason"),
    [
        # Only the chosen line end ends a line: the others are data, and control characters.
        ("cr", b"\n111\r", "contains control characters"),
        ("lf", b"111\r\n", "contains control characters"),
        ("crlf", b"111\r222\r\n", "contains control characters"),
        ("crlf", b"111\n222\r\n", "contains control characters"),
    ],
)
def test_other_line_ends_are_data(terminator: Terminator, stream: bytes, reason: str) -> None:
    [message] = decode(stream, terminator=terminator)
    assert isinstance(message, Rejected)
    assert message.reason == reason
    assert "\r" not in message.shown and "\n" not in message.shown


def test_idle_terminator_ends_a_frame_after_a_quiet_gap() -> None:
    decoder = ScanDecoder("s1", terminator="idle")
    assert decoder.feed(b"3123", 10.00) == []
    assert decoder.feed(b"4000000016", 10.01) == []
    assert decoder.idle(10.03, gap=0.05) == []  # not quiet long enough
    assert decoder.idle(10.06, gap=0.05) == scans(ITEM)
    assert decoder.idle(20.0, gap=0.05) == []  # said once


def test_idle_terminator_uses_its_own_gap_by_default() -> None:
    decoder = ScanDecoder("s1", terminator="idle", idle_gap=0.2)
    decoder.feed(b"111", 0.0)
    assert decoder.idle(0.1) == []
    assert decoder.idle(0.2) == scans("111")


def test_idle_terminator_a_gap_before_new_bytes_ends_the_previous_frame() -> None:
    decoder = ScanDecoder("s1", terminator="idle", idle_gap=0.05)
    decoder.feed(b"111", 0.0)
    assert decoder.feed(b"222", 1.0) == scans("111")
    assert decoder.idle(2.0) == scans("222")


def test_idle_terminator_keeps_line_ends_as_data() -> None:
    decoder = ScanDecoder("s1", terminator="idle")
    decoder.feed(b"111\r\n", 0.0)
    [message] = decoder.idle(1.0, 0.05)
    assert isinstance(message, Rejected)


def test_idle_does_nothing_for_line_terminators() -> None:
    decoder = ScanDecoder("s1", terminator="any")
    decoder.feed(b"111", 0.0)
    assert decoder.idle(100.0, 0.05) == []
    assert decoder.feed(b"\r", 100.0) == scans("111")


def test_reset_forgets_a_partial_frame() -> None:
    decoder = ScanDecoder("s1")
    decoder.feed(b"3123", 0.0)
    decoder.reset()
    assert decoder.feed(b"999\r", 0.0) == scans("999")


def test_unknown_terminator_is_refused() -> None:
    with pytest.raises(ValueError, match="terminator"):
        ScanDecoder("s1", terminator="tab")  # type: ignore[arg-type]


# What scanners add ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "options", "expected"),
    [
        # Prefix and suffix, stripped when present.
        (b"@@31234000000016##\r", {"prefix": "@@", "suffix": "##"}, ITEM),
        (b"@@31234000000016\r", {"prefix": "@@", "suffix": "##"}, ITEM),
        (b"31234000000016\r", {"prefix": "@@"}, ITEM),
        (b"\xc2\xa731234000000016\r", {"prefix": "§"}, ITEM),
        # AIM identifiers.
        (b"]F031234000000016\r", {}, ITEM),
        (b"]C1ABC-123\r", {}, "ABC-123"),
        (b"]E031234000000016\r", {}, ITEM),
        (b"]F031234000000016\r", {"strip_aim": False}, "]F0" + ITEM),
        (b"]!031234000000016\r", {}, "]!0" + ITEM),  # not an AIM identifier: data
        (b"]F\r", {}, "]F"),
        # Codabar start/stop around digits (and the other Codabar data characters).
        (b"A31234000000016B\r", {}, ITEM),
        (b"c31234000000016d\r", {}, ITEM),
        (b"D12-34$5:6/7.8+9A\r", {}, "12-34$5:6/7.8+9"),
        (b"A31234000000016B\r", {"strip_codabar": False}, "A" + ITEM + "B"),
        (b"]F0A31234000000016B\r", {}, ITEM),  # both
        (b"@]F0A31234000000016B#\r", {"prefix": "@", "suffix": "#"}, ITEM),  # all four
        # Not Codabar-framed: letters inside, one end only, or another symbology's AIM id.
        (b"ABC123D\r", {}, "ABC123D"),
        (b"A31234000000016\r", {}, "A" + ITEM),
        (b"AB\r", {}, "AB"),
        (b"]C0A12345B\r", {}, "A12345B"),  # Code 128: the A and B are data
    ],
)
def test_what_scanners_add_is_stripped(
    stream: bytes, options: dict[str, Any], expected: str
) -> None:
    assert decode(stream, **options) == scans(expected)


@pytest.mark.parametrize(
    "stream",
    [b"]F0\r", b"@@##\r", b"@@]F0##\r", b"\r", b"\r\n"],
)
def test_frames_that_hold_only_additions_give_nothing(stream: bytes) -> None:
    assert decode(stream, prefix="@@", suffix="##") == []


def test_aim_identifier_shape() -> None:
    assert is_aim_identifier("]F0")
    assert is_aim_identifier("]d2")
    assert not is_aim_identifier("]F")
    assert not is_aim_identifier("[F0")
    assert not is_aim_identifier("]É0")
    assert not is_aim_identifier("]F ")


# Rejected reads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "reason", "shown"),
    [
        (b"\xff\xfe123\r", "not UTF-8 text", "\N{REPLACEMENT CHARACTER}" * 2 + "123"),
        (b"12\xc3\r", "not UTF-8 text", "12\N{REPLACEMENT CHARACTER}"),
        (b"12\x0734\r", "contains control characters", "12\N{REPLACEMENT CHARACTER}34"),
        (b"12\x0034\r", "contains control characters", "12\N{REPLACEMENT CHARACTER}34"),
        (b"\x1b[A\r", "contains control characters", "\N{REPLACEMENT CHARACTER}[A"),
        (b"12\xe2\x80\x8b34\r", "contains control characters", "12\N{REPLACEMENT CHARACTER}34"),
        (b"1234567890X\r", "longer than 10 characters", "1234567890…"),
    ],
)
def test_rejects(stream: bytes, reason: str, shown: str) -> None:
    assert decode(stream, max_length=10) == [Rejected("s1", shown, reason)]


def test_a_reject_does_not_stop_the_next_scan() -> None:
    out = decode(b"\xff\r" + ITEM.encode() + b"\r")
    assert [type(m) for m in out] == [Rejected, Scanned]
    assert out[1] == Scanned("s1", ITEM)


def test_length_is_counted_in_characters_after_stripping() -> None:
    assert decode(b"]F0A1234567890B\r", max_length=10) == scans("1234567890")
    assert decode("ééééé\r".encode(), max_length=5) == scans("ééééé")
    [message] = decode("éééééé\r".encode(), max_length=5)
    assert isinstance(message, Rejected) and message.reason == "longer than 5 characters"


def test_a_flood_without_line_end_is_rejected_once_and_not_kept() -> None:
    decoder = ScanDecoder("s1", max_length=10)
    out: list[Scanned | Rejected] = []
    for _ in range(1000):
        out += decoder.feed(b"9" * 1000, 0.0)
    out += decoder.feed(b"\r111\r", 0.0)
    assert [type(m) for m in out] == [Rejected, Scanned]
    assert isinstance(out[0], Rejected) and out[0].reason == "longer than 10 characters"
    assert len(out[0].shown) <= 11  # cut short for showing, with an ellipsis
    assert out[1] == Scanned("s1", "111")


def test_mask_keeps_only_the_last_four_characters() -> None:
    assert mask(ITEM) == "**********0016"
    assert mask("1234") == "****"
    assert mask("") == ""


# Properties -----------------------------------------------------------------------------------


def has_control(text: str) -> bool:
    return any(unicodedata.category(ch)[0] == "C" for ch in text)


@settings(max_examples=300)
@given(
    stream=st.binary(max_size=300)
    | st.lists(
        st.sampled_from([b"\r", b"\n", b"]F0", b"A", b"B", b"123", b"\xff", b"\x00", "é".encode()])
    ).map(b"".join),
    cuts=st.lists(st.integers(0, 300), max_size=12),
    terminator=st.sampled_from(["any", "cr", "lf", "crlf", "idle"]),
    max_length=st.integers(1, 20),
    times=st.lists(st.floats(0, 1), min_size=13, max_size=13),
)
def test_any_byte_stream_in_any_chunks_gives_only_clean_bounded_scans(
    stream: bytes,
    cuts: list[int],
    terminator: Terminator,
    max_length: int,
    times: list[float],
) -> None:
    decoder = ScanDecoder("s1", terminator=terminator, max_length=max_length, prefix="@")
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    now = 0.0
    out: list[Scanned | Rejected] = []
    for (a, b), step in zip(itertools.pairwise(points), times, strict=False):
        now += step
        out += decoder.feed(stream[a:b], now)
        out += decoder.idle(now, 0.5)
    out += decoder.idle(now + 10, 0.5)
    for message in out:
        if isinstance(message, Scanned):
            assert message.text
            assert len(message.text) <= max_length
            assert not has_control(message.text)
        else:
            assert message.reason
            assert not has_control(message.shown)


@settings(max_examples=200)
@given(
    texts=st.lists(
        st.text(
            st.characters(exclude_categories=["C"], exclude_characters="@"),
            min_size=1,
            max_size=10,
        ),
        max_size=6,
    ),
    chunk=st.integers(1, 9),
)
def test_clean_text_comes_through_whatever_the_chunking(texts: list[str], chunk: int) -> None:
    decoder = ScanDecoder("s1", terminator="crlf", strip_aim=False, strip_codabar=False)
    stream = b"".join(text.encode() + b"\r\n" for text in texts)
    out: list[Scanned | Rejected] = []
    for i in range(0, len(stream), chunk):
        out += decoder.feed(stream[i : i + chunk], 0.0)
    assert out == scans(*texts)
