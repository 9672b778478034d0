"""Training: ``interests train grpo|distill|kd-targets|hindsight-targets|query-value|students|study|retrain|package|
export-histories`` (the Dr.GRPO teacher, the distilled student, its KD cache and hindsight targets, the query-value
model, students against their teacher, the study, the retraining job, shipping an adapter, the histories a GPU machine
trains on)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from interests_cli.base import UsageError, command, comma_list, group, log_range, log_range_options, query_search_option


def reward_weights(text: str) -> dict[str, float]:
    """``"closeness=4,relevance=2,count"`` -> ``{"closeness": 4.0, "relevance": 2.0, "count": 1.0}`` (the type of
    ``--rewards``: a malformed item is a usage error)."""
    weights = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, weight = item.partition("=")
        try:
            weights[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} is not name=weight") from None
    return weights


def _work(args) -> Path:
    from common.settings import cache_dir

    return Path(args.work) if args.work else cache_dir() / "train"


def _bench_folder(args) -> Path:
    from training.benchmark import simulated

    data = args.data[0] if isinstance(args.data, list) else args.data
    return Path(data) if data else simulated(args.seed, args.bench_users)


def _reward_env(args, coverage_judge: str | None = None):
    """The benchmark, the embedder, the article index and the click model."""
    from models.embeddings import MiniLMEmbedder
    from training.env import RewardEnv

    return RewardEnv.from_folder(_bench_folder(args), MiniLMEmbedder(), seed=args.seed, coverage_judge=coverage_judge,
                                 query_search=args.query_search)


def _given(args, *names: str) -> dict:
    """The named options that were given (not None, not zero): they override the config's defaults."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None)}


def _policy(base, args):
    """``base`` (a PolicyConfig) with the model, threads, device and LoRA options."""
    from dataclasses import replace

    lora = {"lora_rank": args.lora_rank, "lora_alpha": 2 * args.lora_rank} if args.lora_rank else {}
    if args.lora_top_layers is not None:
        lora["lora_top_layers"] = args.lora_top_layers
    return replace(base, torch_threads=args.threads, device=args.device,
                   **({"model": args.model} if args.model else {}),
                   **({"dtype": args.dtype} if getattr(args, "dtype", None) else {}), **lora)


def _grpo_config(args):
    from dataclasses import replace

    from training.config import TrainingConfig
    from training.grpo import with_rewards

    base = TrainingConfig().grpo
    cfg = replace(base, seed=args.seed, policy=_policy(base.policy, args), time_budget_s=args.time_budget,
                  **_given(args, "steps", "lr", "users_per_step", "checkpoint_every", "micro_batch",
                           "positive_only"))
    try:
        if args.rewards:
            cfg = with_rewards(cfg, args.rewards)
    except ValueError as exc:
        raise UsageError(f"--rewards: {exc}") from None
    try:
        if args.without:
            cfg = with_rewards(cfg, {k: v for k, v in cfg.weights.items() if k not in args.without})
    except ValueError as exc:
        raise UsageError(f"--without: {exc}") from None
    return cfg


def cmd_grpo(args) -> int:
    from dataclasses import replace

    from models.config import GeneratorConfig
    from models.registry import Registry
    from training.grpo import continue_from, train

    cfg = _grpo_config(args)
    out = Path(args.out) if args.out else _work(args) / "teacher"
    init = Path(args.init_adapter) if args.init_adapter else None
    base_ref = None
    if init is not None and not args.model:  # train on from the adapter's own base, layers and prompt
        if not init.is_dir():
            raise UsageError(f"--init-adapter {init}: no such adapter folder")
        policy, base_ref = continue_from(init, cfg.policy, Registry(GeneratorConfig().registry_dir).base_path)
        cfg = replace(cfg, policy=policy)
    print(train(cfg, _reward_env(args, args.coverage_judge), out, resume=not args.restart, init_adapter=init,
                base_ref=base_ref))
    return 0


