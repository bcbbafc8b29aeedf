"""How well frame labels match reference phones: fairseq's `measure_teacher_quality.py` formulas.

With joint frame counts p(y = phone, z = label) normalised to sum 1:
- phone purity   = sum_z max_y p(y, z)   (how phone-pure each label is, weighted by label frequency)
- cluster purity = sum_y max_z p(y, z)   (how concentrated each phone is on one label)
- PNMI           = I(y; z) / H(y)        (phone-normalised mutual information)
plus the label entropy H(z) and perplexity exp(H(z)), the number of label classes used, and the
average segment (run) length of labels and phones. Entropies are in nats, as in fairseq.

Reference phones are at 100 Hz. Labels at another rate are brought to 100 Hz first: repeated when
the phone rate is a multiple of theirs (fairseq's `upsample`, 50 Hz -> x2), subsampled when theirs
is a multiple of it. Then each utterance is trimmed to the shorter of the two and the number of
trimmed frames is reported; a difference larger than `max_diff` frames is an error naming the
utterance (it means the labels belong to other audio).
"""

from __future__ import annotations

import os
from itertools import groupby
from pathlib import Path

import numpy as np

from labelers.corpus.atomic import write_json
from labelers.corpus.split import PHONE_RATE, open_split
from labelers.corpus.frames import nearest_frames
from labelers.corpus.label_store import LabelSet

EPS = 1e-8  # fairseq's log floor


def _purity(p_xy: np.ndarray, axis: int) -> float:
    return float(p_xy.max(axis=axis).sum())


def _entropy(p: np.ndarray) -> float:
    return float((-p * np.log(p + EPS)).sum())


