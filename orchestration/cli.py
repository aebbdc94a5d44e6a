"""`deidlake`: the command line of the product.

    deidlake ingest DIR                 landing files of DIR -> bronze + metadata tables
    deidlake run --input DIR --output DIR
                                        the whole asset graph for the files in DIR
    deidlake sql "SELECT ..."           query any table by dotted name (bronze.dicom_files, ...)
    deidlake ui                         the Dagster UI on this warehouse
    deidlake stream [--landing DIR]     de-identify files as they land (Spark Structured Streaming)
    deidlake stream --topic T [--kafka-bootstrap HOST:PORT]
                                        ... as they arrive on a Kafka topic, answered on T.results
    deidlake produce DIR --topic T      replay a folder of DICOM files into a Kafka topic
    deidlake kafka-dev                  a local Kafka broker for trying the Kafka stream
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
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path

from orchestration.progress import CLI_RUN, DAGSTER_LEVELS, ProgressMode, RunProgress, Verbosity, display_wanted
from orchestration.kafka_produce import Payload
from transforms.modes import DEFAULT_PHI_ENGINE, GateFrames, LossyJpegPolicy, PhiEngine, RedactMode, choices
from warehouse.kafka_clients import DEFAULT_MAX_MESSAGE_BYTES, StartingOffsets
from warehouse.layout import WAREHOUSE_ENV, Warehouse
from warehouse.settings import Mode, SettingsError, env_name, settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LEAKAGE = 0, 1, 2, 3
EXIT_INTERRUPTED = 130


class Output:
    """How much this process prints besides results (--quiet / --verbose); set once by main."""

    verbosity: Verbosity = Verbosity.normal


OUTPUT = Output()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return DELEGATED[argv[0]](argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)                  # bad arguments: one line, exit 2 (DeidlakeParser.error)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    OUTPUT.verbosity = _verbosity(args)
    CLI_RUN.console_log_level = DAGSTER_LEVELS[OUTPUT.verbosity]
    try:
        settings()                                     # a wrong DEIDLAKE_* value stops here, named
        if getattr(args, "no_warehouse", False):      # `produce` talks to Kafka only
            return args.handler(args, None)
        warehouse = _warehouse(args)
        os.environ[WAREHOUSE_ENV] = str(warehouse.root)
        return args.handler(args, warehouse)
    except (UsageError, SettingsError) as exc:        # SettingsError: a DEIDLAKE_* variable, named
        print(f"deidlake {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"deidlake {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


class UsageError(Exception):
    pass


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deidlake")
    except PackageNotFoundError:            # run from a source tree without `pip install -e .`
        return "unknown (not installed)"


def _verbosity(args: argparse.Namespace) -> Verbosity:
    if getattr(args, "quiet", False):
        return Verbosity.quiet
    return Verbosity.verbose if getattr(args, "verbose", False) else Verbosity.normal


def _add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", choices=choices(ProgressMode), default=ProgressMode.auto.value,
                        help="live progress on stderr: auto (when stdout and stderr are terminals), "
                             "always, never (default: auto)")


def _run_progress(args: argparse.Namespace, spark, warehouse: Warehouse, files: int | None = None) -> RunProgress:
    """The live display of this process's runs (off when quiet, or not on a terminal)."""
    from orchestration.instance import dagster_instance

    enabled = display_wanted(ProgressMode(getattr(args, "progress", "auto")), OUTPUT.verbosity)
    return RunProgress(spark, lambda: dagster_instance(warehouse), enabled, files_hint=files)


def _warehouse(args: argparse.Namespace) -> Warehouse:
    """The chosen warehouse; created by the commands that write, required by those that only read (a
    mistyped --warehouse must not answer "(no rows)" from a new, empty warehouse)."""
    warehouse = Warehouse.resolve(args.warehouse)
    if getattr(args, "read_only", False) or getattr(args, "list", False):
        if not warehouse.exists():
            raise UsageError(f"no warehouse at {warehouse.root}: check --warehouse or ${WAREHOUSE_ENV} "
                             "(`deidlake ingest` or `deidlake run` create one)")
        return warehouse
    return warehouse.create()


