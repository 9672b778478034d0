"""The training rewards (the paper's, arXiv 2602.15005), each a plain function

    reward(prompts, completions, contexts) -> list[float]     (one score in [0, 1] per completion)

with ``contexts[i]`` the :class:`TrainingUser` of completion ``i``'s user. :data:`REWARDS` names them; the weights live
in the config (``training.config.GRPOConfig.rewards``) and :func:`composite` is their weighted mean.

A completion is parsed as serving parses it (``models.parsing.parse_queries``), and the content rewards score the
queries serving would **write** (the grounded ones, ``models.parsing.grounded``), so the model is rewarded for
what reaches the feature store:

- ``format`` (binary): the output is exactly ``num_queries`` distinct valid queries, one per line, and nothing else
  (stricter than serving's ``structure`` of :mod:`models.rewards`, which scores a parsed list);
- ``count``: the share of the asked-for ``num_queries`` that serving would write: distinct queries grounded in the
  user's activity, not copied from the prompt, made of real words (``models.parsing.grounded``), so a copied worked
  example or an invented word costs reward where ``format`` alone cannot see it;
- ``alignment`` (R_align) and ``diversity`` (R_div): serving's rewards of :mod:`models.rewards`, on the served
  queries;
- ``coverage`` (R_cov): share of the user's distinct interests, the clusters of their history's embeddings, that
  some query covers (cosine >= ``coverage_threshold``) -- the measurable default; ``training/judge.py`` offers the
  paper's LLM-judge variant where a larger model is available (``RewardEnv(..., coverage_judge=MODEL)``);
- ``specificity`` (R_spec): content-rich queries: the mean corpus IDF of their words (normalised) and their
  distance from generic news queries;
- ``relevance``: NDCG@10 of retrieving the user's held-out next clicks (training users only), searched the way
  the query channel is served (``RewardEnv(query_search=...)``: by embedding and by words, or by embedding only);
- ``closeness``: the dense form of ``relevance``: per held-out click, the best cosine of any query to it, averaged;
- ``engagement``: mean predicted click probability of the retrieved top 10 under the click model
  (``training/click_model.py``) fitted on training users' logged impressions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from common import ranking
from models.rewards import RewardContext, alignment, diversity
from models.parsing import InvalidOutput, candidate_lines, grounded, normalise, parse_queries, query_problem
from models.retrieval import retrieve
from streams import drift

GENERIC_QUERIES = ("news", "latest news", "breaking news", "news today", "top stories", "world news", "headlines",
                   "trending now", "current events", "what happened today", "local news", "news update")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class TrainingUser:
    """What the rewards may see of one training user."""

    user_id: str
    history: list[str]  # signal texts, newest first
    rc: RewardContext  # embedder, article index and the batch's shared query-embedding cache
    scorers: "Scorers"  # the run's corpus-level helpers (IDF, generic queries, click model)
    interests: np.ndarray  # [k, dim] unit centroids of the clusters of the history (R_cov)
    profile: np.ndarray  # [dim] unit interest profile (the click model's user side)
    targets: list[str] = field(default_factory=list)  # held-out next clicks (training users only)
    exclude: set[str] = field(default_factory=set)  # articles already read
    num_queries: int = 5
    _served: dict = field(default_factory=dict, repr=False)
    _ranked: dict = field(default_factory=dict, repr=False)

    def served(self, completion: str) -> list[str]:
        """The queries serving would write for ``completion``: parsed, then grounded in the history."""
        if completion not in self._served:
            try:
                parsed = parse_queries(completion, self.num_queries)
            except InvalidOutput:
                parsed = []
            self._served[completion] = grounded(parsed, self.history) if parsed else []
        return self._served[completion]

    def ranked(self, queries: list[str], k: int = 10) -> list[str]:
        key = tuple(queries)
        if key not in self._ranked:
            self._ranked[key] = retrieve(self.rc.index, self.rc.vectors(queries), k=k, exclude=self.exclude,
                                         lexical=self.rc.lexical, texts=queries)
        return self._ranked[key]


class Scorers:
    """Corpus-level helpers shared by all users: IDF of the article corpus, generic-query embeddings, the click
    model. Built once per run (:class:`training.env.RewardEnv`)."""

    def __init__(self, idf: Mapping[str, float], generic_vectors: np.ndarray, click_model=None,
                 coverage_threshold: float = 0.5):
        self.idf = dict(idf)
        self.max_idf = max(self.idf.values()) if self.idf else 1.0
        self.generic = np.asarray(generic_vectors, dtype=np.float32)
        self.click_model = click_model
        self.coverage_threshold = coverage_threshold


Reward = Callable[[list[str], list[str], list[TrainingUser]], list[float]]


def _per_query(fn) -> Reward:
    """Lift ``fn(queries, context) -> float`` (on the served queries) to the batch signature."""
    def reward(prompts: list[str], completions: list[str], contexts: list[TrainingUser]) -> list[float]:
        out = []
        for completion, context in zip(completions, contexts):
            queries = context.served(completion)
            out.append(float(np.clip(fn(queries, context), 0.0, 1.0)) if queries else 0.0)
        return out

    reward.__name__ = fn.__name__
    reward.__doc__ = fn.__doc__
    return reward


def format_reward(prompts: list[str], completions: list[str], contexts: list[TrainingUser]) -> list[float]:
    """1.0 when the completion is exactly ``num_queries`` distinct valid queries and no other line, else 0.0."""
    out = []
    for completion, context in zip(completions, contexts):
        lines = [normalise(p) for p in candidate_lines(completion)]
        lines = [line for line in lines if line]
        ok = (len(lines) == context.num_queries and len({line.lower() for line in lines}) == len(lines)
              and all(query_problem(line) is None for line in lines))
        out.append(1.0 if ok else 0.0)
    return out


def count(prompts: list[str], completions: list[str], contexts: list[TrainingUser]) -> list[float]:
    """The share of ``num_queries`` that serving would write for the completion (its distinct grounded queries)."""
    return [min(len(context.served(completion)) / context.num_queries, 1.0)
            for completion, context in zip(completions, contexts)]


def _alignment(queries: list[str], context: TrainingUser) -> float:
    """Mean cosine between each query and its top-10 articles (R_align, :func:`models.rewards.alignment`)."""
    return alignment(queries, context.rc)


def _diversity(queries: list[str], context: TrainingUser) -> float:
    """Intra-list diversity of the query embeddings (R_div)."""
    return diversity(queries, context.rc)


def _coverage(queries: list[str], context: TrainingUser) -> float:
    """Share of the history's interest clusters that a query covers (R_cov, embedding criterion)."""
    if len(context.interests) == 0:
        return 0.0
    threshold = context.scorers.coverage_threshold
    return ranking.interest_coverage(context.rc.vectors(queries), context.interests, threshold)


