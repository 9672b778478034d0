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


class QueryGenerator(ABC):
    """``version`` names what made the queries (``name@version``); every feature row carries it."""

    version: str = "unknown"

    @abstractmethod
    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        """One :class:`Generation` per context, in order. Must not raise for one bad user."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


def make_generator(cfg) -> QueryGenerator:
    """The generator named by ``cfg.backend`` (a :class:`models.config.GeneratorConfig`)."""
    if cfg.backend == "keyphrase":
        from models.generators.keyphrase import KeyphraseGenerator

        return KeyphraseGenerator(cfg.num_queries)
    if cfg.backend == "smollm2":
        from models.generators.transformers_backend import TransformersGenerator
        from models.student import ensure_student

        return TransformersGenerator(ensure_student(cfg.model_dir), cfg)
    raise ValueError(f"unknown generator backend {cfg.backend!r}: use 'smollm2' or 'keyphrase'")
