"""``make demo`` / ``interests demo``: the whole path on real parts, on embedded defaults.

Starts a fresh local Kafka broker, creates the topics, starts the Faust worker and the generator worker as
processes, replays the sample events, waits until every user in the sample has features in Feast, prints what a
ranker would read, and shuts everything down. Each run uses a fresh state folder and free ports, so it never
touches (or is confused by) a broker or store you run yourself.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

from common.settings import cache_dir
from streams.config import StreamsConfig

SAMPLE = Path(__file__).parent / "data" / "sample_events.jsonl"


@contextmanager
def local_redis(folder: Path, timeout_s: float = 20.0):
    """``host:port`` of a throwaway redis-server (no persistence) on a free port, its files and log in ``folder``;
    stopped on exit. Raises FileNotFoundError when redis-server is not installed, RuntimeError (with its log) when it
    does not answer PING within ``timeout_s``."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
    import redis

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (port,) = free_ports(1)
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
                             "--appendonly", "no", "--logfile", str(folder / "redis.log")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                log_file = folder / "redis.log"
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = log_file.read_text()[-2000:] if log_file.exists() else ""
                    raise RuntimeError(f"redis-server on port {port} did not answer PING (exit {proc.poll()}): "
                                       f"{log}") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port_pair() -> int:
    """A port p such that p and p + 1 (the controller) are both free."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 1))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no two consecutive free ports found")


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free right now (held open together while picking, so they differ)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Services:
    """The broker and the two workers of one run; ``stop`` is safe to call twice."""

    def __init__(self, state_dir: Path, backend: str, embedder: str = "minilm", code_dir: Path | None = None):
        """``code_dir``: run the workers from another checkout of the project (the load benchmark's previous code)
        instead of this one."""
        from streams.broker import Broker

        self.state_dir = state_dir
        self.code_dir = Path(code_dir) if code_dir else None
        port = free_port_pair()
        web_port, stream_metrics, generator_metrics = free_ports(3)
        self.env = {
            **os.environ,
            "INTERESTS_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
            "INTERESTS_STATE_DIR": str(state_dir),
            "INTERESTS_FEAST_DATA_DIR": str(state_dir / "feast"),
            "INTERESTS_WEB_PORT": str(web_port),
            "INTERESTS_METRICS_PORT": str(stream_metrics),
            "INTERESTS_GEN_METRICS_PORT": str(generator_metrics),
            "INTERESTS_EMBEDDER": embedder,
            "INTERESTS_GEN_EMBEDDER": embedder,
            "INTERESTS_GEN_BACKEND": backend,
        }
        self.cfg = StreamsConfig.from_env(self.env)
        self.broker = Broker.from_config(self.cfg)
        self.procs: dict[str, subprocess.Popen] = {}

    def start_broker(self) -> None:
        from streams.broker import create_topics

        self.broker.start()
        create_topics(self.cfg)

    def start_worker(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        """Start ``interests ARGS...`` as a process logging to ``<state>/<name>.log``; ``env`` adds to the run's
        environment (e.g. a second worker's own ports)."""
        log = open(self.state_dir / f"{name}.log", "ab")
        code = {"PYTHONPATH": str(self.code_dir)} if self.code_dir else {}
        self.procs[name] = subprocess.Popen([sys.executable, "-m", "interests_cli", *args],
                                            env={**self.env, **code, **(env or {})}, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            cwd=self.code_dir or Path(__file__).resolve().parent.parent)

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Both workers have joined their consumer groups (the generator converts the model first, once)."""
        from streams.broker import wait_for_groups

        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                wait_for_groups(self.cfg.bootstrap_servers, [self.cfg.app_id, "interests-generator"], timeout=5)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise

    def kill(self, name: str) -> None:
        """SIGKILL one worker (no clean shutdown, nothing flushed or committed) and reap it."""
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.state_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the {name} exited with code {proc.returncode}; its log ends:\n{tail}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        self.broker.stop()


def wait_for_features(store, users: list[str], timeout: float, services: Services | None = None,
                      poll: float = 1.0) -> dict[str, dict]:
    """Poll the online store until every user has queries (or ``timeout``); returns user -> feature row."""
    from feature_repo.store import read_features

    deadline = time.monotonic() + timeout
    found: dict[str, dict] = {}
    while time.monotonic() < deadline:
        if services is not None:
            services.check_alive()
        missing = [u for u in users if u not in found]
        for row in read_features(store, missing):
            if row.get("queries"):
                found[row["user_id"]] = row
        if len(found) == len(users):
            break
        time.sleep(poll)
    return found


def last_signals(path: Path) -> dict[str, list[str]]:
    from streams.replay import read_rows

    texts: dict[str, list[tuple[int, str]]] = {}
    for _, row, _ in read_rows(path):
        if row:
            text = row.get("title") or row.get("query") or row.get("text") or row.get("url") or ""
            texts.setdefault(row["user_id"], []).append((int(row["ts"]), f"{row['type']}: {text}"))
    return {u: [t for _, t in sorted(items, reverse=True)] for u, items in texts.items()}


def render_table(users: list[str], found: dict[str, dict], signals: dict[str, list[str]],
                 sent_at: dict[str, float]) -> str:
    rows = []
    for user in users:
        row = found.get(user)
        queries = " | ".join(row["queries"]) if row else "(none yet)"
        seconds = f"{row['generated_at'].timestamp() - sent_at[user]:.1f}" if row and user in sent_at else "-"
        last = "; ".join(s[:40] for s in signals.get(user, [])[:2])
        rows.append((user, last, queries, row["model_version"] if row else "-", seconds))
    widths = (6, 60, 70, 28, 8)
    header = ("user", "last signals", "generated queries", "model version", "secs")

    def fmt(cells):
        wrapped = [textwrap.wrap(str(c), w) or [""] for c, w in zip(cells, widths)]
        height = max(len(w) for w in wrapped)
        return "\n".join(" ".join((w[i] if i < len(w) else "").ljust(width) for w, width in zip(wrapped, widths))
                         for i in range(height))

    line = "-" * (sum(widths) + len(widths) - 1)
    return "\n".join([fmt(header), line, *[fmt(r) for r in rows], line])


def run_demo(events: Path | None = None, backend: str = "smollm2", timeout: float = 600.0) -> int:
    from feature_repo.config import FeatureStoreConfig
    from feature_repo.store import open_store
    from streams.replay import replay

    events = events or SAMPLE
    state = cache_dir() / "demo-run"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    services = Services(state, backend)
    print(f"demo: state in {state}; broker on {services.cfg.bootstrap_servers}; generator backend {backend}")
    started = time.monotonic()
    try:
        services.start_broker()
        print(f"demo: Kafka ready ({time.monotonic() - started:.1f}s); starting the stream and generator workers")
        services.start_worker("stream-worker", "stream", "worker")
        services.start_worker("generator-worker", "generate", "worker")
        services.wait_ready()
        print(f"demo: workers ready ({time.monotonic() - started:.1f}s); replaying {events.name}")
        summary = replay(events, services.cfg, progress=sys.stderr.isatty())
        print("demo: " + "\ndemo: ".join(summary.lines()))
        users = sorted(summary.users)
        store = open_store(FeatureStoreConfig(data_dir=state / "feast"), apply=True)
        found = wait_for_features(store, users, timeout, services)
        print(render_table(users, found, last_signals(events), summary.last_sent_at))
        missing = [u for u in users if u not in found]
        print(f"demo: {len(found)}/{len(users)} users have features after {time.monotonic() - started:.0f}s"
              + (f"; missing: {', '.join(missing)}" if missing else ""))
        return 0 if not missing else 1
    finally:
        services.stop()
        print(f"demo: stopped (logs kept in {state})")