def query_specificity(query: str, query_vector: np.ndarray, scorers: Scorers) -> float:
    """Half the mean normalised corpus IDF of the query's words (words unknown to the corpus count 0), half one
    minus its highest cosine to a generic news query."""
    words = _WORD.findall(query.lower())
    informative = np.mean([scorers.idf.get(w, 0.0) / scorers.max_idf for w in words]) if words else 0.0
    generic = float(np.max(scorers.generic @ query_vector)) if len(scorers.generic) and np.any(query_vector) else 1.0
    return float(0.5 * informative + 0.5 * (1.0 - max(0.0, generic)))


def _specificity(queries: list[str], context: TrainingUser) -> float:
    """Content-rich, non-generic queries (R_spec): mean of :func:`query_specificity`."""
    scorers = context.scorers
    vectors = context.rc.vectors(queries)
    return float(np.mean([query_specificity(q, v, scorers) for q, v in zip(queries, vectors)]))


def _relevance(queries: list[str], context: TrainingUser) -> float:
    """NDCG@10 of the user's held-out next clicks among the articles the queries retrieve."""
    if not context.targets:
        return 0.0
    return ranking.ndcg_at_k(context.ranked(queries), context.targets, 10)


def _closeness(queries: list[str], context: TrainingUser) -> float:
    """How near the queries come to the user's held-out next clicks: per click, the best cosine of any query to the
    article's embedding; the mean over clicks. A dense form of ``relevance`` (NDCG is 0 for most lists of a small
    model, so a group of samples rarely differs in it): it pays for moving a query towards a future click before the
    click enters the top 10, and for covering each click with some query (multi-interest)."""
    if not context.targets:
        return 0.0
    clicks = context.rc.index.vectors(context.targets)
    if not len(clicks):
        return 0.0
    best = (clicks @ context.rc.vectors(queries).T).max(axis=1)
    return float(np.mean(np.clip(best, 0.0, 1.0)))


