"""Does the way the query channel searches and merges a list decide what the served queries add? The same query lists
(key phrases, value-chosen key phrases, the served generator's), searched in variants of the channel, on the test
users of two simulations (``--seeds``: the headline's seed 0 and the fusion-choosing seed 1) of each truth:

- ``hybrid``: as served, each query by its embedding and by its words (BM25), every list fused by equal-weight RRF;
- ``dense``: by embedding only; ``words xW``: the word lists at weight W against the embedding lists;
- ``order 1/(1+L i)``: query i of the list weighted 1/(1 + L i) (the list's first queries count more);
- ``joint xW``: the normalised mean of the queries' embeddings searched as one more list, at weight W;
- ``feedback xW``: the mean embedding of the hybrid list's top five articles searched as one more list, at weight W
  (pseudo-relevance feedback).

Queries are read back from the completion cache where the served model's are there (``INTERESTS_GEN_COMPLETION_CACHE``;
otherwise generated). The centroid's NDCG@10 is given on the same users. Prints a table and writes JSON:

    INTERESTS_GEN_COMPLETION_CACHE=$INTERESTS_CACHE/bench/completions.jsonl \\
        python scripts/query_channel_variants.py --out training/results/query-channel-variants/variants.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from common import ranking
from models.embeddings import MiniLMEmbedder
from models.retrieval import ArticleIndex, fuse
from training.benchmark import commit, machine, noise_filter_for, simulated
from training.channels import Channels
from training.evaluate import Benchmark, evaluate, make_baseline

K, PER_QUERY = 10, 20
GENERATORS = ("keyphrase", "keyphrase-value", "served")


def variant_lists(index: ArticleIndex, lexical, embedder, queries: list[str], exclude: set[str]
                  ) -> dict[str, list[str]]:
    """Variant name -> the channel's top ``K`` for one user's ``queries``."""
    vectors = np.asarray(embedder.embed(queries), dtype=np.float32)
    dense = index.search(vectors, PER_QUERY, exclude=exclude)
    words = lexical.search(list(queries), PER_QUERY, exclude=exclude)
    n = len(queries)

    def fused(dense_w, words_w, extra=()) -> list[str]:
        pairs = [(hits, w) for hits, w in zip(list(dense) + list(words), list(dense_w) + list(words_w)) if hits and w]
        pairs += list(extra)
        return fuse([h for h, _ in pairs], K, weights=[w for _, w in pairs]) if pairs else []

    out = {"hybrid": fused([1] * n, [1] * n), "dense": fused([1] * n, [0] * n)}
    for w in (0.5, 2.0):
        out[f"words x{w:g}"] = fused([1] * n, [w] * n)
    for lam in (0.25, 1.0):
        order = [1 / (1 + lam * i) for i in range(n)]
        out[f"order 1/(1+{lam:g} i)"] = fused(order, order)
    joint = vectors.mean(axis=0, keepdims=True)
    joint_hits = index.search(joint / np.linalg.norm(joint), PER_QUERY, exclude=exclude)[0]
    for w in (1.0, 5.0):
        out[f"joint x{w:g}"] = fused([1] * n, [1] * n, [(joint_hits, w)])
    top = out["hybrid"][:5]
    if top:
        centre = index.vectors(top).mean(axis=0, keepdims=True)
        back = index.search((centre / np.linalg.norm(centre)).astype(np.float32), PER_QUERY, exclude=exclude)[0]
        for w in (1.0, 3.0):
            out[f"feedback x{w:g}"] = fused([1] * n, [1] * n, [(back, w)])
    return out


def measure(truth: str, seed: int, users: int, eval_users: int, embedder) -> dict:
    sim = simulated(seed, users, truth, None)
    bench = Benchmark.load(sim, noise_filter=noise_filter_for(sim, embedder, seed)[0])
    test = bench.eval_users("test", limit=eval_users, seed=0)
    channels = Channels(bench, embedder)  # its article index and word index are the channel's own
    index, lexical = channels.index, channels.lexical
    centroid = float(np.mean([ranking.ndcg_at_k(channels.history_lists(u)[0], bench.targets[u], K) for u in test]))
    rows = {}
    for name in GENERATORS:
        generator = make_baseline(name)
        result = evaluate(bench, name, generator, embedder, test, seed=0)
        generator.close()
        sums: dict[str, float] = {}
        for r in result.per_user:
            if not r["queries"]:
                continue  # no list: 0 in every variant
            lists = variant_lists(index, lexical, embedder, r["queries"], bench.clicked.get(r["user_id"], set()))
            for variant, listed in lists.items():
                sums[variant] = sums.get(variant, 0.0) + ranking.ndcg_at_k(listed, bench.targets[r["user_id"]], K)
        rows[name] = {v: round(total / len(test), 4) for v, total in sums.items()}
    return {"truth": truth, "seed": seed, "simulation": sim.name, "users": len(test), "centroid": round(centroid, 4),
            "ndcg@10": rows}


def table(runs: list[dict]) -> str:
    variants = list(runs[0]["ndcg@10"]["served"])
    head = "| variant | " + " | ".join(f"{r['truth']} seed {r['seed']}: served / key phrases (x)" for r in runs) + " |"
    lines = [head, "|" + "---|" * (len(runs) + 1)]
    lines.append("| centroid | " + " | ".join(f"{r['centroid']:.3f}" for r in runs) + " |")
    for v in variants:
        cells = []
        for r in runs:
            served, kp = r["ndcg@10"]["served"][v], r["ndcg@10"]["keyphrase"][v]
            cells.append(f"{served:.3f} / {kp:.3f} ({served / kp:.2f}x)")
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--truths", default="lexical,embedding")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--eval-users", type=int, default=200)
    parser.add_argument("--out", default=None, help="write the result as JSON here (and a Markdown table beside it)")
    args = parser.parse_args()
    started, load = time.time(), os.getloadavg()
    embedder = MiniLMEmbedder()
    runs = [measure(t, int(s), args.users, args.eval_users, embedder)
            for t in args.truths.split(",") for s in args.seeds.split(",")]
    report = {"command": "python scripts/query_channel_variants.py " + " ".join(
                  f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
              "commit": commit(), "machine": machine(), "load_average": [load[0], os.getloadavg()[0]],
              "seconds": round(time.time() - started), "runs": runs}
    print(table(runs))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        out.with_suffix(".md").write_text(f"`{report['command']}` (commit {report['commit']})\n\n{table(runs)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
