"""Scoring a de-identified copy of the synthetic corpus against its ground truth (no Spark)."""

from transforms.scoring.report import FileScore, ScoreReport
from transforms.scoring.score import score_directories

__all__ = ["FileScore", "ScoreReport", "score_directories"]
