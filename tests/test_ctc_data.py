"""CTC data: transcripts CTC cannot learn are skipped with reasons; unreadable audio is dropped from its batch."""

import numpy as np
import soundfile as sf

from labelers.corpus.manifest import Manifest, write_manifest
from pretrain.ctc.transcribed_data import CTCAudioDataset, CTCCollator, load_ctc_split
from pretrain.ctc.vocab import build_vocab


def _corpus(tmp_path):
    rng = np.random.default_rng(0)
    rows = {"ok": 16000, "empty": 16000, "toolong": 3200, "broken": 16000, "long": 16000 * 3}
    for name, n in rows.items():
        sf.write(tmp_path / f"{name}.wav", (0.1 * rng.standard_normal(n)).astype(np.float32), 16000)
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    write_manifest(tmp_path / "s.tsv", Manifest(str(tmp_path), [f"{k}.wav" for k in rows], list(rows.values())))
    letters = ["H I |", "", "A B C D E F G H I J K L |", "H I |", "H I | H I |"]
    (tmp_path / "s.ltr").write_text("\n".join(letters) + "\n")
    return tmp_path, letters


def test_unlearnable_rows_are_skipped_with_reasons(tmp_path):
    data, letters = _corpus(tmp_path)
    vocab = build_vocab(letters)

    def frames(n):  # 40 ms frames
        return n // 640

    split = load_ctc_split(data, "s", vocab, frames, max_seconds=2.0)
    assert split.utts == ["ok", "broken"]
    reasons = {s["utt"]: s["reason"] for s in split.skipped}
    assert reasons["empty"] == "empty transcript"
    assert "needs 12 CTC frames but the audio gives 5" in reasons["toolong"]
    assert "longer than max_seconds" in reasons["long"]
    assert split.texts == ["HI", "HI"]


def test_unreadable_audio_is_dropped_from_the_batch_and_reported(tmp_path):
    from transformers import Wav2Vec2FeatureExtractor

    data, letters = _corpus(tmp_path)
    split = load_ctc_split(data, "s", build_vocab(letters))
    ds = CTCAudioDataset(split)
    items = [ds[split.utts.index("ok")], ds[split.utts.index("broken")]]
    batch = CTCCollator(Wav2Vec2FeatureExtractor(return_attention_mask=True))(items)
    assert batch["utts"] == ["ok"]
    assert batch["skipped"][0]["utt"] == "broken" and "decode" in batch["skipped"][0]["reason"]
    assert batch["labels"].tolist() == [[split.targets[0][0], split.targets[0][1]]]
    assert batch["input_values"].shape == (1, 16000) and batch["attention_mask"].sum() == 16000


def test_spec_augment_masks_bands_reproducibly():
    import torch

    from pretrain.ctc.spec_augment import spec_augment

    feats = torch.randn(2, 100, 80) + 5.0  # no natural zeros
    mask = torch.ones(2, 100, dtype=torch.long)
    mask[1, 60:] = 0
    a = spec_augment(feats, mask, torch.Generator().manual_seed(1), freq_width=10, time_width=0.1)
    b = spec_augment(feats, mask, torch.Generator().manual_seed(1), freq_width=10, time_width=0.1)
    c = spec_augment(feats, mask, torch.Generator().manual_seed(2), freq_width=10, time_width=0.1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (feats > 0).all()  # the input is left alone
    zero_bins = (a == 0).all(dim=1)  # (batch, bins) fully masked frequency bands
    zero_frames = (a == 0).all(dim=2)  # (batch, frames) fully masked time steps
    assert zero_bins.sum(-1).max() <= 2 * 10
    assert zero_frames[0].sum() <= 2 * 10 and zero_frames[1].sum() <= 2 * 6
    assert not zero_frames[1, 60:].any()  # time masks stay inside the valid length
    assert ((a == 0) | (a == feats)).all()
