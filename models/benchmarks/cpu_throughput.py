"""CPU throughput of the generators on this machine: users/s and per-user latency (p50, p99) of the transformers
backend with the real converted student (SmolLM2-135M-Instruct) against batch size and samples per user (best-of-N
candidates), for one or more weight dtypes (``--dtype``: bfloat16, the served default, and/or float32), and of the
key-phrase baseline, on fixed synthetic histories (seeded), in one run.

    python -m models.benchmarks.cpu_throughput [--out FILE.json] [--dtype bfloat16 float32] [--users 32] [--budget-s 40]
        [--model-dir DIR [DIR ...]] [--histories FILE] [--stop-at-list off on] [--trim-head off on --head-tokens KD]
        [--attention sdpa sdpa_gqa] [--engine transformers lean]

Several ``--model-dir`` folders (e.g. the teacher's and the students' merged registry folders) are timed back to
back in one run, each with the prompt contract its manifest names; ``--histories`` takes real users' histories (the
file of ``interests train export-histories``: a benchmark's training users) instead of the synthetic ones;
``--stop-at-list on`` ends a row once it has written its list (``INTERESTS_GEN_STOP_AT_LIST``), ``off on`` measures
both; ``--trim-head on`` computes the output layer's logits only for the tokens of the teacher's lists in the KD
cache ``--head-tokens`` (``interests train kd-targets``) and each batch's prompt tokens (``models/headtrim.py``);
``--attention sdpa sdpa_gqa`` loads each model with each attention in turn (``models/attention.py``); ``--engine
transformers lean`` decodes with transformers' ``generate`` and with the lean decoder (``models/leandecode.py``) in
turn, and reports the share of lists the second writes exactly as the first did.

The report goes to ``models/benchmarks/results/cpu_throughput.json`` unless ``--out`` names another file.

What is measured: ``generator.generate(batch)`` calls, each on one batch of ``B`` users (prompt building, generation
of up to ``max_new_tokens`` new tokens (``INTERESTS_GEN_MAX_NEW_TOKENS``), parsing and the grounding check), one after
the other. A user's latency is the wall time of the call that held it (every user of a batch waits for the whole
batch). The sampled retry of invalid greedy outputs is off, so every user costs one generation: the numbers are the
cost of generating, not of the untrained model's failure rate. Each (B, n) setting runs whole batches until
``--users`` users are done or the setting has run ``--budget-s`` seconds (at least one batch), so slow settings
measure fewer users: their p99 is then close to their maximum. One untimed warm-up batch comes first.

On a machine whose cores other processes also use, torch's default of one thread per core can be ten times slower
than one thread (its threads wait on each other whenever one is descheduled): ``--threads 1`` there. The report
records the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import sys
import time
from pathlib import Path

from common.settings import portable
from models.attention import IMPLEMENTATIONS
from models.config import ENGINES
from models.benchmarks.output import print_and_write
from models.generators.base import QueryGenerator, UserContext

BATCH_SIZES = (1, 4, 16)
SAMPLES = (1, 4)
DTYPES = ("bfloat16", "float32", "int8")
RESULTS_DIR = Path(__file__).parent / "results"
DAY_MS = 86_400_000
NOW_MS = 1_700_000_000_000  # fixed, so the histories (and the prompts) do not depend on the clock

# Synthetic news topics: each has click titles, searches, social posts and visited-page titles.
TOPICS: dict[str, dict[str, list[str]]] = {
    "tennis": {
        "click": ["Djokovic beats Alcaraz in a five-set Wimbledon final", "Swiatek withdraws from Madrid Open",
                  "Sinner climbs to world number one after Rotterdam title", "Davis Cup finals move to Malaga"],
        "search": ["wimbledon final result", "swiatek injury update", "atp rankings this week"],
        "social": ["What a match at Centre Court today", "Sinner's backhand is unreal"],
        "browse": ["Wimbledon 2024 draw and schedule", "How the ATP ranking points work"],
    },
    "interest rates": {
        "click": ["Federal Reserve holds rates steady for a third meeting", "ECB signals a June rate cut",
                  "Mortgage rates fall to a six-month low", "Bank of England split on the timing of cuts"],
        "search": ["fed meeting date", "mortgage rates forecast", "ecb deposit rate"],
        "social": ["Another rate pause, my mortgage renewal is next month", "Powell press conference thread"],
        "browse": ["Fixed versus variable mortgage calculator", "Inflation data release calendar"],
    },
    "climate": {
        "click": ["Record ocean temperatures alarm scientists", "EU agrees a 2040 emissions target",
                  "Heatwave sets new records across southern Europe",
                  "Coral bleaching spreads on the Great Barrier Reef"],
        "search": ["global temperature record 2024", "eu climate law 2040", "coral bleaching causes"],
        "social": ["Hottest June ever measured, again", "Sharing the new IPCC summary"],
        "browse": ["Copernicus monthly climate bulletin", "How carbon budgets are calculated"],
    },
    "ai chips": {
        "click": ["Nvidia unveils its next data-centre GPU", "TSMC raises capital spending on AI demand",
                  "AMD challenges Nvidia with a new accelerator", "Export rules tighten on advanced chips to China"],
        "search": ["nvidia blackwell release", "tsmc earnings", "chip export controls china"],
        "social": ["GPU prices are still wild", "The AI chip race explained in one thread"],
        "browse": ["Nvidia investor relations", "Semiconductor supply chain map"],
    },
    "football": {
        "click": ["Arsenal beat Chelsea to go top of the Premier League",
                  "Real Madrid reach the Champions League final", "Saka signs a new long-term contract",
                  "Transfer window: Liverpool bid for a midfielder"],
        "search": ["premier league table", "champions league final tickets", "arsenal transfer news"],
        "social": ["Great goal by Saka tonight", "That referee decision was a joke"],
        "browse": ["Arsenal vs Chelsea match report", "Premier League fixtures list"],
    },
    "elections": {
        "click": ["Polls tighten ahead of the general election", "Turnout hits a record in early voting",
                  "Debate night: five takeaways", "Coalition talks stall after a hung parliament"],
        "search": ["election polls latest", "how to register to vote", "debate schedule"],
        "social": ["Watching the debate live", "Exit poll thread starting now"],
        "browse": ["Election results by constituency", "Party manifestos compared"],
    },
    "space": {
        "click": ["SpaceX Starship completes its first orbital flight", "NASA delays the Artemis crewed landing",
                  "Japan lands a probe on the Moon", "Webb telescope spots the most distant galaxy yet"],
        "search": ["starship launch date", "artemis iii delay", "james webb new images"],
        "social": ["Watching the Starship launch stream", "Webb images never get old"],
        "browse": ["NASA Artemis programme overview", "Launch schedule this month"],
    },
    "health": {
        "click": ["New weight-loss drug shows heart benefits in a large trial", "Measles cases rise across Europe",
                  "WHO warns of antibiotic resistance", "Study links sleep to memory in older adults"],
        "search": ["semaglutide side effects", "measles vaccine schedule", "antibiotic resistance news"],
        "social": ["Got my booster today", "Interesting thread on GLP-1 drugs"],
        "browse": ["NHS vaccination schedule", "How clinical trials are run"],
    },
    "housing": {
        "click": ["House prices rise for a fourth month", "Rents hit a record high in London",
                  "Government unveils a plan to build more homes", "First-time buyers face tougher lending rules"],
        "search": ["house price index", "rent controls london", "first time buyer schemes"],
        "social": ["Our rent went up again", "Viewing flats all weekend"],
        "browse": ["Stamp duty calculator", "Local house price map"],
    },
    "electric cars": {
        "click": ["Tesla cuts prices again in China", "BYD overtakes Tesla in quarterly sales",
                  "EU imposes tariffs on Chinese electric cars", "Fast-charging network expands along motorways"],
        "search": ["byd seal review", "ev tariffs eu china", "tesla model 3 price"],
        "social": ["Picked up our new EV today", "Range anxiety is overrated"],
        "browse": ["EV charging map", "Electric car grants explained"],
    },
    "ukraine": {
        "click": ["Ukraine receives new air defence systems", "Peace talks proposal rejected",
                  "Grain corridor reopens in the Black Sea", "EU approves a new aid package for Kyiv"],
        "search": ["ukraine war latest", "black sea grain deal", "eu aid package ukraine"],
        "social": ["Thinking of everyone in Kharkiv tonight", "Map of the front line this week"],
        "browse": ["Ukraine war live updates", "Timeline of the conflict"],
    },
    "cooking": {
        "click": ["The best summer salad recipes", "Sourdough for beginners: a step-by-step guide",
                  "Chefs pick the restaurant of the year", "Why fermented food is having a moment"],
        "search": ["easy sourdough recipe", "summer salad ideas", "kimchi at home"],
        "social": ["My first sourdough loaf!", "Restaurant of the year was worth the wait"],
        "browse": ["Seasonal vegetables calendar", "Knife skills video guide"],
    },
}
DOMAINS = ("click", "search", "social", "browse")
DOMAIN_WEIGHTS = (0.5, 0.25, 0.15, 0.1)


def synthetic_histories(users: int, seed: int = 0) -> list[UserContext]:
    """``users`` deterministic synthetic users (for a seed): 1 to 3 topics each, 4 to 12 signals over the last three
    days, newest first, mixed across the four domains."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    out = []
    for u in range(users):
        topics = rng.sample(names, rng.randint(1, 3))
        signals = []
        for i in range(rng.randint(4, 12)):
            topic = TOPICS[rng.choice(topics)]
            domain = rng.choices(DOMAINS, DOMAIN_WEIGHTS)[0]
            kind = rng.choice(["LIKE", "SHARE", "POST"]) if domain == "social" else domain
            signals.append({"domain": domain, "kind": kind, "text": rng.choice(topic[domain]),
                            "ts": NOW_MS - rng.randint(0, 3 * DAY_MS), "item_id": f"u{u}-s{i}",
                            "platform": rng.choice(["twitter", "reddit"]) if domain == "social" else None})
        signals.sort(key=lambda s: s["ts"], reverse=True)
        out.append(UserContext(f"user-{u:04d}", signals))
    return out


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation (numpy's default); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def measure(generator: QueryGenerator, contexts: list[UserContext], batch_size: int, max_users: int,
            budget_s: float, raws: list[str] | None = None) -> dict:
    """Runs ``generator.generate`` on consecutive batches of ``batch_size`` users of ``contexts`` until
    ``max_users`` users are done or ``budget_s`` seconds have passed (at least one batch); each user's raw output is
    appended to ``raws`` when it is given."""
    latencies: list[float] = []
    batches, valid, queries, elapsed = 0, 0, 0, 0.0
    limit = min(max_users, len(contexts))
    while len(latencies) < limit and (batches == 0 or elapsed < budget_s):
        batch = contexts[len(latencies):len(latencies) + batch_size]
        started = time.perf_counter()
        results = generator.generate(batch)
        took = time.perf_counter() - started
        elapsed += took
        batches += 1
        latencies.extend([took] * len(batch))
        if raws is not None:
            raws.extend(r.raw for r in results)
        valid += sum(1 for r in results if r.queries)
        queries += sum(len(r.queries) for r in results)
    users = len(latencies)
    return {"batches": batches, "users": users, "seconds": round(elapsed, 3),
            "users_per_s": round(users / elapsed, 3) if elapsed > 0 else float("inf"),
            "latency_p50_s": round(percentile(latencies, 50), 4), "latency_p99_s": round(percentile(latencies, 99), 4),
            "valid_share": round(valid / users, 3) if users else 0.0,
            "mean_queries": round(queries / users, 2) if users else 0.0}


