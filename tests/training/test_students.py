"""training/students.py: the paired ratio of a student's NDCG to its teacher's, on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from training.students import capacity, compare, markdown, paired_ratio, served_version, write


def test_paired_ratio_of_means_and_its_interval():
    ratio, low, high = paired_ratio([0.2, 0.4, 0.0, 0.2], [0.2, 0.2, 0.2, 0.2])
    assert ratio == pytest.approx(1.0)
    assert low <= 1.0 <= high and low >= 0.0
    same = paired_ratio([0.1, 0.3], [0.1, 0.3])
    assert same == pytest.approx((1.0, 1.0, 1.0))  # identical users: every resample gives 1
    assert math.isnan(paired_ratio([0.1], [0.0])[0])
    with pytest.raises(ValueError):
        paired_ratio([0.1], [0.1, 0.2])


def report(values: dict[str, float], groups: dict[str, str], version: str) -> dict:
    rows = [{"user_id": u, "group": groups[u], "ndcg@10": v} for u, v in values.items()]
    audit = {"mean_queries": 5.0, "mean_model_queries": 2.0, "served_prompt_copies": 0, "served_invented": 0,
             "users_without_list": 0}
    return {"meta": {"command": f"interests benchmark ({version})", "commit": "abc"},
            "truths": [{"truth": "lexical", "audit": audit,
                        "channel_per_user": {"served": rows, "centroid + served": rows}}]}


def test_compare_gives_per_group_ratios_and_the_latency_against_the_teacher():
    groups = {"a": "warm", "b": "warm", "c": "cold"}
    teacher = report({"a": 0.2, "b": 0.4, "c": 0.3}, groups, "teacher")
    student = report({"a": 0.2, "b": 0.2, "c": 0.3}, groups, "student")
    latency = {"command": "python -m models.benchmarks.cpu_throughput", "machine": {"cpu": "x"},
               "models": [{"version": "m@teacher", "layers": 30, "parameters": 134_515_008},
                          {"version": "m@student", "layers": 24, "parameters": 113_000_000}],
               "results": [
                   {"version": "m@teacher", "batch_size": 16, "n": 1, "dtype": "bfloat16", "stop_at_list": False,
                    "users": 32, "users_per_s": 0.7, "latency_p50_s": 24.0, "latency_p99_s": 25.0,
                    "mean_decode_steps": 48, "mean_prompt_tokens": 445, "valid_share": 0.8},
                   {"version": "m@teacher", "batch_size": 16, "n": 1, "dtype": "bfloat16", "stop_at_list": False,
                    "trim_head": True, "users": 32, "users_per_s": 1.4, "latency_p50_s": 12.0,
                    "latency_p99_s": 12.0, "mean_decode_steps": 48, "mean_prompt_tokens": 445, "valid_share": 0.8},
                   {"version": "m@student", "batch_size": 16, "n": 1, "dtype": "bfloat16", "stop_at_list": True,
                    "users": 32, "users_per_s": 2.1, "latency_p50_s": 8.0, "latency_p99_s": 8.5,
                    "mean_decode_steps": 20, "mean_prompt_tokens": 220, "valid_share": 0.8},
                   {"version": "m@student", "batch_size": 4, "n": 1, "dtype": "bfloat16", "stop_at_list": True,
                    "users": 8, "users_per_s": 1.0, "latency_p50_s": 4.0, "latency_p99_s": 4.0,
                    "mean_decode_steps": 20, "mean_prompt_tokens": 220, "valid_share": 0.8}]}
    out = compare(teacher, {"student": student}, latency)
    cells = out["students"]["student"]["truths"]["lexical"]["served"]
    assert cells["all"]["ratio"] == pytest.approx(0.7 / 0.9)
    assert cells["warm"]["ratio"] == pytest.approx(0.2 / 0.3) and cells["warm"]["users"] == 2
    assert cells["cold"]["ratio"] == pytest.approx(1.0) and "drift" not in cells
    rows = out["latency"]["rows"]
    assert [r["version"] for r in rows] == ["m@teacher", "m@teacher", "m@student"]  # batch 16 only
    # ratios are to the teacher's untrimmed row; its trimmed row is measured against it too
    assert rows[1]["trim_head"] and rows[1]["latency_vs_teacher"] == pytest.approx(12.0 / 24.0)
    assert rows[2]["latency_vs_teacher"] == pytest.approx(8.0 / 24.0) and rows[2]["layers"] == 24
    text = markdown(out)
    assert "0.78x" in text and "| m@student | 24 | 113.0 M | bfloat16 | - | yes | no | 2.10 |" in text
    assert "| m@teacher | 30 | 134.5 M | bfloat16 | - | no | yes | 1.40 |" in text
    # a run that timed the teacher only with the stop rule: the students are measured against that row
    stopped = {**latency, "results": [{**r, "stop_at_list": True} for r in latency["results"]]}
    rows = compare(teacher, {"student": student}, stopped)["latency"]["rows"]
    assert rows[2]["latency_vs_teacher"] == pytest.approx(8.0 / 24.0)


def test_reports_of_different_users_are_refused():
    teacher = report({"a": 0.2}, {"a": "warm"}, "t")
    student = report({"b": 0.2}, {"b": "warm"}, "s")
    with pytest.raises(ValueError, match="different users"):
        compare(teacher, {"s": student})


def served(ndcg: float, version: str) -> dict:
    rows = [{"user_id": "a", "group": "warm", "ndcg@10": ndcg}]
    return {"meta": {"command": version, "commit": "abc"},
            "truths": [{"truth": "lexical", "channel_per_user": {"served": rows, "centroid + served": rows},
                        "generators": [{"generator": "keyphrase", "version": "keyphrase@1"},
                                       {"generator": "served", "version": f"m@{version}"}],
                        "audit": {"users_by_fallback_alone": 9}}]}


def test_the_served_version_is_the_served_generators():
    assert served_version(served(0.1, "s20")["truths"][0]) == "m@s20"
    assert served_version({"generators": [{"generator": "keyphrase", "version": "keyphrase@1"}]}) is None


def test_capacity_fits_the_power_law_over_millions_of_parameters(tmp_path):
    # ndcg = 0.01 * (params in millions) ** 0.5 exactly: the fit recovers a and b
    sizes = {"teacher": 144e6, "s24": 100e6, "s20": 64e6, "op": 100e6}
    ndcg = {k: 0.01 * (v / 1e6) ** 0.5 for k, v in sizes.items()}
    latency = {"models": [{"version": f"m@{k}", "parameters": v} for k, v in sizes.items() if k != "s20"]
               + [{"version": "m@s20", "parameters": sizes["s20"]}]}
    students = {k: served(ndcg[k], k) for k in ("s24", "s20", "op")}
    curves = capacity(served(ndcg["teacher"], "teacher"), students, latency, on_curve=["s24", "s20"])
    curve = curves["lexical"]
    assert [p["model"] for p in curve["points"]] == ["s20", "s24", "teacher"]  # by size; "op" is off the curve
    assert curve["fit"]["b"] == pytest.approx(0.5) and curve["fit"]["a"] == pytest.approx(0.01)
    assert curve["fit"]["r2"] == pytest.approx(1.0)
    del latency["models"][0]  # a model the latency run did not time has no size: left off
    assert [p["model"] for p in capacity(served(0.1, "teacher"), students, latency)["lexical"]["points"]] == [
        "s20", "s24", "op"]
    report = {"teacher": {"command": "t", "commit": "abc"}, "students": {}, "teacher_audit": {},
              "capacity": curves}
    out = write(report, tmp_path)
    assert (out / "capacity.png").stat().st_size > 0
    assert "power-law exponent b = 0.500" in (out / "students.md").read_text()
