"""One user's record in the stream's ``users`` table: history window, interest vector, consent choices and deletion
watermark. Pure functions over a plain dict (JSON in the table's changelog).

Record shape: ``{"history": history dict, "interest": drift state, "consent": consent dict,
"deleted_before": ms | None}``.

Why one record and not a table each: a table update is one changelog message per key, so a worker killed between
two writes could keep a history that already holds a signal while the interest vector lacks it; redelivery would
then skip the signal for good. With one record per user both move together, and a redelivered signal is either
wholly new or wholly a duplicate.

Idempotence: a signal enters the interest vector exactly when it enters the history window
(:func:`streams.history.add_signal` returns True), so a duplicate, whether still in the window or already pushed out
of it, never counts twice.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from streams import consent, drift, history
from streams.events import Signal


@dataclass(frozen=True)
class Rules:
    """What a record update needs from ``StreamsConfig``."""

    max_items: int
    max_age_s: float
    half_life_s: float
    weights: dict
    consent_default: str = consent.GRANTED

    @classmethod
    def from_config(cls, cfg) -> "Rules":
        return cls(cfg.history_max_items, cfg.history_max_age_s, cfg.half_life_s, cfg.domain_weights,
                   consent.check_policy(cfg.consent_default))


def new_user() -> dict:
    return {"history": history.empty_history(), "interest": drift.new_state(), "consent": {}, "deleted_before": None}


def copy_user(user: dict) -> dict:
    """A copy that the functions here may change without touching ``user``: the same as ``copy.deepcopy`` for this
    shape, several times faster (the tracking agent copies every touched record once per batch, and the generic
    deep copy was a quarter of the worker's samples in the load benchmark's profile)."""
    out = {key: copy.deepcopy(value) for key, value in user.items()
           if key not in ("history", "interest", "consent")}  # anything added later is still copied safely
    out["history"] = {domain: [dict(item) for item in items] for domain, items in user["history"].items()}
    # the vectors are shared: they are never changed in place (streams/drift.py); lists (older records) are copied
    out["interest"] = {key: list(value) if isinstance(value, list) else value
                       for key, value in user["interest"].items()}
    out["consent"] = {domain: dict(choice) for domain, choice in user["consent"].items()}
    return out


def admission(user: dict, signal: Signal, rules: Rules) -> str | None:
    """Why ``signal`` may not enter ``user``'s history (``deleted``, ``no_consent``, ``duplicate``), or None."""
    deleted_before = user.get("deleted_before")
    if deleted_before is not None and signal.ts <= deleted_before:
        return "deleted"
    if not consent.allowed(user["consent"], signal.domain, signal.ts, rules.consent_default):
        return "no_consent"
    if history.contains(user["history"], signal.domain, signal.event_id):
        return "duplicate"
    return None


def add(user: dict, signal: Signal, embedding, rules: Rules) -> bool:
    """Put an admitted signal into the window and, only if it is kept there, into the interest vector."""
    item = signal.as_dict()
    del item["user_id"]  # the record is the user's: the id is its key, not part of every item
    if not history.add_signal(user["history"], item, rules.max_items, rules.max_age_s):
        return False
    drift.update_vector(user["interest"], embedding, signal.ts, rules.weights[signal.domain], rules.half_life_s)
    return True


def revoke(user: dict, domains: list[str]) -> int:
    """Drop the kept signals of ``domains``. Returns how many were dropped."""
    return sum(history.purge(user["history"], domain) for domain in domains)


def delete(user: dict, before_ts: int) -> None:
    """Forget the user's signals and interest vector; signals stamped at or before ``before_ts`` never come back.
    Consent choices stay: they are the user's standing instructions, not interest data."""
    user["history"] = history.empty_history()
    user["interest"] = drift.new_state()
    previous = user.get("deleted_before")
    user["deleted_before"] = before_ts if previous is None else max(previous, before_ts)


def kept_signals(user: dict) -> list[dict]:
    """The signals in the window, oldest first (the order :func:`rebuild_interest` folds them in)."""
    items = [item for items in user["history"].values() for item in items]
    return sorted(items, key=lambda item: (item["ts"], item["event_id"]))


def rebuild_interest(user: dict, embeddings, rules: Rules) -> None:
    """The interest vector again from the signals still kept (``embeddings`` in :func:`kept_signals` order), after a
    purge. The vector of the last generation is kept: drift is still measured from what the features were made of."""
    old, fresh = user["interest"], drift.new_state()
    for item, embedding in zip(kept_signals(user), embeddings):
        drift.update_vector(fresh, embedding, item["ts"], rules.weights[item["domain"]], rules.half_life_s)
    fresh["generated_vector"], fresh["generated_ts"] = old["generated_vector"], old["generated_ts"]
    user["interest"] = fresh


def has_features(user: dict) -> bool:
    """Has a generation been requested since the record was created or deleted?"""
    return user["interest"]["generated_vector"] is not None
