"""Streaming: latency from a file dropped in the landing folder (or produced to Kafka) to its gold record,
and kill/restart safety.

    .venv/bin/python bench/streaming.py [--files 50] [--interval 12] [--max-files-per-trigger 32]
                                        [--cycles 3] [--files-per-cycle 4] [--workdir DIR]
                                        [--source folder|kafka|both]

Phase 1 drops `--files` distinct DICOM files at a steady rate (one every `--interval` seconds, written as
`.part` and renamed, as a well-behaved writer does) into the folder a `deidlake stream` process watches,
and measures per file the time from its drop (the file's mtime) to its `gold.manifest.published_at`.
Phase 2 runs `--cycles` kill/restart cycles: files are dropped, the stream is SIGKILLed (whole process
group, JVM included) while a micro-batch is in flight, at a different point each cycle, and restarted;
a final `--available-now` run drains the folder. Then every dropped content must be in gold or in open
quarantine exactly once: lost and duplicated counts are printed. Minutes on a 2-core host: it is a
benchmark, not a test.

`--source kafka` runs phase 1 against a Kafka topic instead: a local broker (`warehouse.kafka_broker`, its
own JVM), a `deidlake stream --topic` process, and the same files produced one every `--interval` seconds
as messages (bytes); latency is from the produce call to `published_at`. `--source both` runs the folder's
phase 1 and then Kafka's in the same run, on the same files (separate warehouses), and prints them side by
side; the kill phase runs for the folder source only (the Kafka kill is tests/test_kafka.py's).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEIDLAKE_MODE", "test")

from bench.common import distinct_copies, median, report  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SUCCEEDED = re.compile(r"batch (stream-\S+), \d+ files.* succeeded")
BATCH_TIMEOUT = 1800


class Stream:
    """One `deidlake stream` process in its own process group, logging to a file."""

    def __init__(self, warehouse: Path, landing: Path | list[str], log: Path, max_files: int, *options: str,
                 min_age: float = 1.0, trigger_interval: float = 1.0):
        """`landing`: the folder, or the source's own arguments (`--topic T --kafka-bootstrap B`)."""
        env = os.environ | {"DEIDLAKE_SPARK_DRIVER_MEMORY": "3g"}
        source = landing if isinstance(landing, list) else ["--landing", str(landing), "--min-age", str(min_age)]
        command = [sys.executable, "-m", "orchestration.cli", "--warehouse", str(warehouse), "stream",
                   *source, "--trigger-interval", str(trigger_interval),
                   "--max-files-per-trigger", str(max_files), *options]
        with open(log, "ab") as out:
            self.process = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def alive(self) -> bool:
        return self.process.poll() is None


def succeeded_batches(log: Path) -> set[str]:
    return set(SUCCEEDED.findall(log.read_text(errors="replace"))) if log.exists() else set()


def registered_paths(manifests: Path, batch_ids: set[str] | None = None) -> set[str]:
    """Landing paths held by the stream batches (all, or only `batch_ids`)."""
    import json

    paths = set()
    for manifest in manifests.glob("stream-*.json"):
        if batch_ids is None or manifest.stem in batch_ids:
            paths.update(f["relative_path"] for f in json.loads(manifest.read_text())["files"])
    return paths