def _engagement(queries: list[str], context: TrainingUser) -> float:
    """Mean predicted click probability of the retrieved top 10 (the click model of training/click_model.py)."""
    model = context.scorers.click_model
    if model is None:
        raise RuntimeError("the engagement reward needs a click model (training.click_model.fit_click_model)")
    ranked = context.ranked(queries)
    return float(np.mean(model.predict(context.profile, ranked))) if ranked else 0.0


REWARDS: dict[str, Reward] = {
    "format": format_reward,
    "count": count,
    "alignment": _per_query(_alignment),
    "coverage": _per_query(_coverage),
    "specificity": _per_query(_specificity),
    "diversity": _per_query(_diversity),
    "relevance": _per_query(_relevance),
    "closeness": _per_query(_closeness),
    "engagement": _per_query(_engagement),
}


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = set(weights) - set(REWARDS)
    if unknown:
        raise ValueError(f"unknown rewards {sorted(unknown)}; known: {', '.join(REWARDS)}")
    if not any(w > 0 for w in weights.values()):
        raise ValueError("at least one reward needs a positive weight")
    return {k: float(v) for k, v in weights.items()}


def composite(prompts: list[str], completions: list[str], contexts: list[TrainingUser],
              weights: Mapping[str, float], rewards: Mapping[str, Reward] | None = None
              ) -> tuple[np.ndarray, dict[str, list[float]]]:
    """``(total, per_reward)``: the weighted mean of the rewards with a positive weight, in [0, 1] per completion.
    ``rewards`` overrides :data:`REWARDS` by name (e.g. the LLM-judged coverage of training/judge.py)."""
    weights = check_weights(weights)
    table = {**REWARDS, **(rewards or {})}
    if contexts:  # one embedder call for every served query of the batch (the cache is shared)
        contexts[0].rc.prefetch([q for c, ctx in zip(completions, contexts) for q in ctx.served(c)])
    per = {name: table[name](prompts, completions, contexts) for name, w in weights.items() if w > 0}
    total_weight = sum(w for w in weights.values() if w > 0)
    total = sum(np.asarray(per[name]) * weights[name] for name in per) / total_weight
    return np.asarray(total, dtype=np.float64), per


def interest_clusters(vectors: np.ndarray, threshold: float = 0.55, min_size: int = 2) -> np.ndarray:
    """Unit centroids of the history's interests: greedy leader clustering of unit ``vectors`` (newest first) at
    cosine ``threshold``; clusters smaller than ``min_size`` are dropped unless that would drop all of them."""
    vectors = np.asarray(vectors, dtype=np.float32)
    centroids: list[np.ndarray] = []
    members: list[list[np.ndarray]] = []
    for v in vectors:
        if not np.any(v):
            continue
        if centroids:
            sims = np.asarray([float(c @ v) for c in centroids])
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                members[best].append(v)
                centroids[best] = drift.unit(np.mean(members[best], axis=0))
                continue
        centroids.append(drift.unit(v))
        members.append([v])
    keep = [c for c, m in zip(centroids, members) if len(m) >= min_size] or centroids
    return np.asarray(keep, dtype=np.float32).reshape(len(keep), vectors.shape[1] if vectors.ndim == 2 else 0)
