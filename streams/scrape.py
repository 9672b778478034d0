"""Reading a worker's Prometheus endpoint: scrape into flat samples, sum a metric, and estimate quantiles from
histogram buckets (what ``histogram_quantile`` does in PromQL). Used by ``interests health``, the load benchmark
and the tests. Pure functions apart from :func:`scrape`."""

from __future__ import annotations

import math
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]  # (sample name, sorted labels) -> value


class ScrapeError(RuntimeError):
    """A metrics endpoint did not answer with Prometheus text."""


def parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return out


def scrape(url: str, timeout: float = 2.0) -> Samples:
    """GET ``url`` (``http://host:port/metrics``) and parse it."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return parse(response.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise ScrapeError(f"no metrics from {url}: {exc}") from exc


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0 when there are none)."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def buckets(samples: Samples, histogram: str) -> list[tuple[float, float]]:
    """Cumulative ``(upper bound, count)`` pairs of a histogram, summed over label sets, ascending."""
    totals: dict[float, float] = {}
    for (name, labels), v in samples.items():
        if name == f"{histogram}_bucket":
            le = float(dict(labels)["le"])
            totals[le] = totals.get(le, 0.0) + v
    return sorted(totals.items())


def delta(after: list[tuple[float, float]], before: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Bucket counts observed between two scrapes."""
    earlier = dict(before)
    return [(le, count - earlier.get(le, 0.0)) for le, count in after]


def quantile(q: float, cumulative: list[tuple[float, float]]) -> float:
    """Estimate the ``q`` quantile (0..1) from cumulative buckets by linear interpolation inside the bucket that
    holds it, as Prometheus does; NaN without observations. A quantile in the +Inf bucket returns the highest
    finite bound (the true value is at least that)."""
    if not cumulative or cumulative[-1][1] <= 0:
        return math.nan
    total = cumulative[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound
