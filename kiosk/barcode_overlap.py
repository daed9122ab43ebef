"""Can one scan fit both the patron and the item barcode rule?

Config validation refuses such rules unless `[barcodes] overlap = "lists"` says how to tell a
card from an item. The answer is exact, with the shortest code that fits both as the example:

- two prefix/length rules overlap when one prefix starts the other and their lengths are
  equal or one is unset;
- a regular expression is compared as a finite automaton built by interegular (the regex
  comparison lark and outlines use), run side by side with the other rule's automaton;
- a Luhn check digit is carried along the search: any shape with room for digits has codes
  with a good check digit, so Luhn on both rules never tells them apart.

A pattern interegular cannot read (a backreference, `\\b`, a lookbehind, an inline flag
after the start ...) is taken to overlap: fail closed. So is an example that Python's own
`re` does not match the way interegular said it would.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from interegular import FSM, parse_pattern
from interegular.fsm import State, TransitionKey, anything_else

from kiosk.domain.barcodes import BarcodeRule, CheckDigit, luhn_check_digit

# Characters an example is written with, most readable first. The last ones stand for "any
# other character" when a pattern names every ASCII one.
_READABLE = string.digits + string.ascii_uppercase + string.ascii_lowercase + "-._/+ #é"
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a digit doubled, 9 taken off above 9 (Luhn)


@dataclass(frozen=True)
class Overlap:
    example: str | None  # a code that fits both rules, check digits included
    unsure: str = ""  # why the rules could not be compared (then taken to overlap)

    def problem(self, patron: BarcodeRule, item: BarcodeRule) -> str:
        """What `kiosk config check` says, with the two ways out."""
        if self.example is not None:
            found = f"the patron and item rules can fit the same scan, such as {self.example}"
        else:
            found = f"the patron and item rules cannot be compared ({self.unsure}), so they are "
            found += "taken to overlap"
        luhn = ""
        if patron.check_digit is CheckDigit.LUHN and item.check_digit is CheckDigit.LUHN:
            luhn = " (a Luhn check digit on both does not tell them apart)"
        return (
            f"{found}{luhn}, so a card could be lent as an item: make the rules distinct (each "
            'with a prefix of its own, such as "2" for cards and "3" for items), or set overlap = '
            '"lists" to tell them apart by the patron and item snapshots (README, "Configuration")'
        )


def find_overlap(patron: BarcodeRule, item: BarcodeRule, max_length: int) -> Overlap | None:
    """A scan of at most max_length characters that fits both rules, or None if none can."""
    if _fits_nothing(patron) or _fits_nothing(item):
        return None
    luhn = CheckDigit.LUHN in (patron.check_digit, item.check_digit)
    if patron.pattern is None and item.pattern is None:
        example = _prefix_example(patron, item, max_length, luhn)
        return None if example is None else Overlap(example)
    try:
        machines = (_machine(patron), _machine(item))
        example = _shortest_common(*machines, luhn=luhn, max_length=max_length)
    except Exception as exc:  # whatever interegular cannot read is taken to overlap
        return Overlap(None, f"interegular: {type(exc).__name__}: {exc}".rstrip(": "))
    if example is None:
        return None
    if not (_fits(patron, example) and _fits(item, example)):
        return Overlap(None, f"Python's re and interegular disagree about {example!r}")
    return Overlap(example)


def _fits(rule: BarcodeRule, code: str) -> bool:
    return rule.has_shape(code) and rule.check_ok(code)


def _fits_nothing(rule: BarcodeRule) -> bool:
    return rule.pattern is None and rule.length is not None and rule.length < len(rule.prefix)


def _prefix_example(
    patron: BarcodeRule, item: BarcodeRule, max_length: int, luhn: bool
) -> str | None:
    shorter, longer = sorted((patron.prefix, item.prefix), key=len)
    if not longer.startswith(shorter):
        return None
    lengths = {rule.length for rule in (patron, item) if rule.length is not None}
    if len(lengths) > 1:
        return None
    # Unset lengths: the longer prefix, with room for a check digit when one is needed.
    length = lengths.pop() if lengths else max(len(longer) + luhn, 1 + luhn)
    if not len(longer) <= length <= max_length:
        return None
    code = longer + "0" * (length - len(longer))
    if luhn and len(code) > len(longer) and code[:-1].isascii() and code[:-1].isdigit():
        code = code[:-1] + str(luhn_check_digit(code[:-1]))
    return code if _fits(patron, code) and _fits(item, code) else None


def _machine(rule: BarcodeRule) -> FSM:
    """The rule as an automaton of the codes it fits (shape only)."""
    if rule.pattern is not None:
        pattern = _without_anchors(rule.pattern)
    else:
        rest = ".*" if rule.length is None else f".{{{rule.length - len(rule.prefix)}}}"
        pattern = re.escape(rule.prefix) + rest
    return parse_pattern(pattern).to_fsm()


def _without_anchors(pattern: str) -> str:
    """A pattern is matched whole (re.fullmatch), so a leading ^ or \\A and a trailing $ or
    \\Z change nothing; interegular does not read them."""
    for start in ("^", r"\A"):
        if pattern.startswith(start):
            pattern = pattern[len(start) :]
            break
    for end in ("$", r"\Z"):
        body = pattern[: -len(end)]
        escaped = (len(body) - len(body.rstrip("\\"))) % 2 == 1
        if pattern.endswith(end) and not escaped:
            return body
    return pattern


# A search state: both automata's states; for Luhn, the digit sums (mod 10) as if the digits
# at even, then odd, positions from the left were the doubled ones (which of the two is the
# code's Luhn sum depends on its final length); and whether it ends in a space (a scanner's
# padding, stripped from every scan: no scan starts or ends with one).
_State = tuple[State, State, int, int, bool]


def _shortest_common(a: FSM, b: FSM, *, luhn: bool, max_length: int) -> str | None:
    """The shortest string both automata accept (with a good Luhn check digit when asked),
    searched breadth first over pairs of their states."""
    steps = _steps(a, b, luhn=luhn)
    start: _State = (a.initial, b.initial, 0, 0, False)
    came_from: dict[_State, tuple[_State, str]] = {}
    layer = [start]
    for length in range(1, max_length + 1):
        following = []
        for state in layer:
            at_a, at_b, even_sum, odd_sum, _ = state
            for char, (key_a, key_b) in steps:
                if char == " " and length == 1:
                    continue
                next_a = a.map.get(at_a, {}).get(key_a)
                next_b = b.map.get(at_b, {}).get(key_b)
                if next_a is None or next_b is None:
                    continue  # one of them refuses this character here
                if luhn:
                    digit, doubled = int(char), _DOUBLED[int(char)]
                    at_even = length % 2 == 1  # this character's index (length - 1) is even
                    even_sum = (state[2] + (doubled if at_even else digit)) % 10
                    odd_sum = (state[3] + (digit if at_even else doubled)) % 10
                following_state = (next_a, next_b, even_sum, odd_sum, char == " ")
                if following_state in came_from or following_state == start:
                    continue
                came_from[following_state] = (state, char)
                following.append(following_state)
                luhn_sum = even_sum if length % 2 == 0 else odd_sum
                if (
                    next_a in a.finals
                    and next_b in b.finals
                    and char != " "
                    and (not luhn or (length >= 2 and luhn_sum == 0))
                ):
                    return _spelled(following_state, came_from, start)
        if not following:
            return None
        layer = following
    return None


def _steps(a: FSM, b: FSM, *, luhn: bool) -> list[tuple[str, tuple[TransitionKey, TransitionKey]]]:
    """The characters worth trying, one for each pair of transitions they take in the two
    automata (every digit with Luhn, whose sums tell digits apart)."""
    if luhn:
        return [(c, (a.alphabet[c], b.alphabet[c])) for c in string.digits]
    named = {s for s in (*a.alphabet, *b.alphabet) if s is not anything_else}
    others = [c for c in _READABLE if c not in named][:1]  # any other character

    def readable_first(char: str) -> tuple[int, str]:
        rank = _READABLE.find(char)
        return (rank if rank >= 0 else len(_READABLE), char)

    # Control characters never reach the rules: a scan with one is refused before.
    chars = sorted(
        (c for c in (*named, *others) if unicodedata.category(c)[0] != "C"), key=readable_first
    )
    steps: dict[tuple[TransitionKey, TransitionKey], str] = {}
    for char in chars:
        steps.setdefault((a.alphabet[char], b.alphabet[char]), char)
    return [(char, keys) for keys, char in steps.items()]


def _spelled(state: _State, came_from: dict[_State, tuple[_State, str]], start: _State) -> str:
    chars = []
    while state != start:
        state, char = came_from[state]
        chars.append(char)
    return "".join(reversed(chars))
