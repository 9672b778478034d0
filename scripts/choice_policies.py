"""How the served chooser picks five of a reader's candidates, against other ways of picking them, on training users
the shipped query-value model never saw.

For each truth (seed 0, 2,000 simulated users, as ``interests benchmark``): ``--users`` training users drawn (seed 7)
from those outside the chooser's training sample and outside the users the benchmark chooses its fusion on; the
served model's own queries and twenty key phrases as candidates, scored by the shipped model
(``models/artifacts/query-value``); each policy's five searched as the query channel searches them (hybrid, fused).
Policies: the served rule (the best five, none within MiniLM cosine 0.7 of a chosen one), other cosine limits, one
candidate per cluster of the history first (``rrN``: among the N best; ``models.recall.interest_centroids``, k <= 3),
and maximal marginal relevance (``mmrL``: rank-scaled score minus L times the best cosine to a chosen one). Prints
and writes mean NDCG@10, the paired difference to the served rule with a 95 % bootstrap interval, the coverage of
the user's true interests (cosine >= 0.5), intra-list diversity and the model's queries per list:

    python scripts/choice_policies.py --users 300 --out training/results/choice-policies.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from common import ranking
from models.embeddings import MiniLMEmbedder
from models.query_value import DOMAIN_WEIGHT, MAX_COSINE, Profile, QueryValueModel, choose, nested
from models.recall import interest_centroids
from training.benchmark import commit, machine, noise_filter_for, simulated
from training.evaluate import Benchmark
from training.hindsight import fused
from training.query_value import collect, served_model_queries

N = 5


def unit(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def clashes(pool: list[str], i: int, chosen: list[int]) -> bool:
    return any(nested(pool[i], pool[c]) for c in chosen)


def per_interest(pool, scores, vectors, history_vectors, weights, best: int, max_cosine: float = MAX_COSINE):
    """The best of each history cluster (heaviest first) among the ``best`` scored, then the rest by score."""
    centres, _ = interest_centroids(history_vectors, weights, k=3)
    q = unit(vectors)
    assign = (q @ centres.T).argmax(axis=1)
    order = sorted(range(len(pool)), key=lambda i: (-float(scores[i]), i))
    chosen: list[int] = []

    def fits(i):
        return i not in chosen and not clashes(pool, i, chosen) and (
            not chosen or float((q[chosen] @ q[i]).max()) <= max_cosine)

    for cluster in range(len(centres)):
        pick = next((i for i in order[:best] if assign[i] == cluster and fits(i)), None)
        if pick is not None and len(chosen) < N:
            chosen.append(pick)
    for i in order:
        if len(chosen) == N:
            break
        if fits(i):
            chosen.append(i)
    return chosen


def mmr(pool, scores, vectors, weight: float, max_cosine: float = MAX_COSINE):
    """Maximal marginal relevance on rank-scaled scores (1 best, 0 worst)."""
    q = unit(vectors)
    ranks = np.argsort(np.argsort(-np.asarray(scores)))
    relevance = 1 - ranks / max(len(pool) - 1, 1)
    chosen: list[int] = []
    while len(chosen) < min(N, len(pool)):
        best, pick = -np.inf, None
        for i in range(len(pool)):
            if i in chosen or clashes(pool, i, chosen):
                continue
            near = float((q[chosen] @ q[i]).max()) if chosen else 0.0
            if near > max_cosine:
                continue
            if relevance[i] - weight * near > best:
                best, pick = relevance[i] - weight * near, i
        if pick is None:
            break
        chosen.append(pick)
    return chosen


def policies() -> dict:
    out = {f"served (cosine {MAX_COSINE:g})": lambda u, s, hv, w: choose(u.pool, s, N, u.vectors)}
    for limit in (0.5, 0.6, 0.8, 1.01):
        out[f"cosine {limit:g}"] = lambda u, s, hv, w, limit=limit: choose(u.pool, s, N, u.vectors, limit)
    for best in (6, 8, 10, 20):
        out[f"rr{best}"] = lambda u, s, hv, w, best=best: per_interest(u.pool, s, u.vectors, hv, w, best)
    for weight in (0.2, 0.3, 0.5):
        out[f"mmr{weight:g}"] = lambda u, s, hv, w, weight=weight: mmr(u.pool, s, u.vectors, weight)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, default=300, help="training users per truth")
    p.add_argument("--out", default="choice-policies.json")
    args = p.parse_args(argv)
    embedder, model = MiniLMEmbedder(), QueryValueModel.load()
    report = {"command": f"python scripts/choice_policies.py --users {args.users}", "commit": commit(),
              "machine": machine(), "truths": {}}
    for truth in ("lexical", "embedding"):
        folder = simulated(0, 2000, truth)
        noise_filter, _ = noise_filter_for(folder, embedder, 0)
        bench = Benchmark.load(folder, noise_filter=noise_filter)
        seen = set(bench.eval_users("train", limit=800, seed=1)) | set(bench.eval_users("train", limit=200, seed=0))
        fresh = [u for u in bench.eval_users("train") if u not in seen]
        users = [fresh[i] for i in np.random.default_rng(7).choice(len(fresh), min(args.users, len(fresh)), False)]
        rows = collect(bench, users, embedder, served_model_queries(bench, users))
        cases = []
        for u in rows:
            history = bench.histories[u.user]
            hv = np.asarray(embedder.embed([s["text"] for s in history]), dtype=np.float32)
            profile = Profile.of(history, hv)
            weights = profile.recency * np.array([DOMAIN_WEIGHT.get(d, 0.5) for d in profile.domains])
            cases.append((u, model.scores(u.rows), hv, weights, bench.interest_centroids(u.user)))
        table, served = {}, None
        for name, policy in policies().items():
            ndcg, cover, ild, share = [], [], [], []
            for u, s, hv, w, centroids in cases:
                picks = policy(u, s, hv, w)
                ndcg.append(ranking.ndcg_at_k(fused(u.lists, picks), u.relevant, 10))
                if len(centroids):
                    cover.append(ranking.interest_coverage(u.vectors[picks], centroids, 0.5))
                if len(picks) > 1:
                    ild.append(ranking.intra_list_diversity(u.vectors[picks]))
                share.append(sum(u.from_model[i] for i in picks))
            ndcg = np.asarray(ndcg)
            served = ndcg if served is None else served
            diff = ranking.bootstrap_ci((ndcg - served).tolist(), seed=0)
            table[name] = {"ndcg@10": round(float(ndcg.mean()), 4), "diff": [round(x, 4) for x in diff],
                           "coverage": round(float(np.mean(cover)), 3), "ild": round(float(np.mean(ild)), 3),
                           "model_queries": round(float(np.mean(share)), 2)}
            print(f"{truth:9s} {name:18s} NDCG@10 {table[name]['ndcg@10']:.4f} diff {diff[0]:+.4f} "
                  f"[{diff[1]:+.4f}, {diff[2]:+.4f}] coverage {table[name]['coverage']:.3f} "
                  f"ILD {table[name]['ild']:.3f} model {table[name]['model_queries']:.2f}", flush=True)
        report["truths"][truth] = {"users": len(cases), "policies": table}
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
