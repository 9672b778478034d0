"""The stream side: ``interests replay FILE``, ``interests stream worker`` (the Faust worker: validation,
histories, drift) and ``interests stream load`` (the load benchmark of the stream side)."""

from __future__ import annotations

import signal
from pathlib import Path

from interests_cli.base import check_known, command, comma_list, floats, group, streams_cfg


def cmd_replay(args) -> int:
    from streams.replay import replay

    summary = replay(Path(args.file), streams_cfg(), rate=args.rate, limit=args.limit, progress=not args.quiet,
                     event_time=args.event_time)
    print("\n".join(summary.lines()))
    return 0 if summary.total else 1


def cmd_worker(args) -> int:
    from streams.worker import run

    run(streams_cfg(), loglevel=args.log_level)
    return 0


def cmd_load(args) -> int:
    from streams.benchmarks.load import DEFAULT_OUT, PHASES, LoadConfig, run_benchmark

    check_known(args.phases or (), PHASES, "--phases")
    lc = LoadConfig(embedder=args.embedder, events=args.events, users=args.users, rates=args.rates or (),
                    step_s=args.step_s, memory_s=args.memory_s, memory_rate=args.memory_rate,
                    regen_rate=args.regen_rate, regen_s=args.regen_s, phases=args.phases or PHASES,
                    catalogue=args.catalogue, fresh_texts=args.fresh_texts, profile_s=args.profile,
                    profile_gil=args.profile_gil, profile_raw=args.profile_raw or "")
    if args.profile:
        from streams.benchmarks.profile import py_spy

        py_spy()  # fails now, with what to install, rather than after the broker has started

    def stop(signum, _frame):  # SIGTERM (and SIGINT where a shell ignored it) unwinds, so the broker and workers stop
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    out = Path(args.out) if args.out else DEFAULT_OUT
    if args.previous:
        from streams.benchmarks.compare import run_comparison

        run_comparison(lc, args.previous, args.previous_embedder, args.rounds, out)
    else:
        run_benchmark(lc, out)
    return 0


def _add_replay(sub) -> None:
    r = command(sub, "replay", cmd_replay, "send events from a JSONL or Parquet file to Kafka")
    r.add_argument("file", metavar="FILE")
    r.add_argument("--rate", type=float, default=None, help="events per second (default: as fast as possible)")
    r.add_argument("--limit", type=int, default=None, help="send only the first N rows")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--event-time", action="store_true",
                   help="stamp each record with its event's ts, not the time it is sent, so `interests train retrain "
                        "--from kafka` can read a time range of it back (the broker refuses stamps over an hour ahead "
                        "and drops records 7 days after their stamp)")


def _add_load(stream) -> None:
    bl = command(stream, "load", cmd_load, "load benchmark of the stream side (streams/benchmarks/load.py): "
                 "throughput, freshness, memory")
    bl.add_argument("--embedder", choices=["hash", "minilm", "minilm-onnx"], default="hash",
                    help="hash: a hashing stand-in with no model cost; minilm: the real embedding model; "
                         "minilm-onnx: the same model, int8 on ONNX Runtime")
    bl.add_argument("--events", type=int, default=50_000, help="pre-filled events (throughput and scale phases)")
    bl.add_argument("--users", type=int, default=2_000, help="user population of the steady-load phases")
    bl.add_argument("--rates", type=floats, default=None,
                    help="comma list of events/s (default: fractions of the throughput)")
    bl.add_argument("--step-s", type=float, default=15.0, help="seconds per rate step")
    bl.add_argument("--memory-s", type=float, default=120.0)
    bl.add_argument("--memory-rate", type=float, default=0.0, help="events/s (default: half the sustained rate)")
    bl.add_argument("--regen-rate", type=float, default=150.0, help="events/s of new users in the regen phase")
    bl.add_argument("--regen-s", type=float, default=40.0)
    bl.add_argument("--phases", type=comma_list(), default=None,
                    help="comma list of throughput,rates,memory,regen,scale (default all)")
    bl.add_argument("--catalogue", action="store_true",
                    help="clicks on the sample's articles take precomputed vectors (streams/catalogue.py)")
    bl.add_argument("--fresh-texts", action="store_true",
                    help="every event's text one never seen before (the worker's text cache finds nothing): the "
                         "worst case for the embedder; by default the sample's texts repeat, as popular ones do")
    bl.add_argument("--profile", type=float, default=0.0, metavar="SECONDS",
                    help="sample the worker with py-spy for this long in the throughput phase (needs py-spy)")
    bl.add_argument("--profile-gil", action="store_true",
                    help="with --profile: sample only the thread holding the interpreter lock, so the shares are "
                         "of the worker's Python work, not of time spent waiting for the CPU or in system calls")
    bl.add_argument("--profile-raw", default=None, metavar="FILE",
                    help="with --profile: keep py-spy's raw stacks in FILE (gzipped), for summaries of your own")
    bl.add_argument("--previous", default=None, metavar="REF",
                    help="also run every phase on the workers of this git commit (a worktree), alternating with this "
                         "checkout's, and report current / previous (streams/benchmarks/compare.py)")
    bl.add_argument("--previous-embedder", default=None, choices=["hash", "minilm", "minilm-onnx"],
                    help="the previous code's embedder (default --embedder; code older than the ONNX embedder has "
                         "only hash and minilm)")
    bl.add_argument("--rounds", type=int, default=1, help="with --previous: alternating rounds (default 1)")
    bl.add_argument("--out", default=None, help="folder for load-<embedder>.json, or compare-<embedder>.json with "
                                               "--previous (default streams/benchmarks/results)")


def add(sub) -> None:
    _add_replay(sub)
    stream = group(sub, "stream", "the stream side: the Faust worker and its load benchmark")
    command(stream, "worker", cmd_worker, "the Faust stream worker (validation, histories, drift)")
    _add_load(stream)