def wait_until(condition, timeout: float, what: str, stream: Stream | None = None) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if stream is not None and not stream.alive():
            raise RuntimeError(f"the stream exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        pause.wait(0.2)


def drop(source: Path, landing: Path) -> tuple[str, float]:
    """Write as `.part`, then rename: the stream never sees a half-written file. Returns the drop time."""
    target = landing / source.name
    partial = target.with_name(target.name + ".part")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    return target.name, target.stat().st_mtime


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def latency_phase(args, warehouse: Path, landing: Path, log: Path, sources: list[Path]) -> dict[str, float]:
    """Steady drops into a running stream; returns the drop time per landing name."""
    stream = Stream(warehouse, landing, log, args.max_files_per_trigger, min_age=args.min_age,
                    trigger_interval=args.trigger_interval)
    try:
        wait_until(lambda: "streaming" in log.read_text(errors="replace"), 300, "the stream to start", stream)
        if args.warm_up:
            # A first file through the graph before the timed drops: latency of a running stream, not of
            # its JVM's first minutes (the first micro-batch of a new process is reported apart).
            warm = args.warm_up_file
            name, _ = drop(warm, landing)
            wait_until(lambda: name in registered_paths(warehouse / "bronze" / "batches", succeeded_batches(log)),
                       BATCH_TIMEOUT, "the warm-up file in a succeeded batch", stream)
        dropped = {}
        pause = threading.Event()
        for source in sources:
            name, at = drop(source, landing)
            dropped[name] = at
            pause.wait(args.interval)
        wait_until(lambda: set(dropped) <= registered_paths(warehouse / "bronze" / "batches",
                                                             succeeded_batches(log)),
                   BATCH_TIMEOUT * 2, "every dropped file in a succeeded batch", stream)
        return dropped
    finally:
        stream.kill()


def kill_phase(args, warehouse: Path, landing: Path, log: Path, sources: list[Path]) -> list[dict]:
    """Kill/restart cycles, each killing at a different point of an in-flight micro-batch."""
    manifests, archive = warehouse / "bronze" / "batches", warehouse / "gold" / "archive"
    cycles, rng = [], random.Random(7)
    for cycle in range(args.cycles):
        batch = sources[cycle * args.files_per_cycle:(cycle + 1) * args.files_per_cycle]
        known = {m.stem for m in manifests.glob("stream-*.json")}
        gold_before = sum(1 for _ in archive.rglob("*.dcm"))
        stream = Stream(warehouse, landing, log, args.max_files_per_trigger)
        for source in batch:
            drop(source, landing)
        point = ("registered", "published", "random")[cycle % 3]
        started = time.monotonic()
        try:
            new_batch = lambda: {m.stem for m in manifests.glob("stream-*.json")} - known - succeeded_batches(log)
            wait_until(lambda: bool(new_batch()), BATCH_TIMEOUT, "a micro-batch in flight", stream)
            if point == "published":
                wait_until(lambda: sum(1 for _ in archive.rglob("*.dcm")) > gold_before, BATCH_TIMEOUT,
                           "a gold file", stream)
            elif point == "random":
                threading.Event().wait(rng.uniform(5, 90))
        finally:
            in_flight = sorted({m.stem for m in manifests.glob("stream-*.json")} - succeeded_batches(log))
            stream.kill()
        cycles.append({"cycle": cycle + 1, "kill_point": point, "seconds_to_kill": round(time.monotonic() - started, 1),
                       "in_flight_at_kill": len(in_flight)})
    final = Stream(warehouse, landing, log, args.max_files_per_trigger, "--available-now")
    if final.process.wait(timeout=BATCH_TIMEOUT * 4) != 0:
        raise RuntimeError("the draining run failed: see the stream log")
    return cycles


def account(warehouse: Path, landing: Path) -> dict:
    """Where every dropped content ended: gold (this run key) or open quarantine, and how many times."""
    from pyspark.sql import functions as F

    from orchestration.resources import PipelineSettings
    from warehouse import tables
    from warehouse.delta_io import read_table
    from warehouse.layout import Warehouse
    from warehouse.spark_session import SparkSettings, build_spark_session

    wh = Warehouse(warehouse)
    spark = build_spark_session(SparkSettings.from_env(driver_memory="2g"), wh)
    gold = (read_table(spark, wh, tables.GOLD_MANIFEST).where(F.col("run_key") == PipelineSettings().run_key())
            .select("sha256", (F.unix_micros("published_at") / 1e6).alias("published")).collect())
    held = {r["sha256"] for r in read_table(spark, wh, tables.QUARANTINE)
            .where(F.col("resolved_at").isNull()).select("sha256").collect()}
    landed = read_table(spark, wh, tables.LANDING_FILES).groupBy("relative_path").count().collect()
    spark.stop()
    contents = {path.name: sha256(path) for path in landing.iterdir() if path.is_file()}
    gold_times: dict[str, list[float]] = {}
    for row in gold:
        gold_times.setdefault(row["sha256"], []).append(row["published"])
    places = {name: len(gold_times.get(sha, [])) + (sha in held) for name, sha in contents.items()}
    return {
        "contents": contents, "published_at": {sha: min(t) for sha, t in gold_times.items()}, "held": held,
        "lost": sum(1 for n in places.values() if n == 0),
        "duplicated": sum(1 for n in places.values() if n > 1)
                      + sum(1 for times in gold_times.values() if len(times) > 1),
        "registered_twice": sum(1 for r in landed if r["count"] > 1),
    }

KAFKA_ANSWERED = re.compile(r"Kafka: batch (stream-\S+): (\d+) messages")


def answered_messages(log: Path) -> int:
    """Messages of the Kafka stream's succeeded micro-batches (each batch counted once)."""
    found = dict(KAFKA_ANSWERED.findall(log.read_text(errors="replace"))) if log.exists() else {}
    return sum(int(n) for n in found.values())


def kafka_latency_phase(args, work: Path, warehouse: Path, log: Path, sources: list[Path]) -> dict[str, float]:
    """Steady produces into a topic a running Kafka stream reads; returns the produce time per content."""
    from confluent_kafka import Producer

    from transforms.message_envelope import Envelope
    from warehouse.kafka_broker import KafkaBroker
    from warehouse.kafka_clients import producer_config

    topic = "dicom-in"
    with KafkaBroker(work / "kafka-broker") as broker:
        broker.create_topic(topic)
        producer = Producer(producer_config(broker.bootstrap, 20 * 1024 * 1024))

        def produce(path: Path) -> tuple[str, float]:
            data = path.read_bytes()
            envelope = Envelope.for_bytes(data)
            at = time.time()
            producer.produce(topic, key=envelope.sha256.encode(), value=data, headers=envelope.headers())
            producer.flush(30)
            return envelope.sha256, at

        stream = Stream(warehouse, ["--topic", topic, "--kafka-bootstrap", broker.bootstrap], log,
                        args.max_files_per_trigger, trigger_interval=args.trigger_interval)
        try:
            wait_until(lambda: "streaming" in log.read_text(errors="replace"), 300, "the stream to start", stream)
            expected = 0
            if args.warm_up:
                produce(args.warm_up_file)
                expected += 1
                wait_until(lambda: answered_messages(log) >= 1, BATCH_TIMEOUT, "the warm-up message answered", stream)
            produced = {}
            pause = threading.Event()
            for source in sources:
                sha, at = produce(source)
                produced[sha] = at
                pause.wait(args.interval)
            expected += len(sources)
            wait_until(lambda: answered_messages(log) >= expected, BATCH_TIMEOUT * 2,
                       "every produced message answered", stream)
            return produced
        finally:
            stream.kill()


def published_times(warehouse: Path) -> dict[str, float]:
    """The first `published_at` of each content in gold (this run key)."""
    from pyspark.sql import functions as F

    from orchestration.resources import PipelineSettings
    from warehouse import tables
    from warehouse.delta_io import read_table
    from warehouse.layout import Warehouse
    from warehouse.spark_session import SparkSettings, build_spark_session

    wh = Warehouse(warehouse)
    spark = build_spark_session(SparkSettings.from_env(driver_memory="2g"), wh)
    try:
        rows = (read_table(spark, wh, tables.GOLD_MANIFEST).where(F.col("run_key") == PipelineSettings().run_key())
                .groupBy("sha256").agg(F.min(F.unix_micros("published_at") / 1e6).alias("published")).collect())
    finally:
        spark.stop()
    return {r["sha256"]: r["published"] for r in rows}


def latency_figures(latencies: list[float]) -> dict:
    return {"latency_median_seconds": round(median(latencies), 1) if latencies else None,
            "latency_p90_seconds": round(percentile(latencies, 0.9), 1) if latencies else None,
            "latency_max_seconds": round(max(latencies), 1) if latencies else None}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--interval", type=float, default=12.0, help="seconds between two drops")
    parser.add_argument("--max-files-per-trigger", type=int, default=32)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--files-per-cycle", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--min-age", type=float, default=1.0, help="the stream's --min-age")
    parser.add_argument("--trigger-interval", type=float, default=1.0, help="the stream's --trigger-interval")
    parser.add_argument("--warm-up", action="store_true",
                        help="one untimed file through the stream before the timed drops")
    parser.add_argument("--source", choices=("folder", "kafka", "both"), default="folder",
                        help="where the stream reads (both: the folder, then Kafka, in this run)")
    args = parser.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="deidlake-bench-stream-"))
    sources = distinct_copies(work / "sources", args.files + args.cycles * args.files_per_cycle + 1)
    args.warm_up_file = sources.pop()
    started = time.monotonic()
    figures: dict = {"files": args.files, "interval_seconds": args.interval,
                     "max_files_per_trigger": args.max_files_per_trigger,
                     "trigger_interval_seconds": args.trigger_interval, "warm_up": args.warm_up,
                     "source": args.source, "workdir": str(work)}
    rows: list[tuple] = []
    healthy = True
    if args.source in ("folder", "both"):
        folder, folder_rows = folder_run(args, work, sources)
        figures["folder"] = folder
        rows += folder_rows
        healthy = folder["lost"] == folder["duplicated"] == 0
    if args.source in ("kafka", "both"):
        warehouse, log = work / "warehouse-kafka", work / "stream-kafka.log"
        produced = kafka_latency_phase(args, work, warehouse, log, sources[:args.files])
        published = published_times(warehouse)
        latencies = [published[sha] - at for sha, at in produced.items() if sha in published]
        kafka = {"published": len(latencies), **latency_figures(latencies),
                 "messages_answered": answered_messages(log), "micro_batches": len(succeeded_batches(log))}
        figures["kafka"] = kafka
        rows += [("kafka: produce-to-gold latency median / p90 / max (s)",
                  f"{kafka['latency_median_seconds']} / {kafka['latency_p90_seconds']} / {kafka['latency_max_seconds']}"),
                 ("kafka: files published / micro-batches", f"{kafka['published']} / {kafka['micro_batches']}")]
    figures["wall_seconds"] = round(time.monotonic() - started, 1)
    report("streaming", figures, rows, ("measure", "value"))
    return 0 if healthy else 1


