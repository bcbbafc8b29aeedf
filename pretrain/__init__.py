"""HuBERT pre-training: model + head (`model`), the loss (`loss`), masking, data, the Accelerate
engine (`loop`), the pre-training task, export; `config` + `overrides` (the one key=value parser for
every config kind); `pretraining.run_pretraining(PretrainConfig)`, the entry point `python -m pretrain`
and the pipeline share; CTC training in `pretrain.ctc`.

Imports only the corpus substrate (`labelers.corpus`), never a label source or `bootstrap`.
"""
