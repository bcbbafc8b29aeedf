"""A corpus folder at a glance: splits, utterances, minutes, transcripts, phone inventory."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from labelers.corpus.split import open_split

SPLIT_ORDER = ("train", "labeled", "valid", "test")


def list_splits(data_dir: str | os.PathLike) -> list[str]:
    names = [p.stem for p in Path(data_dir).glob("*.tsv")]
    return sorted(names, key=lambda n: (SPLIT_ORDER.index(n) if n in SPLIT_ORDER else len(SPLIT_ORDER), n))


def summarize_corpus(data_dir: str | os.PathLike) -> dict:
    """Counts read from the split files themselves (works for any corpus, synthetic or imported)."""
    data_dir = Path(data_dir)
    splits, inventory = {}, Counter()
    for name in list_splits(data_dir):
        sp = open_split(data_dir, name)
        m = sp.manifest()
        entry = {
            "utterances": len(m),
            "minutes": round(m.total_seconds() / 60, 2),
            # distinct audio folders: voices in the synthetic corpus, chapters in LibriSpeech
            "folders": len({os.path.dirname(r) for r in m.relpaths}),
            "transcripts": sp.has("wrd"),
        }
        if sp.has("wrd"):
            entry["words"] = sum(len(line.split()) for line in sp.words())
        if sp.has("phn"):
            phones = Counter(p for seq in sp.phones() for p in seq)
            entry["phone_frames"] = sum(phones.values())
            inventory.update(phones)
        splits[name] = entry
    out = {"data_dir": str(data_dir), "splits": splits, "phones": sorted(inventory)}
    info = data_dir / "corpus.json"
    if info.is_file():
        meta = json.loads(info.read_text(encoding="utf-8"))
        out.update({k: meta[k] for k in ("seed", "voices", "generator") if k in meta})
    return out


def format_summary(summary: dict) -> str:
    lines = [f"corpus: {summary['data_dir']}"]
    if "generator" in summary:
        g = summary["generator"]
        lines.append(f"synthetic: {g.get('name')} {g.get('espeak_ng_version', '')}, seed {summary.get('seed')}, "
                     f"{len(summary.get('voices', []))} voices")
    who = "voices" if "voices" in summary else "folders"
    lines.append(f"{'split':<12}{'utts':>7}{'minutes':>9}{who:>10}{'words':>8}{'phone frames':>14}")
    total_utts = total_min = 0
    for name, s in summary["splits"].items():
        lines.append(
            f"{name:<12}{s['utterances']:>7}{s['minutes']:>9.2f}{s['folders']:>10}"
            f"{s.get('words', '-')!s:>8}{s.get('phone_frames', '-')!s:>14}"
        )
        if name != "labeled":  # labeled is a subset of train
            total_utts += s["utterances"]
            total_min += s["minutes"]
    lines.append(f"{'total':<12}{total_utts:>7}{total_min:>9.2f}   (labeled is a subset of train)"
                 if "labeled" in summary["splits"] else f"{'total':<12}{total_utts:>7}{total_min:>9.2f}")
    if summary["phones"]:
        lines.append(f"phones ({len(summary['phones'])}): {' '.join(summary['phones'])}")
    return "\n".join(lines)
