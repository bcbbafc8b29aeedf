"""The espeak-ng voices used for synthetic "speakers", and per-utterance prosody randomization."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Accent + voice variant. Accents change the phoneme inventory (rhotic/non-rhotic vowels, flaps);
# variants change formants, pitch and breathiness. All map into the phone set in phones.py.
VOICES = [
    "en-us",
    "en-us+f3",
    "en+m2",
    "en-gb-x-rp+m4",
    "en+f2",
    "en-us+m3",
    "en-gb-scotland+m1",
    "en-029+f4",
    "en-us-nyc+m5",
    "en+f5",
    "en-gb-x-gbclan+m6",
    "en-us+f1",
]

RATE_WPM = (135, 195)  # espeak default 175
PITCH = (25, 75)  # 0-100, default 50
PITCH_RANGE = (30, 85)  # 0-100, default 50


@dataclass(frozen=True)
class Prosody:
    voice: str
    rate: int
    pitch: int
    pitch_range: int


def voice_dir(voice: str) -> str:
    """A folder name for a voice (the synthetic corpus's "speaker" directory)."""
    return voice.replace("+", "_")


def sample_prosody(rng: random.Random, voice: str) -> Prosody:
    return Prosody(voice, rng.randint(*RATE_WPM), rng.randint(*PITCH), rng.randint(*PITCH_RANGE))
