"""Load benchmark of the stream side: ``interests stream load [--embedder hash|minilm] [--out DIR]``.

Every phase runs on real parts (a fresh local Kafka broker, worker processes started as in ``make demo``) and
reads the numbers from the workers' own Prometheus endpoints; the worker's memory and CPU come from the OS.

1. ``throughput``: pre-fill the event topics with ``--events`` events of ``--users`` users, start one Faust
   worker, time it consuming them: history updates/s over the whole run and over its middle 80 %, and updates per
   CPU-second of the worker process (what one fully used core would do; robust to a busy machine).
2. ``rates``: on the same worker, replay at rising fixed rates (events stamped at send time) for ``--step-s``
   each; per step the achieved send rate, the update rate, the backlog at the end of the step, and stream-side
   freshness p50/p99 (event time to the signal being in the user's history and interest vector: "without
   regeneration", the history update is the feature) estimated from the worker's histogram. A step is sustained
   when the worker applied at least 95 % of the step's events by its end and the backlog was under one second's
   worth of events.
3. ``memory``: ``--memory-s`` seconds at ``--memory-rate`` (default: half the highest sustained rate) on the same
   bounded user population; the worker's RSS every second: start, peak, end and slope (MB/min).
4. ``regen``: a fresh broker with the Faust worker and the generator worker (backend ``keyphrase``: no LLM, so the
   path around the model is what is measured; the LLM's own speed is in ``models/benchmarks``), new users arriving
   at ``--regen-rate`` events/s, three events each (each third event is a cold start): feature freshness p50/p99,
   event time to the feature row readable in Feast (SQLite), from the generator's histogram.
5. ``scale``: a fresh broker, the same pre-fill, two Faust workers in one consumer group: the aggregate update rate
   and each worker's share.

``--catalogue`` gives the worker a catalogue of the sample's clicked articles (their titles embedded once before
the worker starts, ``streams/catalogue.py``): clicks (41 % of the sample's events) then take their article's vector
and only the rest is embedded, as on a platform whose clicks are on its own articles.

``--embedder hash`` replaces all-MiniLM-L6-v2 with the hashing stand-in (no model cost: it shows the stream
machinery's own ceiling); ``--embedder minilm`` is the real model. Results go to
``<out>/load-<embedder>.json`` with the command, the machine and the load average before and after.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from streams import scrape
from streams.benchmarks import profile
from streams.benchmarks.loadgen import EventMaker, Paced, prefill, write_sample_catalogue
from streams.benchmarks.report import (memory_summary, print_report, steady_cpu, sustained, throughput_window,
                                      write_result)
from streams.demo import Services, free_ports

HERE = Path(__file__).parent
UPDATES = "interests_stream_history_updates_total"
STREAM_FRESHNESS = "interests_stream_update_freshness_seconds"
FEATURE_FRESHNESS = "interests_generator_feature_freshness_seconds"
PHASES = ("throughput", "rates", "memory", "regen", "scale")


@dataclass(frozen=True)
class LoadConfig:
    embedder: str = "hash"  # "hash" (no model cost), "minilm" (the real embedding model) or "minilm-onnx"
    events: int = 50_000  # pre-filled events of the throughput and scale phases
    users: int = 2_000  # user population of the throughput, rates and memory phases (bounds the state)
    rates: tuple[float, ...] = ()  # fixed rates of the rates phase; empty = fractions of the measured throughput
    step_s: float = 15.0  # seconds per rate step
    memory_s: float = 120.0
    memory_rate: float = 0.0  # 0 = half the highest sustained rate
    regen_rate: float = 150.0  # events/s of new users in the regen phase (a third of them start a generation)
    regen_s: float = 40.0
    phases: tuple[str, ...] = PHASES
    timeout_s: float = 600.0  # the longest one phase waits for the worker to catch up
    catalogue: bool = False  # clicks on the sample's articles take catalogue vectors (streams/catalogue.py)
    fresh_texts: bool = False  # every event's text new (nothing for the text cache): the worst case for the embedder
    profile_s: float = 0.0  # > 0: py-spy samples the worker this long in the throughput phase (benchmarks/profile.py)
    profile_gil: bool = False  # sample only the thread holding the interpreter lock (the Python work's own shares)
    profile_raw: str = ""  # a file to keep py-spy's raw stacks in (gzipped), for other summaries than the report's


class Run:
    """One broker + workers in a temporary state folder, with helpers to read the workers' metrics."""

    def __init__(self, embedder: str, backend: str = "keyphrase", catalogue: bool = False,
                 code_dir: Path | None = None):
        self.state = Path(tempfile.mkdtemp(prefix="interests-load-"))
        self.services = Services(self.state, backend=backend, embedder=embedder, code_dir=code_dir)
        if catalogue:
            folder = write_sample_catalogue(self.state / "catalogue", embedder)
            self.services.env["INTERESTS_CATALOGUE"] = str(folder)
        self.cfg = self.services.cfg
        self.stream_urls: list[str] = []
        self.generator_url = ""

    def __enter__(self) -> "Run":
        self.services.start_broker()
        return self

    def __exit__(self, *exc) -> None:
        self.services.stop()
        shutil.rmtree(self.state, ignore_errors=True)

    def start_stream_worker(self, name: str = "stream-worker") -> psutil.Process:
        if not self.stream_urls:
            port = int(self.services.env["INTERESTS_METRICS_PORT"])
            env = {}
        else:  # a second worker: its own ports and Faust data folder
            port, web = free_ports(2)
            env = {"INTERESTS_METRICS_PORT": str(port), "INTERESTS_WEB_PORT": str(web),
                   "INTERESTS_STATE_DIR": str(self.state / name)}
        self.services.start_worker(name, "stream", "worker", env=env)
        self.stream_urls.append(f"http://127.0.0.1:{port}/metrics")
        return psutil.Process(self.services.procs[name].pid)

    def start_generator_worker(self) -> psutil.Process:
        self.services.start_worker("generator-worker", "generate", "worker")
        self.generator_url = f"http://127.0.0.1:{self.services.env['INTERESTS_GEN_METRICS_PORT']}/metrics"
        return psutil.Process(self.services.procs["generator-worker"].pid)

    def stream_samples(self) -> list[scrape.Samples]:
        out = []
        for url in self.stream_urls:
            try:
                out.append(scrape.scrape(url))
            except scrape.ScrapeError:
                self.services.check_alive()
                out.append({})  # not serving yet
        return out

    def updates(self) -> float:
        return sum(scrape.value(s, UPDATES) for s in self.stream_samples())

    def wait_updates(self, target: float, timeout: float, poll: float = 0.25, cpu_of: psutil.Process | None = None,
                     cpu_samples: list | None = None) -> list[tuple[float, float]]:
        """Poll until the workers have applied ``target`` updates; returns the (time, updates) series. With
        ``cpu_of``, each poll also appends (updates, that process's CPU seconds) to ``cpu_samples``."""
        series, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            series.append((time.monotonic(), self.updates()))
            if cpu_of is not None and cpu_samples is not None:
                cpu_samples.append((series[-1][1], cpu_seconds(cpu_of)))
            if series[-1][1] >= target:
                return series
            time.sleep(poll)
        raise TimeoutError(f"{series[-1][1]:.0f} of {target:.0f} updates after {timeout:.0f} s")


