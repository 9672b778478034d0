"""Per-user signal history: one event-time window per domain, bounded in length and age. Pure functions over
plain dicts (the shape stored in the Faust table) so they are tested directly and serialise as JSON.

History shape: ``{"click": [signal dicts, newest first], "search": [...], "social": [...], "browse": [...]}``.
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


def add_signal(history: dict[str, list[dict]], signal: dict, max_items: int, max_age_s: float) -> bool:
    """Insert ``signal`` in event-time order and trim every domain to the window. Returns False for a duplicate
    event id (at-least-once delivery makes duplicates normal; they change nothing)."""
    domain = signal["domain"]
    items = history.setdefault(domain, [])
    if contains(history, domain, signal["event_id"]):
        return False
    position = 0
    while position < len(items) and items[position]["ts"] > signal["ts"]:
        position += 1
    items.insert(position, signal)
    trim(history, max_items, max_age_s)
    return True


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
