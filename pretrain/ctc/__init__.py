"""CTC ASR training on the shared engine: the bootstrap teacher and fine-tuning of pre-trained encoders.

`vocab` (characters), `asr_models` (from-scratch FastConformer or a HuBERT export + CTC head),
`transcribed_data`, `spec_augment`, `asr_task` (the engine's task), `error_rates` (CER/WER),
`asr_config` and `train` (the entry point). Imports `pretrain.loop` and `labelers.corpus` only.
"""
