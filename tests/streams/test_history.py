"""Per-user signal history: event-time order, idempotent on event id, bounded per domain in length and age."""

from __future__ import annotations

import copy
import itertools
import json

from streams.config import DOMAINS
from streams.history import add_signal, contains, empty_history, newest_ts, snapshot, trim

_ids = itertools.count()
T0 = 1_700_000_000_000
HOUR_MS = 3_600_000
BIG = 10**9  # a length / age bound that never bites


def sig(ts: int, domain: str = "click", event_id: str | None = None, text: str = "t") -> dict:
    return {"event_id": event_id or f"h{next(_ids)}", "user_id": "u1", "domain": domain, "kind": domain,
            "text": text, "ts": ts, "item_id": None, "platform": None}


def stamps(history, domain="click") -> list[int]:
    return [item["ts"] for item in history[domain]]


def add_all(history, signals, max_items=BIG, max_age_s=BIG) -> list[bool]:
    return [add_signal(history, s, max_items, max_age_s) for s in signals]


def test_empty_history_has_every_domain_and_no_newest():
    history = empty_history()
    assert history == {domain: [] for domain in DOMAINS}
    assert newest_ts(history) is None
    assert snapshot(history, 10) == []


def test_signals_are_kept_newest_first():
    history = empty_history()
    add_all(history, [sig(T0), sig(T0 + 1), sig(T0 + 2)])
    assert stamps(history) == [T0 + 2, T0 + 1, T0]


def test_out_of_order_signal_is_inserted_by_event_time():
    history = empty_history()
    assert add_all(history, [sig(T0 + 30), sig(T0 + 10), sig(T0 + 20), sig(T0 + 40), sig(T0)]) == [True] * 5
    assert stamps(history) == [T0 + 40, T0 + 30, T0 + 20, T0 + 10, T0]


def test_signals_with_equal_timestamps_are_all_kept():
    history = empty_history()
    add_all(history, [sig(T0, event_id="a"), sig(T0, event_id="b")])
    assert sorted(item["event_id"] for item in history["click"]) == ["a", "b"]


def test_duplicate_event_id_is_rejected_and_changes_nothing():
    history = empty_history()
    add_all(history, [sig(T0, event_id="x"), sig(T0 + 5, event_id="y")])
    before = copy.deepcopy(history)
    assert add_signal(history, sig(T0 + 99, event_id="x", text="replayed"), BIG, BIG) is False
    assert history == before


def test_duplicate_check_does_not_trim_with_a_tighter_window():
    history = empty_history()
    add_all(history, [sig(T0, event_id="x"), sig(T0 + 5)])
    before = copy.deepcopy(history)
    assert add_signal(history, sig(T0, event_id="x"), max_items=1, max_age_s=0) is False
    assert history == before


def test_same_event_id_in_another_domain_is_a_different_event():
    history = empty_history()
    assert add_all(history, [sig(T0, "click", "x"), sig(T0, "search", "x")]) == [True, True]
    assert contains(history, "click", "x") and contains(history, "search", "x")
    assert not contains(history, "social", "x")


def test_each_domain_keeps_at_most_max_items_newest():
    history = empty_history()
    add_all(history, [sig(T0 + i) for i in range(10)] + [sig(T0 + i, "search") for i in range(2)], max_items=3)
    assert stamps(history) == [T0 + 9, T0 + 8, T0 + 7]
    assert stamps(history, "search") == [T0 + 1, T0]


def test_late_signal_older_than_the_kept_window_is_dropped_when_full():
    history = empty_history()
    add_all(history, [sig(T0 + 10), sig(T0 + 20)], max_items=2)
    add_signal(history, sig(T0), max_items=2, max_age_s=BIG)
    assert stamps(history) == [T0 + 20, T0 + 10]
    add_signal(history, sig(T0 + 15), max_items=2, max_age_s=BIG)
    assert stamps(history) == [T0 + 20, T0 + 15]


def test_signals_older_than_max_age_before_the_newest_are_dropped():
    history = empty_history()
    add_all(history, [sig(T0), sig(T0 + HOUR_MS), sig(T0 + 2 * HOUR_MS)], max_age_s=3600 * 1.5)
    assert stamps(history) == [T0 + 2 * HOUR_MS, T0 + HOUR_MS]


def test_a_signal_exactly_max_age_old_is_kept():
    history = empty_history()
    add_all(history, [sig(T0), sig(T0 + HOUR_MS)], max_age_s=3600)
    assert stamps(history) == [T0 + HOUR_MS, T0]


def test_age_bound_is_relative_to_the_newest_signal_of_any_domain():
    history = empty_history()
    add_all(history, [sig(T0, "click"), sig(T0 + HOUR_MS // 2, "browse")], max_age_s=3600)
    assert stamps(history) == [T0]
    add_signal(history, sig(T0 + 2 * HOUR_MS, "search"), BIG, 3600)
    assert history["click"] == [] and history["browse"] == []
    assert stamps(history, "search") == [T0 + 2 * HOUR_MS]


def test_age_bound_does_not_depend_on_wall_clock():
    history = empty_history()
    add_all(history, [sig(946_684_800_000), sig(946_684_800_000 + 1)], max_age_s=1)
    assert len(history["click"]) == 2


def test_late_signal_beyond_max_age_is_not_kept():
    history = empty_history()
    add_signal(history, sig(T0 + 2 * HOUR_MS), BIG, 3600)
    add_signal(history, sig(T0), BIG, 3600)
    assert stamps(history) == [T0 + 2 * HOUR_MS]


def test_trim_on_an_empty_history_does_nothing():
    history = empty_history()
    trim(history, 1, 0)
    assert history == empty_history()


def test_newest_ts_is_the_max_over_domains():
    history = empty_history()
    add_all(history, [sig(T0 + 7, "social"), sig(T0 + 3, "click"), sig(T0 + 5, "browse")])
    assert newest_ts(history) == T0 + 7


def test_snapshot_merges_domains_newest_first_with_a_limit():
    history = empty_history()
    add_all(history, [sig(T0 + 1, "click"), sig(T0 + 4, "search"), sig(T0 + 2, "social"), sig(T0 + 5, "browse"),
                      sig(T0 + 3, "click"), sig(T0 + 6, "search")])
    assert [s["ts"] for s in snapshot(history, 4)] == [T0 + 6, T0 + 5, T0 + 4, T0 + 3]
    assert [s["domain"] for s in snapshot(history, 4)] == ["search", "browse", "search", "click"]
    assert [s["ts"] for s in snapshot(history, 100)] == [T0 + i for i in range(6, 0, -1)]
    assert snapshot(history, 0) == []


def test_snapshot_does_not_modify_the_history():
    history = empty_history()
    add_all(history, [sig(T0 + 1, "click"), sig(T0 + 2, "search")])
    before = copy.deepcopy(history)
    taken = snapshot(history, 1)
    taken.clear()
    assert history == before


def test_history_round_trips_through_json_and_keeps_working():
    history = empty_history()
    add_all(history, [sig(T0 + 1), sig(T0 + 2, "search", "dup")])
    restored = json.loads(json.dumps(history))
    assert restored == history
    assert add_signal(restored, sig(T0 + 3, "search", "dup"), BIG, BIG) is False
    assert add_signal(restored, sig(T0 + 3, "social"), BIG, BIG) is True


def test_add_signal_creates_a_missing_domain_list():
    history = {}
    assert add_signal(history, sig(T0, "click"), BIG, BIG) is True
    assert stamps(history) == [T0]
