"""A single-node Apache Kafka broker for the tests and `deidlake kafka-dev`: KRaft mode (no ZooKeeper),
from the broker jars the install step fetched (warehouse/jvm/fetch_jars.sh, group `kafka-broker`).

The broker runs in its own JVM with only those jars on its classpath: Spark's Kafka connector needs
kafka-clients 3.4.1, the 4.1 broker its own 4.1.1, so the two never share a classpath (docs/stack.md).
One process is broker and controller at once, listening on loopback only, with replication factors of 1
(one node) and a message size limit large enough for DICOM files (`warehouse.kafka_clients`).

    with KafkaBroker(folder).start() as broker:      # free loopback ports, formats the folder once
        broker.bootstrap                              # "127.0.0.1:PORT"

`stop()` asks for a controlled shutdown (SIGTERM) and kills the process group only if that hangs. A
stopped broker started again on the same folder keeps its topics and offsets (and its ports).
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.kafka_clients import DEFAULT_MAX_MESSAGE_BYTES, broker_size_properties, python_client_config
from warehouse.layout import REPO_ROOT
from warehouse.settings import settings

BROKER_JAR_GROUP = "kafka-broker"
LOG4J_CONFIG = REPO_ROOT / "warehouse" / "jvm" / "kafka-broker" / "log4j2.properties"
LOOPBACK = "127.0.0.1"
# A test broker holds a few topics: a small heap, and the JIT's first tier only (starts faster).
JVM_OPTIONS = ("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-Djava.awt.headless=true")
STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


class BrokerError(RuntimeError):
    """The broker could not be started (jars missing, Java missing, or it did not come up in time)."""


def free_port() -> int:
    """A port free on loopback now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def broker_classpath() -> str:
    folder = settings().jars_dir / BROKER_JAR_GROUP
    if not any(folder.glob("*.jar")):
        raise BrokerError(f"the Kafka broker's jars are not under {folder}: run `make install` "
                          "(warehouse/jvm/fetch_jars.sh) first")
    return f"{folder}/*"


def java_executable() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise BrokerError("no `java` on PATH: install a Java 17 runtime (warehouse/jvm/check_jvm.sh does)")
    return found


@dataclass
class KafkaBroker:
    """One broker+controller node in `folder` (data, configuration and broker.log)."""

    folder: Path
    port: int = 0                          # 0: a free port, chosen at the first start and kept after
    controller_port: int = 0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    process: subprocess.Popen | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).absolute()

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def properties_path(self) -> Path:
        return self.folder / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.folder / "broker.log"

    def properties(self) -> dict[str, str]:
        listeners = f"PLAINTEXT://{LOOPBACK}:{self.port},CONTROLLER://{LOOPBACK}:{self.controller_port}"
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{LOOPBACK}:{self.controller_port}",
            "listeners": listeners,
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.folder / "data"),
            "num.partitions": "1",
            # One node: every internal topic with one replica (consumer offsets, transactions, share groups).
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            **broker_size_properties(self.max_message_bytes),
        }

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = STARTUP_TIMEOUT) -> "KafkaBroker":
        """Format the folder (first start only), start the JVM, wait until it answers metadata requests."""
        if self.running:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        self._choose_ports()
        self.properties_path.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))
        classpath, java = broker_classpath(), java_executable()
        if not (self.folder / "data" / "meta.properties").exists():
            self._format(java, classpath)
        with open(self.folder / "broker.out", "ab") as out:
            self.process = subprocess.Popen(
                [java, *JVM_OPTIONS, f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG}",
                 f"-Dkafka.logs.dir={self.folder}", "-cp", classpath, "kafka.Kafka", str(self.properties_path)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.folder)
        try:
            self._wait_until_serving(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Controlled shutdown (SIGTERM), then SIGKILL of the process group if it hangs."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> "KafkaBroker":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------ helpers

    def create_topic(self, name: str, partitions: int = 1, timeout: float = 30.0) -> None:
        """A topic (no error if it exists)."""
        create_topic(self.bootstrap, name, partitions, timeout)

    def _choose_ports(self) -> None:
        """Free ports at the first start; a restart keeps them (clients keep their bootstrap address)."""
        saved = self.folder / "ports"
        if not self.port and not self.controller_port and saved.exists():
            self.port, self.controller_port = (int(p) for p in saved.read_text().split())
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        saved.write_text(f"{self.port} {self.controller_port}\n")

    def _format(self, java: str, classpath: str) -> None:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        completed = subprocess.run(
            [java, *JVM_OPTIONS, f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG}",
             f"-Dkafka.logs.dir={self.folder}", "-cp", classpath, "kafka.tools.StorageTool", "format",
             "-t", cluster_id, "-c", str(self.properties_path)],
            capture_output=True, text=True, timeout=STARTUP_TIMEOUT)
        if completed.returncode != 0:
            raise BrokerError(f"formatting the broker's storage failed: {_last_line(completed.stderr or completed.stdout)}")

    def _wait_until_serving(self, timeout: float) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(python_client_config(self.bootstrap))
        deadline = time.monotonic() + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise BrokerError(f"the Kafka broker exited at start; see {self.folder / 'broker.out'} and "
                                  f"{self.log_path}")
            try:
                if admin.list_topics(timeout=2).brokers:
                    return
            except Exception:  # noqa: BLE001 - not answering yet (KafkaException, transport errors)
                pass
            if time.monotonic() > deadline:
                raise BrokerError(f"the Kafka broker did not answer within {timeout:.0f} s; see {self.log_path}")
            time.sleep(0.2)


def create_topic(bootstrap: str, name: str, partitions: int = 1, timeout: float = 30.0) -> bool:
    """Create a topic with one replica per partition; False if it existed already."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(python_client_config(bootstrap))
    future = admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=timeout)[name]
    try:
        future.result(timeout)
        return True
    except KafkaException as exc:
        if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
