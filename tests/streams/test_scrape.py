"""Reading Prometheus text: sums over labels, bucket deltas and quantile estimates."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

import common.prometheus  # noqa: F401  (metric values in memory even after Feast was imported: see there)
from streams import scrape


def registry_with(values: list[float]) -> CollectorRegistry:
    registry = CollectorRegistry()
    hist = Histogram("lat_seconds", "latency", buckets=(0.1, 0.5, 1.0), registry=registry)
    for v in values:
        hist.observe(v)
    counter = Counter("events", "events", ["topic"], registry=registry)
    counter.labels("a").inc(3)
    counter.labels("b").inc(4)
    return registry


def test_value_sums_label_sets_and_filters_by_label():
    samples = scrape.parse(generate_latest(registry_with([])).decode())
    assert scrape.value(samples, "events_total") == 7
    assert scrape.value(samples, "events_total", topic="b") == 4
    assert scrape.value(samples, "missing_total") == 0


def test_quantile_interpolates_inside_the_bucket_like_prometheus():
    samples = scrape.parse(generate_latest(registry_with([0.05] * 50 + [0.3] * 40 + [0.8] * 10)).decode())
    cumulative = scrape.buckets(samples, "lat_seconds")
    assert cumulative[-1] == (math.inf, 100)
    assert scrape.quantile(0.5, cumulative) == pytest.approx(0.1)  # the 50th of 100 closes the first bucket
    assert scrape.quantile(0.7, cumulative) == pytest.approx(0.1 + 0.4 * 20 / 40)
    assert scrape.quantile(0.99, cumulative) == pytest.approx(0.5 + 0.5 * 9 / 10)


def test_quantile_of_no_observations_is_nan_and_of_the_inf_bucket_is_the_last_bound():
    assert math.isnan(scrape.quantile(0.5, [(0.1, 0), (math.inf, 0)]))
    assert scrape.quantile(0.99, [(0.1, 1), (1.0, 1), (math.inf, 10)]) == 1.0


def test_delta_counts_only_what_happened_between_two_scrapes():
    before = scrape.buckets(scrape.parse(generate_latest(registry_with([0.05] * 10)).decode()), "lat_seconds")
    after = scrape.buckets(scrape.parse(generate_latest(registry_with([0.05] * 10 + [0.8] * 5)).decode()),
                           "lat_seconds")
    assert scrape.delta(after, before) == [(0.1, 0), (0.5, 0), (1.0, 5), (math.inf, 5)]
    assert scrape.quantile(0.5, scrape.delta(after, before)) > 0.5


def test_scrape_of_a_closed_port_raises_a_scrape_error():
    with pytest.raises(scrape.ScrapeError, match="no metrics from"):
        scrape.scrape("http://127.0.0.1:9/metrics", timeout=0.5)
