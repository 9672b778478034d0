"""The KD cache: the teacher's served query lists for training users, generated once and kept, the targets of the
student's sequence-level distillation (``interests train kd-targets``, then ``interests train distill --targets``).

A target is what the teacher serves for the user: its output (greedy, or the best of ``N`` samples by the composite
reward without relevance) parsed and validated the way serving validates it (no copy of the prompt, no invented
word, grounded in the user's activity), the kept queries one per line. The key-phrase fill is off: the student
learns the teacher's own queries. A user the teacher leaves without a valid query has no target and is left out.

The student reads the user's activity in its own prompt contract (``compact``), the teacher wrote the targets from
the full chat prompt: the student learns to answer without the system message and the worked example (context
distillation). One JSON line per (benchmark, user); a resumed build skips the users it has.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import replace
from pathlib import Path

log = logging.getLogger(__name__)


def target_text(queries: list[str]) -> str:
    return "\n".join(queries)


def load_targets(path: Path) -> dict[tuple[str, str], dict]:
    """``{(benchmark, user): row}`` of a KD cache file (gzipped when its name ends in ``.gz``, as the shipped one in
    ``training/artifacts/``); a line cut by a killed build is skipped."""
    rows: dict[tuple[str, str], dict] = {}
    path = Path(path)
    if not path.exists():
        return rows
    text = gzip.decompress(path.read_bytes()).decode("utf-8") if path.suffix == ".gz" else path.read_text("utf-8")
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        rows[(row["benchmark"], row["user"])] = row
    return rows


def pooled(generation, history: list[dict]) -> list[str]:
    """Every sample's queries of a best-of-N ``generation`` that pass the validator against ``history``, in order,
    each once: candidates for hindsight targets (``training/hindsight.py``), not a list to distil."""
    from models.parsing import validate

    lists = generation.candidates or [generation.queries]
    kept = validate([q for queries in lists for q in queries], [s["text"] for s in history])
    return list(dict.fromkeys(kept))


def build_targets(bench, users: list[str], generator, out: Path, batch_size: int = 16, progress: bool = True,
                  pool: bool = False) -> dict:
    """Append the targets of ``users`` of ``bench`` (a :class:`training.evaluate.Benchmark`) made by ``generator``
    (the teacher, fill off) to ``out``; returns counts. ``pool``: a row holds every sample's valid queries
    (:func:`pooled`) instead of the chosen list."""
    from tqdm import tqdm

    from models.generators.base import UserContext

    name = Path(bench.root).name
    have = load_targets(out)
    todo = [u for u in users if (name, u) not in have]
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = empty = 0
    bar = tqdm(total=len(todo), desc=f"kd targets {name}", unit="user", disable=not progress)
    with out.open("a", encoding="utf-8") as handle:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            generations = generator.generate([UserContext(u, bench.histories[u]) for u in chunk])
            for user, generation in zip(chunk, generations):
                queries = pooled(generation, bench.histories[user]) if pool else list(generation.queries)
                handle.write(json.dumps({"benchmark": name, "user": user, "queries": queries,
                                         "text": target_text(queries), "teacher": generation.version or
                                         getattr(generator, "version", "")}, ensure_ascii=False) + "\n")
                kept += bool(queries)
                empty += not queries
            handle.flush()
            bar.update(len(chunk))
    bar.close()
    return {"benchmark": name, "users": len(users), "made": len(todo), "with_target": kept, "without": empty}


def teacher_generator(gen_cfg, teacher_dir: Path, best_of: int = 1, embedder=None):
    """The teacher as it serves (its manifest's prompt), without the fill, the chooser and the fallback; best of
    ``best_of`` samples by structure, diversity and grounding (the composite reward without relevance) when above 1."""
    from models.generators.factory import make_generator

    cfg = replace(gen_cfg, backend="smollm2", model_dir=Path(teacher_dir), fill="", select="", fallback="",
                  on_invalid="stale", best_of_n=best_of,
                  reward_weights=gen_cfg.reward_weights or "structure=1,diversity=1,grounding=1")
    return make_generator(cfg, embedder)


class KDEnv:
    """The KD cache's training users as the distillation loop reads them (``train_users``, ``history``) plus each
    one's :meth:`target`; users of several benchmarks, keyed ``benchmark/user``. It scores nothing (``can_score``
    is False), like :class:`training.histories.HistoryEnv`."""

    can_score = False

    def __init__(self, histories: dict[str, list[dict]], targets: dict[str, str],
                 makers: frozenset[str] = frozenset()):
        missing = set(targets) - set(histories)
        if missing:
            raise ValueError(f"{len(missing)} targets have no history, e.g. {sorted(missing)[0]}")
        if not targets:
            raise ValueError("the KD cache holds no non-empty target for these users")
        self.histories, self.targets = histories, targets
        self.makers = frozenset(makers)  # what wrote the targets: teacher versions, or training.hindsight.VERSION

    @classmethod
    def load(cls, path: Path, folders: list[Path]) -> "KDEnv":
        """The targets in ``path`` of the benchmarks in ``folders`` (their training users only)."""
        from training.evaluate import Benchmark

        rows = load_targets(path)
        histories, targets, makers = {}, {}, set()
        for folder in folders:
            bench = Benchmark.load(Path(folder))
            name = Path(folder).name
            train = set(bench.eval_users("train"))
            for (bench_name, user), row in rows.items():
                if bench_name == name and user in train and row["text"].strip():
                    histories[f"{name}/{user}"] = bench.histories[user]
                    targets[f"{name}/{user}"] = row["text"]
                    makers.add(row.get("teacher", ""))
        return cls(histories, targets, frozenset(makers - {""}))

    def train_users(self) -> list[str]:
        return sorted(self.targets)

    def history(self, key: str) -> list[dict]:
        return self.histories[key]

    def target(self, key: str) -> str:
        return self.targets[key]

    def contexts(self, users: list[str]):
        raise RuntimeError("a KDEnv has histories and targets only, no rewards")
