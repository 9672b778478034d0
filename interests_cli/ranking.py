"""Ranking: ``interests rank USER...`` (a ranker's request: the users' features from the online store or the feature
server, the recall channels' candidates, the trained ranker's top k with the reason each came) and ``interests ranker
benchmark|train|retrain`` (the reference ranker trained on features read point-in-time from Feast's offline store,
with and without the query features, and its lift; retrained from a time range of the system's own logs)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from interests_cli.base import UsageError, command, group, log_range, log_range_options, query_search_option

_SEARCH_HELP = ("how the query channel gathers its candidates: hybrid (each query by its embedding and by its words, "
                "BM25, fused) or dense (by embedding only); the ranker is served the same way")


def _default_ranker() -> Path:
    from common.settings import cache_dir

    return cache_dir() / "ranker" / "lexical" / "ranker"


def _at_ms(value: str | None) -> int:
    if not value:
        return int(time.time() * 1000)
    from training.retrain import parse_time

    try:
        return parse_time(value)
    except ValueError as exc:
        raise UsageError(f"--at {value!r} is not a time (ISO date/time or epoch milliseconds): {exc}") from None


def cmd_rank(args) -> int:
    import os

    from models.ranker import NewsIndex, Ranker, RankerError

    ranker = Ranker.load(Path(args.ranker) if args.ranker else _default_ranker())
    catalogue = args.catalogue or os.environ.get("INTERESTS_CATALOGUE") or ranker.meta.get("catalogue")
    if not catalogue:
        raise UsageError("no news index: pass --catalogue DIR (a catalogue folder) or set INTERESTS_CATALOGUE")
    news = NewsIndex.from_folder(Path(catalogue), ranker.popularity, words=ranker.query_search == "hybrid")
    if args.server:
        from feature_repo.server import lookup

        rows = lookup(args.server, args.users)
    else:
        from feature_repo.config import FeatureStoreConfig
        from feature_repo.store import open_store, read_features

        rows = read_features(open_store(FeatureStoreConfig.from_env(), apply=True), args.users, arrays=True)
    try:
        ranked = ranker.rank_many(news, rows, _at_ms(args.at), k=args.k)
    except ValueError as exc:  # a vector of another dimension than the index
        raise RankerError(f"the users' features do not fit the news index {catalogue}: {exc}") from exc
    out = dict(zip(args.users, ranked))
    if args.json:
        print(json.dumps({u: [r.__dict__ for r in ranked] for u, ranked in out.items()}, indent=1))
        return 0
    for user, ranked in out.items():
        if not ranked:
            print(f"{user}: no features in the store (no activity yet, or deleted)")
            continue
        print(f"{user}:")
        for i, r in enumerate(ranked, start=1):
            print(f"  {i:2d}. {r.article_id:<12} {r.score:7.3f}  {r.reason()}")
    return 0


def cmd_benchmark(args) -> int:
    from training.ranker import markdown, run

    truths = tuple(t for t in args.truths.split(",") if t)
    report = run(seed=args.seed, users=args.users, eval_users=args.eval_users, train_users=args.train_users,
                 generator=args.generator, truths=truths, out_dir=Path(args.out) if args.out else None,
                 work=Path(args.work) if args.work else None, query_search=args.query_search)
    print(markdown(report))
    return 0


def cmd_train(args) -> int:
    from models.embeddings import MiniLMEmbedder
    from training.evaluate import Benchmark
    from training.ranker import measure

    data = Path(args.data)
    if not (data / "events.jsonl").exists():
        raise UsageError(f"--data {data} is not a benchmark folder (no events.jsonl)")
    embedder = MiniLMEmbedder()
    noise_filter = None
    if args.clean:
        from models.noise import NoiseFilter

        noise_filter = NoiseFilter.load(data / "noise.joblib", embedder=embedder)
    out = Path(args.out) if args.out else _default_ranker().parent
    report = measure(Benchmark.load(data, noise_filter=noise_filter), args.generator, embedder, out,
                     args.eval_users, args.train_users, args.seed, query_search=args.query_search)
    summary = {k: v for k, v in report.items() if k != "per_user"}
    (out / "report.json").write_text(json.dumps({"command": " ".join(sys.argv), **summary}, indent=1, default=float))
    lift = report["rows"]["lift (with - without queries)"]["all"]["ndcg@10"]
    print(f"ranker kept in {out / 'ranker'}; NDCG@10 with the query features "
          f"{report['rows']['ranker + queries']['all']['ndcg@10'][0]:.4f}, without "
          f"{report['rows']['ranker without queries']['all']['ndcg@10'][0]:.4f} (lift {lift[0]:+.4f} "
          f"[{lift[1]:+.4f}, {lift[2]:+.4f}]); report {out / 'report.json'}")
    return 0


def cmd_retrain(args) -> int:
    events, since, until = log_range(args)  # usage errors before anything loads
    from feature_repo.config import FeatureStoreConfig
    from training.ranker import retrain

    out = Path(args.out) if args.out else _default_ranker().parent
    report = retrain(events, Path(args.reference), FeatureStoreConfig.from_env(), since, until, out, args.seed,
                     query_search=args.query_search)
    summary = {k: v for k, v in report.items() if k != "per_user"}
    (out / "report.json").write_text(json.dumps({"command": " ".join(sys.argv), **summary}, indent=1, default=float))
    rows = report["rows"]
    print(f"ranker retrained on {report['train_users']} users of [{args.since}, {args.until}) with features at the cut, "
          f"measured on {report['test_users']} held out: NDCG@10 {rows['ranker + queries']['all']['ndcg@10'][0]:.4f} "
          f"(without the query features {rows['ranker without queries']['all']['ndcg@10'][0]:.4f}); kept in "
          f"{out / 'ranker'}")
    return 0


def _add_rank(sub) -> None:
    r = command(sub, "rank", cmd_rank, "rank news for users: their features, the recall candidates, the trained ranker")
    r.add_argument("users", nargs="+", metavar="USER")
    r.add_argument("--k", type=int, default=10, help="articles per user")
    r.add_argument("--ranker", default=None,
                   help="a trained ranker folder (default: the one `interests ranker benchmark` keeps for the "
                        "lexical truth)")
    r.add_argument("--catalogue", default=None,
                   help="the news index, a catalogue folder (default: INTERESTS_CATALOGUE, else the ranker's own)")
    r.add_argument("--server", default=None,
                   help="read the features through the Feast feature server at this URL (default: the online "
                        "store, INTERESTS_FEAST_*)")
    r.add_argument("--at", default=None, help="the request time for article ages (default: now)")
    r.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_ranker(sub) -> None:
    g = group(sub, "ranker", "the reference ranker: benchmark (both truths) or train on one benchmark folder")
    b = command(g, "benchmark", cmd_benchmark,
                "rankers with and without the query features, features read point-in-time from Feast's offline "
                "store; writes ranker.{json,md}")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--users", type=int, default=2000, help="simulated users (the benchmark's size)")
    b.add_argument("--eval-users", type=int, default=200, help="test users the rankers are measured on")
    b.add_argument("--train-users", type=int, default=200, help="training users the rankers learn from")
    b.add_argument("--generator", default="served", help="the query generator (served, keyphrase, ...)")
    b.add_argument("--truths", default="lexical,embedding", help="ground truths, as `interests benchmark`")
    b.add_argument("--out", default=None, help="results folder (default training/results)")
    b.add_argument("--work", default=None, help="offline stores and rankers (default: the cache's ranker/)")
    query_search_option(b, _SEARCH_HELP)
    t = command(g, "train", cmd_train, "train and measure the ranker on one benchmark folder; keeps it for `rank`")
    t.add_argument("--data", required=True, help="a benchmark folder (interests data simulate, the MIND loader)")
    t.add_argument("--generator", default="served")
    t.add_argument("--eval-users", type=int, default=200)
    t.add_argument("--train-users", type=int, default=200)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--clean", action="store_true", help="drop events the folder's noise classifier flags")
    t.add_argument("--out", default=None, help="where the offline store, the ranker and report.json go")
    query_search_option(t, _SEARCH_HELP)
    r = command(g, "retrain", cmd_retrain,
                "retrain the ranker on a time range of the system's own logs: events from Kafka (or a file), "
                "feature rows from Feast's offline store at the range's cut")
    log_range_options(r)
    r.add_argument("--reference", required=True,
                   help="a benchmark or catalogue folder whose catalogue and embeddings are the news index")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default=None, help="where the ranker and report.json go (default: the one `rank` serves)")
    query_search_option(r, _SEARCH_HELP)


def add(sub) -> None:
    _add_rank(sub)
    _add_ranker(sub)
