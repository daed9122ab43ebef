"""The staff screens' widgets: a status panel, a keypad or the action buttons, and what the
last action did. Draws a StaffScreenView and reports presses; no decisions here."""

from __future__ import annotations

from collections.abc import Callable

from kivy.graphics import Color, Line
from kivy.metrics import dp, sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.utils import escape_markup, get_hex_from_color

from kiosk.presenter.staff import Press, StaffButton, StaffPress, StaffScreenView
from kiosk.ui.view import MIN_TARGET, BoxLabel, Theme

KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "Delete", "0", "")
KEY_ROW = dp(72)
ACTION_ROW = dp(96)


class StaffView(BoxLayout):
    def __init__(self, theme: Theme, press: Callable[[StaffPress, str], None]) -> None:
        super().__init__(orientation="vertical", padding=dp(24), spacing=dp(10))
        self.theme = theme
        self.press = press
        self.shown: StaffScreenView | None = None
        self.heading = BoxLabel(
            size_hint_y=None, height=dp(64), font_size=sp(36), bold=True, color=theme["text"]
        )
        self.add_widget(self.heading)
        body = BoxLayout(spacing=dp(24))
        self.status = Label(
            font_size=sp(20),
            color=theme["text"],
            halign="left",
            valign="top",
            markup=True,
            size_hint_x=0.48,
        )
        self.status.bind(size=lambda w, size: setattr(w, "text_size", size))
        body.add_widget(self.status)
        right = self.column = BoxLayout(orientation="vertical", spacing=dp(10))
        self.entry = BoxLabel(size_hint_y=None, height=0, font_size=sp(34), color=theme["text"])
        self.keypad = GridLayout(cols=3, spacing=dp(8), size_hint_y=None, height=0)
        # Rows keep their height (at least 15 mm) however few buttons a page has.
        self.actions = GridLayout(
            cols=2, spacing=dp(10), row_force_default=True, row_default_height=ACTION_ROW
        )
        for widget in (self.entry, self.keypad, self.actions):
            right.add_widget(widget)
        body.add_widget(right)
        self.add_widget(body)
        self.message = BoxLabel(size_hint_y=None, height=dp(56), font_size=sp(24), bold=True)
        self.details = BoxLabel(
            size_hint_y=None, height=dp(64), font_size=sp(19), color=theme["muted_text"]
        )
        self.footer = BoxLabel(
            size_hint_y=None, height=dp(32), font_size=sp(16), color=theme["muted_text"]
        )
        for widget in (self.message, self.details, self.footer):
            self.add_widget(widget)
        for key in KEYS:
            if not key:
                self.keypad.add_widget(Label())
                continue
            kind = Press.BACKSPACE if key == "Delete" else Press.DIGIT
            font = sp(24) if kind is Press.BACKSPACE else sp(34)
            button = self._make(StaffButton(kind, key, arg=key), font=font)
            self.keypad.add_widget(button)

    def _make(self, spec: StaffButton, font: float | None = None) -> Button:
        t = self.theme
        colour = t["problem"] if spec.danger else t["accent"]
        button = Button(
            text=spec.label,
            font_size=font or sp(24),
            bold=spec.primary,
            halign="center",
            valign="middle",
            background_normal="",
            background_down="",
            background_color=colour if spec.primary else t["background"],
            color=t["accent_text"] if spec.primary else colour,
            size_hint_min_y=MIN_TARGET,
            size_hint_min_x=MIN_TARGET,
        )
        button.bind(size=lambda w, size: setattr(w, "text_size", (size[0] - dp(12), None)))
        if not spec.primary:
            with button.canvas.after:
                Color(*colour)
                outline = Line(rectangle=(*button.pos, *button.size), width=dp(1.5))
            button.bind(
                pos=lambda w, v: setattr(outline, "rectangle", (*v, *w.size)),
                size=lambda w, v: setattr(outline, "rectangle", (*w.pos, *v)),
            )
        button.spec = spec
        button.bind(on_release=lambda b: self.press(b.spec.press, b.spec.arg))
        return button

    def render(self, view: StaffScreenView) -> None:
        if view == self.shown:
            return
        previous, self.shown = self.shown, view
        t = self.theme
        self.heading.text = view.heading
        self.status.text = "\n".join(
            _status_line(line.label, line.value, line.warn, t) for line in view.status
        )
        self.entry.text = view.entry
        self.entry.height = dp(64) if view.entry else 0
        # The keypad is in the layout only on pages that use it (hidden, its keys would still
        # be laid out over the action buttons).
        self.keypad.height = 4 * KEY_ROW + 3 * dp(8)
        if view.keypad and self.keypad.parent is None:
            self.column.add_widget(self.keypad, index=len(self.column.children) - 1)
        elif not view.keypad and self.keypad.parent is not None:
            self.column.remove_widget(self.keypad)
        self.message.text = view.message
        self.message.color = t["text"] if view.message_ok else t["problem"]
        self.details.text = "\n".join(view.details)
        self.footer.text = view.footer
        if previous is None or previous.buttons != view.buttons:
            self.actions.clear_widgets()
            # Under a keypad the buttons go in one row; otherwise two columns.
            self.actions.cols = max(len(view.buttons), 1) if view.keypad else 2
            self.actions.row_default_height = max(
                MIN_TARGET, KEY_ROW if view.keypad else ACTION_ROW
            )
            for spec in view.buttons:
                self.actions.add_widget(self._make(spec))

    def button_for(self, press: StaffPress, arg: str = "") -> Button | None:
        """The button on screen for a press (tests press it like a finger would)."""
        for parent in (self.actions, self.keypad):
            for child in parent.children:
                spec = getattr(child, "spec", None)
                if spec is not None and spec.press is press and (not arg or spec.arg == arg):
                    return child
        return None


def _status_line(label: str, value: str, warn: bool, theme: Theme) -> str:
    colour = get_hex_from_color(theme["problem"] if warn else theme["text"])
    text = escape_markup(value)
    if label:
        return f"[b]{escape_markup(label)}:[/b] [color={colour}]{text}[/color]"
    return f"    [color={colour}]{text}[/color]"
