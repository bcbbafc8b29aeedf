"""What pooling labels to fastconformer's 80 ms frames costs in label quality: PNMI (and purities)
against reference phones, before (labels at 50 Hz, what hubert and w2v-bert learn) and after
(`pretrain.frame_labels.pool_labels`, what fastconformer learns).

    python scripts/label_rate_cost.py --labels LABEL_DIR --data CORPUS --split train [--out cost.json]

Prints JSON: for each rate, PNMI, phone purity, cluster purity, frames and the mean label segment length.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from _json_out import emit  # noqa: E402

from labelers.corpus.frames import num_frames  # noqa: E402
from labelers.corpus.label_store import LabelSet  # noqa: E402
from labelers.corpus.split import open_split  # noqa: E402
from labelers.quality import measure_quality  # noqa: E402
from pretrain.data import labels_at_50hz  # noqa: E402
from pretrain.frame_labels import pool_labels  # noqa: E402


def rate_cost(label_dir: str, data_dir: str, split: str, factor: int = 4) -> dict:
    ls = LabelSet.open(label_dir)
    sp = open_split(data_dir, split)
    man, phones = sp.manifest(), sp.phones()
    at50, pooled, ph, names = [], [], [], []
    for i, lab in enumerate(ls.read(split, data_dir)):
        if lab is None:
            continue
        n = man.num_samples[i]
        a = labels_at_50hz(lab, ls.label_rate, man.utt_id(i), n, label_dir)
        at50.append(a)
        pooled.append(pool_labels(a, factor, num_frames(n, 50 / factor)))
        ph.append(phones[i])
        names.append(man.utt_id(i))
    keys = ("pnmi", "phone_purity", "cluster_purity", "frames", "label_segment_ms", "used_labels")
    out = {"labels": str(label_dir), "split": split, "utterances": len(at50), "num_classes": ls.num_classes}
    for name, seqs, rate in (("50hz", at50, 50.0), ("80ms_pooled", pooled, 50.0 / factor)):
        q = measure_quality(seqs, ph, rate, ls.num_classes, names)
        out[name] = {k: q[k] for k in keys}
    out["pnmi_change"] = out["80ms_pooled"]["pnmi"] - out["50hz"]["pnmi"]
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--labels", required=True, help="label folder (labelers.corpus.label_store)")
    p.add_argument("--data", required=True, help="corpus folder with {split}.phn reference phones")
    p.add_argument("--split", default="train")
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args(argv)
    result = rate_cost(args.labels, args.data, args.split)
    return emit(result, args.out)


if __name__ == "__main__":
    main()