def users_cycle(n: int):
    return lambda i: f"load-u{(i * 7919) % n}"  # a fixed spread over the population (7919 is prime)


def phase_throughput(run: Run, lc: LoadConfig, worker: psutil.Process | None = None) -> tuple[dict, psutil.Process]:
    maker = EventMaker(run.cfg, prefix="fill", fresh_texts=lc.fresh_texts)
    filled = prefill(run.cfg, maker, lc.events, users_cycle(lc.users))
    worker = worker or run.start_stream_worker()
    cpu_before = worker.cpu_times()
    cpu_samples: list[tuple[float, float]] = []
    sampler = profile.Sampler(worker.pid, lc.profile_s, gil=lc.profile_gil,
                               keep=Path(lc.profile_raw) if lc.profile_raw else None) if lc.profile_s > 0 else None
    series: list[tuple[float, float]] = []
    if sampler is not None:  # from the first tenth of the events on: the steady part, not the start
        series = run.wait_updates(0.1 * lc.events, lc.timeout_s, cpu_of=worker, cpu_samples=cpu_samples)
        sampler.start()
    series += run.wait_updates(lc.events, lc.timeout_s, cpu_of=worker, cpu_samples=cpu_samples)
    cpu_after = worker.cpu_times()
    user, system = cpu_after.user - cpu_before.user, cpu_after.system - cpu_before.system
    cpu = user + system
    window = throughput_window(series, lc.events)
    return {"prefill": filled, **window, "worker_cpu_share": round(cpu / max(window["seconds"], 1e-9), 2),
            "worker_cpu_s": round(cpu, 1), "worker_cpu_user_s": round(user, 1),
            "worker_cpu_system_s": round(system, 1),
            "updates_per_cpu_s": round(lc.events / cpu) if cpu else None,
            **steady_cpu(cpu_samples, lc.events), **worker_counts(run),
            "rss_mb": round(worker.memory_info().rss / 2**20, 1),
            **({"profile": sampler.finish()} if sampler is not None else {})}, worker


