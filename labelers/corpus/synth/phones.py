"""espeak-ng English phonemes -> a 40-symbol phone set (39 ARPAbet phones + `sil`), and frame labels.

The phone set is the CMU/ARPAbet inventory without stress (the one LibriSpeech forced alignments
use), so PNMI on the synthetic corpus reads like PNMI against real alignments:

    vowels      AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW
    consonants  B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH
    silence     sil

espeak writes stress as a prefix (`'` primary, `,` secondary, `%`/`=` unstressed); it is stripped.
espeak's r-coloured and centring diphthongs are one event each, so they map to their nucleus
(`A@` START -> AA, `e@` SQUARE -> EH, `i@` NEAR -> IH, `O@` FORCE -> AO, `U@` CURE -> UH,
`aI@` FIRE -> AY); syllabic `@L` -> L; flaps and glottal stops -> T; the linking glide `;`
espeak inserts after a front vowel (`the old`) -> Y; every pause (`_`, `_:`, `_|`, ...) -> sil.
An unknown phoneme is an error (never a silent guess): `test_synth` covers the whole vocabulary
in every voice.

Timing convention (100 Hz, 10 ms hop, 25 ms window, as the MFCC frames): a phone segment runs
from its event's time to the next kept event's time (the first segment, before any event, and the
tail after the last event are `sil`); frame t of an utterance with n samples at 16 kHz is labelled
by the segment containing its centre, (160 t + 200) / 16000 s, for t < floor((n-400)/160)+1.
Times are kept in seconds from espeak's own sample counter (at 22050 Hz), so resampling the audio
to 16 kHz (torchaudio's zero-phase sinc resampler, which keeps sample 0 at time 0) leaves them exact.
"""

from __future__ import annotations

import numpy as np

from labelers.corpus.frames import hop_for_rate, num_frames, WINDOW, SAMPLE_RATE

SILENCE = "sil"
VOWELS = ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]
CONSONANTS = [
    "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH", "T",
    "TH", "V", "W", "Y", "Z", "ZH",
]  # fmt: skip
PHONE_SET = VOWELS + CONSONANTS + [SILENCE]

STRESS_MARKS = "',%="

ESPEAK_TO_PHONE = {
    # vowels
    "0": "AA", "A:": "AA", "A@": "AA", "A": "AA",
    "a": "AE", "aa": "AE", "a#": "AH",
    "@": "AH", "@2": "AH", "@5": "AH", "V": "AH", "VR": "AH",
    "O:": "AO", "O": "AO", "O2": "AO", "O@": "AO", "o@": "AO", "0@": "AO", "o": "AO",
    "aU": "AW", "aU@": "AW",
    "aI": "AY", "aI2": "AY", "aI3": "AY", "aI@": "AY",
    "E": "EH", "E2": "EH", "E3": "EH", "e@": "EH", "e": "EH",
    "3:": "ER", "3": "ER", "@r": "ER",
    "eI": "EY",
    "I": "IH", "I2": "IH", "I#": "IH", "IR": "IH", "i@": "IH", "i@3": "IH",
    "i": "IY", "i:": "IY",
    "oU": "OW", "oU#": "OW", "@U": "OW",
    "OI": "OY",
    "U": "UH", "U@": "UH",
    "u:": "UW", "u": "UW", "U:": "UW",
    # consonants
    "b": "B", "tS": "CH", "d": "D", "d#": "D", "D": "DH", "f": "F", "g": "G", "h": "HH",
    "dZ": "JH", "k": "K", "x": "K", "l": "L", "@L": "L", "l-": "L", "m": "M", "m-": "M",
    "n": "N", "n-": "N", "N": "NG", "p": "P", "r": "R", "r-": "R", "s": "S", "S": "SH",
    "t": "T", "t#": "T", "t[": "T", "t2": "T", "?": "T", "T": "TH", "v": "V", "w": "W", "w#": "W",
    "W": "W", "j": "Y", ";": "Y", "z": "Z", "Z": "ZH",
}  # fmt: skip


class UnknownPhonemeError(ValueError):
    pass


def strip_stress(name: str) -> str:
    return name.lstrip(STRESS_MARKS)


def map_phoneme(name: str) -> str:
    """espeak phoneme mnemonic -> phone symbol in PHONE_SET."""
    base = strip_stress(name)
    if base.startswith("_") or base == "":
        return SILENCE
    try:
        return ESPEAK_TO_PHONE[base]
    except KeyError:
        raise UnknownPhonemeError(f"espeak phoneme {name!r} has no entry in the phone map (labelers/corpus/synth/phones.py)") from None


def segments_from_events(events, num_samples: int, sample_rate: int) -> list[tuple[str, float, float]]:
    """[(phone, start_s, end_s)] covering [0, num_samples / sample_rate) with no gaps.

    `events` are (espeak name, sample index) in time order. A segment ends where the next event
    starts; zero-length events are dropped; adjacent pauses merge into one `sil`.
    """
    duration = num_samples / sample_rate
    bounds: list[tuple[str, int]] = [(SILENCE, 0)]
    for ev in events:
        name, sample = (ev.name, ev.sample) if hasattr(ev, "name") else ev
        bounds.append((map_phoneme(name), min(int(sample), num_samples)))
    segs: list[tuple[str, float, float]] = []
    for (phone, start), (_, end) in zip(bounds, bounds[1:] + [(SILENCE, num_samples)]):
        if end <= start:
            continue  # zero-length event (espeak marks e.g. the end-of-clause `_` this way)
        if segs and segs[-1][0] == phone == SILENCE:
            segs[-1] = (phone, segs[-1][1], end / sample_rate)
        else:
            segs.append((phone, start / sample_rate, end / sample_rate))
    if segs:
        segs[-1] = (segs[-1][0], segs[-1][1], duration)
    return segs


def shift_segments(segments, offset_s: float, total_s: float) -> list[tuple[str, float, float]]:
    """Move segments by `offset_s` (leading padding) and pad with `sil` to cover [0, total_s)."""
    out = []
    if offset_s > 0:
        out.append((SILENCE, 0.0, offset_s))
    for phone, s, e in segments:
        s, e = s + offset_s, min(e + offset_s, total_s)
        if e <= s:
            continue
        if out and out[-1][0] == phone == SILENCE:
            out[-1] = (phone, out[-1][1], e)
        else:
            out.append((phone, s, e))
    if out and out[-1][2] < total_s:
        if out[-1][0] == SILENCE:
            out[-1] = (SILENCE, out[-1][1], total_s)
        else:
            out.append((SILENCE, out[-1][2], total_s))
    return out


def frame_centres(num_samples: int, rate: float = 100) -> np.ndarray:
    """Centre time (s) of each analysis frame at `rate` Hz for `num_samples` at 16 kHz."""
    hop = hop_for_rate(rate)
    t = np.arange(num_frames(num_samples, rate))
    return (t * hop + WINDOW / 2) / SAMPLE_RATE


def frame_labels(segments, num_samples: int, rate: float = 100) -> list[str]:
    """One phone per frame: the segment that contains the frame's centre."""
    if not segments:
        return [SILENCE] * num_frames(num_samples, rate)
    starts = np.array([s for _, s, _ in segments])
    idx = np.searchsorted(starts, frame_centres(num_samples, rate), side="right") - 1
    idx = np.clip(idx, 0, len(segments) - 1)
    return [segments[i][0] for i in idx]
