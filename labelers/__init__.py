"""Label sources for HuBERT pre-training, built on the corpus substrate in `labelers.corpus`.

- features: `features_mfcc` (100 Hz), `features_model` (a transformers encoder's layers, 50 Hz),
  `features_ctc` (a CTC model's encoder);
- `kmeans` (bounded-memory fit, assignment, the k-means labeler);
- `ctc_posteriors`, `ctc_targets`, `asr_labeler` (a CTC model's aligned tokens);
- `labeler` (the typed contract every source implements, `LabelSourceError`), `sources` (the registry:
  name -> settings dataclass + builder, `label_with_source`), `labeling_run` (the sharded, resumable
  run for any source), `distributed`, `quality` (PNMI and purities).

Never imports `pretrain` or `bootstrap`.
"""
