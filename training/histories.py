"""Training users' histories alone, as a file: what distillation needs and nothing more.

Pure reverse-KL distillation (and SFT on teacher samples) reads only the prompts, which are built from the
training users' histories. :func:`export` writes those histories (whole, or the newest
``max_signals`` signals of each user) to a gzipped JSON file of a few MB, and :class:`HistoryEnv` serves them to the
trainers in place of the full :class:`training.env.RewardEnv` (benchmark folder, embedder, article index, click
model). So a run can go to a machine with a GPU but without the benchmark: ``interests train export-histories``
here, ``interests train distill --histories FILE --device cuda`` there. A ``HistoryEnv`` scores nothing
(``can_score`` is False): the reward term of on-policy distillation needs the ``RewardEnv``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

FORMAT = "interests-train-histories/1"


def _open(path: Path, mode: str):
    """A text file, gzipped when its name ends in ``.gz``."""
    return (gzip.open if path.suffix == ".gz" else open)(path, mode, encoding="utf-8")


class HistoryEnv:
    """The training users and their histories (newest first), with the interface the trainers read."""

    can_score = False

    def __init__(self, histories: dict[str, list[dict]], meta: dict | None = None):
        if not histories:
            raise ValueError("no training histories")
        self.histories = histories
        self.meta = meta or {}

    def train_users(self) -> list[str]:
        return sorted(self.histories)

    def history(self, user: str) -> list[dict]:
        return self.histories[user]

    def contexts(self, users: list[str]):
        raise RuntimeError("a HistoryEnv has histories only, no rewards: load the benchmark (RewardEnv) to score")

    @classmethod
    def load(cls, path: Path) -> "HistoryEnv":
        path = Path(path)
        with _open(path, "rt") as fh:
            doc = json.load(fh)
        if doc.get("format") != FORMAT:
            raise ValueError(f"{path} is not a histories file ({FORMAT}); write one with "
                             "`interests train export-histories`")
        return cls(doc["histories"], doc.get("meta"))


def export(env, path: Path, max_signals: int | None = None, meta: dict | None = None) -> Path:
    """Write the training users of ``env`` (a ``RewardEnv`` or ``HistoryEnv``) with their histories (the newest
    ``max_signals`` signals when given; the prompt may skip a signal with no text, so keep a margin over the
    prompt's count) to ``path`` (gzipped when it ends in ``.gz``); evaluation users are never written."""
    if max_signals is not None and max_signals < 1:
        raise ValueError("max_signals must be at least 1")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    histories = {u: list(env.history(u))[:max_signals] if max_signals else list(env.history(u))
                 for u in env.train_users()}
    doc = {"format": FORMAT, "meta": {**(meta or {}), "users": len(histories), "max_signals": max_signals},
           "histories": histories}
    with _open(path, "wt") as fh:
        json.dump(doc, fh)
    return path
