"""Corpus importers: LibriSpeech layout, any folder of audio, `datasets` datasets -> fairseq-style splits.

Each importer validates every file with `labelers.corpus.audio` (full decode), skips the bad ones with
their reasons, writes `{split}.tsv` (+ `.wrd`/`.ltr` when transcripts exist) atomically, and a
`{split}.import.json` report listing what was skipped and why.
"""
