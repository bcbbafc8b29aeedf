"""CTC training data: a manifest + `.ltr` transcripts, length-sorted batches bounded in seconds.

Utterances are checked before training without decoding audio: an empty transcript, or one that needs
more output frames than the audio gives (one per character plus one between repeated characters), is
skipped and reported. Audio that fails to decode during training is dropped from its batch and
reported too; nothing is silently misaligned because audio and transcript travel together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from labelers.corpus.audio import AudioError, load_audio
from labelers.corpus.frames import SAMPLE_RATE
from labelers.corpus.batching import pack_by_length, sort_by_length
from labelers.corpus.split import open_split

from pretrain.ctc.vocab import encode_letters, letters_to_text


def ctc_min_frames(ids: list[int]) -> int:
    """Frames CTC needs for `ids`: one per token, plus a blank between two equal neighbours."""
    return len(ids) + sum(1 for a, b in zip(ids, ids[1:]) if a == b)


@dataclass
class CTCSplit:
    """One split's utterances usable for CTC, and those skipped (with reasons)."""

    name: str
    paths: list[str]
    utts: list[str]
    num_samples: list[int]
    targets: list[list[int]]
    texts: list[str]
    skipped: list[dict] = field(default_factory=list)
    unknown_chars: int = 0

    def __len__(self) -> int:
        return len(self.paths)

    def seconds(self) -> float:
        return sum(self.num_samples) / SAMPLE_RATE

    def head(self, n: int) -> "CTCSplit":
        return CTCSplit(self.name, self.paths[:n], self.utts[:n], self.num_samples[:n], self.targets[:n],
                        self.texts[:n], self.skipped, self.unknown_chars)


def load_ctc_split(data_dir, split: str, vocab: dict[str, int], frames_for_samples=None,
                   max_seconds: float | None = None, min_seconds: float = 0.0,
                   phone_lines: list[list[str]] | None = None) -> CTCSplit:
    """Read `{split}.tsv` + `{split}.ltr` (or `.wrd`, converted) and keep the utterances CTC can learn.

    With `phone_lines` (one phone sequence per manifest row) the targets are those phones instead,
    and the reference text is the space-separated phones (so WER reads as phone error rate)."""
    sp = open_split(data_dir, split)
    manifest = sp.manifest()
    if phone_lines is not None:
        if len(phone_lines) != len(manifest):
            raise ValueError(f"{sp.manifest_path}: {len(phone_lines)} phone lines for {len(manifest)} manifest rows")
        letters = [" ".join(p) for p in phone_lines]
    else:
        letters = sp.require_transcripts("letters")
    out = CTCSplit(split, [], [], [], [], [])
    for i, line in enumerate(letters):
        utt, n = manifest.utt_id(i), manifest.num_samples[i]
        ids, unk = encode_letters(line, vocab)
        reason = None
        if not ids:
            reason = "empty transcript"
        elif max_seconds and n > max_seconds * SAMPLE_RATE:
            reason = f"longer than max_seconds={max_seconds} ({n / SAMPLE_RATE:.1f} s)"
        elif n < min_seconds * SAMPLE_RATE:
            reason = f"shorter than min_seconds={min_seconds} ({n / SAMPLE_RATE:.2f} s)"
        elif frames_for_samples is not None and ctc_min_frames(ids) > frames_for_samples(n):
            reason = (f"transcript needs {ctc_min_frames(ids)} CTC frames but the audio gives "
                      f"{frames_for_samples(n)}")
        if reason:
            out.skipped.append({"index": i, "utt": utt, "reason": reason})
            continue
        out.unknown_chars += unk
        out.paths.append(manifest.path(i))
        out.utts.append(utt)
        out.num_samples.append(n)
        out.targets.append(ids)
        out.texts.append(line if phone_lines is not None else letters_to_text(line))
    return out


def length_sorted_batches(num_samples: list[int], batch_seconds: float, max_batch_size: int = 0,
                          shuffle: bool = False, seed: int = 0) -> list[list[int]]:
    """Group utterances of similar length so that batch_size x longest <= batch_seconds.

    Sorting by length keeps padding small; shuffling (seeded) changes only the order of the batches
    and breaks ties between equal lengths, so every process derives the same list from the same seed.
    """
    rng = random.Random(seed)
    ties = [rng.random() for _ in num_samples] if shuffle else None
    order = sort_by_length(num_samples, tie_break=ties)
    batches = pack_by_length(order, num_samples, batch_seconds * SAMPLE_RATE, max_batch_size=max_batch_size)
    if shuffle:
        rng.shuffle(batches)
    return batches


class CTCAudioDataset(torch.utils.data.Dataset):
    """Item i: {"index", "utt", "wav" (float32 16 kHz) or "error", "target", "text"}."""

    def __init__(self, split: CTCSplit):
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> dict:
        item = {"index": i, "utt": self.split.utts[i], "target": self.split.targets[i], "text": self.split.texts[i]}
        try:
            item["wav"] = load_audio(self.split.paths[i])
        except AudioError as e:
            item["error"] = e.reason
        return item


class CTCCollator:
    """Pads a list of items with the model's feature extractor; transcripts padded with -100."""

    def __init__(self, feature_extractor):
        self.fe = feature_extractor

    def __call__(self, items: list[dict]) -> dict:
        bad = [{"utt": it["utt"], "reason": it["error"]} for it in items if "error" in it]
        items = [it for it in items if "error" not in it]
        batch = {"skipped": bad, "utts": [it["utt"] for it in items], "texts": [it["text"] for it in items]}
        if not items:
            return batch
        feats = self.fe([it["wav"] for it in items], sampling_rate=SAMPLE_RATE, padding=True,
                        return_attention_mask=True, return_tensors="pt")
        batch.update(feats)
        width = max(len(it["target"]) for it in items)
        labels = torch.full((len(items), width), -100, dtype=torch.long)
        for row, it in enumerate(items):
            labels[row, : len(it["target"])] = torch.tensor(it["target"])
        batch["labels"] = labels
        batch["audio_seconds"] = sum(len(it["wav"]) for it in items) / SAMPLE_RATE
        batch["padded_samples"] = max(len(it["wav"]) for it in items)  # with the row count: the batch's FLOPs
        return batch


def make_loader(split: CTCSplit, feature_extractor, batches: list[list[int]], num_workers: int = 0):
    return torch.utils.data.DataLoader(
        CTCAudioDataset(split), batch_sampler=batches, collate_fn=CTCCollator(feature_extractor),
        num_workers=num_workers, persistent_workers=False,
    )


def model_inputs(batch: dict) -> dict:
    """The tensors a transformers CTC model's forward takes from a collated batch."""
    return {k: batch[k] for k in ("input_values", "input_features", "attention_mask", "labels") if k in batch}