class _DecodeCounter:
    """Wraps ``generate`` of the model and of the generator's lean decoder (if any) to count decoded sequences and
    steps (for tokens/s); restores them on exit."""

    def __init__(self, generator):
        self.targets = [t for t in (generator.model, getattr(generator, "lean", None)) if t is not None]
        self.sequences = self.tokens = self.prompt_tokens = self.prompts = self.calls = 0

    def __enter__(self) -> _DecodeCounter:
        for target in self.targets:
            target.generate = self._counted(target.generate)
        return self

    def _counted(self, original):
        def counted(input_ids=None, attention_mask=None, **kwargs):
            out = original(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
            steps = out.shape[1] - input_ids.shape[1]
            self.calls += 1
            self.sequences += out.shape[0]
            self.tokens += out.shape[0] * steps
            self.prompts += input_ids.shape[0]  # n samples of a prompt share its prefill
            self.prompt_tokens += int(attention_mask.sum())
            return out

        return counted

    def __exit__(self, *exc) -> None:
        for target in self.targets:
            del target.generate  # the instance attribute goes; the class method shows again


def machine() -> dict:
    """What ran the benchmark: CPU model, cores, memory, torch threads and library versions."""
    import torch
    import transformers

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": cpu, "logical_cores": os.cpu_count(), "memory_gb": memory_gb,
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__, "transformers": transformers.__version__, "gpu": False}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m models.benchmarks.cpu_throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "cpu_throughput.json",
                        help="JSON file to write (default: %(default)s)")
    parser.add_argument("--dtype", nargs="+", choices=DTYPES, default=None,
                        help="weight dtypes to measure, each in turn (default: the configured INTERESTS_GEN_DTYPE)")
    parser.add_argument("--users", type=int, default=32, help="most users per setting (default 32)")
    parser.add_argument("--budget-s", type=float, default=40.0,
                        help="a setting stops starting new batches after this many seconds (default 40)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    parser.add_argument("--samples", type=int, nargs="+", default=list(SAMPLES), help="n: samples per user")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature for n > 1")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (0 = torch's default); 1 is far faster when other processes load the "
                             "cores (OpenMP threads then wait on each other)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", type=Path, nargs="+", default=None,
                        help="model folders, timed one after the other (default: the configured student)")
    parser.add_argument("--histories", type=Path, default=None,
                        help="a histories file (interests train export-histories) instead of the synthetic users")
    parser.add_argument("--stop-at-list", nargs="+", choices=("off", "on"), default=None,
                        help="end a row once it has written its list: off, on or both (default: the configured)")
    parser.add_argument("--real-words", nargs="+", choices=("off", "on"), default=None,
                        help="the real-words decoding rule (models/realwords.py); default: as the model is served")
    parser.add_argument("--trim-head", nargs="+", choices=("off", "on"), default=["off"],
                        help="a trimmed output vocabulary: off, on or both (default off; on needs --head-tokens)")
    parser.add_argument("--head-tokens", type=Path, default=None,
                        help="the KD cache (interests train kd-targets) whose lists' tokens the trimmed head keeps")
    parser.add_argument("--engine", nargs="+", choices=ENGINES, default=None,
                        help="greedy decoders, each in turn (default: the configured INTERESTS_GEN_ENGINE)")
    parser.add_argument("--attention", nargs="+", choices=IMPLEMENTATIONS, default=None,
                        help="attention implementations, each in turn (default: the configured INTERESTS_GEN_ATTENTION)")
    args = parser.parse_args(argv)
    if "on" in args.trim_head and args.head_tokens is None:
        parser.error("--trim-head on needs --head-tokens (a KD cache of interests train kd-targets)")
    return args


