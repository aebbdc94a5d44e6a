"""`deidlake`: the command line of the product.

    deidlake ingest DIR                 landing files of DIR -> bronze + metadata tables
    deidlake run --input DIR --output DIR
                                        the whole asset graph for the files in DIR
    deidlake sql "SELECT ..."           query any table by dotted name (bronze.dicom_files, ...)
    deidlake ui                         the Dagster UI on this warehouse
    deidlake stream [--landing DIR]     de-identify files as they land (Spark Structured Streaming)
    deidlake backfill --all | --batches ID,ID | --from ID --to ID
                                        the graph for registered landing batches, one after the other
    deidlake demo                       the README's end-to-end demonstration
    deidlake synth ... / score ...      the test-corpus generator and the de-identification scorer

Every command takes --warehouse DIR (default: $DEIDLAKE_WAREHOUSE, else warehouse/data in the repo).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from warehouse.layout import WAREHOUSE_ENV, Warehouse

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LEAKAGE = 0, 1, 2, 3
IDENTIFIED_REFERENCE = re.compile(r"\bbronze\s*\.", re.IGNORECASE)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return DELEGATED[argv[0]](argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    warehouse = Warehouse.resolve(args.warehouse).create()
    os.environ[WAREHOUSE_ENV] = str(warehouse.root)
    try:
        return args.handler(args, warehouse)
    except UsageError as exc:
        print(f"deidlake {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    help_text = f"warehouse root (default: ${WAREHOUSE_ENV}, else warehouse/data)"
    # Accepted before or after the command; SUPPRESS keeps a subcommand from resetting it to None.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--warehouse", metavar="DIR", default=argparse.SUPPRESS, help=help_text)
    parser = argparse.ArgumentParser(prog="deidlake",
                                     description="De-identify DICOM archives into a Delta lakehouse.")
    parser.add_argument("--warehouse", metavar="DIR", default=None, help=help_text)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ingest = sub.add_parser("ingest", parents=[common], help="ingest a folder into bronze and metadata")
    ingest.add_argument("input", metavar="DIR")
    ingest.add_argument("--batch-id", default=None)
    ingest.set_defaults(handler=cmd_ingest)

    run = sub.add_parser("run", parents=[common], help="run the whole graph for a folder")
    run.add_argument("--input", required=True, metavar="DIR")
    run.add_argument("--output", required=True, metavar="DIR")
    run.add_argument("--batch-id", default=None)
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_pipeline_arguments(run)
    run.set_defaults(handler=cmd_run)

    demo = sub.add_parser("demo", parents=[common], help="the README demonstration (demo secret)")
    demo.add_argument("--input", required=True, metavar="DIR", help="a corpus made by `deidlake synth`")
    demo.add_argument("--output", required=True, metavar="DIR")
    _add_pipeline_arguments(demo)
    demo.set_defaults(handler=cmd_demo)

    sql = sub.add_parser("sql", parents=[common], help="run a Spark SQL query over the warehouse")
    sql.add_argument("query")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument("--limit", type=int, default=1000, help="rows printed at most (default 1000)")
    sql.add_argument("--allow-identified", action="store_true",
                     help="allow queries over bronze.* (identified data: PHI in clear)")
    sql.set_defaults(handler=cmd_sql)

    stream = sub.add_parser("stream", parents=[common], help="de-identify files as they land (Spark streaming)")
    stream.add_argument("--landing", metavar="DIR", default=None, help="default: <warehouse>/landing")
    stream.add_argument("--max-files-per-trigger", type=int, default=16, metavar="N")
    stream.add_argument("--trigger-interval", type=float, default=10.0, metavar="S")
    stream.add_argument("--min-age", type=float, default=5.0, metavar="S",
                        help="wait until a file is S seconds old (it may still be being copied)")
    stream.add_argument("--output", metavar="DIR", default=None, help="also copy each batch's gold files here")
    stream.add_argument("--checkpoint", metavar="DIR", default=None)
    ending = stream.add_mutually_exclusive_group()
    ending.add_argument("--available-now", dest="trigger", action="store_const", const="available_now",
                        default="continuous", help="process what is there (in micro-batches), then exit")
    ending.add_argument("--once", dest="trigger", action="store_const", const="once",
                        help="process what is there in one micro-batch, then exit")
    _add_pipeline_arguments(stream)
    stream.set_defaults(handler=cmd_stream)

    backfill = sub.add_parser("backfill", parents=[common], help="run the graph for registered landing batches")
    backfill.add_argument("--batches", type=lambda text: [b for b in text.split(",") if b], default=None,
                          metavar="ID,ID")
    backfill.add_argument("--all", action="store_true", dest="all_batches")
    backfill.add_argument("--from", dest="first", metavar="ID", default=None)
    backfill.add_argument("--to", dest="last", metavar="ID", default=None)
    backfill.add_argument("--list", action="store_true", help="list the registered batches and exit")
    backfill.add_argument("--json", action="store_true", help="print the per-batch report as JSON")
    _add_pipeline_arguments(backfill)
    backfill.set_defaults(handler=cmd_backfill)

    ui = sub.add_parser("ui", parents=[common], help="start the Dagster UI on this warehouse")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=cmd_ui)

    for name in DELEGATED:
        sub.add_parser(name, help=f"see `deidlake {name} --help`")
    return parser


def _add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redact", choices=("phi", "all"), default="phi",
                        help="fill only PHI text (default) or every text region")
    parser.add_argument("--option", action="append", default=[], metavar="NAME", dest="deid_options",
                        help="a PS3.15 Annex E option, e.g. retain_uids, dates=shift (repeatable)")
    parser.add_argument("--lossy-jpeg", choices=("same_syntax", "lossless"), default="same_syntax",
                        help="JPEG baseline frames that change: re-encode once in JPEG, or move the file "
                             "to JPEG-LS lossless")
    parser.add_argument("--frames-per-task", type=int, default=8)


def _pipeline_settings(args: argparse.Namespace):
    from orchestration.resources import PipelineSettings
    from transforms.deid.options import UnknownOptionError

    settings = PipelineSettings(deid_options=list(getattr(args, "deid_options", [])),
                                redact=getattr(args, "redact", "phi"),
                                lossy_jpeg_policy=getattr(args, "lossy_jpeg", "same_syntax"),
                                frames_per_task=getattr(args, "frames_per_task", 8))
    if settings.frames_per_task < 1:
        raise UsageError("--frames-per-task must be at least 1")
    try:
        settings.options()
    except UnknownOptionError as exc:
        raise UsageError(str(exc)) from exc
    return settings


def _input_dir(path: str) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"input folder does not exist: {path}")
    return folder


def cmd_ingest(args: argparse.Namespace, warehouse: Warehouse) -> int:
    from orchestration.graph import INGEST_SELECTION

    return _run_folder(args, warehouse, _input_dir(args.input), INGEST_SELECTION, as_json=False)


def cmd_run(args: argparse.Namespace, warehouse: Warehouse) -> int:
    _require_secret()
    return _run_folder(args, warehouse, _input_dir(args.input), None, as_json=args.json,
                       output=Path(args.output))


def cmd_demo(args: argparse.Namespace, warehouse: Warehouse) -> int:
    """The README demo: a landing batch made of the corpus (plus two broken files), the whole graph,
    the summary, a SQL query over the metrics, and the scorer's verdict against the corpus truth."""
    from warehouse.spark_session import spark_session_scope

    if not os.environ.get("DEIDLAKE_SECRET"):
        os.environ.setdefault("DEIDLAKE_MODE", "demo")
    corpus = _input_dir(args.input)
    landing = _stage_demo_landing(corpus, warehouse)
    output = Path(args.output)
    with spark_session_scope(warehouse=warehouse):      # one session for the run and the query
        code = _run_folder(args, warehouse, landing, None, as_json=False, output=output)
        print("\nSQL: select modality, count(*) from metrics.dicom_complexity group by modality")
        _print_query("select modality, count(*) as files from metrics.dicom_complexity "
                     "group by modality order by modality", "table", 100, warehouse)
    if any(corpus.glob("*.truth.json")):
        from transforms.scoring import score_directories

        print("\nScore of the published files against the corpus ground truth:")
        print(score_directories(corpus, output, run_ocr=True, run_dciodvfy=True).to_table())
    return code


