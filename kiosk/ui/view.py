"""One widget tree for every screen: it draws a ScreenView and reports presses. No decisions
here; what it says comes from the presenter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.graphics import Color, Line, Rectangle
from kivy.metrics import dp, mm, sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget
from kivy.utils import get_color_from_hex

from kiosk.presenter.presenter import Action, ButtonView, ScreenView

MIN_TARGET = mm(15)  # touch targets: at least 15 mm in both directions
ROW_HEIGHT = dp(48)
ROW_GAP = dp(4)
BUTTON_MIN_WIDTH = dp(220)
LANGUAGE_BUTTON_WIDTH = dp(190)


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
            size_hint_x=None,
            width=max(MIN_TARGET, LANGUAGE_BUTTON_WIDTH) + dp(8),
            padding=(0, 0, dp(8), 0),
        )
        header.add_widget(self.language_slot)
        self.add_widget(header)

        self.notice = _row(0, font_size=sp(28), bold=True, color=theme["background"], opacity=0)
        _fill(self.notice, theme["problem"])
        self.add_widget(self.notice)
        self.heading = _row(dp(90), font_size=sp(44), bold=True, color=theme["text"])
        self.message = _row(dp(64), font_size=sp(30), color=theme["text"])
        self.banner = _row(0, font_size=sp(26), bold=True, color=theme["accent"])
        for widget in (self.heading, self.message, self.banner):
            self.add_widget(widget)
        self.lines = BoxLayout(orientation="vertical", spacing=ROW_GAP)
        self.add_widget(self.lines)
        self._rows: list[tuple[BoxLayout, BoxLabel, BoxLabel]] = []
        self.more = _row(ROW_HEIGHT, font_size=sp(24), color=theme["muted_text"])
        self.spacer = Widget()
        self.lines.bind(size=self._render_lines)
        self._buttons_shown: tuple[ButtonView, ...] = ()
        self._language_shown: ButtonView | None = None
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

    def _button(self, spec: ButtonView, min_width: float = BUTTON_MIN_WIDTH) -> Button:
        primary = spec.primary
        button = Button(
            text=spec.label,
            font_size=sp(32 if primary else 26),
            bold=primary,
            background_normal="",
            background_down="",
            background_color=self.theme["accent"] if primary else self.theme["background"],
            color=self.theme["accent_text"] if primary else self.theme["accent"],
            size_hint_min_x=max(MIN_TARGET, min_width),
            size_hint_min_y=MIN_TARGET,
        )
        if not primary:
            with button.canvas.after:  # an outline, so a secondary button still reads as one
                Color(*self.theme["accent"])
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
        # Rows with nothing to say fold away, leaving the room to the item list.
        self.banner.height = dp(50) if view.banner else 0
        self.countdown.height = dp(60) if view.countdown else 0
        self.count.height = dp(50) if view.count else 0
        self.fine_print.height = dp(56) if view.fine_print else 0

        self._render_lines()
        # Buttons are rebuilt only when they change: fewer objects made per scan means fewer
        # garbage collections on the UI thread.
        if view.buttons != self._buttons_shown:
            self._buttons_shown = view.buttons
            self.buttons.clear_widgets()
            for spec in view.buttons:
                self.buttons.add_widget(self._button(spec))
        self.buttons.opacity = 1 if view.buttons else 0
        if view.language_button != self._language_shown:
            self._language_shown = view.language_button
            self.language_slot.clear_widgets()
            if view.language_button is not None:
                self.language_slot.add_widget(
                    self._button(view.language_button, min_width=LANGUAGE_BUTTON_WIDTH)
                )

    def _render_lines(self, *args: Any) -> None:
        """As many item rows as the list's height holds, the newest first; the rest are
        counted in a "+ N" row. Called again whenever the list's height changes (a notice or
        the countdown takes room)."""
        lines = self.shown.lines if self.shown else ()
        fits = int((self.lines.height + ROW_GAP) // (ROW_HEIGHT + ROW_GAP))
        shown = len(lines) if len(lines) <= fits else max(fits - 1, 0)
        self.lines.clear_widgets()
        for index, line in enumerate(lines[:shown]):
            row, item_label, due_label = self._row(index)
            item_label.text = line.item
            due_label.text = line.due
            self.lines.add_widget(row)
        if shown < len(lines) and fits > 0:
            self.more.text = f"+ {len(lines) - shown}"
            self.lines.add_widget(self.more)
        self.lines.add_widget(self.spacer)  # the rows stay at the top of the list

    def _row(self, index: int) -> tuple[BoxLayout, BoxLabel, BoxLabel]:
        """Row widgets are made once and reused."""
        while len(self._rows) <= index:
            t = self.theme
            row = BoxLayout(
                size_hint_y=None, height=ROW_HEIGHT, spacing=dp(16), padding=(dp(60), 0)
            )
            item_label = BoxLabel(font_size=sp(26), color=t["text"], halign="left")
            due_label = BoxLabel(font_size=sp(26), color=t["success"], bold=True, halign="right")
            row.add_widget(item_label)
            row.add_widget(due_label)
            self._rows.append((row, item_label, due_label))
        return self._rows[index]

    def button_for(self, action: Action) -> Button | None:
        """The button on screen for an action (tests press it like a finger would)."""
        for parent in (self.buttons, self.language_slot):
            for child in parent.children:
                if getattr(child, "action", None) is action:
                    return child
        return None
