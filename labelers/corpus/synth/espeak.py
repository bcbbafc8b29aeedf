"""ctypes binding to libespeak-ng (from the `espeakng-loader` wheel): int16 audio plus phoneme events.

espeak-ng is GPL-3.0, so this module is only imported by `labelers.corpus.synth`, and `espeakng_loader`
only inside `Espeak.get()`: the core never loads it. One process holds one engine (espeak keeps
global state); calls are serialized with a lock and every call sets voice, parameters and the noise
seed afresh. The waveform generator still carries phase state from call to call, so byte-identical
output needs the same calls in the same order in a fresh process (see generate.py).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import numpy as np

INSTALL_HINT = "pip install 'hubert-bootstrap[synth]'"

# espeak_AUDIO_OUTPUT / initialisation options / synth flags (speak_lib.h)
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000
CHARS_UTF8 = 1
POS_CHARACTER = 1

# espeak_EVENT_TYPE
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_END = 5
EVENT_PHONEME = 7
EVENT_SAMPLERATE = 8

# espeak_PARAMETER
PARAM_RATE = 1  # words per minute
PARAM_VOLUME = 2
PARAM_PITCH = 3  # 0-100, base pitch
PARAM_RANGE = 4  # 0-100, pitch range


class SynthUnavailableError(RuntimeError):
    """espeak-ng (the optional `synth` extra) is not installed or cannot be loaded."""


class SynthError(RuntimeError):
    pass


def require_espeak() -> None:
    """Raise SynthUnavailableError with the install hint if the `synth` extra is missing (no import)."""
    import importlib.util

    if importlib.util.find_spec("espeakng_loader") is None:
        raise SynthUnavailableError(f"synthetic speech needs espeak-ng, which is an optional extra: {INSTALL_HINT}")


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    # espeak_EVENT. On x86-64/aarch64: type@0 unique_identifier@4 text_position@8 length@12
    # audio_position@16 (ms) sample@20 user_data@24 id@32; 40 bytes. `check_event_layout` verifies it
    # against the running library (sample -> ms must agree with audio_position).
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class PhonemeEvent:
    name: str  # espeak phoneme mnemonic, with stress marks as espeak writes them ("'aI", ",oU", "_:")
    sample: int  # start, as a sample index into this utterance's audio (espeak's native rate)


@dataclass(frozen=True)
class WordEvent:
    text_position: int  # 1-based character offset into the input text
    length: int
    sample: int


@dataclass
class Synthesis:
    samples: np.ndarray  # int16, mono, at `sample_rate`
    sample_rate: int
    phonemes: list[PhonemeEvent]
    words: list[WordEvent]


class Espeak:
    """The process-wide espeak-ng engine. Use `Espeak.get()`."""

    _instance: "Espeak | None" = None
    _lock = threading.RLock()  # re-entrant: __init__ runs a layout check while get() holds it

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError:
            raise SynthUnavailableError(
                f"synthetic speech needs espeak-ng, which is an optional extra: {INSTALL_HINT}"
            ) from None
        try:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = espeakng_loader.get_data_path()
        except (OSError, RuntimeError) as e:
            raise SynthUnavailableError(f"cannot load libespeak-ng from espeakng-loader ({e}); try: {INSTALL_HINT}") from None
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_Callback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        # Breathy variants (f2, f3, f5, ...) draw noise from espeak's own RNG, seeded from the clock
        # unless set: seed it per utterance so output is reproducible.
        self._has_rand_seed = hasattr(lib, "espeak_ng_SetRandSeed")
        if self._has_rand_seed:
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        rate = lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise SynthUnavailableError(f"espeak_Initialize failed (returned {rate}) with data at {data_path}")
        self.lib = lib
        self.sample_rate = int(rate)
        self.version = (lib.espeak_Info(None) or b"unknown").decode()
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, int, str]] = []
        self._callback = _Callback(self._on_audio)  # keep a reference: espeak holds a raw pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None
        check_event_layout(self)

    @classmethod
    def get(cls) -> "Espeak":
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _on_audio(self, wav, num_samples, events) -> int:
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events and events[i].type != EVENT_LIST_TERMINATED:
            e = events[i]
            name = e.id.string.decode("utf-8", "replace") if e.type == EVENT_PHONEME else ""
            self._events.append((e.type, e.text_position, e.length, e.audio_position, e.sample, name))
            i += 1
        return 0  # 0 = continue synthesis

    def _set(self, param: int, value: int) -> None:
        if self.lib.espeak_SetParameter(param, int(value), 0) != 0:
            raise SynthError(f"espeak_SetParameter({param}, {value}) failed")

    def raw(self, text: str, voice: str, rate: int = 175, pitch: int = 50, pitch_range: int = 50, seed: int = 0):
        """Synthesize `text`; returns (int16 samples, raw event tuples). Serialized across threads."""
        with self._lock:
            if self._has_rand_seed:
                self.lib.espeak_ng_SetRandSeed(int(seed) & 0x7FFFFFFF)
            # Voice first (it resets parameters), then every parameter, on every call: no state leaks
            # from one utterance to the next.
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise SynthError(f"espeak-ng has no voice '{voice}'")
            self._set(PARAM_RATE, rate)
            self._set(PARAM_PITCH, pitch)
            self._set(PARAM_RANGE, pitch_range)
            self._set(PARAM_VOLUME, 100)
            self._chunks, self._events = [], []
            data = text.encode("utf-8") + b"\0"
            err = self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            if err != 0:
                raise SynthError(f"espeak_Synth failed (error {err}) on {text!r}")
            self.lib.espeak_Synchronize()
            samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            events, self._chunks, self._events = self._events, [], []
        return samples.astype(np.int16, copy=False), events

    def synthesize(
        self, text: str, voice: str, rate: int = 175, pitch: int = 50, pitch_range: int = 50, seed: int = 0
    ) -> Synthesis:
        """Audio and events for `text`. Deterministic given the arguments *and* the engine's history:
        the waveform generator keeps phase state between calls (a few samples of drift), so a
        reproducible corpus is generated in a fresh process in a fixed order."""
        samples, events = self.raw(text, voice, rate, pitch, pitch_range, seed)
        phonemes, words = [], []
        last = 0
        for etype, text_pos, length, _ms, sample, name in events:
            if etype not in (EVENT_PHONEME, EVENT_WORD):
                continue
            if sample < last or sample > len(samples):
                raise SynthError(
                    f"espeak event at sample {sample} out of order or past the audio ({len(samples)} samples) for {text!r}"
                )
            last = sample
            if etype == EVENT_PHONEME:
                phonemes.append(PhonemeEvent(name, sample))
            else:
                words.append(WordEvent(text_pos, length, sample))
        return Synthesis(samples, self.sample_rate, phonemes, words)


def check_event_layout(engine: Espeak) -> None:
    """Fail loudly if the ctypes struct does not match the library: the `sample` field (read at its
    offset) must agree with espeak's own millisecond `audio_position` for every phoneme event."""
    _, events = engine.raw("layout check, one two three.", "en-us")
    phon = [e for e in events if e[0] == EVENT_PHONEME]
    if not phon:
        raise SynthUnavailableError("espeak-ng produced no phoneme events; phoneme timing is unavailable")
    for _t, _p, _l, ms, sample, name in phon:
        if abs(sample * 1000.0 / engine.sample_rate - ms) > 1.5 or not name:
            raise SynthUnavailableError(
                f"espeak_EVENT layout mismatch on this platform (sample {sample} vs {ms} ms, name {name!r}); "
                "phone timings would be wrong"
            )
