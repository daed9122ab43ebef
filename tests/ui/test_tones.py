"""The built-in sounds: kiosk/ui/tones.py writes short mono 16-bit WAV files. No Kivy here."""

from __future__ import annotations

import array
import wave
from pathlib import Path

import pytest

from kiosk.presenter.presenter import Sound
from kiosk.ui.sounds import sound_files
from kiosk.ui.tones import RATE, TONES, write_tone


@pytest.mark.parametrize("name", sorted(TONES))
def test_a_tone_is_a_short_mono_16_bit_wav(tmp_path: Path, name: str) -> None:
    path = write_tone(tmp_path / f"{name}.wav", name)
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == RATE
        frames = wav.getnframes()
        samples = array.array("h", wav.readframes(frames))
    assert frames > 0
    assert len(samples) == frames
    assert 0.1 < frames / RATE < 1.0  # short, so a fast scanner is never drowned out
    assert max(abs(s) for s in samples) > 1000  # audible, not silence
    assert abs(samples[0]) < 100 and abs(samples[-1]) < 100  # faded in and out: no click


def test_the_two_tones_differ(tmp_path: Path) -> None:
    files = sound_files(tmp_path / "sounds", None, None)
    assert set(files) == {Sound.SUCCESS, Sound.PROBLEM}
    contents = {sound: path.read_bytes() for sound, path in files.items()}
    assert contents[Sound.SUCCESS] != contents[Sound.PROBLEM]
    for path in files.values():
        with wave.open(str(path), "rb") as wav:
            assert wav.getnframes() > 0


def test_a_configured_sound_file_is_used_as_it_is(tmp_path: Path) -> None:
    own = write_tone(tmp_path / "own.wav", "problem")
    files = sound_files(tmp_path / "sounds", own, None)
    assert files[Sound.SUCCESS] == own
    assert files[Sound.PROBLEM] == tmp_path / "sounds" / "problem.wav"
    assert files[Sound.PROBLEM].exists()
