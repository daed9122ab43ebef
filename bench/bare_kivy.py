"""The baseline for the offscreen kiosk's start: the plainest Kivy app (one label), rendered
offscreen the same way, sending READY=1 to $NOTIFY_SOCKET with its first frame drawn.

    .venv/bin/python -m bench.bare_kivy KIVY_HOME
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any


def main(kivy_home: Path) -> int:
    kivy_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_HOME", str(kivy_home))
    os.environ["SDL_VIDEODRIVER"] = "offscreen"
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from kivy.app import App
    from kivy.core.window import Window
    from kivy.uix.label import Label

    address = os.environ["NOTIFY_SOCKET"]
    if address.startswith("@"):  # an abstract socket, as systemd writes it
        address = "\0" + address[1:]

    class Bare(App):  # type: ignore[misc]
        def build(self) -> Label:
            Window.bind(on_flip=self.first_frame)
            return Label(text="Scan your library card", font_size=48)

        def first_frame(self, window: Any) -> None:
            Window.unbind(on_flip=self.first_frame)
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(b"READY=1", address)

    Bare().run()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