def _stage_demo_landing(corpus: Path, warehouse: Warehouse) -> Path:
    """The corpus's DICOM files (not its ground truth) plus an empty and a non-DICOM file."""
    import shutil

    landing = warehouse.landing / "demo"
    landing.mkdir(parents=True, exist_ok=True)
    for source in sorted(corpus.iterdir()):
        if source.is_file() and not source.name.endswith(".truth.json"):
            shutil.copy2(source, landing / source.name)
    (landing / "empty.dcm").write_bytes(b"")
    (landing / "notes.txt").write_text("not a DICOM file\n")
    return landing


def _require_secret() -> None:
    """Fail before any work when the pseudonym secret is missing, with the fix in the message."""
    from transforms.keyring import Keyring, SecretError

    try:
        Keyring.from_env()
    except SecretError as exc:
        raise UsageError(str(exc)) from exc


def _run_folder(args, warehouse: Warehouse, input_dir: Path, selection, as_json: bool,
                output: Path | None = None) -> int:
    from orchestration.export import export_gold
    from orchestration.runner import EmptyInputError, register_folder, run_batch
    from orchestration.summary import summarize_batch
    from warehouse.spark_session import spark_session_scope

    try:
        manifest = register_folder(warehouse, input_dir, getattr(args, "batch_id", None))
    except EmptyInputError as exc:
        raise UsageError(str(exc)) from exc
    _progress(f"batch {manifest.batch_id}: {len(manifest.files)} files from {input_dir}")
    pipeline = _pipeline_settings(args)
    full_run = selection is None
    with spark_session_scope(warehouse=warehouse) as spark:   # the run's resource shares it
        outcome = run_batch(warehouse, manifest, selection, pipeline=pipeline)
        summary = summarize_batch(spark, warehouse, manifest.batch_id,
                                  pipeline.run_key() if full_run else None, outcome.run_id)
        exported = export_gold(spark, warehouse, manifest.batch_id, pipeline.run_key(), output) if output else None
    if as_json:
        print(json.dumps(summary.to_dict() | {"run_id": outcome.run_id, "success": outcome.success,
                                              "exported": exported}))
    else:
        print(summary.render())
        if exported is not None:
            print(f"  exported           {exported} files to {output}")
        print(f"  dagster run        {outcome.run_id} ({'succeeded' if outcome.success else 'FAILED'})")
    if not outcome.success:
        return EXIT_FAILED
    return EXIT_LEAKAGE if summary.quarantined_for_leakage else EXIT_OK