class DeidlakeParser(argparse.ArgumentParser):
    """argparse, with its errors on one line that names the fix (argparse prints the usage first)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


EXIT_CODES = f"""exit status:
  {EXIT_OK}  success: every file published (or, for ingest/sql/backfill, the command did what it was asked)
  {EXIT_FAILED}  a run, a query or a stream failed (details above)
  {EXIT_USAGE}  bad arguments or settings (the message names the fix)
  {EXIT_LEAKAGE}  the run succeeded but the leakage gate quarantined files (run, demo)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"""

EXAMPLES = {
    "ingest": """examples:
  deidlake ingest /data/landing/2026-11-25
  deidlake ingest /data/landing/batch7 --batch-id batch7 --warehouse /srv/deidlake/warehouse""",
    "run": """examples:
  deidlake run --input /data/landing/batch7 --output /data/deid/batch7
  deidlake run --input DIR --output DIR --redact all --option dates=shift --option clean_descriptors
  deidlake run --input DIR --output DIR --json --quiet > summary.json""",
    "demo": """examples:
  deidlake demo --input tests/data/corpus --output out/demo""",
    "sql": """Only queries (SELECT, WITH, VALUES, TABLE) and SHOW / DESCRIBE / EXPLAIN are run; identified data
(bronze, files outside silver/gold/metrics) needs --allow-identified. Both decided from Spark's plans.

examples:
  deidlake sql "select modality, count(*) from metrics.dicom_complexity group by modality"
  deidlake sql "select * from metrics.quarantine_by_reason" --format json
  deidlake sql "show tables in metrics"
  deidlake sql "select reject_reason, count(*) from bronze.dicom_files group by 1" --allow-identified""",
    "stream": """With --topic the stream reads DICOM files from a Kafka topic (bytes or claim checks, see
docs/operations.md, "Kafka") and answers each message on the results topic (default: TOPIC.results).

examples:
  deidlake stream --landing /data/landing
  deidlake stream --landing /data/landing --available-now --output /data/deid/stream
  deidlake stream --kafka-bootstrap 127.0.0.1:9092 --topic dicom-in
  deidlake stream --topic dicom-in --results-topic dicom-out --claim-check-root /data/store --max-message-bytes 50000000""",
    "produce": """examples:
  deidlake produce /data/archive/2026-11 --topic dicom-in --kafka-bootstrap 127.0.0.1:9092
  deidlake produce /data/store/big --topic dicom-in --payload reference --claim-check-root /data/store
  deidlake produce /data/archive --topic dicom-in --payload auto --claim-check-root /data/archive""",
    "kafka-dev": """Runs until interrupted (Ctrl-C), then stops the broker cleanly. Data stays in --folder: a restart
keeps the topics, the offsets and the port.

