"""Per-user signal history: one event-time window per domain, bounded in length and age. Pure functions over
plain dicts (the shape stored in the Faust table) so they are tested directly and serialise as JSON.

History shape: ``{"click": [signal dicts, newest first], "search": [...], "social": [...], "browse": [...]}``.

The window is a function of the *set* of signals seen, whatever their order or how often each was delivered: items
are ordered by (event time, event id), newest first, so ties break the same way every time, and a signal is kept
only if it is among the newest ``max_items`` of its domain and not older than ``max_age_s`` before the user's
newest signal. A signal once pushed out never comes back: redelivering it finds it outside the window again.
"""

from __future__ import annotations

from streams.config import DOMAINS


def empty_history() -> dict[str, list[dict]]:
    return {domain: [] for domain in DOMAINS}


def newest_ts(history: dict[str, list[dict]]) -> int | None:
    stamps = [items[0]["ts"] for items in history.values() if items]
    return max(stamps) if stamps else None


def contains(history: dict[str, list[dict]], domain: str, event_id: str) -> bool:
    return any(item["event_id"] == event_id for item in history.get(domain, ()))


def _order(item: dict) -> tuple[int, str]:
    return item["ts"], item["event_id"]


def add_signal(history: dict[str, list[dict]], signal: dict, max_items: int, max_age_s: float) -> bool:
    """Insert ``signal`` in (event time, event id) order and trim every domain to the window. Returns True only if
    the signal is in the window afterwards: False for a duplicate event id (at-least-once delivery makes duplicates
    normal; they change nothing) and for a signal that falls outside the window at once (too old, or older than
    the newest ``max_items`` of its domain)."""
    domain = signal["domain"]
    items = history.setdefault(domain, [])
    if contains(history, domain, signal["event_id"]):
        return False
    key = _order(signal)
    position = 0
    while position < len(items) and _order(items[position]) > key:
        position += 1
    items.insert(position, signal)
    trim(history, max_items, max_age_s)
    return contains(history, domain, signal["event_id"])


def trim(history: dict[str, list[dict]], max_items: int, max_age_s: float) -> None:
    """Keep the newest ``max_items`` per domain, none older than ``max_age_s`` before the user's newest signal."""
    latest = newest_ts(history)
    if latest is None:
        return
    horizon = latest - int(max_age_s * 1000)
    for domain, items in history.items():
        history[domain] = [item for item in items[:max_items] if item["ts"] >= horizon]


def snapshot(history: dict[str, list[dict]], limit: int) -> list[dict]:
    """The newest ``limit`` signals across domains, newest first (what a regeneration request carries)."""
    merged = [item for items in history.values() for item in items]
    merged.sort(key=lambda item: item["ts"], reverse=True)
    return merged[:limit]


def purge(history: dict[str, list[dict]], domain: str) -> int:
    """Remove every signal of ``domain`` (its consent was revoked). Returns how many were removed."""
    removed = len(history.get(domain, ()))
    history[domain] = []
    return removed


def size(history: dict[str, list[dict]]) -> int:
    return sum(len(items) for items in history.values())
