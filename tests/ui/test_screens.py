"""Every screen of the real Kivy app, rendered offscreen, checked widget by widget.

Design: the app runs in a subprocess (tests/ui/driver.py), not in the pytest process. Kivy has
one Window per process and takes the window settings from the config once, when
`kivy.core.window` is first imported (configure_window must run first); the UI tests need
several configs (cursor shown or hidden, a 5 ms key gap), and an App is not built to run twice
in a process. One process per scenario, started by a module-scoped fixture, keeps each
scenario's window, event loop and engine thread its own: a test that manages to close the app
ends only its own scenario, and these tests never import Kivy into the pytest process.

The driver builds the app exactly as `kiosk run --offscreen` does, with a ManualClock, and steps
it frame by frame like kiosk/ui/script.py; it records for each capture the presenter's
ScreenView for the state on screen, the real widgets (texts, sizes, positions) and a
screenshot. Time on screen only moves with the ManualClock; waits are bounded frame counts.

This module runs one tour through every screen, in English and in Spanish.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import item, patron
from tests.ui.harness import HEIGHT, START, WIDTH, Run, make_home, run_scenario, spool_rows

# capture name -> (screen, language); the tour in driver.py makes exactly these.
CAPTURES = {
    "welcome": ("welcome", "en"),
    "welcome-es": ("welcome", "es"),
    "checkout-empty": ("checkout", "en"),
    "checkout": ("checkout", "en"),
    "item-problem": ("checkout", "en"),
    "idle-45s": ("checkout", "en"),
    "countdown": ("checkout", "en"),
    "timed-out": ("goodbye", "en"),
    "finish": ("finish", "en"),
    "goodbye": ("goodbye", "en"),
    "refused": ("refused", "en"),
    "checkout-es": ("checkout", "es"),
    "item-problem-es": ("checkout", "es"),
    "countdown-es": ("checkout", "es"),
    "still-es": ("checkout", "es"),
    "finish-es": ("finish", "es"),
    "goodbye-es": ("goodbye", "es"),
    "refused-es": ("refused", "es"),
    "out-of-service": ("out_of_service", "en"),
    "out-of-service-es": ("out_of_service", "es"),
}
TEXT_LABELS = ("library", "heading", "message", "banner", "count", "countdown", "fine_print")
BACKGROUND = (255, 255, 255)  # the default theme
ACCENT = (0x0B, 0x53, 0x94)  # primary buttons
PROBLEM = (0xA4, 0x00, 0x1D)  # the notice banner
PX = 0.5  # layout positions are floats: half a pixel of slack


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = make_home(tmp_path_factory.mktemp("tour"))
    return run_scenario(home, "tour")


def shown_buttons(capture: dict[str, Any], where: str) -> list[dict[str, Any]]:
    buttons = [b for b in capture["buttons"] if b["where"] == where and b["shown"]]
    return sorted(buttons, key=lambda b: b["x"])


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"] - PX
        and b["x"] < a["x"] + a["width"] - PX
        and a["y"] < b["y"] + b["height"] - PX
        and b["y"] < a["y"] + a["height"] - PX
    )


def inside(a: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        a["x"] >= outer["x"] - PX
        and a["y"] >= outer["y"] - PX
        and a["x"] + a["width"] <= outer["x"] + outer["width"] + PX
        and a["y"] + a["height"] <= outer["y"] + outer["height"] + PX
    )


def test_the_tour_reaches_every_screen_and_spools_what_it_shows(tour: Run) -> None:
    tour.assert_completed()
    assert set(tour.data["captures"]) == set(CAPTURES)
    for screen in ("welcome", "checkout", "finish", "goodbye", "refused", "out_of_service"):
        assert screen in tour.data["history"]
    # Buttons were pressed by touching their middle, in both languages.
    assert tour.step("spanish")["did"] == {"label": "Español"}
    assert tour.step("receipt")["did"] == {"label": "Print a receipt"}
    assert tour.step("es still here")["did"] == {"label": "Sigo aquí"}
    assert tour.step("es no receipt")["did"] == {"label": "Sin recibo"}
    rows = spool_rows(tour.home.data_dir)
    assert [(r["patron"], r["item"]) for r in rows] == [
        *((patron(1), item(n)) for n in (1, 2, 3, 10)),
        *((patron(8), item(n)) for n in range(11, 17)),
    ]


@pytest.mark.parametrize("name", CAPTURES)
def test_labels_show_the_presenters_view(tour: Run, name: str) -> None:
    capture = tour.capture(name)
    expected = capture["expected"]
    labels = capture["labels"]
    assert (capture["screen"], capture["language"]) == CAPTURES[name]
    assert expected["screen"] == capture["screen"]
    for field in TEXT_LABELS:
        assert labels[field]["text"] == expected[field], field
        if expected[field]:
            assert labels[field]["shown"], field
    for field in ("banner", "countdown"):  # rows that fold away when they have nothing to say
        assert labels[field]["shown"] == bool(expected[field]), field
    notice = expected["notice"]["text"] if expected["notice"] else ""
    assert labels["notice"]["text"] == notice
    assert labels["notice"]["shown"] == bool(notice)

    # As many rows as the list's height holds, newest first; the rest counted in "+ N".
    every = [[line["item"], line["due"]] for line in expected["lines"]]
    rows = [row["texts"] for row in capture["lines"]]
    if rows and rows[-1][0].startswith("+ "):
        more = rows.pop()
        assert more == [f"+ {len(every) - len(rows)}"]
        assert len(rows) < len(every)
    assert rows == every[: len(rows)]
    assert bool(rows) == bool(every)  # a list with loans always shows at least the newest

    row = [(b["action"], b["text"]) for b in shown_buttons(capture, "buttons")]
    assert row == [(b["action"], b["label"]) for b in expected["buttons"]]
    language = [(b["action"], b["text"]) for b in shown_buttons(capture, "language")]
    wanted = expected["language_button"]
    assert language == ([(wanted["action"], wanted["label"])] if wanted else [])
    assert not [b for b in capture["buttons"] if b["where"] == "other"]


def test_every_button_is_at_least_15_mm_in_both_directions(tour: Run) -> None:
    checked, small = 0, []
    for name in CAPTURES:
        capture = tour.capture(name)
        window = capture["window"]
        min_target = window["min_target"]
        assert min_target == pytest.approx(15 * window["mm"])  # MIN_TARGET is 15 Kivy mm
        for button in capture["buttons"]:
            if not button["shown"]:
                continue
            checked += 1
            if button["width"] < min_target - PX or button["height"] < min_target - PX:
                small.append((name, button["text"], button["width"], button["height"]))
    assert checked >= len(CAPTURES)  # most screens have two or three
    assert not small, f"buttons under {min_target:.1f} px: {small}"


def test_buttons_lie_inside_the_window(tour: Run) -> None:
    window = {"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}
    checked = 0
    for name in CAPTURES:
        for button in tour.capture(name)["buttons"]:
            if button["shown"]:
                checked += 1
                assert inside(button, window), (name, button["text"], button)
    assert checked >= len(CAPTURES)


def test_buttons_fit_the_row_or_slot_they_are_placed_in(tour: Run) -> None:
    """A button wider than its slot runs over the screen's margin (or its neighbours)."""
    sticking_out = set()
    for name in CAPTURES:
        for button in tour.capture(name)["buttons"]:
            if button["shown"] and not inside(button, button["parent"]):
                slot = button["parent"]
                sticking_out.add(
                    f"'{button['text']}' spans x {button['x']:.0f}.."
                    f"{button['x'] + button['width']:.0f}, its {button['where']} box "
                    f"{slot['x']:.0f}..{slot['x'] + slot['width']:.0f} (window {WIDTH} wide)"
                )
    assert not sticking_out, sorted(sticking_out)


