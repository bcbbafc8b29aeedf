"""Pre-training data: manifest + label sets -> bucketed, padding-free batches with masks.

Length policy (as fairseq's HubertDataset with `pad_audio: false`, the HuBERT recipe default):
- utterances shorter than `min_sample_size` are skipped (and reported);
- longer than `max_sample_size` are randomly cropped to it;
- inside a batch every utterance is randomly cropped to the batch's shortest, so the batch has no
  padding at all (the CNN's GroupNorm and the attention never see padding). `pad_audio: true` pads
  to the longest instead and passes a padding mask.
Crops start on a 320-sample boundary (one 50 Hz frame), so labels are cut at exactly the same offset:
frame j of the crop is frame k + j of the utterance, and 100 Hz label 2(k + j).

Batches hold at most `batch_seconds` of audio per device (after cropping). They are built from
utterances sorted by length (ties broken at random each epoch), shuffled with a seed that depends
only on (seed, epoch), and dealt round-robin to the ranks, so every rank computes the same batch list
and takes its own share. Cropping offsets and masks come from generators seeded by
(seed, epoch, batch id): batches are a pure function of their position, which makes resumption exact
and DataLoader workers harmless.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch

from labelers.corpus.audio import AudioError, load_audio
from labelers.corpus.batching import pack_by_length, sort_by_length
from labelers.corpus.split import open_split
from labelers.corpus.frames import (
    LABEL_LENGTH_TOLERANCE, MODEL_HOP, MODEL_RATE, SAMPLE_RATE, check_label_length, frames_at_rate, num_frames,
)
from labelers.corpus.label_binary import load_label_arrays
from labelers.corpus.label_store import LabelSet

from pretrain.frame_labels import pool_factor, pool_labels
from pretrain.masking import compute_mask, expected_masked
from pretrain.model import IGNORE

SUPPORTED_RATES = (50, 100)  # label rates that fall on HuBERT's 50 Hz frame centres
COARSE_RATES = (12.5, 25.0)  # an 80 / 40 ms teacher's labels: each spread over the 50 Hz frames nearest to it


class LabelRateError(ValueError):
    pass


@dataclass
class DataConfig:
    """Every field is a `data.<name>` key."""

    data_dir: str = field(default="data/synth", metadata={"help": "corpus folder with {split}.tsv manifests"})
    train_split: str = field(default="train", metadata={"help": "training split name"})
    valid_split: str = field(default="valid", metadata={"help": "validation split ('' = none)"})
    label_dirs: list[str] = field(default_factory=lambda: ["labels/mfcc_km100"],
                                  metadata={"help": "label folders (labelers.corpus.label_store), one head each"})
    batch_seconds: float = field(default=87.5, metadata={"help": "audio seconds per batch per device"})
    min_sample_size: int = field(default=32000, metadata={"help": "skip shorter utterances (samples)"})
    max_sample_size: int = field(default=250000, metadata={"help": "randomly crop longer ones (samples)"})
    pad_audio: bool = field(default=False, metadata={"help": "pad to the longest in a batch instead of cropping"})
    normalize: bool = field(default=False, metadata={"help": "zero-mean unit-variance waveforms (large: true)"})
    num_workers: int = field(default=2, metadata={"help": "DataLoader worker processes"})
    prefetch_factor: int = field(default=2, metadata={"help": "batches each worker prepares ahead (num_workers > 0)"})
    length_buckets: list[float] = field(default_factory=list, metadata={
        "help": "fixed-shape batches (for torch.compile / CUDA graphs): crop lengths in seconds; a batch is "
                "cropped to the longest bucket its shortest utterance reaches and holds batch_seconds // bucket "
                "utterances; shorter utterances are skipped ([] = dynamic shapes)"})
    valid_max_batches: int = field(default=50, metadata={"help": "validation batches per evaluation (0 = all)"})


@dataclass
class Utterance:
    index: int  # manifest row
    utt: str
    path: str
    num_samples: int
    labels: list[np.ndarray]  # one per label set, already at 50 Hz (read-only memory-mapped views)


def check_label_rate(rate: float, label_dir: str) -> None:
    """Refuse label rates whose frames do not fall on the 50 Hz frame centres (or cover whole 50 Hz frames)."""
    if float(rate) in COARSE_RATES:
        return
    if not (float(rate).is_integer() and int(rate) in SUPPORTED_RATES):
        raise LabelRateError(
            f"{label_dir}: label rate {rate} Hz is not supported for HuBERT's 50 Hz frames "
            f"(use 100, 50, 25 or 12.5 Hz labels; convert others with the labelers first)"
        )


def labels_at_50hz(labels: np.ndarray, rate: float, utt: str, num_samples: int, label_dir: str) -> np.ndarray:
    """Labels re-timed to the 50 Hz frames by frame centre (100 Hz: frame t <- label 2t); check the length.

    Coarse labels (12.5 / 25 Hz) are checked at their own rate, re-timed, and cut or extended (last label
    repeated) to exactly the 50 Hz frame count: 4 x 12.5 Hz frames may be up to 3 more or fewer.
    """
    check_label_rate(rate, label_dir)
    if float(rate) in COARSE_RATES:
        check_label_length(len(labels), num_samples, rate, f"{label_dir}: {utt}", error=LabelRateError)
        out = frames_at_rate(labels, rate, MODEL_RATE)
        want = num_frames(num_samples, MODEL_RATE)
        if len(out) and len(out) < want:
            out = np.concatenate([out, np.full(want - len(out), out[-1], dtype=out.dtype)])
        return out[:want]
    out = frames_at_rate(labels, rate, MODEL_RATE)
    check_label_length(len(out), num_samples, MODEL_RATE, f"{label_dir}: {utt}",
                       what=f"labels (from {len(labels)} at {rate} Hz)", error=LabelRateError)
    return out


def labels_at_rate(labels: np.ndarray, rate: float, utt: str, num_samples: int, label_dir: str,
                   frame_rate: float = MODEL_RATE) -> np.ndarray:
    """Labels at the backbone's `frame_rate`: 50 Hz first, then pooled (exactly num_frames(n, frame_rate))."""
    at50 = labels_at_50hz(labels, rate, utt, num_samples, label_dir)
    factor = pool_factor(frame_rate)
    return at50 if factor == 1 else pool_labels(at50, factor, num_frames(num_samples, frame_rate))


