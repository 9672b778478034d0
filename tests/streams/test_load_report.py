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


def test_steady_cpu_leaves_out_the_workers_start_and_tail():
    from streams.benchmarks.report import steady_cpu

    # 4 CPU-seconds of start-up before the first update, then 1,000 updates per CPU-second, then a slow tail
    samples = [(0, 2.0), (0, 4.0)] + [(1000 * i, 4.0 + i) for i in range(1, 10)] + [(10_000, 20.0)]
    out = steady_cpu(samples, 10_000)
    assert out["steady_updates_per_cpu_s"] == 1000
    assert out["steady_updates"] == 8000 and out["steady_cpu_s"] == 8.0
    assert steady_cpu([(0, 1.0), (10_000, 5.0)], 10_000) == {}  # no two samples inside the middle 80 %


def test_profile_summary_counts_modules_inclusively_and_leaves_by_frame():
    from streams.benchmarks.profile import summarise

    raw = "\n".join([
        "main (/x/site-packages/faust/agents/agent.py:10);track (/repo/streams/agents.py:5);"
        "unpack (/repo/streams/packing.py:3) 3",
        "main (/x/site-packages/faust/agents/agent.py:10);write (/usr/lib/python3.11/asyncio/selector_events.py:9) 1",
        "garbage line",
    ])
    out = summarise(raw)
    assert out["samples"] == 4
    assert out["modules_pct"]["faust/agents/agent.py"] == 100.0
    assert out["modules_pct"]["streams/packing.py"] == 75.0
    assert out["leaves_pct"] == {"unpack (streams/packing.py)": 75.0, "write (asyncio/selector_events.py)": 25.0}
    assert out["functions_pct"]["main (faust/agents/agent.py)"] == 100.0
    assert out["functions_pct"]["track (streams/agents.py)"] == 75.0


def test_the_gil_profile_asks_py_spy_for_the_lock_holder_only(monkeypatch):
    from streams.benchmarks import profile

    monkeypatch.setattr(profile, "py_spy", lambda: "py-spy")
    started = []
    monkeypatch.setattr(profile.subprocess, "Popen", lambda args, **kw: started.append(args))
    profile.Sampler(1, 2.0, gil=True).start()
    profile.Sampler(1, 2.0).start()
    assert "--gil" in started[0] and "--gil" not in started[1]


def test_comparison_ratios_pair_rounds_and_skip_missing_figures():
    from streams.benchmarks.compare import ratios

    previous = [{"throughput": {"updates_per_cpu_s": 1000, "steady_rate": 500}}, {"throughput": {}}]
    current = [{"throughput": {"updates_per_cpu_s": 2500, "steady_updates_per_cpu_s": 3000, "steady_rate": 600}},
               {"throughput": {"updates_per_cpu_s": 10}}]
    assert ratios(previous, current) == {"updates_per_cpu_s": [2.5], "steady_rate": [1.2]}


def test_fresh_texts_make_every_events_text_new_and_keep_it_valid():
    from schemas import default_codec
    from streams.benchmarks.loadgen import EventMaker
    from streams.config import StreamsConfig
    from streams.events import Limits, decode_inbound

    cfg, codec = StreamsConfig(), default_codec()
    limits = Limits(cfg.max_text_chars, 10**9, 0)

    def texts(maker, n=800):
        return [decode_inbound(codec, maker.make("u1", 1_800_000_000_000 + i)[2], limits).text for i in range(n)]
    plain, fresh = texts(EventMaker(cfg)), texts(EventMaker(cfg, fresh_texts=True))
    assert len(set(plain)) < 300  # the sample's 400 rows, cycled: their texts repeat
    assert len(set(fresh)) == 800
    assert fresh[0].startswith(plain[0])


def test_the_previous_code_is_a_worktree_of_a_real_commit_and_is_removed_after():
    from streams.benchmarks.compare import checkout

    with pytest.raises(ValueError, match="not a commit"):
        with checkout("no-such-ref-anywhere"):
            pass
    with checkout("HEAD") as (folder, commit):
        assert (folder / "streams" / "agents.py").exists() and len(commit) >= 7
    assert not folder.exists()


def test_kept_raw_stacks_are_shortened_gzipped_and_named_per_side(tmp_path):
    import gzip

    from streams.benchmarks.compare import raw_named
    from streams.benchmarks.load import LoadConfig
    from streams.benchmarks.profile import keep_raw, summarise

    raw = "main (/x/site-packages/faust/agents/agent.py:10);track (/repo/streams/agents.py:5) 3\n"
    keep_raw(raw, tmp_path / "p.txt.gz")
    kept = gzip.open(tmp_path / "p.txt.gz", "rt").read()
    assert kept == "main (faust/agents/agent.py:10);track (streams/agents.py:5) 3\n"
    assert summarise(kept)["functions_pct"] == summarise(raw)["functions_pct"]
    named = raw_named(LoadConfig(profile_raw=str(tmp_path / "p.txt.gz")), "previous", 2)
    assert named.profile_raw == str(tmp_path / "p-previous-2.txt.gz")
    assert raw_named(LoadConfig(), "current", 1).profile_raw == ""
