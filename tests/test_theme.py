"""The screen colours: every text the screens draw is readable (WCAG AA, 4.5:1), checked when
the config is loaded; colours are #RRGGBB."""

from __future__ import annotations

import re

import pytest

from kiosk.config import ThemeSection, contrast_ratio, parse_config, relative_luminance
from kiosk.errors import ConfigError
from tests.conftest import CONFIG_TEMPLATE

AA = 4.5

# Every (text colour, background colour) pair kiosk/ui/view.py draws.
DRAWN_PAIRS = [
    ("text", "background"),  # heading, message, count, item lines
    ("muted_text", "background"),  # fine print, "+ n" more lines
    ("accent", "background"),  # the library's name, the special due banner, secondary buttons
    ("accent_text", "accent"),  # primary buttons
    ("problem", "background"),  # a problem heading, the countdown
    ("success", "background"),  # due dates
    ("background", "problem"),  # the notice banner
]


def config_with_theme(**colours: str) -> str:
    base = CONFIG_TEMPLATE.format(
        data_dir="/srv/kiosk-data",
        max_age_hours=0,
        max_items_per_session=20,
        max_items_per_patron=0,
    )
    lines = "".join(f'{name} = "{value}"\n' for name, value in colours.items())
    return base + "\n[display.theme]\n" + lines


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "kiosk.toml")
    return caught.value.problems


# contrast_ratio -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [
        ("#000000", "#FFFFFF", 21.0),
        ("#FFFFFF", "#000000", 21.0),  # the order does not matter
        ("#777777", "#FFFFFF", 4.48),  # the classic "grey that just fails"
        ("#767676", "#FFFFFF", 4.54),  # the lightest grey that passes on white
        ("#FFFFFF", "#FFFFFF", 1.0),
        ("#ffffff", "#000000", 21.0),  # lower case is the same colour
    ],
)
def test_known_contrast_ratios(a: str, b: str, ratio: float) -> None:
    assert contrast_ratio(a, b) == pytest.approx(ratio, abs=0.005)


@pytest.mark.parametrize(
    ("colour", "luminance"),
    [("#000000", 0.0), ("#FFFFFF", 1.0), ("#FF0000", 0.2126), ("#00FF00", 0.7152)],
)
def test_relative_luminance(colour: str, luminance: float) -> None:
    assert relative_luminance(colour) == pytest.approx(luminance)


# The default theme ----------------------------------------------------------------------------


@pytest.mark.parametrize(("fg", "bg"), DRAWN_PAIRS, ids=[f"{fg} on {bg}" for fg, bg in DRAWN_PAIRS])
def test_the_default_theme_is_readable(fg: str, bg: str) -> None:
    theme = ThemeSection()
    assert contrast_ratio(getattr(theme, fg), getattr(theme, bg)) >= AA


def test_the_default_config_has_the_default_theme() -> None:
    config = parse_config(config_with_theme(), "kiosk.toml")
    assert config.display.theme == ThemeSection()


# A theme from the config ----------------------------------------------------------------------


def test_a_readable_custom_theme_is_accepted() -> None:
    text = config_with_theme(
        background="#000000",
        text="#FFFFFF",
        muted_text="#CCCCCC",
        accent="#FFD966",
        accent_text="#000000",
        problem="#FF8080",
        success="#7CD992",
    )
    config = parse_config(text, "kiosk.toml")
    assert config.display.theme.background == "#000000"


def test_light_grey_text_on_white_is_refused_naming_the_pair() -> None:
    problems = problems_of(config_with_theme(text="#999999"))

    assert len(problems) == 1
    assert problems[0].startswith("display.theme: ")
    assert "4.5:1" in problems[0]
    assert "text on background is 2.84:1" in problems[0]  # 2.847, rounded down


def test_every_unreadable_pair_is_named_at_once() -> None:
    problems = problems_of(config_with_theme(text="#999999", success="#88CC88"))

    assert len(problems) == 1
    assert "text on background" in problems[0]
    assert "success on background" in problems[0]


def test_a_light_problem_colour_fails_both_ways() -> None:
    """The problem colour is text on the background and the background of the notice."""
    problems = problems_of(config_with_theme(problem="#FF9999"))

    assert "problem on background" in problems[0]
    assert "background on problem" in problems[0]


@pytest.mark.parametrize(
    ("fg", "bg", "colours"),
    [
        ("text", "background", {"text": "#999999"}),
        ("muted_text", "background", {"muted_text": "#AAAAAA"}),
        ("accent_text", "accent", {"accent_text": "#6FA8DC"}),
        ("success", "background", {"success": "#88CC88"}),
        # The library's name, the special due date banner and the secondary buttons are
        # written in the accent colour on the background (kiosk/ui/view.py).
        ("accent", "background", {"accent": "#6FA8DC", "accent_text": "#000000"}),
    ],
)
def test_every_pair_the_screens_draw_is_checked(fg: str, bg: str, colours: dict[str, str]) -> None:
    assert contrast_ratio(colours[fg], colours.get(bg, "#FFFFFF")) < AA  # the case is unreadable

    problems = problems_of(config_with_theme(**colours))

    assert f"{fg} on {bg}" in problems[0]


def test_the_reported_ratio_is_below_the_limit_it_is_refused_for() -> None:
    """#777777 on white is 4.48:1: the message must not say it is 4.5:1, the very limit."""
    problems = problems_of(config_with_theme(muted_text="#777777"))

    reported = re.search(r"muted_text on background is ([\d.]+):1", problems[0])
    assert reported is not None, problems[0]
    assert float(reported.group(1)) < AA, problems[0]


@pytest.mark.parametrize("value", ["#FFF", "white", "FFFFFF", "#GGGGGG", "#FFFFFF00", " #FFFFFF"])
def test_colours_must_be_rrggbb(value: str) -> None:
    problems = problems_of(config_with_theme(background=value))

    assert any(p.startswith("display.theme.background: ") for p in problems), problems