def worker_counts(run: Run) -> dict:
    """Where the stream worker's signal vectors came from and how its user records were read (its own counters;
    empty for code that does not count them)."""
    samples = run.stream_samples()
    out = {}
    for key, name, label, values in (("vectors", "interests_stream_signal_vectors_total", "source",
                                      ("catalogue", "cache", "embedded")),
                                     ("record_reads", "interests_stream_record_reads_total", "result",
                                      ("hit", "miss"))):
        counts = {v: int(sum(scrape.value(s, name, **{label: v}) for s in samples)) for v in values}
        if any(counts.values()):
            out[key] = counts
    out["duplicates"] = int(sum(scrape.value(s, "interests_stream_duplicates_total") for s in samples))
    return out


def two_digits(rate: float) -> float:
    """``rate`` rounded to two significant digits (at least 1): 768 -> 770, 64 -> 64, 16.2 -> 16."""
    if rate < 1:
        return 1.0
    return float(round(rate, 2 - len(str(int(rate)))))


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def phase_rates(run: Run, lc: LoadConfig, base_rate: float, worker: psutil.Process) -> list[dict]:
    rates = lc.rates or tuple(two_digits(base_rate * f) for f in (0.25, 0.5, 0.75, 1.0, 1.25))
    maker, steps = EventMaker(run.cfg, prefix="rate", fresh_texts=lc.fresh_texts), []
    offset = 0
    for rate in rates:
        before_samples, before = run.stream_samples(), run.updates()
        cpu_before, started = cpu_seconds(worker), time.monotonic()
        paced = Paced(run.cfg, maker, rate, lc.step_s, users_cycle(lc.users), offset=offset).start().join()
        offset += paced.sent
        at_end = run.updates() - before
        cpu_share = (cpu_seconds(worker) - cpu_before) / max(time.monotonic() - started, 1e-9)
        drained = run.wait_updates(before + paced.sent, lc.timeout_s)  # the step's tail, so its freshness counts
        after_samples = run.stream_samples()
        hist = scrape.delta(_merged_buckets(after_samples, STREAM_FRESHNESS),
                            _merged_buckets(before_samples, STREAM_FRESHNESS))
        steps.append({
            "rate": rate, "sent": paced.sent, "achieved_send_rate": round(paced.achieved),
            "updated_by_step_end": int(at_end), "backlog_at_step_end": int(paced.sent - at_end),
            "drain_s": round(drained[-1][0] - drained[0][0], 2),
            "worker_cpu_share": round(cpu_share, 2),  # cores the worker got during the step (1.0 = one full core)
            "freshness_p50_s": _round(scrape.quantile(0.5, hist)),
            "freshness_p99_s": _round(scrape.quantile(0.99, hist)),
            **sustained(rate, paced.sent, paced.achieved, at_end),
        })
        print(f"  rate {rate:>8.0f}/s: {steps[-1]}", flush=True)
    return steps


