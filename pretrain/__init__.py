"""HuBERT pre-training: model + head (`model`), the loss (`loss`), masking, data, the Accelerate
engine (`loop`), the pre-training task, export; CTC training in `pretrain.ctc`.

Imports only the corpus substrate (`labelers.corpus`), never a label source or `bootstrap`.
"""
