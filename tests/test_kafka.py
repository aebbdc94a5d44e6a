"""Kafka as the stream's source and sink, against a real broker (KRaft, from the fetched jars; no mock).

The broker runs for the module on a free loopback port (`warehouse.kafka_broker`). Messages are produced
with the product's own producer (`deidlake produce`'s code) plus hand-made bad ones; the stream reads
them with Spark's Kafka connector, is killed mid-way (SIGKILL of its process group) and restarted.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pydicom
import pytest
from pyspark.sql import functions as F

from orchestration.cli import main
from orchestration.kafka_produce import Payload, produce_folder
from orchestration.kafka_source import KafkaSettings, KafkaSource
from orchestration.resources import PipelineSettings
from tests.conftest import pydicom_file
from transforms.message_envelope import CONTENT_LENGTH, CONTENT_SHA256, CONTENT_TYPE, Envelope, MessageReason
from transforms.spark.messages import land_messages
from warehouse import tables
from warehouse.delta_io import read_table, register_catalog
from warehouse.kafka_broker import KafkaBroker, create_topic
from warehouse.kafka_clients import StartingOffsets, producer_config, python_client_config, spark_source_options
from warehouse.layout import REPO_ROOT, Warehouse

STOP_TIMEOUT = 120             # seconds a broker takes to stop or start again, at most
RUN_TIMEOUT = 900              # seconds the killed stream may take to reach its first micro-batch (cold JVM)
PATIENT = "CompressedSamples^CT1"   # CT_small.dcm's patient name: must never reach a result event
# Messages in the end-to-end test: 15 keeps it in minutes; the measurement is 50
# (`KAFKA_E2E_MESSAGES=50 pytest -k killed_kafka`). 7 of them are bad, 3 are produced while it is down.
E2E_MESSAGES = int(os.environ.get("KAFKA_E2E_MESSAGES", "15"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with KafkaBroker(tmp_path_factory.mktemp("kafka-broker")) as running:
        yield running


def ct_variant(folder: Path, index: int) -> Path:
    """CT_small.dcm as another instance of its series: a content of its own, the same patient."""
    dataset = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    dataset.SOPInstanceUID = f"{dataset.SOPInstanceUID}.{index}"
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.InstanceNumber = index + 1
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ct_{index:02d}.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def send(bootstrap: str, topic: str, headers, value: bytes) -> None:
    """One hand-made message (what a faulty router would send)."""
    from confluent_kafka import Producer

    producer = Producer(producer_config(bootstrap, 20 * 1024 * 1024))
    producer.produce(topic, value=value, headers=headers)
    assert producer.flush(30) == 0


def read_events(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list[dict]:
    """Every committed event of the results topic (read_committed: aborted transactions are invisible)."""
    from confluent_kafka import Consumer

    consumer = Consumer(python_client_config(bootstrap, **{
        "group.id": f"test-{uuid.uuid4().hex}", "auto.offset.reset": "earliest",
        "isolation.level": "read_committed", "enable.auto.commit": False}))
    consumer.subscribe([topic])
    events, deadline, quiet_until = [], time.monotonic() + timeout, None
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                # Keep reading a little past the expected count: a duplicate would show up there.
                if len(events) >= expected and (quiet_until := quiet_until or time.monotonic() + 3) < time.monotonic():
                    break
                continue
            assert message.error() is None, str(message.error())
            events.append(json.loads(message.value()))
    finally:
        consumer.close()
    return events


# ---------------------------------------------------------------------------------------------- the pieces

def test_the_broker_serves_on_loopback_and_keeps_its_port_across_a_restart(tmp_path):
    broker = KafkaBroker(tmp_path / "kafka")
    with broker:
        port = broker.port
        assert broker.bootstrap.startswith("127.0.0.1:")
        assert create_topic(broker.bootstrap, "kept", 2) is True
        assert create_topic(broker.bootstrap, "kept", 2) is False
    assert not broker.running
    with KafkaBroker(tmp_path / "kafka") as again:
        assert again.port == port
        assert create_topic(again.bootstrap, "kept") is False, "a restart lost the topic"


@pytest.mark.spark
def test_spark_reads_messages_with_headers_and_lands_them(spark, broker, tmp_path):
    """The connector from the fetched jars reads values and headers; executors land or reject each one."""
    topic = f"pieces-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic)
    store = tmp_path / "store"
    good = ct_variant(store, 0)
    report = produce_folder(store, broker.bootstrap, topic, Payload.bytes)
    assert report.success and report.as_bytes == 1
    assert produce_folder(store, broker.bootstrap, topic, Payload.reference, claim_root=store).as_reference == 1
    data = good.read_bytes()
    send(broker.bootstrap, topic, Envelope.for_bytes(data).headers(), data[:1000])           # truncated
    send(broker.bootstrap, topic, [], b"no envelope at all")

    options = spark_source_options(broker.bootstrap, topic, 1024 * 1024, 100, StartingOffsets.earliest)
    batch_options = {k: v for k, v in options.items() if k in ("kafka.bootstrap.servers", "subscribe",
                                                               "startingOffsets", "includeHeaders")}
    messages = spark.read.format("kafka").options(**batch_options).load()
    rows = sorted(land_messages(messages, str(tmp_path / "landing"), str(store), 1024 * 1024).collect(),
                  key=lambda r: r["offset"])
    assert [(r["offset"], r["status"], r["kind"], r["reason"]) for r in rows] == [
        (0, "landed", "bytes", None), (1, "landed", "reference", None),
        (2, "rejected", "bytes", str(MessageReason.TRUNCATED)), (3, "rejected", None, str(MessageReason.INVALID_ENVELOPE))]
    sha = hashlib.sha256(data).hexdigest()
    assert rows[0]["sha256"] == rows[1]["sha256"] == sha
    assert (tmp_path / "landing" / topic / "0" / "1.dcm").read_bytes() == data


def test_kafka_settings_refuse_what_cannot_work(tmp_path):
    with pytest.raises(ValueError):
        KafkaSettings("127.0.0.1:1", "a topic with spaces")
    with pytest.raises(ValueError):
        KafkaSettings("127.0.0.1:1", "in", results_topic="in")
    settings = KafkaSettings("127.0.0.1:1", "in")
    source = KafkaSource(settings, Warehouse(tmp_path))
    assert settings.answers_to == "in.results"
    assert source.checkpoint_name.startswith("kafka/") and "in" not in source.checkpoint_name.split("/")[1]


def test_results_wait_for_a_broker_that_went_away_and_are_sent_once(tmp_path):
    """The publisher retries while the broker is down, sends when it is back, and never twice for one batch."""
    from orchestration.kafka_results import ResultsPublisher

    broker = KafkaBroker(tmp_path / "kafka").start()
    said: list[str] = []
    sent: list[int] = []
    publisher = ResultsPublisher(broker.bootstrap, "in.results", "deidlake-test", "deidlake-results-test",
                                 log=said.append)
    try:
        create_topic(broker.bootstrap, "in")
        create_topic(broker.bootstrap, "in.results")
        broker.stop()
        event = {"input": {"topic": "in", "partition": 0, "offset": 0}, "status": "published"}

        def publish() -> None:
            publisher.start()
            sent.append(publisher.publish([event], {("in", 0): 1}))

        worker = threading.Thread(target=publish, daemon=True)
        worker.start()
        worker.join(8)
        assert worker.is_alive() and not sent, "published with no broker"
        broker.start()                          # the same folder and port: the broker comes back
        worker.join(180)
        assert sent == [1], "nothing published once the broker was back"
        assert publisher.publish([event], {("in", 0): 1}) == 0, "a replayed micro-batch answered twice"
        assert [e["status"] for e in read_events(broker.bootstrap, "in.results", 1, timeout=30)] == ["published"]
    finally:
        publisher.stop.set()
        broker.stop()


def test_kafka_dev_serves_produce_and_stops_cleanly_on_sigterm(tmp_path, capsys):
    """`deidlake kafka-dev` in the foreground, `deidlake produce` into it, then SIGTERM: exit 0, no JVM left."""
    folder, log = tmp_path / "dev", tmp_path / "kafka-dev.log"
    env = os.environ | {"DEIDLAKE_MODE": "test"}
    command = [sys.executable, "-m", "orchestration.cli", "--warehouse", str(tmp_path / "warehouse"), "kafka-dev",
               "--folder", str(folder), "--topic", "dicom-in"]
    with open(log, "ab") as out:
        dev = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        _wait_for(lambda: "Kafka broker at" in log.read_text(), dev, "the broker")
        bootstrap = log.read_text().split("Kafka broker at ")[1].split()[0]
        files = tmp_path / "files"
        ct_variant(files, 0), ct_variant(files, 1)
        assert main(["produce", str(files), "--topic", "dicom-in", "--kafka-bootstrap", bootstrap]) == 0
        assert "produced 2 of 2 files (2 as bytes" in capsys.readouterr().out
        dev.send_signal(signal.SIGTERM)
        assert dev.wait(60) == 0
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
    java = subprocess.run(["pgrep", "-f", f"kafka.Kafka {folder}"], capture_output=True, text=True)
    assert java.stdout.strip() == "", "the broker's JVM outlived kafka-dev"


# ---------------------------------------------------------------------------------------------- end to end

def _stream_args(root: Path, bootstrap: str, topic: str, store: Path) -> list[str]:
    return ["--warehouse", str(root), "stream", "--topic", topic, "--kafka-bootstrap", bootstrap,
            "--claim-check-root", str(store), "--max-message-bytes", "60000", "--trigger-interval", "0"]


def _outcome(call, *args) -> BaseException | None:
    """None when `call(*args)` returned, else what it raised (for a call made in another thread)."""
    try:
        call(*args)
    except BaseException as exc:  # noqa: BLE001 - reported by the test's own thread
        return exc
    return None


class _StreamOutput:
    """Everything an in-process stream wrote to stderr so far (read while it runs in another thread)."""

    def __init__(self, capsys):
        self.capsys, self.text = capsys, ""

    def contains(self, *phrases: str) -> bool:
        self.text += self.capsys.readouterr().err
        return any(phrase in self.text for phrase in phrases)


def _take_the_broker_away_and_back(broker: KafkaBroker, archive: Path, said: _StreamOutput,
                                   finished: threading.Event) -> None:
    """Stop the broker once the replayed micro-batch has put a file in gold (its answers, the next
    micro-batch's offsets and messages are still to come); start it again once the stream says it waits."""

    def wait_until(condition, what: str) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT
        while not condition():
            assert not finished.is_set(), f"the stream ended before {what}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            finished.wait(0.1)

    try:
        wait_until(lambda: any(archive.rglob("*.dcm")), "the replayed micro-batch's first file in gold")
        broker.stop()
        wait_until(lambda: said.contains("no broker answers", "failed ("), "the stream to notice the broker away")
    finally:
        if not broker.running:
            broker.start()


def _wait_for(condition, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    pause = threading.Event()
    while not condition():
        assert process.poll() is None, f"the stream exited before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.1)


@pytest.mark.spark
@pytest.mark.slow
def test_a_killed_kafka_stream_publishes_each_file_once_and_answers_each_message_once(
        spark, broker, tmp_path, monkeypatch, capsys):
    """Good files as bytes and as claim checks, six kinds of bad message among them, a SIGKILL of the stream
    inside its first micro-batch and a restart (in this session's warm Spark, as tests/test_streaming.py);
    more messages while it is down, and the broker going away in the middle of the restarted stream and
    coming back: the stream waits for it and goes on."""
    topic = f"dicom-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic)
    warehouse = Warehouse(tmp_path / "warehouse").create()
    store, log = tmp_path / "store", tmp_path / "stream.log"
    # Every third file is "large": sent as a claim check naming it in the store both sides see.
    first_good = E2E_MESSAGES - 9          # 6 bad ones with them; 2 good and 1 bad while the stream is down
    assert first_good >= 3, "KAFKA_E2E_MESSAGES: at least 12"
    good = [ct_variant(store / ("big" if i % 3 == 2 else "small"), i) for i in range(first_good)]
    third, two_thirds = first_good // 3, 2 * first_good // 3
    spoiled = good[0].read_bytes()
    expected: dict[int, str] = {}          # offset -> the good content's sha256, or the bad message's reason

    def produce_good(paths: list[Path]) -> None:
        for path in paths:
            if path.parent.name == "big":
                send(broker.bootstrap, topic, Envelope.for_file(path, f"big/{path.name}").headers(), b"")
            else:
                send(broker.bootstrap, topic, Envelope.for_bytes(path.read_bytes()).headers(), path.read_bytes())
            expected[len(expected)] = hashlib.sha256(path.read_bytes()).hexdigest()

    def produce_bad(headers, value: bytes, reason: str) -> None:
        send(broker.bootstrap, topic, headers, value)
        expected[len(expected)] = str(reason)

    produce_good(good[:third])
    produce_bad(Envelope.for_bytes(spoiled).headers(), spoiled[:2000], MessageReason.TRUNCATED)
    not_dicom = len(expected)
    produce_bad(Envelope.for_bytes(b"plain text, not DICOM").headers(), b"plain text, not DICOM", "not_dicom")
    produce_good(good[third:two_thirds])
    produce_bad([(CONTENT_TYPE, b"application/dicom"), (CONTENT_LENGTH, b"3"), (CONTENT_SHA256, b"0" * 64)],
                b"abc", MessageReason.CHECKSUM_MISMATCH)
    produce_bad(Envelope("application/dicom", 10, "0" * 64, "big/never_stored.dcm").headers(), b"",
                MessageReason.REFERENCE_NOT_FOUND)
    big = spoiled * 2                      # over the stream's 60000-byte limit, under the broker's
    produce_bad(Envelope.for_bytes(big).headers(), big, MessageReason.TOO_LARGE)
    produce_good(good[two_thirds:])
    produce_bad([("content-type", b"application/dicom")], spoiled, MessageReason.INVALID_ENVELOPE)
    good_shas = {v for v in expected.values() if len(v) == 64}
    assert len(expected) == E2E_MESSAGES - 3 and len(good_shas) == first_good

    env = os.environ | {"DEIDLAKE_MODE": "test", "DEIDLAKE_SPARK_DRIVER_MEMORY": "2g"}
    command = [sys.executable, "-m", "orchestration.cli", *_stream_args(warehouse.root, broker.bootstrap, topic, store),
               "--max-files-per-trigger", "12"]
    with open(log, "ab") as out:
        first = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    # Killed once the micro-batch's offsets are in the checkpoint, its messages landed and its batch
    # registered, before its run ends (a kill inside the graph run is tests/test_streaming.py's; a cold
    # first run in a second process would add minutes and prove nothing Kafka-specific).
    try:
        _wait_for(lambda: any(warehouse.batch_manifests.glob("stream-*.json")), first, "the first micro-batch")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    checkpoint = next(path for path in warehouse.checkpoints.glob("kafka/*") if path.is_dir())   # not its .lock
    assert (checkpoint / "offsets" / "0").exists() and not (checkpoint / "commits" / "0").exists(), \
        "the kill was meant to land inside the first micro-batch"

    # While the stream is down, two more good files and a bad message: a second micro-batch after the replay.
    produce_good([ct_variant(store / "small", i) for i in (first_good, first_good + 1)])
    produce_bad(Envelope.for_bytes(b"still not DICOM").headers(), b"still not DICOM", "not_dicom")
    good_shas = {v for v in expected.values() if len(v) == 64}

    monkeypatch.setenv("DAGSTER_HOME", "")
    archive = warehouse.gold_archive
    said, finished, away = _StreamOutput(capsys), threading.Event(), []
    watcher = threading.Thread(target=lambda: away.append(_outcome(_take_the_broker_away_and_back, broker, archive,
                                                                    said, finished)), daemon=True)
    watcher.start()
    try:
        code = main([*_stream_args(warehouse.root, broker.bootstrap, topic, store), "--max-files-per-trigger", "12",
                     "--available-now"])
    finally:
        finished.set()
        watcher.join(STOP_TIMEOUT)
    assert away == [None], f"taking the broker away and back: {away}"
    assert code == 0, said.text[-2000:]
    assert said.contains("(replayed)") and said.contains("the broker answers again")

    # Gold: every good content exactly once, nothing else.
    run_key = PipelineSettings().run_key()
    gold = [r["sha256"] for r in read_table(spark, warehouse, tables.GOLD_MANIFEST)
            .where(F.col("run_key") == run_key).select("sha256").collect()]
    assert sorted(gold) == sorted(good_shas), "a good file lost or published twice"
    assert len(list((archive / run_key).rglob("*.dcm"))) == len(good_shas)

    # Every message recorded once with its coordinates; every bad one held with its offset and reason.
    messages = {r["offset"]: r.asDict() for r in read_table(spark, warehouse, tables.KAFKA_MESSAGES).collect()}
    assert sorted(messages) == sorted(expected)
    intake = [(r["run_id"], r["batch_id"]) for r in read_table(spark, warehouse, tables.STAGE_RUNS)
              .where(F.col("stage") == "kafka_intake").collect()]
    micro_batches = [path for path in (checkpoint / "commits").iterdir() if path.name.isdigit()]
    assert len(micro_batches) >= 2 and len(intake) == len(set(intake)) == len(micro_batches), \
        "one intake row per micro-batch run (the replay and the ones after it)"
    register_catalog(spark, warehouse)
    held = {r["offset"]: (r["stage"], r["reason"]) for r in spark.sql(
        f"SELECT `offset`, stage, reason FROM metrics.kafka_quarantine WHERE topic = '{topic}'").collect()}
    bad = {offset: reason for offset, reason in expected.items() if reason not in good_shas}
    assert {o: r for o, (_, r) in held.items()} == bad
    assert held[not_dicom] == ("ingest", "not_dicom") and held[not_dicom - 1][0] == "kafka"

    # The results topic: one committed event per input message, PHI-free, saying what became of it.
    events = read_events(broker.bootstrap, f"{topic}.results", len(expected))
    by_offset = {}
    for event in events:
        assert event["input"]["offset"] not in by_offset, "a message answered twice"
        by_offset[event["input"]["offset"]] = event
    assert sorted(by_offset) == sorted(expected)
    for offset, outcome in expected.items():
        event = by_offset[offset]
        if outcome in good_shas:
            assert event["status"] == "published" and event["input"]["sha256"] == outcome
            assert (archive / run_key / event["output"]["path"]).is_file()
            assert event["uids"]["sop_instance"] and "checks_passed" in event
        else:
            assert event["status"] == "quarantined"
            assert event["quarantine"][0]["reason"] == outcome
    assert PATIENT not in json.dumps(events) and "1CT1" not in json.dumps(events)
