"""Label sources for HuBERT pre-training: corpus I/O, features, k-means, CTC alignment, label store.

This layer never imports `pretrain` or `bootstrap`.
"""
