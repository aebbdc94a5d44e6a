"""Microsoft Presidio's DicomImageRedactorEngine over a folder, N worker processes (run by bench/vs_presidio.py).

    PRESIDIO_VENV/bin/python bench/presidio_runner.py --input DIR --output DIR --processes 2 --blank-model DIR

Runs in Presidio's own virtual environment (presidio-image-redactor and its needs; nothing of deidlake is
imported). Each worker builds one engine, the way a user of the library would: spaCy with a BLANK English
pipeline (`spacy.blank("en")` saved once to --blank-model and named to presidio-analyzer's NlpEngineProvider,
so no en_core_web_* model is downloaded: presidio loads a model path as is), pytesseract on the machine's
Tesseract, and Presidio's defaults otherwise (fill "contrast", padding 25, PHI from the DICOM header's
values used as a deny list). The engine only redacts pixels: it leaves the header as it was. Every output
keeps its input's file name. A file that fails is removed from the output (never left unredacted there)
and listed by name with its exception class. Prints one JSON line: files, redacted, failed, seconds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

ENGINE = None


def _forbid_downloads() -> None:
    """Nothing may be fetched at run time: spaCy's model download raises; tldextract (Presidio's e-mail
    check) uses the public suffix snapshot its package ships instead of fetching the list."""
    import spacy.cli
    import tldextract

    def no_download(*args, **kwargs):
        raise RuntimeError("presidio_runner: a spaCy model download was attempted; only a blank model is allowed")

    spacy.cli.download = no_download
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())


def ensure_blank_model(folder: Path) -> Path:
    """spaCy's blank English pipeline (a tokenizer, no trained component), written once to `folder`."""
    if not (folder / "config.cfg").is_file():
        import spacy

        spacy.blank("en").to_disk(folder)
    return folder


def build_engine(blank_model: Path):
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_image_redactor import DicomImageRedactorEngine, ImageAnalyzerEngine, TesseractOCR

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": str(blank_model)}]})
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    return DicomImageRedactorEngine(image_analyzer_engine=ImageAnalyzerEngine(analyzer_engine=analyzer,
                                                                              ocr=TesseractOCR()))


def _init_worker(blank_model: str) -> None:
    global ENGINE
    _forbid_downloads()
    ENGINE = build_engine(Path(blank_model))


def _redact_one(job: tuple[str, str]) -> tuple[str, str | None]:
    source, output_dir = job
    try:
        ENGINE.redact_from_file(source, output_dir, verbose=False)
        return Path(source).name, None
    except Exception as error:                       # one file's failure is that file's result
        (Path(output_dir) / Path(source).name).unlink(missing_ok=True)
        return Path(source).name, type(error).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--blank-model", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    _forbid_downloads()
    blank_model = ensure_blank_model(args.blank_model)
    args.output.mkdir(parents=True, exist_ok=True)
    sources = sorted(str(p) for p in args.input.iterdir() if p.is_file() and p.suffix.lower() == ".dcm")
    jobs = [(source, str(args.output)) for source in sources]
    with multiprocessing.get_context("fork").Pool(args.processes, _init_worker, (str(blank_model),)) as pool:
        results = pool.map(_redact_one, jobs, chunksize=1)
    failed = {name: error for name, error in results if error}
    print(json.dumps({"files": len(jobs), "redacted": len(jobs) - len(failed), "failed": failed,
                      "processes": args.processes, "seconds": round(time.perf_counter() - started, 2),
                      "presidio_image_redactor": _version("presidio-image-redactor"),
                      "presidio_analyzer": _version("presidio-analyzer"), "spacy": _version("spacy")}))
    return 0 if not failed else 1


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
