"""The corpus substrate: everything about audio, splits and label files, and nothing about labeling.

- `audio`: one loader (soundfile, mono, 16 kHz) with typed errors.
- `batching`: the one length-bucketing batcher (`sort_by_length`, `pack_by_length`) and threaded decoding.
- `chunking`: the one long-audio chunker (`plan_chunks`, `plan_context_chunks`, `stitch`).
- `manifest`, `split`: fairseq manifests and side files; `open_split(data_dir, name)`, `Split.transcripts()`.
- `frames`: SAMPLE_RATE, MODEL_RATE, the frame-count rule, the label-length check, rate mapping by frame centre.
- `atomic`: write-then-rename; `label_store`: the label folder format, validated on read.
- `summary`, `importers/`, `synth/`: corpus description, importers, synthetic speech (GPL extra).

Imports nothing else from this project: `pretrain` and every label source build on it.
"""
