"""Evaluation of a pre-trained speech encoder, layer by layer: k-means PNMI/purity against reference
phones, linear-probe phone accuracy, and (optionally) CER after CTC fine-tuning."""
