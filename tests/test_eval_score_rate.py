"""`score_rate`: an 80 ms encoder's frames are scored on the same 50 Hz phone frames as HuBERT's."""

from __future__ import annotations

import numpy as np
import torch

from bootstrap.evaluation.layers import _split_frames
from labelers.corpus.frames import SAMPLE_RATE, hop_for_rate, num_frames


class FrameIndexLayers:
    """A fake encoder at `rate` Hz whose one layer holds each frame's own index."""

    layers = [0]

    def __init__(self, rate: float):
        self.rate, self.hop = rate, hop_for_rate(rate)

    def extract_layers(self, wavs):
        return {0: [torch.arange(num_frames(len(w), self.rate), dtype=torch.float32)[:, None] for w in wavs]}


def test_coarse_frames_are_repeated_onto_the_finer_phone_frames(synth_corpus):
    coarse, c_phones, _ = _split_frames(FrameIndexLayers(12.5), synth_corpus, "valid", 60, 0, 30, score_rate=50)
    fine, f_phones, info = _split_frames(FrameIndexLayers(50), synth_corpus, "valid", 60, 0, 30)
    assert info["utterances"] >= 3
    # the same phone frames as a 50 Hz model, utterance by utterance
    assert [len(p) for p in c_phones] == [len(x) for x in fine[0]]
    assert all(np.array_equal(a, b) for a, b in zip(c_phones, f_phones))
    for x50, x in zip(fine[0], coarse[0]):
        t = x50[:, 0].astype(np.int64)                      # 50 Hz frame t, centred at 320 t + 200
        src = x[:, 0].astype(np.int64)                      # the 80 ms frame it was given
        assert len(src) == len(t)
        # nearest 80 ms centre (1280 j + 200) by frame centre, ties to the earlier frame
        want = np.minimum(np.maximum(np.ceil(t / 4 - 0.5), 0), src.max())
        assert np.array_equal(src, want)
        # each 80 ms frame covers at most four 20 ms ones, but the last, which also takes the clipped tail
        assert np.bincount(src)[:-1].max() <= 4


def test_the_model_rate_is_kept_when_no_score_rate_is_given(synth_corpus):
    feats, phones, _ = _split_frames(FrameIndexLayers(12.5), synth_corpus, "valid", 30, 0, 30)
    for x, p in zip(feats[0], phones):
        assert len(x) == len(p) and np.array_equal(x[:, 0], np.arange(len(x)))
    assert SAMPLE_RATE / FrameIndexLayers(12.5).hop == 12.5