def folder_run(args, work: Path, sources: list[Path]) -> tuple[dict, list[tuple]]:
    """The folder source: steady drops, then the kill/restart cycles; figures and table rows."""
    warehouse, landing, log = work / "warehouse", work / "landing", work / "stream.log"
    landing.mkdir(parents=True, exist_ok=True)
    dropped = latency_phase(args, warehouse, landing, log, sources[:args.files])
    cycles = kill_phase(args, warehouse, landing, log, sources[args.files:]) if args.cycles else []
    outcome = account(warehouse, landing)

    latencies = [outcome["published_at"][outcome["contents"][name]] - at for name, at in dropped.items()
                 if outcome["contents"][name] in outcome["published_at"]]
    figures = {
        "files": len(dropped), "published": len(latencies),
        "quarantined": sum(1 for name in dropped if outcome["contents"][name] in outcome["held"]),
        "min_age_seconds": args.min_age, **latency_figures(latencies),
        "micro_batches": len(succeeded_batches(log)),
        "kill_cycles": len(cycles), "files_after_kills": args.cycles * args.files_per_cycle,
        "lost": outcome["lost"], "duplicated": outcome["duplicated"],
        "registered_twice": outcome["registered_twice"], "cycles": cycles,
    }
    rows = [("folder: drop-to-gold latency median / p90 / max (s)",
             f"{figures['latency_median_seconds']} / {figures['latency_p90_seconds']} / {figures['latency_max_seconds']}"),
            ("folder: files published / quarantined", f"{figures['published']} / {figures['quarantined']}"),
            ("folder: micro-batches", figures["micro_batches"])]
    rows += [(f"folder: kill {c['cycle']} ({c['kill_point']})", f"after {c['seconds_to_kill']} s, "
              f"{c['in_flight_at_kill']} batch in flight") for c in cycles]
    rows += [("folder: lost / duplicated / registered twice",
              f"{figures['lost']} / {figures['duplicated']} / {figures['registered_twice']}")]
    return figures, rows


if __name__ == "__main__":
    sys.exit(main())
