"""The corpus substrate: everything about audio, splits and label files, and nothing about labeling.

- `audio`: one loader (soundfile, mono, 16 kHz) with typed errors; `batching`: length-sorted batches.
- `manifest`, `split`: fairseq manifests and side files; `open_split(data_dir, name)`.
- `frames`: the sample rate and the frame-count / rate-mapping rules every layer shares.
- `atomic`: write-then-rename; `label_store`: the label folder format, validated on read.
- `summary`, `importers/`, `synth/`: corpus description, importers, synthetic speech (GPL extra).

Imports nothing else from this project: `pretrain` and every label source build on it.
"""