def cmd_distill(args) -> int:
    from dataclasses import replace

    from training.config import TrainingConfig
    from training.distill import train as distill

    base = TrainingConfig().distill
    student = _policy(base.student, args)
    if args.prompt_signals:
        student = replace(student, max_prompt_signals=args.prompt_signals)
    cfg = replace(base, student=student, mode=args.mode, seed=args.seed, time_budget_s=args.time_budget,
                  **_given(args, "steps", "lr", "users_per_step", "samples_per_user", "checkpoint_every",
                           "micro_batch", "layer_choice", "student_from", "contract"),
                  **({"keep_layers": args.layers} if args.layers else {}))
    if args.teacher_temperature is not None:
        cfg = replace(cfg, teacher_temperature=args.teacher_temperature)
    if args.targets:
        from training.kd import KDEnv

        if args.mode != "sft":
            raise UsageError("--targets (the KD cache) is what --mode sft learns; on-policy samples the student")
        folders = [Path(d) for d in args.data] if args.data else [_bench_folder(args)]
        env = KDEnv.load(Path(args.targets), folders)
    elif args.histories:
        from training.histories import HistoryEnv

        env = HistoryEnv.load(Path(args.histories))
    else:
        if args.data and len(args.data) > 1:
            raise UsageError("several --data folders need --targets (the KD cache)")
        env = _reward_env(args, args.coverage_judge)
    out = Path(args.out) if args.out else _work(args) / f"student-{args.mode}-L{cfg.keep_layers}"
    print(distill(cfg, env, Path(args.teacher), out, resume=not args.restart,
                  init_adapter=Path(args.init_adapter) if args.init_adapter else None))
    return 0


def cmd_kd_targets(args) -> int:
    from models.config import GeneratorConfig
    from models.registry import Registry
    from training.evaluate import Benchmark
    from training.kd import build_targets, teacher_generator

    if args.pool and args.best_of < 2:
        raise SystemExit("--pool keeps every sample's queries: it needs --best-of N with N > 1")
    gen = GeneratorConfig.from_env(**({"torch_threads": args.threads} if args.threads else {}))
    registry = Registry(gen.registry_dir)
    teacher = registry.get(gen.model_name, args.teacher)
    generator = teacher_generator(gen, registry.load_path(teacher), best_of=args.best_of)
    out = Path(args.out) if args.out else _work(args) / "kd-targets.jsonl"
    folders = [Path(d) for d in args.data] if args.data else [_bench_folder(args)]
    try:
        for folder in folders:
            bench = Benchmark.load(folder)
            users = bench.eval_users("train", limit=args.users, seed=args.seed)
            print(json.dumps(build_targets(bench, users, generator, out, pool=args.pool)))
    finally:
        generator.close()
    print(out)
    return 0


def cmd_hindsight_targets(args) -> int:
    from models.embeddings import MiniLMEmbedder
    from training.evaluate import Benchmark
    from training.hindsight import build
    from training.kd import load_targets

    out = Path(args.out) if args.out else _work(args) / "hindsight-targets.jsonl"
    caches = [load_targets(Path(path)) for path in args.teacher_targets or []]
    folders = [Path(d) for d in args.data] if args.data else [_bench_folder(args)]
    embedder = MiniLMEmbedder()
    for folder in folders:
        bench = Benchmark.load(folder)
        users = bench.eval_users("train", limit=args.users, seed=args.seed)
        own: dict[str, list[str]] = {}
        for cache in caches:  # each cache's queries join the user's candidates, in the order the files are given
            for (name, user), row in cache.items():
                if name == folder.name:
                    own.setdefault(user, []).extend(row["queries"])
        print(json.dumps(build(bench, users, embedder, out, own, size=args.size, n_phrases=args.phrases,
                               search=args.query_search)))
    print(out)
    return 0


def cmd_query_value(args) -> int:
    from training.query_value import run

    report = run(args.seeds, args.truths, args.users, args.model_users, args.model_seeds, Path(args.out),
                 Path(args.report) if args.report else None, args.bench_users, args.query_search, args.seed,
                 args.fusion_users)
    print(json.dumps(report, indent=1))
    print(f"wrote {args.out}" + (f" and {Path(args.report) / 'query-value.json'}" if args.report else ""))
    return 0


def cmd_students(args) -> int:
    from training.students import compare, load_report, write

    students = {}
    for item in args.student:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise UsageError(f"--student {item!r}: expected NAME=FOLDER (a benchmark --out folder)")
        students[name] = load_report(Path(folder))
    latency = json.loads(Path(args.latency).read_text()) if args.latency else None
    unknown = sorted(set(args.curve or []) - set(students))
    if unknown:
        raise UsageError(f"--curve {', '.join(unknown)}: not a --student name ({', '.join(students)})")
    out = write(compare(load_report(Path(args.teacher)), students, latency, seed=args.seed, on_curve=args.curve),
                Path(args.out))
    print((out / "students.md").read_text())
    print(f"wrote {out / 'students.json'} and students.md")
    return 0


