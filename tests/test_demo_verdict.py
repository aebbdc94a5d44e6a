"""The demo's verdict says in words what passed and what did not (issue 25), from the real scorer."""

from __future__ import annotations

from pathlib import Path

from orchestration.summary import demo_verdict
from transforms.scoring import score_directories

CORPUS = Path(__file__).parent / "data" / "corpus"


def test_the_verdict_names_each_check_passed_or_not():
    """The corpus scored against itself (nothing de-identified): header PHI left and burned-in PHI kept
    fail, the untouched pixels and the files' validity pass; no Python bool in the sentence."""
    report = score_directories(CORPUS, CORPUS, run_ocr=False, run_dciodvfy=False)
    verdict = demo_verdict(report.totals, report.consistency.consistent)
    failed, passed = verdict.split("\n")
    assert failed.startswith("Verdict: ") and "NOT passed: " in failed
    assert "no PHI left in the headers" in failed and "every burned-in PHI box removed" in failed
    assert "pixels outside the text unchanged" in passed and "every file published and readable" in passed
    assert "True" not in verdict and "False" not in verdict