examples:
  deidlake kafka-dev
  deidlake kafka-dev --port 9092 --topic dicom-in --partitions 2""",
    "backfill": """examples:
  deidlake backfill --list
  deidlake backfill --all
  deidlake backfill --batches 20261125T020000-1a2b3c4d,stream-000042-9f8e7d6c
  deidlake backfill --from 20261101T000000-00000000 --to 20261130T235959-ffffffff --json""",
    "ui": """examples:
  deidlake ui
  deidlake ui --host 0.0.0.0 --port 3000 --warehouse /srv/deidlake/warehouse""",
}


def build_parser() -> argparse.ArgumentParser:
    help_text = f"warehouse root (default: ${WAREHOUSE_ENV}, else warehouse/data)"
    # Accepted before or after the command; SUPPRESS keeps a subcommand from resetting them.
    common = DeidlakeParser(add_help=False)
    common.add_argument("--warehouse", metavar="DIR", default=argparse.SUPPRESS, help=help_text)
    loudness = common.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                          help="print results and errors only (no progress)")
    loudness.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                          help="also print Dagster's event log")
    parser = DeidlakeParser(prog="deidlake", formatter_class=argparse.RawDescriptionHelpFormatter,
                            description="De-identify DICOM archives into a Delta lakehouse.",
                            epilog=f"Run `deidlake COMMAND --help` for a command's options and examples.\n\n{EXIT_CODES}")
    parser.add_argument("--version", action="version", version=f"deidlake {_version()}")
    parser.add_argument("--warehouse", metavar="DIR", default=None, help=help_text)
    top_loudness = parser.add_mutually_exclusive_group()
    top_loudness.add_argument("-q", "--quiet", action="store_true", help="print results and errors only")
    top_loudness.add_argument("-v", "--verbose", action="store_true", help="also print Dagster's event log")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=DeidlakeParser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        epilog = f"{EXAMPLES[name]}\n\n{EXIT_CODES}" if name in EXAMPLES else EXIT_CODES
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                              epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)

    ingest = command("ingest", "ingest a folder into bronze and metadata")
    ingest.add_argument("input", metavar="DIR")
    ingest.add_argument("--batch-id", default=None)
    _add_progress_argument(ingest)
    ingest.set_defaults(handler=cmd_ingest)

    run = command("run", "run the whole graph for a folder")
    run.add_argument("--input", required=True, metavar="DIR")
    run.add_argument("--output", required=True, metavar="DIR")
    run.add_argument("--batch-id", default=None)
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_pipeline_arguments(run)
    _add_progress_argument(run)
    run.set_defaults(handler=cmd_run)

    demo = command("demo", "the README demonstration (demo secret)")
    demo.add_argument("--input", required=True, metavar="DIR", help="a corpus made by `deidlake synth`")
    demo.add_argument("--output", required=True, metavar="DIR")
    _add_pipeline_arguments(demo)
    _add_progress_argument(demo)
    demo.set_defaults(handler=cmd_demo)

    sql = command("sql", "run a Spark SQL query over the warehouse")
    sql.add_argument("query")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument("--limit", type=int, default=1000, help="rows printed at most (default 1000)")
    sql.add_argument("--allow-identified", action="store_true",
                     help="allow queries over bronze.* (identified data: PHI in clear)")
    sql.set_defaults(handler=cmd_sql, read_only=True)

    stream = command("stream", "de-identify files as they land (Spark streaming)")
    stream.add_argument("--landing", metavar="DIR", default=None, help="default: <warehouse>/landing")
    stream.add_argument("--max-files-per-trigger", type=int, default=16, metavar="N",
                        help="files (Kafka: messages) per micro-batch at most (default: 16)")
    stream.add_argument("--trigger-interval", type=float, default=10.0, metavar="S")
    stream.add_argument("--min-age", type=float, default=5.0, metavar="S",
                        help="wait until a file is S seconds old (it may still be being copied)")
    stream.add_argument("--output", metavar="DIR", default=None, help="also copy each batch's gold files here")
    stream.add_argument("--checkpoint", metavar="DIR", default=None)
    kafka = stream.add_argument_group("Kafka (instead of a landing folder)")
    kafka.add_argument("--topic", default=None, help="read DICOM messages from this topic")
    _add_kafka_arguments(kafka)
    kafka.add_argument("--results-topic", default=None, metavar="T",
                       help="one result event per message (default: TOPIC.results)")
    _add_enum_argument(kafka, "--starting-offsets", StartingOffsets, StartingOffsets.earliest,
                       "where a new checkpoint starts reading the topic")
    ending = stream.add_mutually_exclusive_group()
    ending.add_argument("--available-now", dest="trigger", action="store_const", const="available_now",
                        default="continuous", help="process what is there (in micro-batches), then exit")
    ending.add_argument("--once", dest="trigger", action="store_const", const="once",
                        help="process what is there in one micro-batch, then exit")
    _add_pipeline_arguments(stream)
    _add_progress_argument(stream)
    stream.set_defaults(handler=cmd_stream)

    produce = command("produce", "send a folder's DICOM files to a Kafka topic")
    produce.add_argument("input", metavar="DIR")
    produce.add_argument("--topic", required=True)
    _add_kafka_arguments(produce)
    _add_enum_argument(produce, "--payload", Payload, Payload.bytes,
                       "send each file's bytes, a claim check naming it, or bytes up to the size limit")
    produce.add_argument("--source-system", default=None, metavar="NAME",
                         help="the envelope's optional source-system header")
    produce.add_argument("--partitions", type=int, default=1, metavar="N",
                         help="partitions of the topic if it is created (default: 1)")
    produce.set_defaults(handler=cmd_produce, no_warehouse=True)

    kafka_dev = command("kafka-dev", "run a local Kafka broker (KRaft, loopback) until interrupted")
    kafka_dev.add_argument("--port", type=int, default=0, help="default: a free port (kept across restarts)")
    kafka_dev.add_argument("--folder", metavar="DIR", default=None, help="default: <warehouse>/_kafka_dev")
    kafka_dev.add_argument("--topic", action="append", default=[], metavar="T", help="create this topic (repeatable)")
    kafka_dev.add_argument("--partitions", type=int, default=1, metavar="N")
    kafka_dev.add_argument("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES, metavar="N",
                           help=f"the broker's message size limit (default: {DEFAULT_MAX_MESSAGE_BYTES})")
    kafka_dev.set_defaults(handler=cmd_kafka_dev)

    backfill = command("backfill", "run the graph for registered landing batches")
    backfill.add_argument("--batches", type=lambda text: [b for b in text.split(",") if b], default=None,
                          metavar="ID,ID")
    backfill.add_argument("--all", action="store_true", dest="all_batches")
    backfill.add_argument("--from", dest="first", metavar="ID", default=None)
    backfill.add_argument("--to", dest="last", metavar="ID", default=None)
    backfill.add_argument("--list", action="store_true", help="list the registered batches and exit")
    backfill.add_argument("--json", action="store_true", help="print the per-batch report as JSON")
    _add_pipeline_arguments(backfill)
    _add_progress_argument(backfill)
    backfill.set_defaults(handler=cmd_backfill)

    ui = command("ui", "start the Dagster UI on this warehouse")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=cmd_ui)

    for name in DELEGATED:
        sub.add_parser(name, help=f"see `deidlake {name} --help`")
    return parser


def _add_enum_argument(parser: argparse.ArgumentParser, flag: str, enum: type[StrEnum], default: StrEnum,
                       help_text: str, dest: str | None = None) -> None:
    """A choice argument whose choices are the enum's values (the same enum Dagster's config uses)."""
    parser.add_argument(flag, dest=dest, choices=choices(enum), default=default.value,
                        help=f"{help_text} (default: {default})")


def _add_kafka_arguments(parser) -> None:
    parser.add_argument("--kafka-bootstrap", default=None, metavar="HOST:PORT",
                        help=f"Kafka bootstrap servers (default: ${env_name('kafka_bootstrap')})")
    parser.add_argument("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES, metavar="N",
                        help="largest file sent as bytes; larger ones go by reference "
                             f"(default: {DEFAULT_MAX_MESSAGE_BYTES}; the broker must allow it)")
    parser.add_argument("--claim-check-root", metavar="DIR", default=None,
                        help="the landing store that claim checks name files in")


def _kafka_bootstrap(args: argparse.Namespace) -> str:
    bootstrap = args.kafka_bootstrap or settings().kafka_bootstrap
    if not bootstrap:
        raise UsageError(f"no Kafka bootstrap servers: give --kafka-bootstrap HOST:PORT or set "
                         f"{env_name('kafka_bootstrap')}")
    return bootstrap


def _add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    _add_enum_argument(parser, "--redact", RedactMode, RedactMode.phi,
                       "fill only PHI text, or every text region")
    parser.add_argument("--option", action="append", default=[], metavar="NAME", dest="deid_options",
                        help="a PS3.15 Annex E option, e.g. retain_uids, dates=shift (repeatable)")
    _add_enum_argument(parser, "--lossy-jpeg", LossyJpegPolicy, LossyJpegPolicy.same_syntax,
                       "JPEG baseline frames that change: re-encode once in JPEG, or move the file to "
                       "JPEG-LS lossless")
    _add_enum_argument(parser, "--gate-frames", GateFrames, GateFrames.all,
                       "frames the leakage gate reads again: all, those with detected text, or the redacted")
    _add_enum_argument(parser, "--phi-engine", PhiEngine, DEFAULT_PHI_ENGINE,
                       "the PHI recognizer of OCR text: pure Python, or Spark NLP (RegexMatcher + NerCrf) "
                       "around the same dictionary and rules")
    parser.add_argument("--frames-per-task", type=int, default=8, metavar="N", help="frames per Spark task (default: 8)")


def _pipeline_settings(args: argparse.Namespace):
    from pydantic import ValidationError

    from orchestration.resources import PipelineSettings

    if getattr(args, "frames_per_task", 8) < 1:
        raise UsageError("--frames-per-task must be at least 1")
    try:
        return PipelineSettings(deid_options=list(getattr(args, "deid_options", [])),
                                redact=getattr(args, "redact", RedactMode.phi),
                                lossy_jpeg_policy=getattr(args, "lossy_jpeg", LossyJpegPolicy.same_syntax),
                                gate_frames=getattr(args, "gate_frames", GateFrames.all),
                                phi_engine=getattr(args, "phi_engine", DEFAULT_PHI_ENGINE),
                                frames_per_task=getattr(args, "frames_per_task", 8))
    except ValidationError as exc:             # an unknown --option: the message lists the valid names
        raise UsageError("; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())) from None


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

    if settings().secret is None:
        os.environ.setdefault(env_name("mode"), Mode.demo.value)
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

        from orchestration.summary import demo_verdict

        print("\nScore of the published files against the corpus ground truth:")
        report = score_directories(corpus, output, run_ocr=True, run_dciodvfy=True)
        table = report.to_table().splitlines()
        print("\n".join(line for line in table if not line.startswith("PASSED:")))   # said in words below
        print(demo_verdict(report.totals, report.consistency.consistent))
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

    pipeline = _pipeline_settings(args)                 # bad arguments fail before anything is registered
    try:
        manifest = register_folder(warehouse, input_dir, getattr(args, "batch_id", None))
    except EmptyInputError as exc:
        raise UsageError(str(exc)) from exc
    _progress(f"batch {manifest.batch_id}: {len(manifest.files)} files from {input_dir}")
    full_run = selection is None
    with spark_session_scope(warehouse=warehouse) as spark:   # the run's resource shares it
        with _run_progress(args, spark, warehouse, len(manifest.files)):
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
    """Read-only: queries and SHOW/DESCRIBE/EXPLAIN only, identified data only with --allow-identified;
    both decided from Spark's plans (warehouse/sql_guard.py)."""
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    from pyspark.errors import PySparkException

    from warehouse.sql_guard import RefusedQuery

    try:
        _print_query(args.query, args.format, args.limit, warehouse, args.allow_identified)
    except RefusedQuery as exc:
        raise UsageError(str(exc)) from None
    except PySparkException as exc:
        print(f"deidlake sql: {type(exc).__name__}: {_first_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _print_query(query: str, fmt: str, limit: int, warehouse: Warehouse, allow_identified: bool = False) -> None:
    from warehouse.delta_io import register_catalog
    from warehouse.spark_session import spark_session_scope
    from warehouse.sql_guard import check

    with spark_session_scope(warehouse=warehouse) as spark:
        register_catalog(spark, warehouse)
        check(spark, query, warehouse, allow_identified)
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
        source = _kafka_source(args, warehouse) if args.topic else None
        if source is not None and args.landing:
            raise UsageError("--landing and --topic are two sources: give one")
        settings = StreamSettings(
            landing=None if source else _input_dir(args.landing) if args.landing else warehouse.landing,
            source=source,
            max_files_per_trigger=args.max_files_per_trigger, trigger_interval_seconds=args.trigger_interval,
            trigger=args.trigger, min_age_seconds=args.min_age,
            output=Path(args.output) if args.output else None,
            checkpoint=Path(args.checkpoint) if args.checkpoint else None)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    pipeline = _pipeline_settings(args)
    with spark_session_scope(warehouse=warehouse) as spark, interrupts_stop_stream():
        try:
            with _run_progress(args, spark, warehouse):
                report = run_stream(spark, warehouse, settings, pipeline, log=_progress)
        except StreamAlreadyRunning as exc:
            raise UsageError(str(exc)) from exc
        except KeyboardInterrupt:
            _progress("stream stopped")
            return EXIT_OK
    _progress(f"stream {report.stopped_by}: {len(report.batches)} batches, {report.files} files"
              + (f": {report.error}" if report.error else ""))
    return EXIT_OK if report.success else EXIT_FAILED


def _kafka_source(args: argparse.Namespace, warehouse: Warehouse):
    from orchestration.kafka_source import KafkaSettings, KafkaSource

    claim_root = _input_dir(args.claim_check_root) if args.claim_check_root else None
    return KafkaSource(KafkaSettings(
        bootstrap=_kafka_bootstrap(args), topic=args.topic, results_topic=args.results_topic,
        max_messages_per_trigger=args.max_files_per_trigger, max_message_bytes=args.max_message_bytes,
        claim_check_root=claim_root, starting_offsets=StartingOffsets(args.starting_offsets)), warehouse)


def cmd_produce(args: argparse.Namespace, warehouse: Warehouse | None) -> int:
    from orchestration.kafka_produce import produce_folder
    from warehouse.kafka_broker import create_topic

    folder = _input_dir(args.input)
    if args.partitions < 1 or args.max_message_bytes < 1:
        raise UsageError("--partitions and --max-message-bytes must be at least 1")
    bootstrap = _kafka_bootstrap(args)
    claim_root = _input_dir(args.claim_check_root) if args.claim_check_root else folder
    if args.payload != Payload.bytes and not folder.resolve().is_relative_to(claim_root.resolve()):
        raise UsageError("files sent by reference must lie inside --claim-check-root")
    if create_topic(bootstrap, args.topic, args.partitions):
        _progress(f"created topic {args.topic} ({args.partitions} partitions)")
    report = produce_folder(folder, bootstrap, args.topic, Payload(args.payload), claim_root,
                            args.max_message_bytes, args.source_system, log=_progress)
    print(report.render())
    return EXIT_OK if report.success else EXIT_FAILED


def cmd_kafka_dev(args: argparse.Namespace, warehouse: Warehouse) -> int:
    """A broker in the foreground: Ctrl-C or SIGTERM stops it cleanly (controlled shutdown)."""
    import signal
    import threading

    from warehouse.kafka_broker import BrokerError, KafkaBroker

    folder = Path(args.folder) if args.folder else warehouse.root / "_kafka_dev"
    broker = KafkaBroker(folder, port=args.port, max_message_bytes=args.max_message_bytes)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _progress(f"starting a Kafka broker in {folder} ...")
        try:
            broker.start()
        except BrokerError as exc:
            print(f"deidlake kafka-dev: {exc}", file=sys.stderr)
            return EXIT_FAILED
        for topic in args.topic:
            broker.create_topic(topic, args.partitions)
        print(f"Kafka broker at {broker.bootstrap} (log: {broker.log_path}); Ctrl-C stops it")
        print(f"  export {env_name('kafka_bootstrap')}={broker.bootstrap}")
        print("  deidlake produce DIR --topic dicom-in   |   deidlake stream --topic dicom-in")
        sys.stdout.flush()
        while not stop.wait(1.0):
            if not broker.running:
                print(f"deidlake kafka-dev: the broker exited; see {broker.log_path}", file=sys.stderr)
                return EXIT_FAILED
        _progress("stopping the broker")
        return EXIT_OK
    finally:
        broker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
    with spark_session_scope(warehouse=warehouse) as spark, _run_progress(args, spark, warehouse):
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
    """A line about what the command is doing (stderr; not with --quiet)."""
    if OUTPUT.verbosity != Verbosity.quiet:
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
