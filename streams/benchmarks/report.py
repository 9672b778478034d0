"""The load benchmark's arithmetic, its printed table and its JSON file: pure functions over the measured series, and
the one that writes a result."""

from __future__ import annotations

import json
from pathlib import Path

SUSTAINED_SHARE = 0.95  # of a step's events applied by the step's end
BACKLOG_SECONDS = 1.0  # at most this many seconds' worth of events still waiting at the step's end


def throughput_window(series: list[tuple[float, float]], total: float) -> dict:
    """Rates from a ``(time, cumulative updates)`` series that reaches ``total``: over the whole run (first update to
    the last) and over its middle 80 % (10 % to 90 % of ``total``: start-up and the tail left out)."""
    started = next((t for t, n in series if n > 0), None)
    if started is None:
        raise ValueError("no updates in the series")
    # the first poll that saw updates is up to one poll after the true start: take the poll before it
    before = [t for t, n in series if n == 0]
    started = before[-1] if before else started
    ended = series[-1][0]

    def crossing(level: float) -> float:
        return next(t for t, n in series if n >= level)

    low, high = crossing(0.1 * total), crossing(0.9 * total)
    return {"events": int(total), "seconds": round(ended - started, 2),
            "overall_rate": round(total / max(ended - started, 1e-9)),
            "steady_rate": round(0.8 * total / max(high - low, 1e-9))}


def steady_cpu(samples: list[tuple[float, float]], total: float) -> dict:
    """Updates per CPU-second of the worker over the middle 80 % of a run (10 % to 90 % of ``total``), from
    ``(cumulative updates, worker CPU seconds)`` samples: the worker's start (imports, joining the group, recovering
    its tables) and the tail left out, as in :func:`throughput_window`. Empty if the samples do not span it."""
    inside = [(n, cpu) for n, cpu in samples if 0.1 * total <= n <= 0.9 * total]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0] or inside[-1][1] <= inside[0][1]:
        return {}
    (n0, c0), (n1, c1) = inside[0], inside[-1]
    return {"steady_updates_per_cpu_s": round((n1 - n0) / (c1 - c0)), "steady_cpu_s": round(c1 - c0, 2),
            "steady_updates": int(n1 - n0)}


def sustained(rate: float, sent: int, achieved: float, applied_by_end: float) -> dict:
    """Did the worker keep up with a step? Applied >= 95 % of its events by the step's end and left a backlog of
    under one second's worth. A producer that could not reach the rate is flagged: the step then measured less."""
    backlog = sent - applied_by_end
    kept_up = sent > 0 and applied_by_end >= SUSTAINED_SHARE * sent and backlog <= max(rate * BACKLOG_SECONDS, 1)
    return {"sustained": bool(kept_up), "producer_limited": achieved < SUSTAINED_SHARE * rate}


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, value)`` samples, per minute (0 for fewer than two samples)."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    return 60.0 * sum((t - mean_t) * (v - mean_v) for t, v in samples) / var


def memory_summary(samples: list[tuple[float, float]]) -> dict:
    """Start, peak and end RSS (MB) and the slope over the whole run and over its second half (MB/min)."""
    if not samples:
        return {}
    values = [v for _, v in samples]
    half = samples[len(samples) // 2:]
    return {"rss_start_mb": round(values[0], 1), "rss_peak_mb": round(max(values), 1),
            "rss_end_mb": round(values[-1], 1), "slope_mb_per_min": round(slope_per_minute(samples), 2),
            "slope_second_half_mb_per_min": round(slope_per_minute(half), 2)}


def print_report(result: dict) -> None:
    """The benchmark's table on stdout."""
    lines = [f"load benchmark ({result['config']['embedder']} embedder); load average {result['loadavg_start']} "
             f"-> {result.get('loadavg_end')}"]
    if "throughput" in result:
        t = result["throughput"]
        lines.append(f"throughput, 1 worker: {t['steady_rate']} updates/s steady ({t['overall_rate']} overall, "
                     f"{t['events']} events in {t['seconds']} s); {t['updates_per_cpu_s']} per CPU-second of the "
                     f"worker, which got {t.get('worker_cpu_share', 0):.2f} of a core; RSS {t['rss_mb']} MB")
        if "steady_updates_per_cpu_s" in t:
            lines.append(f"  steady (10-90 % of the events, start-up left out): {t['steady_updates_per_cpu_s']} "
                         f"updates per worker CPU-second ({t['steady_updates']} updates in {t['steady_cpu_s']} "
                         f"CPU-seconds)")
    if "rates" in result:
        lines.append(f"{'rate/s':>8} {'sent/s':>8} {'backlog':>8} {'p50 s':>7} {'p99 s':>7} {'cpu':>5}  sustained")
        for s in result["rates"]:
            lines.append(f"{s['rate']:>8.0f} {s['achieved_send_rate']:>8} {s['backlog_at_step_end']:>8} "
                         f"{_num(s['freshness_p50_s']):>7} {_num(s['freshness_p99_s']):>7} "
                         f"{s.get('worker_cpu_share', 0):>5.2f}  "
                         f"{'yes' if s['sustained'] else 'no'}{' (producer-limited)' if s['producer_limited'] else ''}")
        lines.append(f"highest sustained rate: {result.get('highest_sustained_rate')} events/s; with p99 < 1 s: "
                     f"{result.get('highest_rate_with_p99_under_1s')}")
    if "memory" in result:
        m = result["memory"]
        lines.append(f"memory at {m['rate']:.0f}/s for {m['seconds']:.0f} s: RSS {m.get('rss_start_mb')} -> peak "
                     f"{m.get('rss_peak_mb')} -> {m.get('rss_end_mb')} MB; slope {m.get('slope_mb_per_min')} MB/min "
                     f"(second half {m.get('slope_second_half_mb_per_min')})")
    if "regen" in result:
        r = result["regen"]
        lines.append(f"with regeneration ({r['backend']}): {r['features_written']}/{r['regenerations_expected']} "
                     f"features; event -> feature in Feast p50 {_num(r['feature_freshness_p50_s'])} s, p99 "
                     f"{_num(r['feature_freshness_p99_s'])} s; request -> feature p99 "
                     f"{_num(r['request_to_feature_p99_s'])} s")
    if "scale" in result:
        s = result["scale"]
        lines.append(f"two workers: {s['steady_rate']} updates/s steady ({s['overall_rate']} overall); per worker "
                     f"{s['updates_per_worker']}")
    print("\n".join(lines), flush=True)


def _num(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def write_result(out: Path, name: str, result: dict) -> Path:
    """``result`` as indented JSON in ``out/name`` (the folder made if needed); prints and returns the path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}")
    return path