class UtteranceTable:
    """The usable utterances of a split as flat arrays; `table[j]` builds utterance j's `Utterance` on access.

    Labels stay memory-mapped (labelers.corpus.label_binary), paths are one bytes array: no per-utterance
    Python objects, so start-up memory barely grows with the manifest, and DataLoader workers (forked or
    pickled) share the label pages instead of copying lists of arrays.
    """

    def __init__(self, root: str, relpaths: np.ndarray, rows: np.ndarray, num_samples: np.ndarray, label_sets: list,
                 frame_rate: float = MODEL_RATE):
        self.root, self.relpaths, self.rows, self.num_samples = root, relpaths, rows, num_samples
        self.frame_rate = frame_rate  # labels are handed out at the backbone's frame rate
        self.label_sets = label_sets  # (LabelArrays, label rate, label dir) per label set

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, j: int) -> Utterance:
        i, n = int(self.rows[j]), int(self.num_samples[j])
        rel = self.relpaths[j].decode()
        utt = os.path.splitext(rel)[0]
        labs = [labels_at_rate(arrays[i], rate, utt, n, d, self.frame_rate) for arrays, rate, d in self.label_sets]
        return Utterance(i, utt, os.path.join(self.root, rel), n, labs)

    def __iter__(self):
        return (self[j] for j in range(len(self)))


