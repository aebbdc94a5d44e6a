"""Synthetic identified DICOM corpus with ground truth (see docs/corpus-and-scoring.md)."""

from transforms.synth.generator import generate_corpus

__all__ = ["generate_corpus"]
