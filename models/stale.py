"""What a regeneration whose output stays invalid becomes: nothing invalid is ever written.

After the model's own sampled retry (and, under ``on_invalid="fallback"``, after the key-phrase fallback inside the
generator), a user whose generation still holds no valid query is settled here, with one online-store lookup for
all such users of a batch:

- the user has features in the online store: they are written again unchanged (queries, embeddings, interest
  vector, model version, ``generated_at``, ``last_event_at``, ``freshness_ms``, the history's activity), marked
  ``stale=True`` with ``stale_since`` = when they first became stale (kept across further failures); the row
  answers the current request (its ``request_id``);
- the user has none: the cold-start fallback's validated queries when one is given (``on_invalid="stale"`` with
  ``INTERESTS_GEN_FALLBACK`` set), else nothing is written for them.

:func:`settle` is pure apart from the two callables it is given (``read_previous`` and the fallback), so it is tested
with fakes. The counts it returns feed the worker's stats: ``invalid == fell_back + stale + unserved``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from models.activity import FIELDS
from models.generators.base import Generation, QueryGenerator, UserContext, fallback_generations

log = logging.getLogger(__name__)

# user ids -> one row per id in that order (the feature service's columns; a user without features has None values)
ReadPrevious = Callable[[list[str]], list[dict]]


def to_millis(value) -> int | None:
    """Epoch milliseconds of a datetime (what Feast reads back) or a number; None stays None."""
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return int(value.timestamp() * 1000)
    return int(value)


def has_features(row: dict | None) -> bool:
    """True when an online-store row holds queries (a user without features reads back None values)."""
    return bool(row and row.get("queries"))


def stale_row(previous: dict, request: dict, now_ms: int) -> dict:
    """The user's ``previous`` features (as read from the online store) re-written for ``request``, marked stale.
    Everything the features were made of is kept; ``stale_since`` is ``now_ms`` unless they were already stale."""
    if not has_features(previous):
        raise ValueError(f"no previous features to keep for {request['user_id']}")
    since = to_millis(previous.get("stale_since")) if previous.get("stale") else None
    return {
        "user_id": request["user_id"],
        "request_id": request["request_id"],
        "queries": list(previous["queries"]),
        "query_embeddings": [[float(x) for x in v] for v in previous["query_embeddings"]],
        "interest_vector": [float(x) for x in previous["interest_vector"]],
        "model_version": previous["model_version"],
        "generated_at": to_millis(previous["generated_at"]),
        "last_event_at": to_millis(previous["last_event_at"]),
        "freshness_ms": int(previous.get("freshness_ms") or 0),
        "stale": True,
        "stale_since": since if since is not None else now_ms,
        **{name: previous.get(name) for name in FIELDS},  # the history those queries were made from
    }


@dataclass
class Settled:
    generations: list[Generation]  # the batch's generations, cold-start fallback queries filled in where valid
    stale_rows: list[dict] = field(default_factory=list)  # previous features re-written, marked stale
    invalid: int = 0  # users the served model left without a valid query (after its retry)
    fell_back: int = 0  # ... of whom written with the fallback's queries
    stale: int = 0  # ... of whom kept their previous features, marked stale
    unserved: int = 0  # ... of whom got nothing written (no previous features, no valid fallback)


def settle(requests: list[dict], contexts: list[UserContext], generations: list[Generation], served_version: str,
           read_previous: ReadPrevious | None, fallback: QueryGenerator | None = None,
           now_ms: int | None = None) -> Settled:
    """Settle the users of one batch whose output stayed invalid (see the module docstring).

    A generation counts as invalid when it holds no query, or when its queries were made by another generator than
    ``served_version`` (a fallback inside the generator). ``read_previous`` is called once, for the users without
    queries, and not at all when every user has queries; None means no store to read (every user counts as new).
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    out = list(generations)
    by_fallback = [i for i, g in enumerate(out) if g.queries and g.version and g.version != served_version]
    empty = [i for i, g in enumerate(out) if not g.queries]
    settled = Settled(out, invalid=len(by_fallback) + len(empty), fell_back=len(by_fallback))
    if not empty:
        return settled
    previous = read_previous([requests[i]["user_id"] for i in empty]) if read_previous is not None else []
    if read_previous is not None and len(previous) != len(empty):
        raise RuntimeError(f"the online store returned {len(previous)} rows for {len(empty)} users")
    cold = []
    for i, row in zip(empty, previous or [None] * len(empty)):
        if has_features(row):
            settled.stale_rows.append(stale_row(row, requests[i], now_ms))
        else:
            cold.append(i)
    settled.stale = len(settled.stale_rows)
    if cold and fallback is not None:
        for i, backup in zip(cold, fallback_generations(fallback, [contexts[i] for i in cold])):
            if backup.queries:
                out[i] = Generation(backup.queries, out[i].raw, out[i].error, backup.version, out[i].candidates)
                settled.fell_back += 1
    settled.unserved = sum(1 for i in cold if not out[i].queries)
    if settled.stale or settled.unserved:
        log.warning("%d users' output stayed invalid: %d kept their previous features (stale), %d got the fallback, "
                    "%d got nothing", settled.invalid, settled.stale, settled.fell_back, settled.unserved)
    return settled
