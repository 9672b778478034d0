"""Latency of what a ranker does per request, on this machine: one Feast online lookup (the feature service) and a
whole ranking request (lookup, the recall channels' candidates, features, LightGBM scores, top 10; the users of a
request searched and scored together), for 1 and for 100 users, on the SQLite store and on a real redis-server
(started here on a free port, no persistence).

    python -m training.ranking_latency [--users 1000] [--repeats 300] [--ranker DIR] [--query-search hybrid|dense]
        [--lookups-only] [--out FILE.json]

The store holds ``--users`` users with feature rows of the production shape (5 queries of three words drawn from the
catalogue's titles, so that the word search has real words to look up; 384-dimensional embeddings; interest
vector). ``--query-search`` overrides how the ranker gathers the query channel's candidates (the cost of the word
search). The ranker is a trained one (``interests ranker benchmark`` keeps it) with its catalogue as the news
index; ``--lookups-only`` measures the lookups alone, with no ranker (query texts are placeholders then). Each
measurement is repeated; p50 and p99 are printed and written to JSON with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from feature_repo.config import FeatureStoreConfig
from feature_repo.store import open_store, push_rows, read_features
from models.ranker import NewsIndex, Ranker, RankerError
from models.retrieval import QUERY_SEARCHES, check_search
from streams.demo import local_redis


def rows(n: int, dim: int = 384, queries: int = 5, seed: int = 0, words: list[str] | None = None) -> list[dict]:
    """``n`` feature rows; each query is three of ``words`` (seeded) or, without words, a placeholder text."""
    rng = np.random.default_rng(seed)
    now = int(time.time() * 1000)

    def unit(*shape):
        x = rng.normal(size=(*shape, dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    def text(i: int, j: int) -> str:
        return " ".join(rng.choice(words, size=3)) if words else f"query {j} of user {i}"

    return [{"user_id": f"u{i:06d}", "request_id": "bench", "queries": [text(i, j) for j in range(queries)],
             "query_embeddings": unit(queries).tolist(), "interest_vector": unit(1)[0].tolist(),
             "model_version": "bench@1", "generated_at": now, "last_event_at": now, "freshness_ms": 0}
            for i in range(n)]


def percentiles(times_s: list[float]) -> dict:
    ms = np.asarray(times_s) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "mean_ms": round(float(ms.mean()), 3), "n": len(ms)}


def measure(store, ranker: Ranker | None, news: NewsIndex | None, users: list[str], batch: int, repeats: int,
            seed: int = 0, at_ms: int | None = None) -> dict:
    """p50/p99 of a lookup (``lookup``: lists of Python floats, as ``interests features get`` and Feast's own read
    return them; ``lookup_arrays``: the embeddings as numpy arrays, as a ranker reads them) and of a whole ranking
    request for ``batch`` users drawn at random per repeat (the lookups alone without a ``ranker``)."""
    rng = np.random.default_rng(seed)
    at_ms = at_ms or int(time.time() * 1000)
    read_features(store, users[:batch])  # warm the registry cache and the connection
    lookup, arrays, request = [], [], []
    for _ in range(repeats):
        pick = [users[i] for i in rng.choice(len(users), size=batch, replace=False)]
        t0 = time.perf_counter()
        read_features(store, pick)
        lookup.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        read_features(store, pick, arrays=True)
        arrays.append(time.perf_counter() - t0)
        if ranker is None:
            continue
        t0 = time.perf_counter()
        ranker.rank_many(news, read_features(store, pick, arrays=True), at_ms, k=10)
        request.append(time.perf_counter() - t0)
    out = {"lookup": percentiles(lookup), "lookup_arrays": percentiles(arrays)}
    if ranker is not None:
        out["ranking_request"] = percentiles(request)
    return out


def title_words(folder: Path) -> list[str]:
    """The content words of a catalogue's titles, sorted (none without a title column)."""
    import pandas as pd
    import pyarrow.parquet as pq

    from models.text import content_words

    if "title" not in pq.read_schema(folder / "catalogue.parquet").names:
        return []
    titles = pd.read_parquet(folder / "catalogue.parquet", columns=["title"])["title"].astype(str)
    return sorted(set().union(*(content_words(t) for t in titles)))


