"""Best-of-N at inference: sample N query lists per user, score each with the rewards of :mod:`models.rewards`, keep
the best. :class:`BestOfN` wraps a sampling generator (one whose :class:`~models.generators.base.Generation` carries
``candidates``, e.g. ``TransformersGenerator(..., n=8)``); :func:`models.generators.factory.best_of_n` builds it
from the configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from models.embeddings import Embedder
from models.generators.base import Generation, QueryGenerator, UserContext
from models.parsing import grounded
from models.rewards import ALIGNMENT_TOP_K, DEFAULT_WEIGHTS, REWARDS, Reward, RewardContext, choose

log = logging.getLogger(__name__)


class BestOfN(QueryGenerator):
    """Wraps a sampling generator: for every user, scores each of its candidates with the rewards and returns
    the best one's grounded queries (the spine writes only grounded queries, so a candidate with none cannot win;
    a user whose candidates all lack one gets no queries and an error, for the fallback to handle).

    A generation without ``candidates`` (a one-sample generator) counts its ``queries`` as the only candidate.
    All candidates' queries of a batch are embedded in one embedder call.
    """

    def __init__(self, inner: QueryGenerator, embedder: Embedder, index: object | None = None,
                 weights: Mapping[str, float] | None = None, rewards: Mapping[str, Reward] | None = None,
                 top_k: int = ALIGNMENT_TOP_K):
        self.inner, self.embedder, self.index, self.top_k = inner, embedder, index, top_k
        self.rewards = dict(REWARDS if rewards is None else rewards)
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        unknown = set(self.weights) - set(self.rewards)
        if unknown:
            raise ValueError(f"weights for unknown rewards {sorted(unknown)}; rewards: {sorted(self.rewards)}")
        n = getattr(inner, "n", None)
        self.version = f"{inner.version}+best-of-{n if n else 'n'}"

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        generations = self.inner.generate(contexts)
        cache: dict[str, np.ndarray] = {}
        per_user = [g.candidates or ([g.queries] if g.queries else []) for g in generations]
        reward_contexts = [RewardContext.for_user(c, self.embedder, self.index, self.top_k, cache) for c in contexts]
        if reward_contexts and self._needs_embeddings():
            reward_contexts[0].prefetch([q for candidates in per_user for c in candidates for q in c])
        out = []
        for context, generation, candidates, rc in zip(contexts, generations, per_user, reward_contexts):
            if not candidates:
                out.append(generation)
                continue
            best, totals = choose(candidates, rc, self.weights, self.rewards,
                                  eligible=lambda c, rc=rc: bool(grounded(c, rc.history)))
            log.debug("best-of-%d for %s: scores %s, chose %d", len(candidates), context.user_id,
                      [round(t, 3) for t in totals], best)
            if best < 0:
                error = generation.error or f"no candidate holds a query related to the user's signals: {candidates}"
                out.append(Generation([], generation.raw, error, generation.version, candidates))
                continue
            kept = grounded(candidates[best], rc.history)
            out.append(Generation(kept, generation.raw, "", generation.version, candidates))
        return out

    def _needs_embeddings(self) -> bool:
        return any(self.weights.get(name, 0.0) for name in ("diversity", "alignment")) or any(
            name not in REWARDS for name in self.rewards)

    def close(self) -> None:
        self.inner.close()
