"""A local, single-node Apache Kafka broker (KRaft, broker + controller in one JVM) on 127.0.0.1.

The jars are resolved from Maven Central by Maven from ``pom.xml`` beside this file into
``$INTERESTS_CACHE/kafka-<hash of pom.xml>/libs``. The broker keeps its data, log and pid file in
``<state_dir>/kafka/``. Used by ``interests kafka install|start|stop|status|topics``, the demo and the tests.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from common.settings import cache_dir
from streams.config import StreamsConfig

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
POM = HERE / "pom.xml"


class BrokerError(RuntimeError):
    """The local broker could not be installed, started or reached; the message says where to look."""


def jars_dir() -> Path:
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:16]
    return cache_dir() / f"kafka-{digest}" / "libs"


def install(quiet: bool = True) -> Path:
    """Resolve the broker's jars with Maven (once; later calls return at once)."""
    libs = jars_dir()
    done = libs.parent / ".complete"
    if done.exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Maven (mvn) is not on PATH; install it (apt-get install maven) to fetch the Kafka jars")
    tmp = libs.parent / "libs.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [mvn, "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"]
    if quiet:
        cmd.insert(1, "-q")
    log.info("resolving the Kafka jars with Maven into %s", libs)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BrokerError(f"Maven failed to resolve the Kafka jars:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    done.touch()
    return libs


def _alive(pid: int) -> bool:
    """Is ``pid`` running? Reaps it first if it is our own exited child (a zombie still answers kill(pid, 0))."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child: started by another `interests kafka start`
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass(frozen=True)
class Broker:
    """One local broker: where it listens and where it keeps its files."""

    host: str
    port: int
    state_dir: Path

    @classmethod
    def from_config(cls, cfg: StreamsConfig) -> "Broker":
        first = cfg.bootstrap_servers.split(",")[0]
        host, _, port = first.rpartition(":")
        if host not in ("127.0.0.1", "localhost"):
            raise BrokerError(f"the local broker only listens on 127.0.0.1, not {first}")
        return cls("127.0.0.1", int(port), Path(cfg.state_dir) / "kafka")

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "broker.pid"

    def _properties(self) -> str:
        controller = self.port + 1
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{self.host}:{controller}",
                f"listeners=PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{controller}",
                f"advertised.listeners=PLAINTEXT://{self.host}:{self.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={self.data_dir}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=8",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "group.initial.rebalance.delay.ms=0",
                # Faust creates its own changelog and repartition topics through the admin API; everything else is
                # created explicitly by `interests kafka topics`.
                "auto.create.topics.enable=false",
                "log.retention.hours=168",
                "",
            ]
        )

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def reachable(self, timeout: float = 0.5) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout):
                return True
        except OSError:
            return False

    def start(self, timeout: float = 60.0, heap: str = "512m") -> None:
        """Start the broker in the background (format its storage on first use) and wait until it answers."""
        if self.pid() is not None:
            log.info("broker already running (pid %s) on %s", self.pid(), self.bootstrap)
            self.wait_ready(timeout)
            return
        if self.reachable():
            raise BrokerError(f"port {self.port} is taken by another process; set INTERESTS_BOOTSTRAP_SERVERS")
        java = shutil.which("java")
        if java is None:
            raise BrokerError("java is not on PATH; Kafka needs Java 17 (apt-get install openjdk-17-jre-headless)")
        libs = install()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        props = self.state_dir / "server.properties"
        props.write_text(self._properties())
        classpath = f"{libs}/*"
        jvm = [java, f"-Xmx{heap}", f"-Xms{heap}", f"-Dkafka.logs.dir={self.log_dir}",
               f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}", "-cp", classpath]
        if not (self.data_dir / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            fmt = subprocess.run(
                # "--cluster-id=ID", not "-t ID": a random base64 id starting with "-" (1 in 64) was read as an option
                [*jvm, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(props)],
                capture_output=True, text=True,
            )
            if fmt.returncode != 0:
                raise BrokerError(f"formatting the KRaft storage failed:\n{fmt.stdout}\n{fmt.stderr}")
        out = open(self.log_dir / "broker.out", "ab")
        proc = subprocess.Popen([*jvm, "kafka.Kafka", str(props)], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid_file.write_text(str(proc.pid))
        log.info("broker starting (pid %s) on %s; log in %s", proc.pid, self.bootstrap, self.log_dir)
        try:
            self.wait_ready(timeout, proc=proc)
        except BrokerError:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
        """Ready = the port accepts connections and the broker answers a metadata request."""
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise BrokerError(f"the broker exited with code {proc.returncode}; see {self.log_dir}/server.log "
                                  f"and {self.log_dir}/broker.out")
            if self.reachable():
                try:
                    admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
                    try:
                        admin.describe_cluster()
                    finally:
                        admin.close()
                    return
                except Exception as exc:  # not ready yet: metadata not served
                    last_error = exc
            time.sleep(0.3)
        raise BrokerError(f"the broker on {self.bootstrap} was not ready after {timeout:.0f}s ({last_error!r}); "
                          f"see {self.log_dir}/server.log")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout``). Returns whether one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.2)
        else:
            log.warning("broker (pid %s) did not stop in %.0fs; killing it", pid, timeout)
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> dict:
        return {"bootstrap": self.bootstrap, "pid": self.pid(), "reachable": self.reachable(),
                "state_dir": str(self.state_dir)}


def create_topics(cfg: StreamsConfig, timeout: float = 30.0) -> dict[str, str]:
    """Create every topic in ``cfg.topic_partitions()``; existing ones are left alone. Returns topic -> outcome."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap_servers, request_timeout_ms=int(timeout * 1000))
    try:
        existing = set(admin.list_topics())
        wanted = cfg.topic_partitions()
        outcome = {t: "exists" for t in wanted if t in existing}
        new = [NewTopic(t, n, 1) for t, n in wanted.items() if t not in existing]
        if new:
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
            outcome.update({t.name: f"created ({t.num_partitions} partitions)" for t in new})
        return outcome
    finally:
        admin.close()


def _stable(group: dict) -> bool:
    state = group.get("group_state", group.get("state"))
    return state == "Stable" and bool(group.get("members"))


def wait_for_groups(bootstrap: str, groups: list[str], timeout: float = 120.0) -> None:
    """Wait until each consumer group is stable with at least one member (the workers are consuming)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    deadline = time.monotonic() + timeout
    try:
        pending = list(groups)
        while pending and time.monotonic() < deadline:
            described = admin.describe_groups(pending)
            pending = [g for g in pending if not _stable(described.get(g) or {})]
            if pending:
                time.sleep(0.5)
        if pending:
            raise BrokerError(f"consumer groups not ready after {timeout:.0f}s: {', '.join(pending)}")
    finally:
        admin.close()