def quality_from_joint(counts: np.ndarray) -> dict:
    """Metrics from a (num_phones, num_labels) joint count matrix, exactly as fairseq computes them."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        raise ValueError("no frames to score")
    p_xy = counts / total
    p_x = p_xy.sum(axis=1, keepdims=True)  # phones
    p_y = p_xy.sum(axis=0, keepdims=True)  # labels
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(p_xy / (p_x @ p_y) + EPS)
    mi = float(np.nansum(p_xy * pmi))
    h_x, h_y = _entropy(p_x), _entropy(p_y)
    return {
        "phone_purity": _purity(p_xy, axis=0),
        "cluster_purity": _purity(p_xy, axis=1),
        "pnmi": mi / h_x if h_x > 0 else 0.0,
        "mutual_information": mi,
        "phone_entropy": h_x,
        "label_entropy": h_y,
        "label_perplexity": float(np.exp(h_y)),
        "used_labels": int((counts.sum(axis=0) > 0).sum()),
        "used_phones": int((counts.sum(axis=1) > 0).sum()),
        "frames": int(total),
    }


def to_phone_rate(labels: np.ndarray, label_rate: float, phone_rate: float = PHONE_RATE) -> np.ndarray:
    """Labels at the phone rate: each phone frame takes the label whose frame centre is nearest."""
    if label_rate == phone_rate or len(labels) == 0:
        return labels
    n = int(round(len(labels) * phone_rate / label_rate))
    return labels[np.minimum(nearest_frames(n, phone_rate, label_rate), len(labels) - 1)]


def mean_run_length(seqs) -> float:
    runs = [len(list(g)) for s in seqs for _, g in groupby(np.asarray(s).tolist())]
    return float(np.mean(runs)) if runs else 0.0


def measure_quality(
    labels: list[np.ndarray | None],
    phones: list[list[str]],
    label_rate: float,
    num_classes: int,
    utt_names: list[str] | None = None,
    max_diff: int | None = None,
) -> dict:
    """Score label sequences against reference phone sequences (100 Hz), one pair per utterance."""
    if len(labels) != len(phones):
        raise ValueError(f"{len(labels)} label rows but {len(phones)} phone rows")
    phone_set = sorted({p for seq in phones for p in seq})
    phone_id = {p: i for i, p in enumerate(phone_set)}
    up = max(1, int(round(PHONE_RATE / label_rate))) if label_rate <= PHONE_RATE else 1
    max_diff = max_diff if max_diff is not None else 2 * up + 1
    counts = np.zeros((len(phone_set), num_classes), dtype=np.int64)
    frame_diff = missing = 0
    all_labels, all_phones = [], []
    for i, (lab, ph) in enumerate(zip(labels, phones)):
        if lab is None or len(ph) == 0:
            missing += 1
            continue
        hyp = to_phone_rate(np.asarray(lab), label_rate)
        ref = np.array([phone_id[p] for p in ph], dtype=np.int64)
        diff = abs(len(hyp) - len(ref))
        if diff > max_diff:
            name = utt_names[i] if utt_names else f"row {i}"
            raise ValueError(f"{name}: {len(lab)} labels at {label_rate} Hz give {len(hyp)} frames at {PHONE_RATE} Hz "
                             f"but the reference has {len(ref)} phone frames (more than {max_diff} apart)")
        n = min(len(hyp), len(ref))
        frame_diff += diff
        np.add.at(counts, (ref[:n], hyp[:n]), 1)
        all_labels.append(np.asarray(lab))
        all_phones.append(ref)
    out = quality_from_joint(counts)
    out["_joint_counts"], out["_phones"] = counts, phone_set  # for plots; not written to JSON
    label_seg = mean_run_length(all_labels)
    out.update(
        {
            "label_rate": label_rate,
            "num_classes": num_classes,
            "num_phones": len(phone_set),
            "utterances": len(labels) - missing,
            "utterances_missing": missing,
            "frame_diff": frame_diff,
            "label_segment_frames": label_seg,
            "label_segment_ms": 1000.0 * label_seg / label_rate,
            "phone_segment_ms": 1000.0 * mean_run_length(all_phones) / PHONE_RATE,
        }
    )
    return out


def label_set_quality(label_dir: str | os.PathLike, reference_dir: str | os.PathLike, split: str,
                      max_diff: int | None = None) -> dict:
    """Quality of the label store `label_dir` on `split`, against `reference_dir/{split}.phn`."""
    ls = LabelSet.open(label_dir)
    sp = open_split(reference_dir, split)
    if not sp.has("phn"):
        raise FileNotFoundError(f"{sp.side_path('phn')}: no reference phones to score against")
    labels = ls.read(split, reference_dir)
    out = measure_quality(labels, sp.phones(), ls.label_rate, ls.num_classes, sp.manifest().relpaths, max_diff)
    out.update({"labels": str(Path(label_dir).resolve()), "source": ls.source, "reference": str(sp.side_path("phn")),
                "split": split})
    return out


def format_quality(q: dict) -> str:
    return "\n".join(
        [
            f"label quality [{q.get('source', '?')}, {q['num_classes']} classes, {q['label_rate']} Hz] on "
            f"{q.get('split', '?')}: {q['utterances']} utterances, {q['frames']} frames at {PHONE_RATE} Hz",
            f"  PNMI            {q['pnmi']:.4f}",
            f"  phone purity    {q['phone_purity']:.4f}",
            f"  cluster purity  {q['cluster_purity']:.4f}",
            f"  label entropy   {q['label_entropy']:.3f} nats (perplexity {q['label_perplexity']:.1f}); "
            f"{q['used_labels']}/{q['num_classes']} classes used",
            f"  segment length  labels {q['label_segment_ms']:.1f} ms, phones {q['phone_segment_ms']:.1f} ms",
            f"  trimmed frames  {q['frame_diff']} (length differences after rate conversion); "
            f"missing utterances {q['utterances_missing']}",
        ]
    )


def write_quality(q: dict, path: str | os.PathLike) -> None:
    """JSON of the metrics, and beside it a PNG of p(phone | label) when the joint counts are known."""
    write_json(path, {k: v for k, v in q.items() if not k.startswith("_")})
    if "_joint_counts" in q:
        plot_phone_given_label(q["_joint_counts"], q["_phones"], Path(path).with_suffix(".png"),
                               title=f"{q.get('source', '')} K={q['num_classes']}  PNMI {q['pnmi']:.3f}")


def plot_phone_given_label(counts: np.ndarray, phones: list[str], path: str | os.PathLike, title: str = "") -> None:
    """Heat map of p(phone | label), labels ordered by their most likely phone (as in the HuBERT paper)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    used = counts.sum(axis=0) > 0
    c = counts[:, used].astype(np.float64)
    p = c / c.sum(axis=0, keepdims=True)
    order = np.lexsort((-p.max(axis=0), p.argmax(axis=0)))
    fig, ax = plt.subplots(figsize=(min(16, 4 + 0.02 * c.shape[1]), min(10, 2 + 0.2 * len(phones))))
    ax.imshow(p[:, order], aspect="auto", interpolation="nearest", cmap="Blues", vmin=0, vmax=1)
    ax.set_yticks(range(len(phones)), phones, fontsize=6)
    ax.set_xlabel("label (sorted by most likely phone)")
    ax.set_ylabel("phone")
    ax.set_title(f"p(phone | label)  {title}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
