"""Evaluation of a pre-trained speech encoder, layer by layer: k-means PNMI/purity against reference
phones (`clusters`), linear-probe phone accuracy (`probe`), the MFCC input as a row of its own
(`input_features`), and optionally CER after CTC fine-tuning (`model_evaluation`). Imports `pretrain`
and `labelers`, never `bootstrap.pipeline` or `bootstrap.commands`."""