def phase_memory(run: Run, lc: LoadConfig, worker: psutil.Process, rate: float) -> dict:
    maker = EventMaker(run.cfg, prefix="mem", fresh_texts=lc.fresh_texts)
    paced = Paced(run.cfg, maker, rate, lc.memory_s, users_cycle(lc.users)).start()
    samples, started = [], time.monotonic()
    while paced._thread.is_alive():
        samples.append((time.monotonic() - started, worker.memory_info().rss / 2**20))
        time.sleep(1.0)
    paced.join()
    return {"rate": rate, "seconds": lc.memory_s, "sent": paced.sent,
            "achieved_send_rate": round(paced.achieved), **memory_summary(samples),
            "samples_mb": [(round(t, 1), round(m, 1)) for t, m in samples]}


def phase_regen(lc: LoadConfig, code_dir: Path | None = None) -> dict:
    with Run(lc.embedder, backend="keyphrase", catalogue=lc.catalogue, code_dir=code_dir) as run:
        run.start_stream_worker()
        run.start_generator_worker()
        run.services.wait_ready()
        maker = EventMaker(run.cfg, prefix="regen", fresh_texts=lc.fresh_texts)
        paced = Paced(run.cfg, maker, lc.regen_rate, lc.regen_s, lambda i: f"new-u{i // 3}").start().join()
        expected = paced.sent // 3
        deadline, generated = time.monotonic() + lc.timeout_s, 0.0
        while time.monotonic() < deadline:
            run.services.check_alive()
            gen = scrape.scrape(run.generator_url)
            generated = scrape.value(gen, "interests_generator_generated_total")
            if generated >= expected:
                break
            time.sleep(0.5)
        stream = run.stream_samples()
        hist = scrape.buckets(gen, FEATURE_FRESHNESS)
        request = scrape.buckets(gen, "interests_generator_request_to_feature_seconds")
        return {"backend": "keyphrase", "rate": lc.regen_rate, "sent": paced.sent,
                "achieved_send_rate": round(paced.achieved), "regenerations_expected": expected,
                "regenerations_requested": int(sum(scrape.value(s, "interests_stream_regenerations_requested_total")
                                                   for s in stream)),
                "features_written": int(generated),
                "feature_freshness_p50_s": _round(scrape.quantile(0.5, hist)),
                "feature_freshness_p99_s": _round(scrape.quantile(0.99, hist)),
                "request_to_feature_p50_s": _round(scrape.quantile(0.5, request)),
                "request_to_feature_p99_s": _round(scrape.quantile(0.99, request)),
                "stream_freshness_p99_s": _round(scrape.quantile(0.99, _merged_buckets(stream, STREAM_FRESHNESS))),
                "generator_batch_ms_p50": scrape.value(gen, "interests_generator_batch_ms_p50"),
                "generator_batch_ms_p99": scrape.value(gen, "interests_generator_batch_ms_p99")}


