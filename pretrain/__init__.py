"""HuBERT pre-training (model, head, data, Accelerate trainer), CTC fine-tuning and export.

Reads labels only through `labelers.label_store`.
"""
