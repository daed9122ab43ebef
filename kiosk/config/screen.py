"""What the patron sees: the session's timers ([session]), the screen and its colours
([display], [display.theme]) and whether a receipt is offered ([receipt])."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from kiosk.config.base import MODEL_CONFIG


class _Model(BaseModel):
    model_config = MODEL_CONFIG


class SessionSection(_Model):
    idle_timeout_seconds: Annotated[int, Field(ge=10, le=3600)] = 60
    countdown_seconds: Annotated[int, Field(ge=0, le=60)] = 10  # warn before the timeout
    notice_seconds: Annotated[float, Field(ge=1, le=30)] = 4  # an item problem stays this long
    refused_seconds: Annotated[float, Field(ge=2, le=60)] = 10
    finish_seconds: Annotated[float, Field(ge=3, le=120)] = 20  # the receipt question waits
    goodbye_seconds: Annotated[float, Field(ge=2, le=60)] = 8

    @model_validator(mode="after")
    def _countdown_fits(self) -> SessionSection:
        if self.countdown_seconds >= self.idle_timeout_seconds:
            raise ValueError("countdown_seconds must be shorter than idle_timeout_seconds")
        return self


_COLOUR = r"^#[0-9A-Fa-f]{6}$"
Colour = Annotated[str, Field(pattern=_COLOUR)]


class ThemeSection(_Model):
    background: Colour = "#FFFFFF"
    text: Colour = "#1B1B1B"
    muted_text: Colour = "#4A4A4A"
    accent: Colour = "#0B5394"  # buttons and headers
    accent_text: Colour = "#FFFFFF"
    problem: Colour = "#A4001D"  # problem notices (text on background)
    success: Colour = "#1E6B2E"

    @model_validator(mode="after")
    def _readable(self) -> ThemeSection:
        pairs = [
            ("text", "background"),
            ("muted_text", "background"),
            ("accent_text", "accent"),
            ("accent", "background"),  # library name, banner, secondary buttons
            ("problem", "background"),
            ("success", "background"),
            ("background", "problem"),  # notice banners: background-coloured text on problem
        ]
        low = [
            # Rounded down: 4.48 must not read as "4.5" in a message refusing it.
            f"{fg} on {bg} is {math.floor(ratio * 100) / 100:.2f}:1"
            for fg, bg in pairs
            if (ratio := contrast_ratio(getattr(self, fg), getattr(self, bg))) < 4.5
        ]
        if low:
            raise ValueError(
                "text must have a contrast of at least 4.5:1 (WCAG AA): " + "; ".join(low)
            )
        return self


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


class DisplaySection(_Model):
    fullscreen: Literal["auto", "borderless", "windowed"] = "auto"
    width: Annotated[int, Field(ge=320, le=7680)] = 1280  # borderless and windowed
    height: Annotated[int, Field(ge=240, le=4320)] = 800
    show_cursor: bool = False
    languages: Annotated[list[Literal["en", "es"]], Field(min_length=1)] = ["en", "es"]
    show_fine_amounts: bool = False
    logo: Path | None = None  # a PNG; relative to the config file
    theme: ThemeSection = ThemeSection()

    @field_validator("languages")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value


class ReceiptSection(_Model):
    mode: Literal["ask", "always", "never"] = "ask"