def phase_scale(lc: LoadConfig, code_dir: Path | None = None) -> dict:
    with Run(lc.embedder, catalogue=lc.catalogue, code_dir=code_dir) as run:
        maker = EventMaker(run.cfg, prefix="scale", fresh_texts=lc.fresh_texts)
        filled = prefill(run.cfg, maker, lc.events, users_cycle(lc.users))
        workers = [run.start_stream_worker("stream-worker"), run.start_stream_worker("stream-worker-2")]
        series = run.wait_updates(lc.events, lc.timeout_s)
        shares = [int(scrape.value(s, UPDATES)) for s in run.stream_samples()]
        return {"workers": 2, "prefill": filled, **throughput_window(series, lc.events), "updates_per_worker": shares,
                "rss_mb": [round(w.memory_info().rss / 2**20, 1) for w in workers]}


def run_benchmark(lc: LoadConfig, out: Path | None = None, code_dir: Path | None = None,
                  code_name: str | None = None) -> dict:
    """Every phase of ``lc`` on this checkout's workers, or on those of ``code_dir`` (another checkout of the
    project, :func:`streams.benchmarks.compare.checkout`); the harness, events and measurements are this one's."""
    unknown = set(lc.phases) - set(PHASES)
    if unknown:
        raise ValueError(f"unknown phases {sorted(unknown)}: choose from {', '.join(PHASES)}")
    result: dict = {"command": command_line(), "config": asdict(lc), "machine": _machine(),
                    "code": code_name or (str(code_dir) if code_dir else "this checkout"),
                    "loadavg_start": load_average(), "started_at": time.strftime("%FT%T%z")}
    base_rate = 0.0
    if {"throughput", "rates", "memory"} & set(lc.phases):
        with Run(lc.embedder, catalogue=lc.catalogue, code_dir=code_dir) as run:
            print(f"throughput: pre-filling {lc.events} events for {lc.users} users", flush=True)
            result["throughput"], worker = phase_throughput(run, lc)
            base_rate = result["throughput"]["steady_rate"]
            print(f"  {result['throughput']}", flush=True)
            if "rates" in lc.phases:
                print("rates:", flush=True)
                result["rates"] = phase_rates(run, lc, base_rate, worker)
                held = [s["rate"] for s in result["rates"] if s["sustained"]]
                result["highest_sustained_rate"] = max(held) if held else None
                fresh = [s["rate"] for s in result["rates"] if s["sustained"] and (s["freshness_p99_s"] or 9) < 1.0]
                result["highest_rate_with_p99_under_1s"] = max(fresh) if fresh else None
            if "memory" in lc.phases:
                rate = lc.memory_rate or two_digits((result.get("highest_sustained_rate") or base_rate) / 2)
                print(f"memory: {lc.memory_s:.0f} s at {rate:.0f} events/s", flush=True)
                result["memory"] = phase_memory(run, lc, worker, rate)
    if "regen" in lc.phases:
        print(f"regen: new users at {lc.regen_rate:.0f} events/s for {lc.regen_s:.0f} s", flush=True)
        result["regen"] = phase_regen(lc, code_dir)
    if "scale" in lc.phases:
        print(f"scale: two stream workers on {lc.events} pre-filled events", flush=True)
        result["scale"] = phase_scale(lc, code_dir)
    result["loadavg_end"] = load_average()
    print_report(result)
    if out is not None:
        write_result(out, f"load-{lc.embedder}.json", result)
    return result


def command_line() -> str:
    """The command that is running, as its user typed it (``interests stream load ...``)."""
    return " ".join(["interests", *sys.argv[1:]] if sys.argv[1:3] == ["stream", "load"] else sys.argv)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _merged_buckets(samples: list[scrape.Samples], histogram: str) -> list[tuple[float, float]]:
    """One histogram's cumulative buckets summed over several workers' scrapes."""
    totals: dict[float, float] = {}
    for s in samples:
        for le, count in scrape.buckets(s, histogram):
            totals[le] = totals.get(le, 0.0) + count
    return sorted(totals.items())


def _round(x: float) -> float | None:
    return None if x != x else round(x, 3)  # NaN (no observations) -> null in the JSON


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform()}


DEFAULT_OUT = HERE / "results"