def load_split(data_dir: str, split: str, label_dirs: list[str], min_samples: int,
               frame_rate: float = MODEL_RATE) -> tuple[UtteranceTable, list[dict]]:
    """Utterances of `split` that have every label set and are long enough; plus the skipped ones."""
    manifest = open_split(data_dir, split).manifest()
    num_samples = np.asarray(manifest.num_samples, dtype=np.int64)
    expected = np.array([num_frames(int(n), MODEL_RATE) for n in num_samples], dtype=np.int64)
    present = np.ones(len(manifest), dtype=bool)
    has_labels = []  # per label set: which rows it labels (reasons are spelt out for skipped rows only)
    label_sets = []
    for d in label_dirs:
        ls = LabelSet.open(d)
        check_label_rate(ls.label_rate, d)  # refuse before reading a whole split
        arrays = load_label_arrays(ls, split, data_dir)
        lengths = arrays.lengths()
        has = lengths > 0
        at_50hz = -(-lengths * MODEL_RATE // int(ls.label_rate))  # what frames_at_rate keeps: ceil
        bad = np.flatnonzero(has & (np.abs(at_50hz - expected) > LABEL_LENGTH_TOLERANCE))
        if float(ls.label_rate) in COARSE_RATES:  # checked at their own rate, utterance by utterance, at use
            coarse = np.array([num_frames(int(n), ls.label_rate) for n in num_samples], dtype=np.int64)
            bad = np.flatnonzero(has & (np.abs(lengths - coarse) > LABEL_LENGTH_TOLERANCE))
        if bad.size:  # the same refusal as for one utterance, before any training starts
            i = int(bad[0])
            labels_at_50hz(arrays[i], ls.label_rate, manifest.utt_id(i), int(num_samples[i]), d)
        has_labels.append(has)
        present &= has
        label_sets.append((arrays, ls.label_rate, d))
    long_enough = num_samples >= min_samples
    skipped = []
    for i in np.flatnonzero(~(present & long_enough)).tolist():
        missing = [d for d, has in zip(label_dirs, has_labels) if not has[i]]
        if missing:
            skipped.append({"utt": manifest.utt_id(i), "reason": f"no labels in {', '.join(missing)}"})
        else:
            skipped.append({"utt": manifest.utt_id(i), "reason": f"{num_samples[i]} samples < min_sample_size {min_samples}"})
    rows = np.flatnonzero(present & long_enough)
    relpaths = np.array([manifest.relpaths[i].encode() for i in rows.tolist()], dtype=bytes)
    return UtteranceTable(manifest.root, relpaths, rows, num_samples[rows], label_sets, frame_rate), skipped


def make_bucket_batches(sizes: np.ndarray, buckets: list[int], budget: int, seed: int, epoch: int,
                        shuffle: bool = True) -> list[list[int]]:
    """Fixed-shape batches: every utterance goes to the longest bucket it reaches; each batch holds exactly
    budget // bucket utterances of one bucket (a bucket's remainder waits for the next epoch's draw).
    The batch shapes are then (budget // b, b) for the buckets b in use: a handful of shapes to compile."""
    rng = np.random.default_rng((seed, epoch, 0))
    buckets = sorted(buckets)
    which = np.searchsorted(buckets, np.asarray(sizes), side="right") - 1  # -1: shorter than every bucket
    batches = []
    for k, b in enumerate(buckets):
        members = np.flatnonzero(which == k)
        if shuffle:
            members = rng.permutation(members)
        per = max(1, budget // b)
        batches += [members[i : i + per].tolist() for i in range(0, len(members) - per + 1, per)]
    if shuffle:
        batches = [batches[j] for j in rng.permutation(len(batches))]
    return batches


def make_batches(sizes: np.ndarray, budget: int, crop: bool, seed: int, epoch: int, shuffle: bool = True) -> list[list[int]]:
    """Bucketed dynamic batches: sort by size (random ties), fill up to `budget` samples, shuffle."""
    rng = np.random.default_rng((seed, epoch, 0))
    lengths = np.asarray(sizes).tolist()
    order = sort_by_length(lengths, tie_break=rng.random(len(lengths)).tolist() if shuffle else None)
    # crop: every utterance becomes the batch's shortest; pad: its longest
    batches = pack_by_length(order, lengths, budget, crop=crop)
    if shuffle:
        batches = [batches[j] for j in rng.permutation(len(batches))]
    return batches


@dataclass
class MaskParams:
    prob: float = 0.8
    length: int = 10
    min_masks: int = 2


class BatchBuilder(torch.utils.data.Dataset):
    """Indexed by (epoch, batch id, utterance positions); loads, crops, pads, masks a whole batch."""

    def __init__(self, utts: list[Utterance], cfg: DataConfig, mask: MaskParams, seed: int,
                 frame_rate: float = MODEL_RATE, output_frames=None):
        self.utts, self.cfg, self.mask, self.seed = utts, cfg, mask, seed
        # frames the encoder yields for n samples (w2v-bert: one fewer than the labels at times)
        self.output_frames = output_frames or (lambda n: num_frames(n, frame_rate))
        self.frame_rate, self.hop = frame_rate, int(round(SAMPLE_RATE / frame_rate))

    def __len__(self) -> int:
        return len(self.utts)

    def __getitem__(self, key: tuple[int, int, list[int]]) -> dict:
        epoch, batch_id, members = key
        rng = np.random.default_rng((self.seed, epoch, batch_id, 1))
        wavs, labs, names, skipped = [], [], [], []
        for j in members:
            u = self.utts[j]
            try:
                wav = load_audio(u.path)
            except AudioError as e:
                skipped.append({"utt": u.utt, "reason": e.reason})
                continue
            # The manifest length decided the label check; audio that disagrees (a file replaced since the
            # manifest was made) cannot be trusted to match its labels: skip it, recorded, never misalign.
            if abs(len(wav) - u.num_samples) >= MODEL_HOP:  # one 20 ms frame, whatever the backbone
                skipped.append({"utt": u.utt, "reason": f"audio has {len(wav)} samples but the manifest (and its "
                                f"labels) say {u.num_samples}"})
                continue
            wavs.append(wav[: u.num_samples])
            labs.append(u.labels)
            names.append(u.utt)
        if not wavs:
            return {"wav": None, "skipped": skipped, "utts": []}
        lengths = [min(len(w), self.cfg.max_sample_size) for w in wavs]
        target = max(lengths) if self.cfg.pad_audio else min(lengths)
        if self.cfg.length_buckets:  # fixed shapes: down to the bucket this batch was built for
            fits = [b for b in bucket_samples(self.cfg.length_buckets) if b <= target]
            target = fits[-1] if fits else target
        out_len = [min(n, target) for n in lengths]
        hop, rate = self.hop, self.frame_rate
        B, S, T = len(wavs), target, num_frames(target, rate)
        wav_t = torch.zeros(B, S)
        tgt = [torch.full((B, T), IGNORE, dtype=torch.long) for _ in labs[0]]
        frame_lengths = torch.zeros(B, dtype=torch.long)
        maskable = np.zeros(B, dtype=np.int64)  # frames with every label and an encoder output: masks go there
        for b, (w, ls, n) in enumerate(zip(wavs, labs, out_len)):
            k = int(rng.integers(0, (len(w) - n) // hop + 1))  # crop offset in frames
            piece = w[k * hop : k * hop + n]
            if self.cfg.normalize:
                piece = (piece - piece.mean()) / np.sqrt(piece.var() + 1e-5)
            wav_t[b, :n] = torch.from_numpy(np.ascontiguousarray(piece))
            t_n = num_frames(n, rate)
            frame_lengths[b] = t_n
            maskable[b] = min(t_n, self.output_frames(n))
            for i, lab in enumerate(ls):
                seg = lab[k : k + t_n]
                tgt[i][b, : len(seg)] = torch.from_numpy(seg.astype(np.int64))  # a copy: the map is read-only
                maskable[b] = min(maskable[b], len(seg))
        # With length buckets the masked count is fixed per bucket as well, so (B, M) is one shape per bucket.
        count = (expected_masked(T, self.mask.prob, self.mask.length, self.mask.min_masks)
                 if self.cfg.length_buckets else None)
        mask = compute_mask(maskable, T, self.mask.prob, self.mask.length, self.mask.min_masks, rng, count=count)
        # Every row masks the same number of frames (compute_mask's same_count): their positions as a
        # (B, M) index lets the model gather masked frames without a host-side count.
        counts = mask.sum(1)
        mask_index = (torch.from_numpy(np.stack([np.flatnonzero(r) for r in mask]))
                      if counts.min() == counts.max() and counts[0] > 0 else None)
        return {
            "wav": wav_t, "frame_lengths": frame_lengths, "wav_lengths": torch.tensor(out_len, dtype=torch.long),
            "targets": tgt, "mask": torch.from_numpy(mask), "mask_index": mask_index,
            "audio_seconds": float(sum(out_len)) / SAMPLE_RATE, "utts": names, "skipped": skipped,
            "padded": self.cfg.pad_audio and len(set(out_len)) > 1,
        }


class EpochBatches(torch.utils.data.Sampler):
    def __init__(self, keys):
        self.keys = keys

    def __iter__(self):
        return iter(self.keys)

    def __len__(self):
        return len(self.keys)


class PretrainData:
    """The batches of one split for one rank: `loader(epoch, start)` is a DataLoader over them."""

    def __init__(self, cfg: DataConfig, split: str, mask: MaskParams, seed: int, rank: int = 0, world: int = 1,
                 shuffle: bool = True, pin_memory: bool = False, frame_rate: float = MODEL_RATE, output_frames=None):
        self.cfg, self.split, self.seed, self.rank, self.world = cfg, split, seed, rank, world
        self.shuffle, self.pin_memory = shuffle, pin_memory
        self.utts, self.skipped = load_split(cfg.data_dir, split, cfg.label_dirs, cfg.min_sample_size, frame_rate)
        if not self.utts:
            raise ValueError(f"{cfg.data_dir}/{split}: no usable utterances ({len(self.skipped)} skipped)")
        self.sizes = np.minimum(self.utts.num_samples, cfg.max_sample_size)
        self.budget = int(cfg.batch_seconds * SAMPLE_RATE)
        if cfg.length_buckets:
            if cfg.pad_audio:
                raise ValueError("data.length_buckets crops batches to fixed lengths: it needs pad_audio: false")
            shortest = min(bucket_samples(cfg.length_buckets))
            short = [u for u, n in zip(self.utts, self.sizes) if n < shortest]
            self.skipped += [{"utt": u.utt, "reason": f"{u.num_samples} samples < the shortest length bucket "
                                                      f"{shortest}"} for u in short]
            keep = self.sizes >= shortest
            self.utts = [u for u, k in zip(self.utts, keep) if k]
            self.sizes = self.sizes[keep]
            if not self.utts:
                raise ValueError(f"{cfg.data_dir}/{split}: no utterance reaches the shortest length bucket")
        if self.budget < cfg.min_sample_size:
            raise ValueError(f"batch_seconds={cfg.batch_seconds} holds less than one min_sample_size utterance")
        self.builder = BatchBuilder(self.utts, cfg, mask, seed, frame_rate, output_frames)

    @property
    def seconds(self) -> float:
        return float(self.sizes.sum()) / SAMPLE_RATE

    def batch_keys(self, epoch: int) -> list[tuple[int, int, list[int]]]:
        """This rank's (epoch, batch id, members); every rank gets the same number of batches."""
        if self.cfg.length_buckets:
            batches = make_bucket_batches(self.sizes, bucket_samples(self.cfg.length_buckets), self.budget, self.seed,
                                          epoch if self.shuffle else 0, self.shuffle)
        else:
            batches = make_batches(self.sizes, self.budget, not self.cfg.pad_audio, self.seed,
                                   epoch if self.shuffle else 0, self.shuffle)
        usable = len(batches) - len(batches) % self.world if len(batches) >= self.world else len(batches)
        keys = [(epoch, b, batches[b]) for b in range(usable)]
        return keys[self.rank :: self.world] if len(batches) >= self.world else keys

    def loader(self, epoch: int, start: int = 0, max_batches: int = 0) -> torch.utils.data.DataLoader:
        keys = self.batch_keys(epoch)[start:]
        if max_batches:
            keys = keys[:max_batches]
        return torch.utils.data.DataLoader(
            self.builder, sampler=EpochBatches(keys), batch_size=None, num_workers=self.cfg.num_workers,
            pin_memory=self.pin_memory, generator=torch.Generator(),  # never touch the global RNG
            persistent_workers=False,
            prefetch_factor=self.cfg.prefetch_factor if self.cfg.num_workers > 0 else None,
        )


def bucket_samples(seconds: list[float]) -> list[int]:
    """Bucket lengths in samples, on the 1280-sample grid (a whole number of frames at every backbone rate)."""
    return sorted({max(1280, int(s * SAMPLE_RATE) // 1280 * 1280) + 400 for s in seconds})

