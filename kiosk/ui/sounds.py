"""Playing the success and problem sounds through Kivy's audio, if there is any."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from kiosk.presenter.presenter import Sound
from kiosk.storage.files import private_dir
from kiosk.ui.tones import write_tone

log = logging.getLogger(__name__)
SOUND_DEVICES = Path("/dev/snd")  # ALSA: pcmC<card>D<device>p is a playback device


def has_playback_device(folder: Path = SOUND_DEVICES) -> bool:
    """Whether the machine has anywhere to play a sound (without one, SDL's audio logs a
    failure for every sound at every start)."""
    return any(folder.glob("pcmC*D*p"))


class SoundPlayer(Protocol):
    def play(self, sound: Sound) -> None: ...


class SilentPlayer:
    def play(self, sound: Sound) -> None:
        pass


class RecordingPlayer:
    """For tests: remembers what would have been played."""

    def __init__(self) -> None:
        self.played: list[Sound] = []

    def play(self, sound: Sound) -> None:
        self.played.append(sound)


class KivyPlayer:
    def __init__(self, files: dict[Sound, Path]) -> None:
        from kivy.core.audio import SoundLoader

        self._sounds = {}
        for sound, path in files.items():
            loaded = SoundLoader.load(str(path))
            if loaded is None:
                log.warning("sound %s cannot be played here (%s): no audio", sound.value, path)
                continue
            self._sounds[sound] = loaded

    def play(self, sound: Sound) -> None:
        loaded = self._sounds.get(sound)
        if loaded is not None:
            loaded.stop()
            loaded.play()


def sound_files(folder: Path, success: Path | None, problem: Path | None) -> dict[Sound, Path]:
    """The configured WAV files, or the built-in tones written to `folder`."""
    private_dir(folder)
    files = {}
    for sound, configured in ((Sound.SUCCESS, success), (Sound.PROBLEM, problem)):
        files[sound] = configured or write_tone(folder / f"{sound.value}.wav", sound.value)
    return files
