"""The retraining job (``interests train retrain``): logged events of a time range -> a training set -> Dr.GRPO
continued from the registry's current version -> evaluated against the current version on the benchmark -> published
as the new current version only if it is not worse. A running generator worker picks it up (hot reload).

The training set: the events with a timestamp in ``[since, until)``, as rows of an event file (``type`` plus the
event's fields, what ``interests replay`` sends), read from such a file or back from the Kafka event topics
(``training/eventlog.py``); the last ``target_share`` of that range is held out as each user's next clicks (the
relevance reward's targets), the rest is the users' history, in event-time order, each event once (by ``event_id``:
a log replayed twice, or a producer's retry, holds it twice). Articles come from the reference benchmark's catalogue
(its embeddings are the retrieval index). Users who also appear in the benchmark's test split are left out.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator

log = logging.getLogger(__name__)


@dataclass
class RetrainResult:
    candidate: str  # the candidate's folder (its adapter)
    current: str | None  # name@version trained from
    metrics: dict  # {"candidate": ndcg@10, "current": ndcg@10, "users": n}
    published: str | None  # name@version registered, None when refused
    reason: str


def file_rows(path: Path) -> Iterator[dict]:
    """The rows of a JSON-lines event file."""
    with Path(path).open() as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def build_training_set(events: Path | str | Iterable[dict], reference: Path, out: Path, since_ms: int, until_ms: int,
                       target_share: float = 0.2, exclude_users: set[str] | None = None) -> dict:
    """Write a benchmark folder (events.jsonl, targets.json, users.json + the reference's catalogue and
    embeddings) for the events of ``[since_ms, until_ms)``; returns its summary. ``events``: a JSON-lines event file,
    or the rows themselves (an :class:`training.eventlog.EventLog`)."""
    if until_ms <= since_ms:
        raise ValueError(f"empty time range: since {since_ms} >= until {until_ms}")
    cut = since_ms + int((until_ms - since_ms) * (1 - target_share))
    exclude_users = exclude_users or set()
    history, targets, seen, ids, duplicates = [], {}, 0, set(), 0
    for row in file_rows(events) if isinstance(events, (str, Path)) else events:
        ts, user = int(row.get("ts", 0)), row.get("user_id")
        if not since_ms <= ts < until_ms or user in exclude_users:
            continue
        if row.get("event_id") is not None:
            if row["event_id"] in ids:
                duplicates += 1
                continue
            ids.add(row["event_id"])
        seen += 1
        if ts < cut:
            history.append(row)
        elif row.get("type") == "click" and row.get("article_id"):
            targets.setdefault(user, [])
            if row["article_id"] not in targets[user]:
                targets[user].append(row["article_id"])
    history.sort(key=lambda r: (int(r["ts"]), str(r.get("event_id"))))
    users = sorted({r["user_id"] for r in history} & set(targets))
    if not users:
        raise ValueError(f"no user in {events} has events before and clicks after the cut {cut} "
                         f"of [{since_ms}, {until_ms}): nothing to train on")
    out.mkdir(parents=True, exist_ok=True)
    keep = set(users)
    with (out / "events.jsonl").open("w") as handle:
        for row in history:
            if row["user_id"] in keep:
                handle.write(json.dumps(row) + "\n")
    (out / "targets.json").write_text(json.dumps({u: targets[u] for u in users}))
    (out / "users.json").write_text(json.dumps({u: {"split": "train", "interests": [], "cold": False,
                                                    "drift": None} for u in users}))
    for name in ("catalogue.parquet", "article_embeddings.npy"):
        shutil.copyfile(Path(reference) / name, out / name)
    summary = {"events_in_range": seen, "duplicates": duplicates, "history_events": len(history), "users": len(users),
               "cut_ms": cut, "since_ms": since_ms, "until_ms": until_ms}
    (out / "meta.json").write_text(json.dumps(summary))
    return summary


def _ndcg(bench, folder: Path, users: list[str], embedder, gen_cfg) -> float:
    from models.generators.transformers_backend import TransformersGenerator
    from training.evaluate import evaluate

    result = evaluate(bench, folder.name, TransformersGenerator(folder, gen_cfg), embedder, users, progress=False)
    return float(result.summary["all"]["ndcg@10"][0])


def _continue_from(registry, current, policy):
    """``(base folder, adapter to continue or None, policy config)`` for training on from the version ``current``:
    its adapter on its base (``training.grpo.continue_from``: a depth-pruned version keeps its layers, LoRA on all
    of them), or a full model."""
    from training.grpo import continue_from

    if not current.is_adapter:
        return current.path, None, replace(policy, model=str(current.path), layers=None)
    pcfg, _ = continue_from(current.path, policy, registry.base_path)
    return Path(pcfg.model), current.path / current.manifest["adapter"], pcfg


def retrain(registry, name: str, events: Path | Iterable[dict], reference: Path, since_ms: int, until_ms: int,
            work: Path, grpo_cfg, embedder, eval_users: int = 60, tolerance: float = 0.0, version: str | None = None,
            gen_cfg=None, evaluate_fn=None) -> RetrainResult:
    """The whole job on ``events`` (an event file or rows, as :func:`build_training_set`);
    ``evaluate_fn(folder, users) -> ndcg@10`` replaces the benchmark evaluation (tests)."""
    from models.config import GeneratorConfig
    from models.registry import RegistryError
    from training import grpo
    from training.env import RewardEnv
    from training.grpo import adapter_manifest
    from training.evaluate import Benchmark
    from training.study import materialize

    work = Path(work)
    current = registry.current(name)
    if current is None:
        raise RegistryError(f"model {name!r} has no current version to continue from: publish one and "
                          f"`interests model use VERSION --name {name}` first")
    ref_bench = Benchmark.load(Path(reference))
    test_users = set(ref_bench.eval_users("test"))
    data = work / "data"
    summary = build_training_set(events, reference, data, since_ms, until_ms, exclude_users=test_users)
    log.info("retraining set: %s", summary)
    env = RewardEnv(Benchmark.load(data), embedder, num_queries=grpo_cfg.policy.num_queries, seed=grpo_cfg.seed)

    manifest = current.manifest
    layers = manifest.get("layers")
    base, init_adapter, pcfg = _continue_from(registry, current, grpo_cfg.policy)
    candidate = grpo.train(replace(grpo_cfg, policy=pcfg), env, work / "run", resume=True, init_adapter=init_adapter)

    gen_cfg = gen_cfg or GeneratorConfig(dtype=pcfg.dtype, max_prompt_signals=pcfg.max_prompt_signals,
                                         num_queries=pcfg.num_queries, fallback="")
    users = ref_bench.eval_users("test", eval_users, seed=grpo_cfg.seed)
    prompt = adapter_manifest(candidate)["prompt"]  # what it was trained on (the current version's), served so
    current_folder = registry.load_path(current)
    candidate_folder = materialize(work, "candidate", Path(base), candidate, list(layers) if layers else None,
                                   prompt, pcfg.dtype)
    if evaluate_fn is None:
        def evaluate_fn(folder, eval_users_):
            return _ndcg(ref_bench, folder, eval_users_, embedder, gen_cfg)
    scores = {"candidate": evaluate_fn(candidate_folder, users), "current": evaluate_fn(current_folder, users),
              "users": len(users)}
    log.info("retrain evaluation: candidate %.4f vs current %s %.4f", scores["candidate"], current.ref,
             scores["current"])
    if scores["candidate"] + tolerance < scores["current"]:
        return RetrainResult(str(candidate), current.ref, scores, None,
                             f"candidate NDCG@10 {scores['candidate']:.4f} is below the current "
                             f"{scores['current']:.4f}: not published")
    version = version or time.strftime("retrain-%Y%m%d-%H%M%S", time.gmtime())
    base_ref = manifest["base"] if current.is_adapter else current.ref
    extra = {"base": base_ref, "layers": list(layers) if layers else None, "adapter": ".",
             "training_run": str(work / "run"), "parent": current.ref, "prompt": prompt,
             "metrics": {"ndcg@10": scores["candidate"], "parent_ndcg@10": scores["current"],
                         "eval_users": len(users), "training_set": summary}}
    registry.publish(candidate, name, version, extra)
    registry.set_current(name, version)
    return RetrainResult(str(candidate), current.ref, scores, f"{name}@{version}",
                         f"candidate NDCG@10 {scores['candidate']:.4f} >= current {scores['current']:.4f} - "
                         f"{tolerance}: published and made current")


def parse_time(value: str) -> int:
    """Milliseconds since the epoch from an integer (ms) or an ISO date/time (UTC)."""
    if value.isdigit():
        return int(value)
    import pandas as pd

    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1_000_000)

