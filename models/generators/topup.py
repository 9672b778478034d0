"""Topping up a short list with the model's own sampled queries, before any other generator fills it.

A small model's greedy list often keeps three good queries of five, about one or two of the user's interests. The
same model, sampled a few times from the same prompt (one prefill, ``n`` rows), writes other queries about what the
greedy list left out. :class:`TopUp` keeps the greedy list and adds, sample by sample, the sampled queries that pass
the same checks (parsed, grounded in the user's own signals, no invented word) and share no content word with a
query already in the list (:func:`models.generators.fill.complete_list`), up to the asked-for number. Only lists
left short are sampled, so a full greedy list costs nothing more. What is still short after the top-up goes to the
fill (the key phrases) as before. Under the chooser (``INTERESTS_GEN_SELECT=value``) a list is topped up to twice
the asked-for number: the chooser picks the served ones among them and the reader's key phrases.

The wrapped generator must offer ``sample(contexts, n, temperature) -> list[Generation]`` with every sample's parsed
queries in ``candidates`` (:class:`models.generators.transformers_backend.TransformersGenerator` does). A topped-up
row says so: ``Generation.topped_up`` counts the queries the samples added.
"""

from __future__ import annotations

from dataclasses import replace

from models.generators.base import Generation, QueryGenerator, UserContext
from models.generators.fill import complete_list
from models.parsing import grounded


def topped_up(queries: list[str], samples: list[list[str]], history_texts: list[str], n: int) -> list[str]:
    """``queries`` followed by the grounded queries of each sample in turn that share no content word with the list
    so far, until there are ``n``."""
    out = list(queries[:n])
    for sample in samples:
        if len(out) >= n:
            break
        out = complete_list(out, grounded(sample, history_texts) if sample else [], n)
    return out


class TopUp(QueryGenerator):
    """``primary``'s lists, each one left short topped up from ``n`` samples at ``temperature`` (module docstring).
    ``limit`` (default ``num_queries``) is the length a list is topped up to: longer when a chooser picks the
    served ``num_queries`` among the model's queries (``models/generators/select.py``)."""

    def __init__(self, primary: QueryGenerator, n: int, temperature: float, num_queries: int,
                 limit: int | None = None):
        if n < 1:
            raise ValueError(f"a top-up needs n >= 1 samples, got {n}")
        if temperature <= 0:
            raise ValueError(f"a top-up samples: it needs a temperature > 0, got {temperature}")
        if not callable(getattr(primary, "sample", None)):
            raise ValueError(f"{type(primary).__name__} cannot sample: a top-up needs a sampling LLM backend")
        self.primary, self.n, self.temperature, self.num_queries = primary, n, temperature, num_queries
        self.limit = num_queries if limit is None else limit
        if self.limit < num_queries:
            raise ValueError(f"a top-up fills lists to at least {num_queries} queries, not {self.limit}")
        self.version = primary.version

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        results = self.primary.generate(contexts)
        short = [i for i, g in enumerate(results) if len(g.queries) < self.limit]
        if not short:
            return results
        sampled = self.primary.sample([contexts[i] for i in short], self.n, self.temperature)
        for i, more in zip(short, sampled):
            g = results[i]
            history = [s["text"] for s in contexts[i].history]
            merged = topped_up(g.queries, more.candidates, history, self.limit)
            added = len(merged) - len(g.queries)
            if added:
                results[i] = replace(g, queries=merged, error="", topped_up=added, candidates=more.candidates)
        return results

    def close(self) -> None:
        self.primary.close()
