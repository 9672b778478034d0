"""The load benchmark's arithmetic: throughput windows, the sustained rule, memory slope."""

from __future__ import annotations

import pytest

from streams.benchmarks.report import memory_summary, slope_per_minute, sustained, throughput_window


def test_throughput_window_leaves_out_start_up_and_tail():
    # 1000 updates/s from t=2 to t=12 on 10,000 events, polled each second; slow start and tail
    series = [(0, 0), (1, 0), (2, 0)] + [(2 + i, 1000 * i) for i in range(1, 11)]
    window = throughput_window(series, 10_000)
    assert window["steady_rate"] == 1000
    assert window["overall_rate"] == 1000
    assert window["seconds"] == 10


def test_throughput_window_without_updates_is_an_error():
    with pytest.raises(ValueError):
        throughput_window([(0, 0), (1, 0)], 10)


@pytest.mark.parametrize("sent, applied, achieved, expected", [
    (10_000, 10_000, 1000, True),
    (10_000, 9_600, 1000, True),    # 400 waiting: under one second's worth at 1000/s
    (10_000, 8_000, 1000, False),   # 2000 waiting: two seconds behind
    (10_000, 9_000, 1000, False),   # applied only 90 %
    (0, 0, 0, False),
])
def test_sustained_needs_most_events_applied_and_little_backlog(sent, applied, achieved, expected):
    assert sustained(1000, sent, achieved, applied)["sustained"] is expected


def test_sustained_flags_a_producer_that_could_not_reach_the_rate():
    assert sustained(1000, 5000, 500, 5000)["producer_limited"] is True


def test_memory_slope_is_per_minute_and_flat_memory_is_zero():
    assert slope_per_minute([(t, 100.0 + t) for t in range(10)]) == pytest.approx(60.0)
    summary = memory_summary([(t, 200.0) for t in range(30)])
    assert summary["slope_mb_per_min"] == 0 and summary["rss_peak_mb"] == 200.0


def test_rates_are_rounded_to_two_significant_digits():
    from streams.benchmarks.load import two_digits

    assert [two_digits(x) for x in (768, 64, 16.2, 1234, 0.2)] == [770, 64, 16, 1200, 1]
