"""Synthetic English speech with exact phone timings, through espeak-ng (optional `synth` extra).

espeak-ng is GPL-3.0: nothing here imports `espeakng_loader` at module import time, and the core
imports this package only from `bootstrap corpus synth` and the default-corpus helper. Without the
extra, those raise `SynthUnavailableError` telling the user to `pip install 'hubert-bootstrap[synth]'`.
"""
