"""Framing a scanner's byte stream into lines: LF, CR or CRLF; over-long lines cut off."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.framing import Frame, LineFramer


def frames_of(*chunks: bytes, max_length: int = 4096) -> list[Frame]:
    framer = LineFramer(max_length)
    out: list[Frame] = []
    for chunk in chunks:
        out += framer.feed(chunk)
    return out + framer.finish()


def lines(*data: bytes) -> list[Frame]:
    return [Frame(d) for d in data]


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"", []),
        (b"abc\n", lines(b"abc")),
        (b"abc\r", lines(b"abc")),
        (b"abc\r\n", lines(b"abc")),  # one line end, not two
        (b"abc\ndef\n", lines(b"abc", b"def")),
        (b"abc\rdef\r", lines(b"abc", b"def")),
        (b"abc\r\ndef\r\n", lines(b"abc", b"def")),
        (b"abc\ndef\rghi\r\n", lines(b"abc", b"def", b"ghi")),  # mixed
        # Empty lines are frames too (the reader decides what to do with them).
        (b"\n", lines(b"")),
        (b"\r", lines(b"")),
        (b"\r\n", lines(b"")),
        (b"\n\n", lines(b"", b"")),
        (b"\r\r", lines(b"", b"")),
        (b"\r\n\r\n", lines(b"", b"")),
        (b"\n\r", lines(b"", b"")),  # LF then CR is two line ends
        (b"abc\r\r\ndef\n", lines(b"abc", b"", b"def")),
        # A last line without a line end is flushed by finish().
        (b"abc", lines(b"abc")),
        (b"abc\ndef", lines(b"abc", b"def")),
        # Other bytes, including tabs and non-ASCII, are data.
        (b"a\tb\x00c\xff\n", lines(b"a\tb\x00c\xff")),
        (b" 2123 \n", lines(b" 2123 ")),
    ],
)
def test_line_ends(stream: bytes, expected: list[Frame]) -> None:
    assert frames_of(stream) == expected


def test_feed_returns_frames_as_soon_as_a_line_ends() -> None:
    framer = LineFramer()
    assert framer.feed(b"21234") == []
    assert framer.feed(b"000000018\n3123") == lines(b"21234000000018")
    assert framer.feed(b"4000000016\r") == lines(b"31234000000016")
    assert framer.finish() == []


def test_crlf_split_across_two_feeds_is_one_line_end() -> None:
    framer = LineFramer()
    assert framer.feed(b"abc\r") == lines(b"abc")
    assert framer.feed(b"\n") == []
    assert framer.feed(b"def\r") == lines(b"def")
    assert framer.feed(b"\ng") == []
    assert framer.feed(b"hi\n") == lines(b"ghi")
    assert framer.finish() == []


def test_cr_then_lf_in_a_later_feed_after_other_data_is_not_swallowed() -> None:
    framer = LineFramer()
    assert framer.feed(b"abc\r") == lines(b"abc")
    assert framer.feed(b"x\n") == lines(b"x")


def test_one_byte_at_a_time() -> None:
    stream = b"one\r\ntwo\rthree\n\r\nfour"
    framer = LineFramer()
    out: list[Frame] = []
    for byte in stream:
        out += framer.feed(bytes([byte]))
    out += framer.finish()
    assert out == lines(b"one", b"two", b"three", b"", b"four")


def test_finish_resets_the_framer() -> None:
    framer = LineFramer()
    framer.feed(b"abc")
    assert framer.finish() == lines(b"abc")
    assert framer.finish() == []
    assert framer.feed(b"def\n") == lines(b"def")


# Over-long lines ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"abcde\n", [Frame(b"abcde")]),  # exactly at the limit
        (b"abcdef\n", [Frame(b"abcde", overlong=True)]),
        (b"abcdefghijklmnop\nxy\n", [Frame(b"abcde", overlong=True), Frame(b"xy")]),
        (b"abcdefghij\r\nxy\r\n", [Frame(b"abcde", overlong=True), Frame(b"xy")]),
        (b"abcdefghij\rxy\r", [Frame(b"abcde", overlong=True), Frame(b"xy")]),
        # The line end after an over-long line ends it, and the next line can be empty.
        (b"abcdefghij\n\n", [Frame(b"abcde", overlong=True), Frame(b"")]),
        (b"abcdef\r\n\r\n", [Frame(b"abcde", overlong=True), Frame(b"")]),
        # Two over-long lines in a row are reported once each.
        (
            b"0123456789\n9876543210\n",
            [Frame(b"01234", overlong=True), Frame(b"98765", overlong=True)],
        ),
        # An over-long last line without a line end is reported once, not flushed again.
        (b"abcdefghij", [Frame(b"abcde", overlong=True)]),
        # A line at the limit without a line end is a normal last line.
        (b"abcde", [Frame(b"abcde")]),
    ],
)
def test_overlong_lines(stream: bytes, expected: list[Frame]) -> None:
    assert frames_of(stream, max_length=5) == expected


def test_an_overlong_line_is_reported_once_however_it_arrives() -> None:
    framer = LineFramer(max_length=8)
    out: list[Frame] = []
    out += framer.feed(b"0123")
    out += framer.feed(b"45678")
    assert out == [Frame(b"01234567", overlong=True)]
    for _ in range(100):
        assert framer.feed(b"x" * 1000) == []
    assert framer.feed(b"yyy\r") == []  # the end of the over-long line: nothing more
    assert framer.feed(b"\nnext\n") == lines(b"next")
    assert framer.finish() == []


def test_default_limit() -> None:
    assert frames_of(b"a" * 4096 + b"\n") == lines(b"a" * 4096)
    assert frames_of(b"a" * 4097 + b"\n") == [Frame(b"a" * 4096, overlong=True)]


# Property -------------------------------------------------------------------------------------

line_bytes = st.binary(max_size=20).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
terminators = st.sampled_from([b"\n", b"\r", b"\r\n"])


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    data = draw(st.lists(line_bytes, max_size=12), label="lines")
    ends = [draw(terminators) for _ in data]
    # "a" CR, then an empty line ended by LF, is the same bytes as "a" CRLF: no framer can
    # tell them apart, so that combination is written with CRLF for the empty line instead.
    for i in range(1, len(data)):
        if ends[i - 1] == b"\r" and data[i] == b"" and ends[i] == b"\n":
            ends[i] = b"\r\n"
    stream = b"".join(line + end for line, end in zip(data, ends, strict=True))
    # Sometimes leave the last line without a line end (unless it is empty: then it is nothing).
    if data and data[-1] and draw(st.booleans(), label="drop last end"):
        stream = stream[: -len(ends[-1])]
    return data, stream


@settings(max_examples=300)
@given(case=streams(), cuts=st.lists(st.integers(0, 400), max_size=10))
def test_frames_are_the_lines_whatever_the_chunking(
    case: tuple[list[bytes], bytes], cuts: list[int]
) -> None:
    data, stream = case
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    chunks = [stream[a:b] for a, b in itertools.pairwise(points)]
    assert b"".join(chunks) == stream
    assert frames_of(*chunks, max_length=20) == lines(*data)


@settings(max_examples=200)
@given(
    data=st.lists(line_bytes, min_size=1, max_size=8),
    end=terminators,
    limit=st.integers(1, 12),
    chunk=st.integers(1, 7),
)
def test_every_line_gives_exactly_one_frame_cut_at_the_limit(
    data: list[bytes], end: bytes, limit: int, chunk: int
) -> None:
    stream = b"".join(line + end for line in data)
    chunks = [stream[i : i + chunk] for i in range(0, len(stream), chunk)]
    expected = [Frame(line[:limit], overlong=len(line) > limit) for line in data]
    assert frames_of(*chunks, max_length=limit) == expected
