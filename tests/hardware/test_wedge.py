"""The keyboard-wedge decoder: a burst of keys ended by Enter is a scan; a person typing is not.

Times are plain seconds passed in; gaps are multiples of 1/128 s so the arithmetic is exact.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hardware.wedge import WedgeDecoder

FAST = 1 / 128  # ~8 ms: a scanner
SLOW = 1 / 4  # 250 ms: a person
MAX_GAP = 1 / 8  # 125 ms


def typed(decoder: WedgeDecoder, keys: list[str], gaps: list[float], start: float = 100.0) -> float:
    """Type `keys[i]` after `gaps[i]` seconds; returns the time of the last key."""
    at = start
    for key, gap in zip(keys, gaps, strict=True):
        at += gap
        decoder.key(key, at)
    return at


def burst(
    text: str,
    gap: float = FAST,
    enter_after: float = FAST,
    *,
    min_length: int = 4,
    max_length: int = 256,
) -> str | None:
    decoder = WedgeDecoder(max_gap=MAX_GAP, min_length=min_length, max_length=max_length)
    last = typed(decoder, list(text), [gap] * len(text))
    return decoder.enter(last + enter_after)


@pytest.mark.parametrize(
    ("text", "gap", "enter_after", "expected"),
    [
        ("21234000000018", FAST, FAST, "21234000000018"),  # a scanner
        ("21234000000018", 0.0, 0.0, "21234000000018"),  # keys at the same instant
        ("21234000000018", MAX_GAP, MAX_GAP, "21234000000018"),  # right at the limit
        ("21234000000018", SLOW, FAST, None),  # a person typing
        ("21234000000018", FAST, SLOW, None),  # Enter after a pause
        ("21234000000018", FAST, MAX_GAP + FAST, None),  # just too late
        ("123", FAST, FAST, None),  # shorter than min_length (4)
        ("1234", FAST, FAST, "1234"),  # exactly min_length
        ("", FAST, FAST, None),  # Enter alone
        ("a b-c/ü", FAST, FAST, "a b-c/ü"),  # any characters a scanner may type
    ],
)
def test_bursts(text: str, gap: float, enter_after: float, expected: str | None) -> None:
    assert burst(text, gap, enter_after) == expected


def test_min_length_is_configurable() -> None:
    assert burst("12", min_length=2) == "12"
    assert burst("12", min_length=3) is None


def test_max_length_caps_the_scan() -> None:
    text = "".join(str(i % 10) for i in range(300))
    assert burst(text, max_length=256) == text[:256]
    assert burst(text[:256], max_length=256) == text[:256]


def test_a_key_that_does_not_fit_ends_the_scan_there() -> None:
    """Several characters in one key event (the API takes text): when they do not fit, the
    characters typed after them must not be glued on as if they followed the ones kept."""
    decoder = WedgeDecoder(max_gap=MAX_GAP, min_length=1, max_length=6)
    last = typed(decoder, ["2123", "4000", "0"], [FAST] * 3)

    assert decoder.enter(last + FAST) in (None, "212340")


def test_a_pause_in_the_middle_starts_a_new_burst() -> None:
    decoder = WedgeDecoder(max_gap=MAX_GAP)
    keys = list("xy21234000000018")
    gaps = [SLOW, SLOW, SLOW] + [FAST] * 13  # stray typing, then the scanner
    last = typed(decoder, keys, gaps)

    assert decoder.enter(last + FAST) == "21234000000018"


def test_the_buffer_is_empty_after_enter() -> None:
    decoder = WedgeDecoder(max_gap=MAX_GAP)
    last = typed(decoder, list("21234000000018"), [FAST] * 14)
    assert decoder.enter(last + FAST) == "21234000000018"

    assert decoder.enter(last + 2 * FAST) is None  # a second Enter sends nothing
    last = typed(decoder, list("3123"), [FAST] * 4, start=last + 2 * FAST)
    assert decoder.enter(last + FAST) == "3123"  # nothing left over from before


def test_the_buffer_is_empty_after_an_enter_that_sent_nothing() -> None:
    decoder = WedgeDecoder(max_gap=MAX_GAP)
    last = typed(decoder, list("12"), [FAST, FAST])
    assert decoder.enter(last + FAST) is None  # too short

    last = typed(decoder, list("34"), [FAST, FAST], start=last + FAST)
    assert decoder.enter(last + FAST) is None  # "34", not "1234"


# Properties -----------------------------------------------------------------------------------

scan_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=4, max_size=64
)
fast_gap = st.floats(min_value=0, max_value=MAX_GAP * 0.99)
slow_gap = st.floats(min_value=MAX_GAP * 1.01, max_value=10)


@given(text=scan_text, data=st.data())
def test_any_fast_burst_then_enter_is_the_scan(text: str, data: st.DataObject) -> None:
    decoder = WedgeDecoder(max_gap=MAX_GAP)
    gaps = data.draw(st.lists(fast_gap, min_size=len(text), max_size=len(text)))
    last = typed(decoder, list(text), gaps)

    assert decoder.enter(last + data.draw(fast_gap)) == text


@given(text=st.text(min_size=2, max_size=64), data=st.data())
def test_a_person_typing_never_produces_the_text(text: str, data: st.DataObject) -> None:
    min_length = data.draw(st.integers(min_value=1, max_value=8))
    decoder = WedgeDecoder(max_gap=MAX_GAP, min_length=min_length)
    gaps = data.draw(st.lists(slow_gap, min_size=len(text), max_size=len(text)))
    last = typed(decoder, list(text), gaps)

    scan = decoder.enter(last + data.draw(st.floats(min_value=0, max_value=10)))
    assert scan != text
    assert scan is None or scan == text[-1]  # at most the last key, if one key is enough


@given(text=scan_text, pause=slow_gap)
def test_enter_after_a_pause_sends_nothing(text: str, pause: float) -> None:
    decoder = WedgeDecoder(max_gap=MAX_GAP)
    last = typed(decoder, list(text), [FAST] * len(text))

    assert decoder.enter(last + pause) is None


@given(text=st.text(max_size=3))
def test_shorter_than_min_length_sends_nothing(text: str) -> None:
    decoder = WedgeDecoder(max_gap=MAX_GAP, min_length=4)
    last = typed(decoder, list(text), [FAST] * len(text))

    assert decoder.enter(last + FAST) is None


@given(
    chunks=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=40),
    max_length=st.integers(min_value=4, max_value=32),
)
def test_a_capped_scan_is_the_start_of_what_was_typed(chunks: list[str], max_length: int) -> None:
    """Keys may arrive several characters at a time; a scan is never longer than max_length
    and never leaves out characters from its middle."""
    decoder = WedgeDecoder(max_gap=MAX_GAP, min_length=1, max_length=max_length)
    last = typed(decoder, chunks, [FAST] * len(chunks))

    scan = decoder.enter(last + FAST)
    typed_text = "".join(chunks)
    assert scan is None or len(scan) <= max_length
    assert scan is None or typed_text.startswith(scan), (typed_text, scan)


@given(first=scan_text, second=scan_text, gap=fast_gap)
def test_after_enter_the_next_scan_starts_from_nothing(first: str, second: str, gap: float) -> None:
    decoder = WedgeDecoder(max_gap=MAX_GAP)
    last = typed(decoder, list(first), [FAST] * len(first))
    assert decoder.enter(last + FAST) == first

    last = typed(decoder, list(second), [gap] * len(second), start=last + FAST)
    assert decoder.enter(last + FAST) == second


# Keys handed in by an event loop -------------------------------------------------------------
# A window reads its input queue once a frame, after drawing: keys that came while it drew wait
# and are handled together, at the read. A frame that takes longer than max_gap must not split a
# scanner's burst (issue 15: keys were timed when handled, and a 145 ms frame after the first
# four keys of an item barcode made the other ten an unrecognised scan).

FRAME = 1 / 64  # ~16 ms: a frame that keeps up
STALL = 1 / 4  # 250 ms: a frame that lays out and draws a long item list on a slow board
ENTER = "\n"


def through_loop(
    decoder: WedgeDecoder, keys: list[tuple[float, str]], reads: list[float]
) -> list[str]:
    """Keys (when each came, in order; ENTER for Enter) handed to the decoder as a window does:
    each at the first read of the queue at or after it came, then `caught_up` at that read.
    Returns the scans."""
    scans = []
    queue = list(keys)
    for read in reads:
        while queue and queue[0][0] <= read:
            _, text = queue.pop(0)
            if text == ENTER:
                scan = decoder.enter(read)
                if scan is not None:
                    scans.append(scan)
            else:
                decoder.key(text, read)
        decoder.caught_up(read)
    assert not queue, "a read after the last key"
    return scans


def typed_at(text: str, gaps: list[float], start: float = 100.0) -> list[tuple[float, str]]:
    """`text` then Enter, each key `gaps[i]` seconds after the one before it."""
    at, keys = start, []
    for key, gap in zip([*text, ENTER], gaps, strict=True):
        at += gap
        keys.append((at, key))
    return keys


def reads_every(frames: list[float], start: float = 100.0) -> list[float]:
    at, reads = start, []
    for frame in frames:
        at += frame
        reads.append(at)
    return reads


def test_a_slow_frame_in_the_middle_of_a_burst_does_not_split_it() -> None:
    """The case from issue 15: four keys read, then one long frame while the rest come."""
    code = "31234000002020"
    keys = typed_at(code, [FAST] * (len(code) + 1))
    reads = reads_every([4 * FAST, STALL, *[FRAME] * 40])  # the first read takes 4 keys

    assert through_loop(WedgeDecoder(max_gap=MAX_GAP), keys, reads) == [code]


def test_enter_read_after_a_slow_frame_still_ends_the_scan() -> None:
    code = "31234000002020"
    keys = typed_at(code, [FAST] * (len(code) + 1))
    reads = reads_every([len(code) * FAST, STALL, FRAME])  # the digits read, then Enter late

    assert through_loop(WedgeDecoder(max_gap=MAX_GAP), keys, reads) == [code]


def test_a_pause_read_promptly_still_starts_a_new_burst() -> None:
    """Reads each frame tell the decoder the queue was empty: a pause stays a pause."""
    keys = typed_at("xy21234000000018", [SLOW, SLOW, SLOW] + [FAST] * 14)
    reads = reads_every([FRAME] * 200)

    assert through_loop(WedgeDecoder(max_gap=MAX_GAP), keys, reads) == ["21234000000018"]


def test_enter_after_a_pause_read_promptly_sends_nothing() -> None:
    code = "21234000000018"
    keys = typed_at(code, [FAST] * len(code) + [SLOW])
    reads = reads_every([FRAME] * 200)

    assert through_loop(WedgeDecoder(max_gap=MAX_GAP), keys, reads) == []


frame_time = st.floats(min_value=1 / 1000, max_value=1.0)  # up to a second-long stall


@given(text=scan_text, data=st.data())
def test_a_scanners_burst_is_one_scan_however_late_the_loop_reads(
    text: str, data: st.DataObject
) -> None:
    gaps = data.draw(st.lists(fast_gap, min_size=len(text) + 1, max_size=len(text) + 1))
    keys = typed_at(text, gaps)
    frames = data.draw(st.lists(frame_time, min_size=1, max_size=50))
    reads = reads_every(frames)
    reads.append(max(reads[-1], keys[-1][0]) + FRAME)  # a read after the last key

    assert through_loop(WedgeDecoder(max_gap=MAX_GAP), keys, reads) == [text]


# A read each frame puts a key at most a frame late on either side of a gap.
person_gap = st.floats(min_value=MAX_GAP + 2.01 * FRAME, max_value=10)


@given(text=st.text(min_size=2, max_size=64), data=st.data())
def test_a_person_typing_is_no_scan_while_the_loop_keeps_up(text: str, data: st.DataObject) -> None:
    assume(ENTER not in text)
    gaps = data.draw(st.lists(person_gap, min_size=len(text) + 1, max_size=len(text) + 1))
    keys = typed_at(text, gaps)
    reads = reads_every([FRAME] * (int((keys[-1][0] - 100.0) / FRAME) + 2))

    assert through_loop(WedgeDecoder(max_gap=MAX_GAP, min_length=2), keys, reads) == []
