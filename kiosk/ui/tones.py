"""The built-in sounds: short tones written as WAV files with the standard library."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22_050

# (frequency Hz, milliseconds) steps: a rising two-note chime for success, a low double buzz
# for a problem. Short, so a fast scanner is never drowned out.
TONES = {
    "success": [(880, 70), (1320, 110)],
    "problem": [(330, 120), (0, 50), (330, 160)],
}


def tone_samples(steps: list[tuple[int, int]], volume: float = 0.4) -> bytes:
    frames = bytearray()
    for freq, ms in steps:
        count = RATE * ms // 1000
        for i in range(count):
            fade = min(1.0, i / 200, (count - i) / 200)  # no clicks at the edges
            value = math.sin(2 * math.pi * freq * i / RATE) * volume * fade if freq else 0.0
            frames += struct.pack("<h", int(value * 32767))
    return bytes(frames)


def write_tone(path: Path, name: str) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(tone_samples(TONES[name]))
    return path