def test_item_lines_do_not_cover_other_text(tour: Run) -> None:
    covering = []
    for name in CAPTURES:
        capture = tour.capture(name)
        others = {n: label for n, label in capture["labels"].items() if label["shown"]}
        others.update({f"button {b['text']}": b for b in capture["buttons"] if b["shown"]})
        covered = sorted(
            {
                other
                for row in capture["lines"]
                for other, box in others.items()
                if overlaps(row, box)
            }
        )
        if covered:
            need = (
                capture["lines"][0]["y"] + capture["lines"][0]["height"] - capture["lines"][-1]["y"]
            )
            covering.append(
                f"{name}: {len(capture['lines'])} rows need {need:.0f} px, the list has "
                f"{capture['lines_box']['height']:.0f} px; they are drawn over {covered}"
            )
    assert not covering, "\n".join(covering)


@pytest.mark.parametrize("name", CAPTURES)
def test_texts_fit_their_labels_and_buttons(tour: Run, name: str) -> None:
    capture = tour.capture(name)
    for field, label in capture["labels"].items():
        if label["shown"] and label["text"]:
            assert label["needed"][1] <= label["height"] + PX, (field, label["text"])
    for button in capture["buttons"]:
        if button["shown"]:
            assert button["needed"][0] <= button["width"] + PX, button["text"]
            assert button["needed"][1] <= button["height"] + PX, button["text"]


def at(capture: dict[str, Any]) -> timedelta:
    return datetime.fromisoformat(capture["now"]) - START


