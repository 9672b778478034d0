"""What one micro-batch of the ``track`` agent does to the users' records, as pure functions (no Faust, no Kafka):
the agent decodes, embeds and sends; this module decides.

Items are applied strictly in arrival order, so a consent choice or a deletion request takes effect exactly between
the signals of that user that came before and after it on the by-user topic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from streams import consent, drift, history, user_state
from streams.events import ConsentChange, DeletionRequest, Inbound, Signal
from streams.user_state import Rules

DELETION_REQUEST, CONSENT_REVOKED = "DELETION_REQUEST", "CONSENT_REVOKED"


@dataclass
class BatchResult:
    users: dict[str, dict] = field(default_factory=dict)  # every record the batch touched, to write back
    deletions: list[tuple[str, str, int]] = field(default_factory=list)  # (user, reason, deleted_before) in order
    # users with features whose consent was revoked in the batch -> event time of the revocation: their vector is
    # rebuilt from what is left, then their queries are regenerated or deleted (:func:`settle_revocations`)
    revoked: dict[str, int] = field(default_factory=dict)
    # added | duplicate | out_of_window | no_consent | deleted | filtered | consent | deletion
    outcomes: Counter = field(default_factory=Counter)


Loader = Callable[[str], "dict | None"]


def candidates(items: list[Inbound], load: Loader, rules: Rules) -> list[Signal]:
    """The signals worth embedding: admissible against the user's record as it was before the batch (every signal
    of a user whose consent or deletion changes within the batch), each event once."""
    changing = {item.user_id for item in items if not isinstance(item, Signal)}
    seen, out = set(), []
    for item in items:
        if not isinstance(item, Signal) or (item.user_id, item.domain, item.event_id) in seen:
            continue
        seen.add((item.user_id, item.domain, item.event_id))
        record = load(item.user_id) or user_state.new_user()
        if item.user_id in changing or user_state.admission(record, item, rules) is None:
            out.append(item)
    return out


def apply_batch(items: list[Inbound], load: Loader, vectors: dict, rules: Rules) -> BatchResult:
    """Apply ``items`` in order to copies of the users' records. ``vectors`` maps a signal to its embedding; a
    signal without one was dropped by the noise filter (``filtered``)."""
    result = BatchResult()

    def record(user_id: str) -> dict:
        if user_id not in result.users:
            stored = load(user_id)
            result.users[user_id] = user_state.copy_user(stored) if stored is not None else user_state.new_user()
        return result.users[user_id]

    for item in items:
        user = record(item.user_id)
        if isinstance(item, Signal):
            reason = user_state.admission(user, item, rules)
            if reason is None and item not in vectors:
                reason = "filtered"
            if reason is None:
                reason = "added" if user_state.add(user, item, vectors[item], rules) else "out_of_window"
            result.outcomes[reason] += 1
        elif isinstance(item, ConsentChange):
            revoked = consent.apply(user["consent"], list(item.domains), item.granted, item.ts, rules.consent_default)
            if revoked:
                removed = user_state.revoke(user, revoked)
                if removed or user_state.has_features(user):
                    result.revoked[item.user_id] = item.ts
            result.outcomes["consent"] += 1
        elif isinstance(item, DeletionRequest):
            user_state.delete(user, item.ts)
            result.revoked.pop(item.user_id, None)
            result.deletions.append((item.user_id, DELETION_REQUEST, item.ts))
            result.outcomes["deletion"] += 1
    return result


def settle_revocations(result: BatchResult) -> None:
    """Once the revoked users' vectors are rebuilt: a user left without any signal gets a feature deletion (their
    queries came from what they withdrew) and starts again cold; the others get a regeneration (:func:`decide`)."""
    for user_id, at in result.revoked.items():
        user = result.users[user_id]
        if user_state.has_features(user) and not history.size(user["history"]):
            result.deletions.append((user_id, CONSENT_REVOKED, at))
            user["interest"] = drift.new_state()


def decide(user: dict, policy: drift.DriftPolicy, revoked: bool) -> drift.Decision:
    """The regeneration decision at the end of a batch; a revocation that leaves signals forces one (``CONSENT``)
    so no query keeps coming from a domain the user withdrew."""
    state = user["interest"]
    if revoked and user_state.has_features(user) and state["vector"] is not None:
        return drift.Decision(True, "CONSENT", drift.cosine_distance(state["vector"], state["generated_vector"]))
    return drift.decide(user["interest"], policy)