def cmd_study(args) -> int:
    from training.study import RESULTS, StudyConfig, run

    cfg = StudyConfig(seed=args.seed, bench_users=args.bench_users, torch_threads=args.threads or 1,
                      **({"eval_users": args.eval_users} if args.eval_users else {}))
    results = run(cfg, _work(args) / "study", stages=set(args.stages) if args.stages else None)
    print((RESULTS / "study.md").read_text() if (RESULTS / "study.md").exists() else json.dumps(results)[:2000])
    return 0


def cmd_retrain(args) -> int:
    events, since, until = log_range(args)  # usage errors before the model loads
    from models.config import GeneratorConfig
    from models.embeddings import MiniLMEmbedder
    from models.registry import Registry
    from training.retrain import retrain

    gen = GeneratorConfig.from_env()
    result = retrain(Registry(gen.registry_dir), args.name or gen.model_name, events, _bench_folder(args),
                     since, until, _work(args) / "retrain", _grpo_config(args),
                     MiniLMEmbedder(), eval_users=args.eval_users or 60, tolerance=args.tolerance)
    print(json.dumps(result.__dict__, indent=1, default=str))
    return 0


def cmd_package(args) -> int:
    from models.config import MODEL_NAME, GeneratorConfig
    from models.student import PACKAGED
    from training.runs import package_adapter

    dest = Path(args.out) if args.out else PACKAGED / args.version
    decoding = json.loads((Path(args.adapter) / "manifest.json").read_text()).get("decoding") or {}
    if args.no_repeat_ngram:
        decoding = {**decoding, "no_repeat_ngram": args.no_repeat_ngram}
    if args.head_tokens:
        from transformers import AutoTokenizer

        from models.headtrim import list_texts, written_tokens
        from models.student import ensure_student

        tokenizer = AutoTokenizer.from_pretrained(ensure_student(GeneratorConfig().model_dir))
        kept = sorted(written_tokens(tokenizer, list_texts(args.head_tokens)))
        print(f"a trimmed head of {len(kept)} tokens (of {len(tokenizer)}) from {args.head_tokens}")
        decoding = {**decoding, "head_tokens": kept}
    extra = {"decoding": decoding} if decoding else None
    print(package_adapter(Path(args.adapter), dest, args.name or MODEL_NAME, args.version, f"{MODEL_NAME}@base",
                          extra=extra, dtype=args.dtype))
    if args.default:  # marks the new version and unmarks the default shipped before it
        from models.student import mark_default

        others = mark_default(args.version, dest.parent)
        if others:
            print(f"{args.version} is the default now, not {', '.join(others)}")
    return 0


