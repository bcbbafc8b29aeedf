"""Declared stage sequences (corpus → labels → pre-training → teacher → evaluation), cached per config."""
