"""The generator interface: a batch of users' histories in, one query list per user out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserContext:
    user_id: str
    history: list[dict]  # signals, newest first: domain, kind, text, ts, item_id, platform
    interest_vector: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Generation:
    queries: list[str]  # empty when the output held no valid query (nothing is written then)
    raw: str = ""  # the model's raw text, for logs and debugging
    error: str = ""
    version: str = ""  # what made these queries when it is not the generator's own version (a fallback)
    # best-of-N: every sample's parsed queries (before the grounding check; [] where a sample did not parse), in
    # sample order; empty for generators that draw one output per user
    candidates: list[list[str]] = field(default_factory=list)
    filled: int = 0  # queries at the end of ``queries`` that a filler added to a short list (models/generators/fill.py)
    # queries after the model's first list that its own samples added to a short list (models/generators/topup.py);
    # they are the model's, so they come before any filled ones
    topped_up: int = 0


class QueryGenerator(ABC):
    """``version`` names what made the queries (``name@version``); every feature row carries it."""

    version: str = "unknown"

    @abstractmethod
    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        """One :class:`Generation` per context, in order. Must not raise for one bad user."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


def fallback_generations(fallback: QueryGenerator, contexts: list[UserContext]) -> list[Generation]:
    """``fallback``'s output for ``contexts``, passed through the same validator as the model's (nothing unchecked is
    written) and labelled with the fallback's version; a user it leaves without a valid query gets ``[]``."""
    from models.parsing import validate

    out = []
    for context, backup in zip(contexts, fallback.generate(contexts)):
        queries = validate(backup.queries, [s["text"] for s in context.history])
        out.append(Generation(queries, backup.raw, "" if queries else (backup.error or "fallback output invalid"),
                              fallback.version))
    return out


class WithFallback(QueryGenerator):
    """Runs ``primary``; users it leaves without a valid query get ``fallback``'s queries, labelled with the
    fallback's version, so a user is never left without features by one bad output and no row lies about its maker.
    This is the ``on_invalid="fallback"`` policy; under ``"stale"`` (the default) the worker decides instead
    (``models/stale.py``)."""

    def __init__(self, primary: QueryGenerator, fallback: QueryGenerator):
        self.primary, self.fallback = primary, fallback
        self.version = primary.version

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        results = self.primary.generate(contexts)
        failed = [i for i, g in enumerate(results) if not g.queries]
        if failed:
            backups = fallback_generations(self.fallback, [contexts[i] for i in failed])
            for i, backup in zip(failed, backups):
                if backup.queries:
                    results[i] = Generation(backup.queries, results[i].raw, results[i].error, backup.version)
        return results

    def close(self) -> None:
        self.primary.close()
        self.fallback.close()