def file_histories(path: Path, users: int, seed: int) -> list[UserContext]:
    """``users`` histories drawn (seeded) from a histories file of ``interests train export-histories`` (gzipped JSON
    ``{"format": ..., "histories": {user: [signal, ...]}}``)."""
    import gzip
    import json

    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as handle:
        histories = json.load(handle)["histories"]
    chosen = random.Random(seed).sample(sorted(histories), min(users, len(histories)))
    return [UserContext(u, histories[u]) for u in chosen]


def run(args: argparse.Namespace, command: str) -> dict:
    """The whole benchmark; returns the JSON-ready report."""
    import torch

    from models.config import GeneratorConfig
    from models.generators.keyphrase import KeyphraseGenerator
    from models.generators.transformers_backend import TransformersGenerator
    from models.headtrim import list_texts, written_tokens
    from models.student import ensure_student

    load_start = os.getloadavg()
    configured = GeneratorConfig.from_env(retry_temperature=0.0, fallback="", torch_threads=args.threads)
    dtypes = args.dtype or [configured.dtype]
    attentions = args.attention or [configured.attention]
    stops = [s == "on" for s in args.stop_at_list] if args.stop_at_list else [configured.stop_at_list]
    engines = args.engine or [configured.engine]
    model_dirs = args.model_dir or [ensure_student(configured.model_dir)]
    need = max(args.users, max(args.batch_sizes)) + max(args.batch_sizes)
    contexts = (file_histories(args.histories, need, args.seed) if args.histories
                else synthetic_histories(need, args.seed))
    warmup, contexts = contexts[-max(args.batch_sizes):], contexts[:-max(args.batch_sizes)]
    rows, models = [], []
    for model_dir in model_dirs:
        for dtype, attention in [(d, a) for d in dtypes for a in attentions]:
            base_cfg = dataclasses.replace(configured, dtype=dtype, attention=attention)
            started = time.perf_counter()
            generator = TransformersGenerator(model_dir, base_cfg)
            load_s = time.perf_counter() - started
            layers = generator.model.config.num_hidden_layers
            parameters = sum(p.numel() for p in generator.model.parameters())
            models.append({"dir": portable(model_dir), "version": generator.version, "dtype": dtype,
                           "attention": attention,
                           "layers": layers, "parameters": parameters,
                           "prompt_contract": getattr(generator.cfg, "prompt_contract", "chat"),
                           "load_s": round(load_s, 2)})
            generator.generate(warmup[:2])  # untimed warm-up
            full_head = generator.model.get_output_embeddings()
            served_cfg = generator.cfg  # the configuration with the model's own prompt contract
            written = (written_tokens(generator.tokenizer, list_texts(args.head_tokens)) if args.head_tokens
                       else set())
            words = [s == "on" for s in args.real_words] if args.real_words else [served_cfg.real_words]
            settings = [(t == "on", s, w) for t in args.trim_head for s in stops for w in words]
            written_by: dict[tuple, tuple[str, list[str]]] = {}
            for (trimmed, stop, real), engine in [(setting, e) for setting in settings for e in engines]:
                generator.head_tokens = written if trimmed else None
                if not trimmed:
                    generator.model.set_output_embeddings(full_head)
                for n in args.samples:
                    for batch_size in args.batch_sizes:
                        generator.cfg = dataclasses.replace(served_cfg, batch_size=batch_size, stop_at_list=stop,
                                                            real_words=real, engine=engine)
                        generator.n, generator.temperature = n, args.temperature
                        torch.manual_seed(args.seed)
                        raws: list[str] = []
                        with _DecodeCounter(generator) as counter:
                            result = measure(generator, contexts, batch_size, args.users, args.budget_s, raws)
                        # the same setting under another engine: the share of its lists written exactly alike
                        twin = (trimmed, stop, real, n, batch_size)
                        first = written_by.setdefault(twin, (engine, raws))
                        if first[0] != engine:
                            pairs = list(zip(first[1], raws))
                            result["lists_equal_to"] = {first[0]: round(sum(a == b for a, b in pairs) / len(pairs), 3)
                                                        if pairs else None}
                        result.update({
                            "backend": "smollm2 (transformers, cpu)", "version": generator.version,
                            "layers": layers, "parameters": parameters, "dtype": dtype, "attention": attention,
                            "batch_size": batch_size,
                            "n": n, "stop_at_list": stop, "trim_head": trimmed, "real_words": real,
                            "no_repeat_ngram": generator.cfg.no_repeat_ngram, "engine": generator.engine,
                            "head_tokens": len(written) if trimmed else None,
                            "decoding": "greedy" if n == 1 else f"sampled T={args.temperature} top_p=0.95",
                            "generated_tokens_per_s": round(counter.tokens / result["seconds"], 1),
                            "mean_decode_steps": round(counter.tokens / max(counter.sequences, 1), 1),
                            "mean_prompt_tokens": round(counter.prompt_tokens / max(counter.prompts, 1), 1)})
                        rows.append(result)
                        print(_row(result), flush=True)
            generator.close()
            del generator
    keyphrase = KeyphraseGenerator(configured.num_queries)
    everyone = synthetic_histories(max(args.users, 256), args.seed)
    keyphrase.generate(everyone[:4])
    result = measure(keyphrase, everyone, 1, len(everyone), args.budget_s)  # one user a call: per-user latency
    result.update({"backend": "keyphrase", "dtype": "-", "batch_size": 1, "n": 1, "decoding": "-"})
    rows.append(result)
    print(_row(result), flush=True)
    # other processes on the machine share its cores: the load average says how much
    host = {**machine(), "load_average_1_5_15_min_at_start": [round(x, 2) for x in load_start],
            "load_average_1_5_15_min_at_end": [round(x, 2) for x in os.getloadavg()]}
    return {"benchmark": "cpu_throughput", "command": command, "machine": host,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "dtypes": dtypes, "attentions": attentions, "models": models,
            "settings": {"max_new_tokens": configured.max_new_tokens, "num_queries": configured.num_queries,
                         "histories": portable(args.histories) if args.histories else "synthetic",
                         "users_per_setting": args.users, "budget_s": args.budget_s, "seed": args.seed,
                         "retry": "off", "latency": "wall time of the generate() call holding the user"},
            "results": rows}


HEADER = (f"{'model':<36} {'dtype':<8} {'batch':>5} {'n':>2} {'users':>5} {'users/s':>8} {'p50 s':>7} {'p99 s':>7} "
          f"{'valid':>5} {'tok/s':>6}")


def _row(r: dict) -> str:
    name = (r.get("version", r["backend"]) + (" +stop" if r.get("stop_at_list") else "")
            + (" +trim" if r.get("trim_head") else "") + (" +words" if r.get("real_words") else "")
            + (f" {r['attention']}" if r.get("attention") else "") + (" lean" if r.get("engine") == "lean" else ""))
    return (f"{name:<36} {r.get('dtype', '-'):<8} {r['batch_size']:>5} {r['n']:>2} {r['users']:>5} {r['users_per_s']:>8.2f} "
            f"{r['latency_p50_s']:>7.3f} {r['latency_p99_s']:>7.3f} {r['valid_share']:>5.2f} "
            f"{r.get('generated_tokens_per_s', float('nan')):>6.1f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    command = "python -m models.benchmarks.cpu_throughput " + " ".join(argv)
    print(HEADER, flush=True)
    report = run(args, command)
    print()
    print_and_write(HEADER, report["results"], _row, report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
