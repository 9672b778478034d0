"""Completing a short list: the model's grounded queries first, then the filler's (the key-phrase generator's)
queries about what the model's list does not mention yet, up to the asked-for number.

A 135M model often keeps two or three good queries of five and writes them about one interest of several. The
filler's phrases come from the user's own recent signals (validated like the model's), and one is added only when
it shares no content word with a query already in the list, so the additions reach the parts of the history the
model left out. A list the model left empty is not filled here: the worker's invalid-output policy decides what
such a user gets (``models/stale.py``). Every filled row says so: ``Generation.filled`` counts the filler's queries
and ``version`` names both makers (``smollm2-135m-instruct@grpo-v1+keyphrase@1``).
"""

from __future__ import annotations

from dataclasses import replace

from models.generators.base import Generation, QueryGenerator, UserContext
from models.text import content_words
from models.vocabulary import known_forms, word_forms


def complete_list(queries: list[str], extra: list[str], n: int) -> list[str]:
    """``queries`` followed by the items of ``extra`` (in order) that share no content word form with any query
    already in the list, until there are ``n``."""
    out = list(queries[:n])
    seen = known_forms(set().union(*(content_words(q) for q in out)) if out else set())
    for phrase in extra:
        if len(out) >= n:
            break
        words = content_words(phrase)
        if not words or any(word_forms(w) & seen for w in words):
            continue
        out.append(phrase)
        seen |= known_forms(words)
    return out


class Filled(QueryGenerator):
    """``primary``'s queries, completed to ``num_queries`` by ``filler``'s (see the module docstring)."""

    def __init__(self, primary: QueryGenerator, filler: QueryGenerator, num_queries: int):
        self.primary, self.filler, self.num_queries = primary, filler, num_queries
        self.version = primary.version

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        results = self.primary.generate(contexts)
        short = [i for i, g in enumerate(results) if 0 < len(g.queries) < self.num_queries]
        if not short:
            return results
        extras = self.filler.generate([contexts[i] for i in short])
        for i, extra in zip(short, extras):
            g = results[i]
            merged = complete_list(g.queries, extra.queries, self.num_queries)
            filled = len(merged) - len(g.queries)
            if filled:
                made_by = f"{g.version or self.primary.version}+{self.filler.version}"
                results[i] = replace(g, queries=merged, version=made_by, filled=filled)
        return results

    def close(self) -> None:
        self.primary.close()
        self.filler.close()
