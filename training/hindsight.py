"""Hindsight targets: for each training user, the query list that, in hindsight, retrieves the news they read next.

The teacher's own lists are few and worse than five key phrases at retrieval (``docs/results``), so distilling them
cannot beat the key phrases. A hindsight target is chosen with what a training user read next, which a served
generator never sees:

1. Candidates: the user's key phrases (``models.generators.keyphrase.key_phrases``, more than a list holds) and the
   teacher's validated queries for the user where a KD cache has them, each validated against the user's activity
   (grounded, no prompt text, no personal data), near-duplicates (one's words a subset of another's) dropped.
2. Each candidate is searched in the article index the way the query channel searches it when served
   (``--query-search``; the user's read articles excluded): by its MiniLM embedding and, with the hybrid search (the
   default, as served), by its words too (``models/lexical.py``), each search a list of its own.
3. :func:`select` builds the list greedily: the next query is the one that most raises NDCG@10 of the RRF-fused list
   (every search of every chosen query, as ``models.retrieval.retrieve`` fuses them) on the user's next clicks;
   among equal gains (often none: most candidates find nothing) the one whose embedding is closest on average to
   the next clicks'. The list is in that order, most useful first.

The rows use the KD cache's format (``training/kd.py``), so ``interests train distill --mode sft --targets`` trains
a model on them: the model learns which of a reader's words and themes predict what they read next, from training
users, and writes such lists for readers it has never seen. Test users are never touched.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from common import ranking
from models.retrieval import ArticleIndex, check_search, fuse

log = logging.getLogger(__name__)
VERSION = "hindsight@2"  # @1 searched by embedding only; @2 rows name their search ("hybrid" or "dense")
K = 10


def _words(query: str) -> frozenset[str]:
    return frozenset(query.lower().split())


def distinct(candidates: list[str]) -> list[str]:
    """``candidates`` in order without a query whose words are a subset or superset of an earlier one's."""
    kept: list[str] = []
    for query in candidates:
        words = _words(query)
        if words and not any(words <= _words(k) or _words(k) <= words for k in kept):
            kept.append(query)
    return kept


def fused(lists: list[list[list[tuple[str, float]]]], picks: list[int], k: int = K) -> list[str]:
    """The query channel's top ``k`` for the candidates ``picks``: the RRF fusion of every search result list of
    each (``lists[i]``: one list per search)."""
    return fuse([hits for i in picks for hits in lists[i] if hits], k)


def select(lists: list[list[list[tuple[str, float]]]], closeness: np.ndarray, relevant,
           size: int = 5, k: int = K) -> list[int]:
    """Indices of the chosen candidates, in order: greedily the candidate whose search results (``lists[i]``: one
    list per search, each best first) most raise NDCG@``k`` of the RRF fusion of every chosen candidate's lists on
    ``relevant``, ties (a gain within 1e-9) to the higher ``closeness[i]``, then to the earlier candidate. At most
    ``size``, fewer when there are fewer."""
    if len(lists) != len(closeness):
        raise ValueError(f"{len(lists)} candidates' results but {len(closeness)} closeness scores")
    chosen: list[int] = []
    current = 0.0
    while len(chosen) < min(size, len(lists)):
        best, best_key = None, None
        for i in range(len(lists)):
            if i in chosen:
                continue
            gain = ranking.ndcg_at_k(fused(lists, [*chosen, i], k), relevant, k) - current
            key = (round(gain, 9), float(closeness[i]), -i)
            if best_key is None or key > best_key:
                best, best_key = i, key
        chosen.append(best)
        current += best_key[0]
    return chosen


def candidates_for(history: list[dict], extra: list[str] = (), n_phrases: int = 20) -> list[str]:
    """A user's candidate queries: ``extra`` (the teacher's) first, then up to ``n_phrases`` key phrases, each
    validated against the user's activity and near-duplicates dropped."""
    from models.generators.keyphrase import key_phrases
    from models.parsing import validate

    texts = [s["text"] for s in history]
    pool = validate([*extra, *key_phrases(history, n_phrases)], texts)
    return distinct(pool)


def build(bench, users: list[str], embedder, out: Path, teacher: dict[str, list[str]] | None = None,
          size: int = 5, n_phrases: int = 20, progress: bool = True, search: str = "hybrid") -> dict:
    """Append the hindsight targets of ``users`` of ``bench`` (a :class:`training.evaluate.Benchmark`, training
    users only) to ``out`` in the KD cache's format, each candidate searched with ``search`` (``hybrid``: its
    embedding and its words; ``dense``: its embedding); returns counts and the mean NDCG@10 of the targets against
    that of the first ``size`` key phrases, on the same users and with the same search."""
    check_search(search)
    from tqdm import tqdm

    from training.kd import load_targets, target_text

    name = Path(bench.root).name
    have = load_targets(out)
    index = ArticleIndex(bench.catalogue["article_id"].tolist(), bench.embeddings)
    lexical = bench.lexical_index() if search == "hybrid" else None
    position = {a: i for i, a in enumerate(bench.catalogue["article_id"].tolist())}
    stats = {"benchmark": name, "search": search, "users": len(users), "made": 0, "with_target": 0,
             "target_ndcg": [], "keyphrase_ndcg": []}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as handle:
        for user in tqdm(users, desc=f"hindsight {name}", unit="user", disable=not progress):
            if (name, user) in have:
                continue
            if bench.users.get(user, {}).get("split", "test") != "train":
                raise ValueError(f"{user} is not a training user: hindsight targets read the next clicks")
            history, relevant = bench.histories[user], bench.targets[user]
            pool = candidates_for(history, (teacher or {}).get(user, []), n_phrases)
            chosen: list[str] = []
            if pool:
                vectors = np.asarray(embedder.embed(pool), dtype=np.float32)
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                exclude = bench.clicked.get(user, set())
                lists = [[hits] for hits in index.search(vectors, 2 * K, exclude=exclude)]
                if lexical is not None:
                    for own, hits in zip(lists, lexical.search(pool, 2 * K, exclude=exclude)):
                        own.append(hits)
                targets = bench.embeddings[[position[a] for a in relevant if a in position]]
                closeness = (vectors @ targets.T).mean(axis=1) if len(targets) else np.zeros(len(pool))
                picks = select(lists, closeness, relevant, size)
                chosen = [pool[i] for i in picks]
                stats["target_ndcg"].append(ranking.ndcg_at_k(fused(lists, picks), relevant, K))
                phrases = [i for i, q in enumerate(pool) if q not in (teacher or {}).get(user, [])][:size]
                stats["keyphrase_ndcg"].append(
                    ranking.ndcg_at_k(fused(lists, phrases), relevant, K) if phrases else 0.0)
            handle.write(json.dumps({"benchmark": name, "user": user, "queries": chosen, "text": target_text(chosen),
                                     "teacher": VERSION, "search": search}, ensure_ascii=False) + "\n")
            stats["made"] += 1
            stats["with_target"] += bool(chosen)
    for key in ("target_ndcg", "keyphrase_ndcg"):
        stats[key] = round(float(np.mean(stats[key])), 4) if stats[key] else None
    return stats
