"""One widget tree for every screen: it draws a ScreenView and reports presses. No decisions
here; what it says comes from the presenter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.metrics import dp, mm, sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget
from kivy.utils import get_color_from_hex

from kiosk.presenter.presenter import Action, ButtonView, ScreenView

MIN_TARGET = mm(15)  # touch targets: at least 15 mm in both directions
MAX_LINES_SHOWN = 5


def rgba(colour: str) -> list[float]:
    return list(get_color_from_hex(colour))


class Theme:
    def __init__(self, colours: dict[str, str]) -> None:
        self.colours = colours

    def __getitem__(self, name: str) -> list[float]:
        return rgba(self.colours[name])


def _fill(widget: Widget, colour: list[float]) -> None:
    """Paint a widget's background, following its size and position."""
    with widget.canvas.before:
        Color(*colour)
        rect = Rectangle(pos=widget.pos, size=widget.size)
    widget.bind(
        pos=lambda w, v: setattr(rect, "pos", v), size=lambda w, v: setattr(rect, "size", v)
    )


class BoxLabel(Label):
    """A label that wraps its text inside its own box."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("halign", "center")
        kwargs.setdefault("valign", "middle")
        super().__init__(**kwargs)
        self.bind(size=lambda w, size: setattr(w, "text_size", (size[0] - dp(16), size[1])))


def _row(height: float, **kwargs: Any) -> BoxLabel:
    return BoxLabel(size_hint_y=None, height=height, **kwargs)


class KioskView(BoxLayout):
    """Header (library, language), the main column, the buttons and the fine print.

    Rows have fixed heights, so a screen looks the same whatever it says; the item list takes
    what is left.
    """

    def __init__(self, theme: Theme, press: Callable[[Action], None], logo: Path | None) -> None:
        super().__init__(orientation="vertical", padding=dp(24), spacing=dp(8))
        self.theme = theme
        self.press = press
        self.shown: ScreenView | None = None

        header = BoxLayout(size_hint_y=None, height=max(MIN_TARGET, dp(72)), spacing=dp(16))
        if logo is not None and logo.exists():
            header.add_widget(Image(source=str(logo), size_hint_x=None, width=dp(160)))
        self.library = BoxLabel(font_size=sp(26), color=theme["accent"], bold=True, halign="left")
        header.add_widget(self.library)
        self.language_slot = BoxLayout(
            size_hint_x=None, width=max(MIN_TARGET, dp(200)), padding=(0, 0, dp(4), 0)
        )
        header.add_widget(self.language_slot)
        self.add_widget(header)

        self.notice = _row(0, font_size=sp(28), bold=True, color=theme["background"], opacity=0)
        _fill(self.notice, theme["problem"])
        self.add_widget(self.notice)
        self.heading = _row(dp(110), font_size=sp(44), bold=True, color=theme["text"])
        self.message = _row(dp(80), font_size=sp(30), color=theme["text"])
        self.banner = _row(0, font_size=sp(26), bold=True, color=theme["accent"])
        for widget in (self.heading, self.message, self.banner):
            self.add_widget(widget)
        self.lines = BoxLayout(orientation="vertical", spacing=dp(4))
        self.add_widget(self.lines)
        self.count = _row(dp(50), font_size=sp(28), bold=True, color=theme["text"])
        self.countdown = _row(0, font_size=sp(30), bold=True, color=theme["problem"])
        self.add_widget(self.count)
        self.add_widget(self.countdown)
        self.buttons = BoxLayout(
            size_hint_y=None, height=max(MIN_TARGET, dp(96)), spacing=dp(24), padding=(dp(80), 0)
        )
        self.add_widget(self.buttons)
        self.fine_print = _row(dp(56), font_size=sp(20), color=theme["muted_text"])
        self.add_widget(self.fine_print)

    def _button(self, spec: ButtonView) -> Button:
        primary = spec.primary
        button = Button(
            text=spec.label,
            font_size=sp(32 if primary else 26),
            bold=primary,
            background_normal="",
            background_down="",
            background_color=self.theme["accent"] if primary else self.theme["background"],
            color=self.theme["accent_text"] if primary else self.theme["accent"],
            size_hint_min_x=max(MIN_TARGET, dp(220)),
            size_hint_min_y=MIN_TARGET,
        )
        if not primary:
            with button.canvas.after:  # an outline, so a secondary button still reads as one
                Color(*self.theme["accent"])
                from kivy.graphics import Line

                outline = Line(rectangle=(*button.pos, *button.size), width=dp(2))
            button.bind(
                pos=lambda w, v: setattr(outline, "rectangle", (*v, *w.size)),
                size=lambda w, v: setattr(outline, "rectangle", (*w.pos, *v)),
            )
        button.action = spec.action
        button.bind(on_release=lambda b: self.press(b.action))
        return button

    def render(self, view: ScreenView) -> None:
        if view == self.shown:
            return
        self.shown = view
        t = self.theme
        self.library.text = view.library
        self.heading.text = view.heading
        self.heading.color = t["problem"] if view.problem else t["text"]
        self.message.text = view.message
        self.banner.text = view.banner
        self.count.text = view.count
        self.countdown.text = view.countdown
        self.fine_print.text = view.fine_print
        self.fine_print.color = (
            t["problem"] if view.problem and view.fine_print else t["muted_text"]
        )

        self.notice.text = view.notice.text if view.notice else ""
        self.notice.opacity = 1 if view.notice else 0
        self.notice.height = max(MIN_TARGET, dp(72)) if view.notice else 0
        self.banner.height = dp(50) if view.banner else 0
        self.countdown.height = dp(60) if view.countdown else 0

        self.lines.clear_widgets()
        for line in view.lines[:MAX_LINES_SHOWN]:
            row = BoxLayout(size_hint_y=None, height=dp(48), spacing=dp(16))
            row.add_widget(
                Label(
                    text=line.item,
                    font_size=sp(26),
                    color=t["text"],
                    halign="left",
                    valign="middle",
                    text_size=(dp(520), None),
                )
            )
            row.add_widget(
                Label(
                    text=line.due,
                    font_size=sp(26),
                    color=t["success"],
                    bold=True,
                    halign="right",
                    valign="middle",
                    text_size=(dp(520), None),
                )
            )
            self.lines.add_widget(row)
        hidden = len(view.lines) - MAX_LINES_SHOWN
        if hidden > 0:
            self.lines.add_widget(
                Label(
                    text=f"+ {hidden}",
                    font_size=sp(24),
                    color=t["muted_text"],
                    size_hint_y=None,
                    height=dp(40),
                )
            )

        self.buttons.clear_widgets()
        for spec in view.buttons:
            self.buttons.add_widget(self._button(spec))
        self.buttons.opacity = 1 if view.buttons else 0

        self.language_slot.clear_widgets()
        if view.language_button is not None:
            self.language_slot.add_widget(self._button(view.language_button))

    def button_for(self, action: Action) -> Button | None:
        """The button on screen for an action (tests press it like a finger would)."""
        for parent in (self.buttons, self.language_slot):
            for child in parent.children:
                if getattr(child, "action", None) is action:
                    return child
        return None