def cmd_sql(args: argparse.Namespace, warehouse: Warehouse) -> int:
    if IDENTIFIED_REFERENCE.search(args.query) and not args.allow_identified:
        raise UsageError("the query reads bronze (identified data, PHI in clear): "
                         "add --allow-identified if you are entitled to see it")
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    from pyspark.errors import PySparkException

    try:
        _print_query(args.query, args.format, args.limit, warehouse)
    except PySparkException as exc:
        print(f"deidlake sql: {type(exc).__name__}: {_first_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _print_query(query: str, fmt: str, limit: int, warehouse: Warehouse) -> None:
    from warehouse.delta_io import register_catalog
    from warehouse.spark_session import spark_session_scope

    with spark_session_scope(warehouse=warehouse) as spark:
        register_catalog(spark, warehouse)
        frame = spark.sql(query).limit(limit).toPandas()
    if fmt == "csv":
        print(frame.to_csv(index=False), end="")
    elif fmt == "json":
        print(frame.to_json(orient="records", date_format="iso"))
    else:
        print(frame.to_string(index=False) if len(frame) else "(no rows)")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def cmd_stream(args: argparse.Namespace, warehouse: Warehouse) -> int:
    """Until interrupted (Ctrl-C, SIGTERM: the micro-batch in flight finishes), or until done."""
    from orchestration.streaming import StreamAlreadyRunning, StreamSettings, interrupts_stop_stream, run_stream
    from warehouse.spark_session import spark_session_scope

    _require_secret()
    try:
        settings = StreamSettings(
            landing=_input_dir(args.landing) if args.landing else warehouse.landing,
            max_files_per_trigger=args.max_files_per_trigger, trigger_interval_seconds=args.trigger_interval,
            trigger=args.trigger, min_age_seconds=args.min_age,
            output=Path(args.output) if args.output else None,
            checkpoint=Path(args.checkpoint) if args.checkpoint else None)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    pipeline = _pipeline_settings(args)
    with spark_session_scope(warehouse=warehouse) as spark, interrupts_stop_stream():
        try:
            report = run_stream(spark, warehouse, settings, pipeline, log=_progress)
        except StreamAlreadyRunning as exc:
            raise UsageError(str(exc)) from exc
        except KeyboardInterrupt:
            _progress("stream stopped")
            return EXIT_OK
    _progress(f"stream {report.stopped_by}: {len(report.batches)} batches, {report.files} files"
              + (f": {report.error}" if report.error else ""))
    return EXIT_OK if report.success else EXIT_FAILED


def cmd_backfill(args: argparse.Namespace, warehouse: Warehouse) -> int:
    from orchestration.backfill import BatchSelectionError, backfill, render, select_batches
    from transforms.landing import BatchRegistry
    from warehouse.spark_session import spark_session_scope

    registry = BatchRegistry(warehouse.batch_manifests)
    if args.list:
        for batch_id in registry.batch_ids():
            print(f"{batch_id}  {len(registry.read(batch_id).files)} files")
        return EXIT_OK
    _require_secret()
    try:
        chosen = select_batches(registry.batch_ids(), args.batches, args.all_batches, args.first, args.last)
    except BatchSelectionError as exc:
        raise UsageError(str(exc)) from exc
    pipeline = _pipeline_settings(args)
    _progress(f"backfill of {len(chosen)} batches")
    with spark_session_scope(warehouse=warehouse) as spark:
        outcomes = backfill(spark, warehouse, chosen, pipeline, on_batch=lambda o: _progress(
            f"batch {o.batch_id}: {'succeeded' if o.success else 'FAILED'}, {o.newly_published} newly published"))
    print(json.dumps([o.to_dict() for o in outcomes]) if args.json else render(outcomes))
    return EXIT_OK if all(o.success for o in outcomes) else EXIT_FAILED


def cmd_ui(args: argparse.Namespace, warehouse: Warehouse) -> int:
    from orchestration.instance import prepare_dagster_home

    prepare_dagster_home(warehouse)
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)]
    _progress(f"Dagster UI on http://{args.host}:{args.port} (warehouse {warehouse.root})")
    os.execv(command[0], command)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _delegate(module: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        import importlib

        return importlib.import_module(module).main(argv)

    return run


DELEGATED: dict[str, Callable[[list[str]], int]] = {
    "synth": _delegate("transforms.synth.cli"),
    "score": _delegate("transforms.scoring.cli"),
}


if __name__ == "__main__":
    sys.exit(main())