def cmd_export_histories(args) -> int:
    from training.evaluate import Benchmark
    from training.histories import HistoryEnv, export

    bench = Benchmark.load(_bench_folder(args))  # histories only: no embedder, article index or click model
    env = HistoryEnv({user: bench.histories[user] for user in bench.eval_users("train")})
    out = Path(args.out) if args.out else _work(args) / "histories.json.gz"
    export(env, out, meta={"benchmark": str(_bench_folder(args)), "seed": args.seed})
    print(f"{out}: {len(env.train_users())} training users ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def _bench_options(p, data: bool = True) -> None:
    """The benchmark the rewards are measured on: a folder, or the simulated one for --seed and --bench-users."""
    p.add_argument("--seed", type=int, default=0)
    if data:
        p.add_argument("--data", default=None, help="a benchmark folder (default: the simulated one for --seed)")
    p.add_argument("--bench-users", type=int, default=2000, help="size of the simulated benchmark")


def _work_option(p) -> None:
    p.add_argument("--work", default=None, help="work folder (default: $INTERESTS_CACHE/train)")


def _run_options(p) -> None:
    """A resumable training run's folder."""
    p.add_argument("--out", default=None, help="the run folder (default: under --work)")
    _work_option(p)
    p.add_argument("--restart", action="store_true", help="ignore existing checkpoints")


def _policy_options(p) -> None:
    """The model that learns and how: grpo, distill, retrain."""
    p.add_argument("--model", default=None, help="the base Hugging Face model folder (default: converted SmolLM2)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the config's)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default; 1 on a busy machine)")
    p.add_argument("--device", default="auto", help="auto (a CUDA GPU when visible), cpu, cuda, ...")
    p.add_argument("--dtype", default=None, choices=["bfloat16", "float32"],
                   help="the base model's weights (default: the config's bfloat16, fast on CPUs with AMX or on a "
                        "GPU; float32 on a CPU without them, where bfloat16 matrix products fall back to a slow "
                        "path)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the config's)")
    p.add_argument("--lora-rank", type=int, default=None, help="LoRA rank (alpha = 2 x rank)")
    p.add_argument("--lora-top-layers", type=int, default=None,
                   help="LoRA on the top N layers only (0 = every layer; default: the config's)")
    p.add_argument("--users-per-step", type=int, default=None, help="prompts per step")
    p.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints")
    p.add_argument("--micro-batch", type=int, default=None,
                   help="rows per forward/backward pass (default: the config's 16); memory grows with it, and with "
                        "LoRA on every layer 16 rows of 12-signal prompts peak near 24 GB on CPU")
    p.add_argument("--time-budget", type=float, default=0.0,
                   help="stop after the step that passes this many seconds (resumable; 0 = none)")


def _reward_options(p) -> None:
    """The rewards the teacher learns from: grpo, retrain."""
    p.add_argument("--rewards", type=reward_weights, default=None,
                   help="the rewards and their weights, e.g. closeness=4,relevance=2,count=1 (default: every "
                        "reward of training/rewards.py but closeness, at weight 1)")
    p.add_argument("--without", type=comma_list(), default=None, help="comma list of rewards to leave out (ablation)")


def _reward_search(p) -> None:
    query_search_option(p, "how the rewards that retrieve (relevance, engagement) search the news index with the "
                           "queries: as the query channel is served, by embedding and by words (hybrid, default), or "
                           "by embedding only")


def _coverage_judge(p) -> None:
    p.add_argument("--coverage-judge", default=None,
                   help="a Hugging Face causal LM folder that judges coverage (R_cov) instead of the embedding "
                        "criterion")


def _add_grpo(train) -> None:
    p = command(train, "grpo", cmd_grpo, "train the Dr.GRPO teacher on the benchmark's rewards")
    _bench_options(p)
    _policy_options(p)
    _reward_options(p)
    _coverage_judge(p)
    _reward_search(p)
    p.add_argument("--positive-only", action="store_true",
                   help="reinforce only the lists better than their group's mean (advantages below 0 set to 0)")
    p.add_argument("--init-adapter", default=None,
                   help="continue training this adapter (e.g. models/artifacts/grpo-v1, or a depth-pruned student "
                        "such as models/artifacts/student-hs12b): on the base and layers its manifest names (a "
                        "registry reference is read from the model registry) and with the prompt it reads")
    _run_options(p)


def _add_distill(train) -> None:
    p = command(train, "distill", cmd_distill, "distil the teacher into a depth-pruned student")
    p.add_argument("--teacher", required=True,
                   help="the teacher's adapter folder (the adapter folder of `interests train grpo`)")
    p.add_argument("--mode", default="on-policy", choices=["on-policy", "sft"], help="the method")
    p.add_argument("--layers", type=int, default=None, help="layers the student keeps (default 24 of 30)")
    p.add_argument("--layer-choice", default=None, choices=["importance", "even"],
                   help="which layers: the most influential on training prompts (default) or an even cut")
    p.add_argument("--student-from", default=None, choices=["teacher", "base"],
                   help="prune the teacher (default) or the base model")
    p.add_argument("--contract", default=None, choices=["compact", "chat"],
                   help="the student's prompt (default compact: activity and a one-line instruction; the teacher "
                        "reads its chat prompt)")
    p.add_argument("--prompt-signals", type=int, default=0,
                   help="signals in the student's prompt (default: the config's, 20; give the teacher's to match)")
    p.add_argument("--targets", default=None,
                   help="sft on the KD cache of `interests train kd-targets` (the teacher's served lists) for the "
                        "--data benchmarks' training users")
    p.add_argument("--teacher-temperature", type=float, default=None,
                   help="sft: the teacher's sampling temperature (default: the student's; 0 = greedy, generated "
                        "once per user: sequence-level distillation)")
    p.add_argument("--init-adapter", default=None,
                   help="start from this trained student adapter (same --layers), e.g. on-policy after SFT")
    p.add_argument("--histories", default=None,
                   help="train on the histories file of `export-histories` instead of the benchmark (no rewards "
                        "needed: a machine with a GPU but without the benchmark)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", action="append", default=None,
                   help="a benchmark folder (default: the simulated one for --seed); repeat with --targets")
    p.add_argument("--bench-users", type=int, default=2000, help="size of the simulated benchmark")
    _coverage_judge(p)
    _reward_search(p)
    _policy_options(p)
    p.add_argument("--samples-per-user", type=int, default=None, help="student (or teacher, sft) samples per prompt")
    _run_options(p)


def _add_kd_targets(train) -> None:
    p = command(train, "kd-targets", cmd_kd_targets, "the teacher's served query lists for training users: the KD "
                "cache the student distils from (interests train distill --targets)")
    p.add_argument("--teacher", default="grpo-v1", help="the teacher's registry version (default grpo-v1)")
    p.add_argument("--data", action="append", default=None,
                   help="a benchmark folder; repeat for several (default: the simulated one for --seed)")
    p.add_argument("--users", type=int, default=800, help="training users per benchmark (default 800)")
    p.add_argument("--best-of", type=int, default=1,
                   help="N > 1: the best of N samples by structure, diversity and grounding (default 1: greedy, as "
                        "served)")
    p.add_argument("--pool", action="store_true",
                   help="with --best-of N: keep every sample's valid queries, as candidates for hindsight-targets")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    p.add_argument("--out", default=None, help="the JSON-lines file (default: --work/kd-targets.jsonl); resumed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bench-users", type=int, default=2000, help="size of the simulated benchmark")
    _work_option(p)


def _add_hindsight_targets(train) -> None:
    p = command(train, "hindsight-targets", cmd_hindsight_targets, "query lists chosen in hindsight for training "
                "users: the candidates (key phrases, the teacher's queries) that best retrieve what each read next, "
                "in the KD cache's format (interests train distill --mode sft --targets)")
    p.add_argument("--data", action="append", default=None,
                   help="a benchmark folder; repeat for several (default: the simulated one for --seed)")
    p.add_argument("--users", type=int, default=800, help="training users per benchmark (default 800)")
    p.add_argument("--teacher-targets", action="append", default=None,
                   help="a KD cache (interests train kd-targets) whose queries join each user's candidates, e.g. "
                        "training/artifacts/kd-targets-grpo-v1.jsonl.gz; repeat for several")
    p.add_argument("--size", type=int, default=5, help="queries per list (default 5)")
    p.add_argument("--phrases", type=int, default=20, help="key-phrase candidates per user (default 20)")
    query_search_option(p, "how each candidate searches the news index when the lists are chosen: as the query "
                           "channel serves it, by embedding and by words (hybrid, default), or by embedding only")
    p.add_argument("--out", default=None, help="the JSON-lines file (default: --work/hindsight-targets.jsonl); "
                                               "resumed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bench-users", type=int, default=2000, help="size of the simulated benchmark")
    _work_option(p)


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in comma_list()(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None


def _add_query_value(train) -> None:
    from models.query_value import DEFAULT_DIR

    p = command(train, "query-value", cmd_query_value, "the query-value model: which of a reader's candidate "
                "queries (the model's, the key phrases) retrieve what they read next, learned on training users "
                "(models/query_value.py; served with INTERESTS_GEN_SELECT=value)")
    p.add_argument("--seeds", type=_int_list, default=[0, 1, 2, 3],
                   help="simulated benchmarks' seeds (default 0,1,2,3)")
    p.add_argument("--truths", type=comma_list(("lexical", "embedding")), default=("lexical", "embedding"),
                   help="their topic spaces (default lexical,embedding)")
    p.add_argument("--users", type=int, default=800, help="training users per benchmark (default 800)")
    p.add_argument("--model-users", type=int, default=200,
                   help="of them, how many have the served model's queries among their candidates (default 200)")
    p.add_argument("--fusion-users", type=int, default=200,
                   help="the training users `interests benchmark --train-users` chooses its fusion on, left out "
                        "(default 200, the benchmark's)")
    p.add_argument("--model-seeds", type=_int_list, default=[0],
                   help="the benchmarks' seeds whose users get the model's queries (default 0)")
    query_search_option(p, "how each candidate searches the news index for its label (default hybrid, as served)")
    p.add_argument("--out", default=str(DEFAULT_DIR), help=f"the model's folder (default {DEFAULT_DIR})")
    p.add_argument("--report", default=None, help="a folder for query-value.json (held-out NDCG@10, importance)")
    p.add_argument("--bench-users", type=int, default=2000, help="size of each simulated benchmark")
    p.add_argument("--seed", type=int, default=0)


def _add_students(train) -> None:
    p = command(train, "students", cmd_students, "students against their teacher: NDCG@10 ratios with paired "
                "intervals from benchmark reports, latency from one CPU throughput run")
    p.add_argument("--teacher", required=True, help="the benchmark --out folder of the teacher served")
    p.add_argument("--student", action="append", required=True,
                   help="NAME=FOLDER: a student's benchmark --out folder (same seed and sizes); repeat")
    p.add_argument("--latency", default=None, help="a cpu_throughput JSON timing the teacher first, then students "
                   "(their parameters place them on the capacity curve)")
    p.add_argument("--curve", action="append", default=None,
                   help="NAME: a student on the capacity curve beside the teacher (repeat; default: every student)")
    p.add_argument("--out", required=True, help="the folder for students.json, students.md and capacity.png")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")


def _add_retrain(train) -> None:
    p = command(train, "retrain", cmd_retrain, "retrain the served model on logged events; publish it when it is "
                "no worse",
                description="retrain the served model on the logged events of [--since, --until), read back from "
                "the Kafka event topics (by the records' timestamps) or from an event file; publish it when it is "
                "no worse")
    log_range_options(p)
    p.add_argument("--name", default=None, help="the registry model name (default: the served one)")
    p.add_argument("--tolerance", type=float, default=0.0, help="publish if NDCG@10 >= current - this")
    p.add_argument("--eval-users", type=int, default=None, help="test users evaluated (default 60)")
    _bench_options(p)
    _policy_options(p)
    _reward_options(p)
    _work_option(p)


def _add_study(train) -> None:
    study = command(train, "study", cmd_study, "the training study (train, eval, scaling)")
    _bench_options(study, data=False)
    study.add_argument("--threads", type=int, default=0, help="torch threads (0 = 1)")
    study.add_argument("--eval-users", type=int, default=None, help="test users evaluated")
    study.add_argument("--stages", type=comma_list(("train", "eval", "scaling")), default=None,
                       help="comma list of train,eval,scaling (default: all)")
    _work_option(study)


def _add_shipping(train) -> None:
    package = command(train, "package", cmd_package, "copy a trained adapter into models/artifacts for shipping")
    package.add_argument("--adapter", required=True, help="a trained adapter folder (a run's adapter/)")
    package.add_argument("--version", required=True, help="the version it ships as (models/artifacts/VERSION)")
    package.add_argument("--name", default=None, help="the registry model name (default: the student's)")
    package.add_argument("--out", default=None, help="the folder (default: models/artifacts/VERSION)")
    package.add_argument("--dtype", default=None, choices=["bfloat16", "float16"],
                         help="cast the adapter's weights (half the file; default: as trained, float32)")
    package.add_argument("--head-tokens", default=None,
                         help="the lists (a KD cache or hindsight targets, JSON lines) whose tokens the served "
                              "model's trimmed head keeps, with each batch's prompt tokens (manifest "
                              "decoding.head_tokens; INTERESTS_GEN_HEAD_TRIM=0 serves the full head)")
    package.add_argument("--no-repeat-ngram", type=int, default=0,
                         help="n >= 2: the served model never writes an n-gram of tokens twice in one list "
                              "(manifest decoding.no_repeat_ngram; INTERESTS_GEN_NO_REPEAT_NGRAM overrides)")
    package.add_argument("--default", action="store_true",
                         help="mark it the version a fresh install serves (and unmark the version shipped as "
                              "default before it, in the same folder)")
    export = command(train, "export-histories", cmd_export_histories,
                     "write the training users' histories (what `train distill --histories` trains on)")
    _bench_options(export)
    export.add_argument("--out", default=None, help="the file (default: --work/histories.json.gz)")
    _work_option(export)


def add(sub) -> None:
    train = group(sub, "train", "training: Dr.GRPO teacher, distilled student, the study, the retraining job")
    _add_grpo(train)
    _add_distill(train)
    _add_kd_targets(train)
    _add_hindsight_targets(train)
    _add_query_value(train)
    _add_students(train)
    _add_study(train)
    _add_retrain(train)
    _add_shipping(train)