def run(n_users: int, repeats: int, ranker: Ranker | None, catalogue: Path | None = None,
        query_search: str | None = None) -> tuple[dict, str | None]:
    """Per store the latencies of :func:`measure` for 1 and 100 users, and the query search the ranker ran with
    (lookups alone and None without a ``ranker``)."""
    news = None
    if ranker is not None:
        if query_search:
            ranker.query_search = check_search(query_search)
        folder = Path(catalogue or ranker.meta["catalogue"])
        news = NewsIndex.from_folder(folder, ranker.popularity, words=ranker.query_search == "hybrid")
        data = rows(n_users, dim=news.index.dim, words=title_words(folder))
    else:
        data = rows(n_users)
    users = [r["user_id"] for r in data]
    out = {}
    with ExitStack() as stack:
        try:
            redis_addr = stack.enter_context(local_redis(Path(tempfile.mkdtemp(prefix="bench-redis-"))))
        except FileNotFoundError:
            redis_addr = None
        stores = {"sqlite": FeatureStoreConfig(data_dir=Path(tempfile.mkdtemp(prefix="bench-feast-")))}
        if redis_addr:
            stores["redis"] = FeatureStoreConfig(data_dir=Path(tempfile.mkdtemp(prefix="bench-feast-")),
                                                 online_store="redis", redis_connection=redis_addr)
        for name, cfg in stores.items():
            store = open_store(cfg, apply=True)
            for start in range(0, len(data), 500):
                push_rows(store, data[start:start + 500])
            out[name] = {f"{batch}_users": measure(store, ranker, news, users, batch,
                                                   repeats if batch == 1 else max(repeats // 5, 20))
                         for batch in (1, 100)}
            shutil.rmtree(cfg.data_dir, ignore_errors=True)
        if not redis_addr:
            out["redis"] = "not measured: redis-server is not installed"
    return out, ranker.query_search if ranker is not None else None


def main(argv: list[str] | None = None) -> int:
    from common.settings import cache_dir
    from training.benchmark import commit, machine

    p = argparse.ArgumentParser(prog="python -m training.ranking_latency", description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, default=1000, help="users in the store")
    p.add_argument("--repeats", type=int, default=300, help="repeats for 1 user (a fifth of them for 100 users)")
    p.add_argument("--ranker", default=str(cache_dir() / "ranker" / "lexical" / "ranker"))
    p.add_argument("--catalogue", default=None, help="the news index (default: the ranker's catalogue)")
    p.add_argument("--query-search", default=None, choices=QUERY_SEARCHES,
                   help="gather the query channel's candidates this way instead of the ranker's own")
    p.add_argument("--lookups-only", action="store_true",
                   help="measure the Feast lookups alone (no ranker needed; query texts are placeholders)")
    p.add_argument("--out", default="ranking-latency.json")
    args = p.parse_args(argv)
    load = os.getloadavg()
    started = time.time()
    if args.lookups_only and (args.query_search or args.catalogue):
        p.error("--lookups-only measures no ranker: --query-search and --catalogue do not apply")
    ranker = None
    if not args.lookups_only:
        try:
            ranker = Ranker.load(Path(args.ranker))
        except RankerError as exc:
            p.error(f"{exc}; name another with --ranker, or measure the lookups alone with --lookups-only")
    result, query_search = run(args.users, args.repeats, ranker, Path(args.catalogue) if args.catalogue else None,
                               args.query_search)
    report = {"command": f"python -m training.ranking_latency --users {args.users} --repeats {args.repeats}"
                         + (f" --query-search {args.query_search}" if args.query_search else "")
                         + (" --lookups-only" if args.lookups_only else ""),
              "query_search": query_search,
              "commit": commit(), "machine": machine(),
              "load_average": {"start": [round(x, 2) for x in load], "end": [round(x, 2) for x in os.getloadavg()]},
              "seconds": round(time.time() - started, 1), "stores": result}
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    for store, batches in result.items():
        if isinstance(batches, str):
            print(f"{store}: {batches}")
            continue
        for batch, m in batches.items():
            line = (f"{store:6s} {batch:9s} lookup p50 {m['lookup']['p50_ms']:7.2f} ms"
                    f" p99 {m['lookup']['p99_ms']:7.2f} ms | as arrays p50 {m['lookup_arrays']['p50_ms']:7.2f} ms"
                    f" p99 {m['lookup_arrays']['p99_ms']:7.2f} ms")
            if "ranking_request" in m:
                line += (f" | ranking request p50 {m['ranking_request']['p50_ms']:8.2f} ms"
                         f" p99 {m['ranking_request']['p99_ms']:8.2f} ms")
            print(line)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
