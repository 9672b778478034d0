"""What each query of the served lists is worth, from a benchmark report (``interests benchmark``'s JSON).

For every truth of the report and every test user of its ``served`` generator: each query searched alone (top 10,
the user's clicked articles excluded), its NDCG@10 and hits against the user's next clicks, by kind (the model's
query made of the user's own words, the model's query with 1 or 2+ content words the user never wrote, a key-phrase
fill); then the served lists re-fused under other weights of their queries (by position, a lower fill weight, no
fill). Reads the simulated benchmark folders from the cache, as the benchmark does (seed 0, 2,000 users):

    python scripts/served_query_value.py training/results/benchmark.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np

from common import ranking
from models.embeddings import MiniLMEmbedder
from models.parsing import fold, own_words
from models.retrieval import ArticleIndex, fuse
from models.text import content_words
from models.vocabulary import word_forms
from training.benchmark import noise_filter_for, simulated
from training.evaluate import Benchmark


def kind_of(query: str, own: set[str], filled: bool) -> str:
    if filled:
        return "key-phrase fill"
    foreign = [w for w in content_words(fold(query)) if not word_forms(w) & own]
    if not foreign:
        return "model, own words"
    return "model, 1 foreign word" if len(foreign) == 1 else "model, 2+ foreign words"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="a benchmark.json with a served generator")
    parser.add_argument("--users", type=int, default=2000, help="the benchmark's simulated users")
    args = parser.parse_args()
    report = json.loads(open(args.report).read())
    seed = int(report["meta"]["seed"])
    embedder = MiniLMEmbedder()
    for truth in report["truths"]:
        sim = simulated(seed, args.users, truth["truth"])
        noise_filter, _ = noise_filter_for(sim, embedder, seed)
        bench = Benchmark.load(sim, noise_filter=noise_filter)
        index = ArticleIndex(bench.catalogue["article_id"].tolist(), bench.embeddings)
        served = next(g for g in truth["generators"] if g["generator"] == "served")
        per_query, fused = defaultdict(list), defaultdict(list)
        for row in served["per_user"]:
            queries, filled = row["queries"] or [], row.get("filled", 0)
            if not queries:
                continue
            user, relevant = row["user_id"], bench.targets[row["user_id"]]
            own, _ = own_words([s["text"] for s in bench.histories[user]])
            lists = index.search(embedder.embed(queries), 20, exclude=bench.clicked.get(user, set()))
            for i, (query, results) in enumerate(zip(queries, lists)):
                top = [a for a, _ in results[:10]]
                kind = kind_of(query, own, i >= len(queries) - filled)
                per_query[kind].append((ranking.ndcg_at_k(top, relevant, 10), len(set(top) & set(relevant))))
            n, model = len(queries), len(queries) - filled
            for name, weights in {"equal RRF (as served)": [1.0] * n,
                                  "by position, 1/sqrt(i)": [(i + 1) ** -0.5 for i in range(n)],
                                  "fill weight 0.5": [1.0] * model + [0.5] * filled,
                                  "fill weight 0.25": [1.0] * model + [0.25] * filled,
                                  "no fill": ([1.0] * model + [0.0] * filled) if model else [1.0] * n}.items():
                fused[name].append(ranking.ndcg_at_k(fuse(lists, 10, weights=weights), relevant, 10))
        print(f"## {truth['truth']} truth ({served['version']})\n")
        print("| query kind | queries | NDCG@10 of the query alone | hits in its top 10 |\n|---|---|---|---|")
        for kind, values in sorted(per_query.items()):
            a = np.asarray(values)
            print(f"| {kind} | {len(a)} | {a[:, 0].mean():.4f} | {a[:, 1].mean():.3f} |")
        print("\n| the served lists fused by | NDCG@10 |\n|---|---|")
        for name, values in fused.items():
            print(f"| {name} | {np.mean(values):.4f} |")
        print()


if __name__ == "__main__":
    main()