def test_idle_countdown_shows_only_in_the_last_10_seconds(tour: Run) -> None:
    quiet, warned = tour.capture("idle-45s"), tour.capture("countdown")
    assert at(quiet) == timedelta(seconds=45)
    assert quiet["deadline"] == 60.0  # monotonic seconds: the ManualClock's start at 0
    assert quiet["labels"]["countdown"]["text"] == ""
    assert not quiet["labels"]["countdown"]["shown"]
    assert [b["text"] for b in shown_buttons(quiet, "buttons")] == ["Done"]

    assert at(warned) == timedelta(seconds=52)
    countdown = warned["labels"]["countdown"]
    assert countdown["text"] == "Are you still there? This session ends in 8 seconds."
    assert countdown["shown"]
    assert [b["text"] for b in shown_buttons(warned, "buttons")] == ["I'm still here", "Done"]

    spanish = tour.capture("countdown-es")["labels"]["countdown"]
    assert spanish["text"] == "¿Sigue ahí? Esta sesión termina en 8 segundos."
    after = tour.capture("still-es")  # "Sigo aquí" touched: the countdown goes away
    assert not after["labels"]["countdown"]["shown"]
    assert [b["text"] for b in shown_buttons(after, "buttons")] == ["Terminar"]


def test_the_session_ends_when_the_clock_passes_the_timeout(tour: Run) -> None:
    ended = tour.capture("timed-out")
    assert at(ended) == timedelta(seconds=61)
    assert ended["screen"] == "goodbye"
    assert ended["labels"]["heading"]["text"] == "Your session has ended."
    assert ended["labels"]["message"]["text"] == ended["expected"]["message"]
    assert "3 items" in ended["labels"]["message"]["text"]
    assert not [b for b in ended["buttons"] if b["shown"]]


def test_spanish_screens_are_in_spanish(tour: Run) -> None:
    def heading(name: str) -> str:
        return str(tour.capture(name)["labels"]["heading"]["text"])

    def buttons(name: str) -> list[str]:
        capture = tour.capture(name)
        return [b["text"] for b in shown_buttons(capture, "buttons")]

    assert heading("welcome-es") == "Escanee su tarjeta de la biblioteca"
    assert heading("checkout-es") == "¡Hola, Lucía!"
    assert tour.capture("checkout-es")["labels"]["count"]["text"] == "6 artículos prestados"
    notice = tour.capture("item-problem-es")["labels"]["notice"]["text"]
    assert notice == "Eso no es un artículo de la biblioteca."
    assert heading("finish-es") == "¿Quiere un recibo?"
    assert buttons("finish-es") == ["Imprimir un recibo", "Sin recibo"]
    assert heading("goodbye-es") == "¡Gracias!"
    assert heading("refused-es") == "Lo sentimos, hoy no puede pedir préstamos con esta tarjeta"
    assert heading("out-of-service-es") == "Esta estación no está disponible en este momento"
    for name in ("welcome-es", "checkout-es", "refused-es", "out-of-service-es"):
        language = shown_buttons(tour.capture(name), "language")
        assert [b["text"] for b in language] == ["English"]
    assert [b["text"] for b in shown_buttons(tour.capture("welcome"), "language")] == ["Español"]


def pixel(image: Image.Image, x: float, y: float) -> tuple[int, ...]:
    """The pixel at Kivy window coordinates (origin bottom left)."""
    return image.getpixel((int(x), HEIGHT - 1 - int(y)))[:3]


@pytest.mark.parametrize("name", CAPTURES)
def test_screenshot_is_the_rendered_screen(tour: Run, name: str) -> None:
    capture = tour.capture(name)
    assert capture["window"]["size"] == [WIDTH, HEIGHT]
    path = Path(capture["screenshot"])
    assert path.parent == tour.out_dir
    with Image.open(path) as shot:
        assert shot.format == "PNG"
        assert shot.size == (WIDTH, HEIGHT)
        image = shot.convert("RGB")
    colours = image.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None and len(colours) > 1, "the screenshot is one flat colour"
    assert max(colours)[1] == BACKGROUND  # mostly the theme's background
    # The screenshot shows these widgets: a primary button's fill, the notice banner.
    primary = {b["label"] for b in capture["expected"]["buttons"] if b["primary"]}
    for button in shown_buttons(capture, "buttons"):
        if button["text"] in primary:
            assert pixel(image, button["x"] + 4, button["y"] + 4) == ACCENT, button["text"]
    notice = capture["labels"]["notice"]
    if notice["shown"]:
        assert pixel(image, notice["x"] + 4, notice["y"] + 4) == PROBLEM
