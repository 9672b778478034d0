"""The rewards of a query list, one meaning per name, shared by serving's best-of-N (:mod:`models.bestofn`) and
training (:mod:`training.rewards`, which adds the rewards that need held-out clicks). Each is a plain function
``reward(queries, context) -> float`` in [0, 1] on the queries serving would write:

- :func:`structure` (R_struct): 1.0 when the list is a valid parse (at least one query, every query passes the
  output validator on its own, no duplicates), else 0.0;
- :func:`diversity` (R_div): intra-list diversity of the query embeddings
  (:func:`common.ranking.intra_list_diversity`, mean pairwise cosine distance), capped at 1.0; 0.0 for fewer than
  two queries;
- :func:`alignment` (R_align): mean over queries of the mean cosine between the query and its top-``k`` (10)
  articles in a :class:`models.retrieval.ArticleIndex`, clipped to [0, 1]; without an index it raises
  :class:`RewardSkipped` and the score leaves it out;
- :func:`grounding`: the share of queries sharing a content word with the user's history
  (:func:`models.parsing.grounded`).

:func:`score` is the weighted sum of the rewards that apply (weights default to 1, as in the paper); :func:`choose`
the argmax (ties: the first candidate).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from common.ranking import intra_list_diversity
from models.embeddings import Embedder
from models.generators.base import UserContext
from models.parsing import InvalidOutput, grounded, parse_queries

ALIGNMENT_TOP_K = 10


class RewardSkipped(Exception):
    """A reward that cannot be computed for this context (e.g. alignment without an article index)."""


@dataclass
class RewardContext:
    """What the rewards may look at for one user: the history texts, the query embedder, the article index (or
    None), a cache of query embeddings (text -> unit vector) that may be shared across users of a batch, and the
    word index (or None) with which the query channel also searches by words when it is served hybrid."""

    history: list[str]
    embedder: Embedder
    index: object | None = None  # a models.retrieval.ArticleIndex (typed loosely: faiss loads only when used)
    top_k: int = ALIGNMENT_TOP_K
    cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    lexical: object | None = None  # a models.lexical.LexicalIndex: the queries also search by words (hybrid)

    @classmethod
    def for_user(cls, context: UserContext, embedder: Embedder, index: object | None = None,
                 top_k: int = ALIGNMENT_TOP_K, cache: dict[str, np.ndarray] | None = None) -> RewardContext:
        return cls([s["text"] for s in context.history], embedder, index, top_k, {} if cache is None else cache)

    def prefetch(self, texts: list[str]) -> None:
        """Embed the texts not cached yet, in one embedder call."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing)):
                self.cache[text] = np.asarray(vector, dtype=np.float32)

    def vectors(self, queries: list[str]) -> np.ndarray:
        """Embeddings of ``queries``, shape ``(len(queries), dim)``."""
        self.prefetch(queries)
        if not queries:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([self.cache[q] for q in queries])


Reward = Callable[[list[str], RewardContext], float]


def structure(queries: list[str], context: RewardContext) -> float:
    """1.0 when the list holds at least one query, each query is valid on its own (length, words, no echo, no
    personal data: :func:`models.parsing.parse_queries`) and no query repeats (case-insensitive); else 0.0."""
    if not queries or len({q.lower() for q in queries}) != len(queries):
        return 0.0
    for query in queries:
        try:
            parse_queries(query, 1)
        except InvalidOutput:
            return 0.0
    return 1.0


def diversity(queries: list[str], context: RewardContext) -> float:
    """Intra-list diversity (mean pairwise cosine distance) of the query embeddings, capped at 1.0 (the distance
    can reach 2 for opposite directions); 0.0 for fewer than two queries."""
    if len(queries) < 2:
        return 0.0
    vectors = context.vectors(queries)
    if np.any(np.linalg.norm(vectors, axis=1) == 0):
        return 0.0  # a query with no embedding (no word) has no direction
    return float(min(1.0, max(0.0, intra_list_diversity(vectors))))


def alignment(queries: list[str], context: RewardContext) -> float:
    """Mean over queries of the mean cosine between the query and its top-``context.top_k`` articles in
    ``context.index``, clipped to [0, 1]. Raises :class:`RewardSkipped` without an index; 0.0 for no queries."""
    if context.index is None:
        raise RewardSkipped("alignment needs an article index")
    if not queries:
        return 0.0
    vectors = context.vectors(queries)
    per_query = []
    for row in vectors:
        if not np.any(row):
            per_query.append(0.0)
            continue
        [hits] = context.index.search(row[None, :], context.top_k)
        per_query.append(float(np.mean([cosine for _, cosine in hits])) if hits else 0.0)
    return float(min(1.0, max(0.0, float(np.mean(per_query)))))


def grounding(queries: list[str], context: RewardContext) -> float:
    """Share of the queries that share a content word with the user's history; 0.0 for no queries."""
    if not queries:
        return 0.0
    return len(grounded(queries, context.history)) / len(queries)


REWARDS: dict[str, Reward] = {"structure": structure, "diversity": diversity, "alignment": alignment,
                              "grounding": grounding}
DEFAULT_WEIGHTS: dict[str, float] = {name: 1.0 for name in REWARDS}


def score(queries: list[str], context: RewardContext, weights: Mapping[str, float] | None = None,
          rewards: Mapping[str, Reward] | None = None) -> tuple[float, dict[str, float]]:
    """``(total, per_reward)``: the weighted sum of the rewards that apply and each one's value. A reward with
    weight 0 is not computed; one that raises :class:`RewardSkipped` is left out of both. Unknown weight names
    raise ``ValueError``."""
    rewards = REWARDS if rewards is None else rewards
    weights = DEFAULT_WEIGHTS if weights is None else weights
    unknown = set(weights) - set(rewards)
    if unknown:
        raise ValueError(f"weights for unknown rewards {sorted(unknown)}; rewards: {sorted(rewards)}")
    values: dict[str, float] = {}
    total = 0.0
    for name, reward in rewards.items():
        weight = weights.get(name, 0.0)
        if weight == 0:
            continue
        try:
            value = float(reward(queries, context))
        except RewardSkipped:
            continue
        values[name] = value
        total += weight * value
    return total, values


def choose(candidates: list[list[str]], context: RewardContext, weights: Mapping[str, float] | None = None,
           rewards: Mapping[str, Reward] | None = None,
           eligible: Callable[[list[str]], bool] | None = None) -> tuple[int, list[float]]:
    """``(best, totals)``: every candidate's total score and the index of the highest (ties: the first). With
    ``eligible``, only candidates it accepts can win (``best`` is -1 when none is). Raises ``ValueError`` for no
    candidates."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    totals = [score(c, context, weights, rewards)[0] for c in candidates]
    allowed = [i for i, c in enumerate(candidates) if eligible is None or eligible(c)]
    if not allowed:
        return -1, totals
    return max(allowed, key=lambda i: (totals[i], -i)), totals
