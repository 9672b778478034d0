"""The served list chosen by the learned query-value model (``models/query_value.py``): the model's grounded queries
and the reader's key phrases are one pool of candidates, and the best-scored ones make the list.

A 135M model keeps two or three good queries of five, and which of them, or of the reader's key phrases, retrieves
what the reader reads next is what the query-value model was trained on. The list is written with the model's chosen
queries first and the key phrases after them (``Generation.filled`` counts those, as a fill's); a user whose list
the model left empty keeps it empty here: the invalid-output policy decides (``models/stale.py``), as with the fill.
Every such row names the chooser in its version (``...@student-hs12b+keyphrase@1+value@1``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from models.generators.base import Generation, QueryGenerator, UserContext
from models.generators.keyphrase import KeyphraseGenerator, key_phrases
from models.parsing import validate
from models.query_value import (FEATURES, NOT_A_PHRASE, Profile, QueryValueModel, choose, features, nested,
                                 query_words)


def pool_of(model_queries: list[str], phrases: list[str]) -> tuple[list[str], list[bool]]:
    """The candidates: the model's queries, then the key phrases that neither hold nor are held by an earlier
    candidate's words; with whether each is the model's."""
    pool: list[str] = []
    for query in [*model_queries, *phrases]:
        words = query_words(query)
        if words and not any(nested(query, p) for p in pool):
            pool.append(query)
    return pool, [i < len(model_queries) for i in range(len(pool))]


def candidates(history: list[dict], model_queries: list[str], embedder, phrases: int = NOT_A_PHRASE
               ) -> tuple[list[str], list[bool], np.ndarray, np.ndarray]:
    """A reader's candidates as the chooser sees them, the same in serving and in training: the pool of
    ``model_queries`` and ``phrases`` validated key phrases of ``history`` (:func:`pool_of`), whether each is the
    model's, their feature rows and their embeddings (one call with the history's texts)."""
    texts = [s["text"] for s in history]
    keyed = validate(key_phrases(history, phrases), texts)
    pool, from_model = pool_of(model_queries, keyed)
    if not pool:
        return [], [], np.zeros((0, len(FEATURES))), np.zeros((0, 0), dtype=np.float32)
    vectors = np.asarray(embedder.embed(pool + texts), dtype=np.float32)
    rows = features(pool, vectors[: len(pool)], Profile.of(history, vectors[len(pool):]), keyed, from_model)
    return pool, from_model, rows, vectors[: len(pool)]


def chosen(context: UserContext, model_queries: list[str], value: QueryValueModel, embedder, n: int,
           phrases: int = NOT_A_PHRASE) -> tuple[list[str], list[str]]:
    """(the model's queries kept, in their order; the reader's key phrases added, best first): the ``n`` best by
    ``value`` of the pool of ``model_queries`` and ``phrases`` validated key phrases."""
    pool, from_model, rows, vectors = candidates(context.history, model_queries, embedder, phrases)
    if not pool:
        return [], []
    picks = choose(pool, value.scores(rows), n, vectors)
    kept = {pool[i] for i in picks if from_model[i]}
    return [q for q in model_queries if q in kept], [pool[i] for i in picks if not from_model[i]]


class Selected(QueryGenerator):
    """``primary``'s queries and the reader's key phrases, the ``num_queries`` best by ``value`` (see the module
    docstring); ``embedder`` embeds the candidates and the history's texts."""

    def __init__(self, primary: QueryGenerator, value: QueryValueModel, embedder, num_queries: int,
                 phrases: int = NOT_A_PHRASE):
        self.primary, self.value, self.embedder = primary, value, embedder
        self.num_queries, self.phrases = num_queries, phrases
        self.version = primary.version

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        results = self.primary.generate(contexts)
        for i, (context, g) in enumerate(zip(contexts, results)):
            if g.queries:
                results[i] = self._choose(context, g)
        return results

    def _choose(self, context: UserContext, g: Generation) -> Generation:
        model, added = chosen(context, g.queries, self.value, self.embedder, self.num_queries, self.phrases)
        topped = set(g.queries[len(g.queries) - g.topped_up:]) if g.topped_up else set()
        made_by = g.version or self.primary.version
        if added:
            made_by = f"{made_by}+{KeyphraseGenerator.version}+{self.value.version}"
        return replace(g, queries=model + added, version=made_by, filled=len(added),
                       topped_up=sum(q in topped for q in model))

    def close(self) -> None:
        self.primary.close()


class ValuedPhrases(QueryGenerator):
    """The reader's key phrases alone, the ``num_queries`` best by ``value``: the chooser without a language model
    (the benchmark's ``keyphrase-value`` baseline, what the model's queries are measured against)."""

    def __init__(self, value: QueryValueModel, embedder, num_queries: int, phrases: int = NOT_A_PHRASE):
        self.value, self.embedder, self.num_queries, self.phrases = value, embedder, num_queries, phrases
        self.version = f"{KeyphraseGenerator.version}+{value.version}"

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        out = []
        for context in contexts:
            _, queries = chosen(context, [], self.value, self.embedder, self.num_queries, self.phrases)
            out.append(Generation(queries, error="" if queries else "no key phrase in the history"))
        return out
