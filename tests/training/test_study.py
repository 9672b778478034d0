"""The study's pure parts: power-law fits, the target ratios, the markdown table."""

import math

import pytest

from training.study import markdown, power_law, targets


def test_power_law_recovers_exponent():
    xs = [1, 2, 4, 8, 16]
    fit = power_law(xs, [0.2 * x ** 0.1 for x in xs])
    assert fit["b"] == pytest.approx(0.1) and fit["a"] == pytest.approx(0.2) and fit["r2"] == pytest.approx(1.0)
    assert power_law([1], [0.3])["b"] is None  # one point: no fit
    assert power_law([1, 2], [0.0, 0.0])["b"] is None  # no positive values


def row(name, ndcg, ms):
    metric = {m: [0.1, 0.05, 0.15] for m in ("recall@5", "recall@10", "ndcg@5", "mrr", "ild")}
    return {"name": name, "summary": {**metric, "ndcg@10": [ndcg, ndcg - 0.01, ndcg + 0.01], "gen_ms": [ms] * 3}}


def test_targets_are_ratios_of_the_measured_rows():
    rows = [row("base prompt-only", 0.10, 1000), row("teacher (Dr.GRPO)", 0.15, 1000),
            row("student on-policy (12 layers)", 0.12, 400), row("student SFT (12 layers)", 0.11, 400)]
    out = targets(rows)
    assert out["teacher_vs_base_ndcg10"] == pytest.approx(1.5)
    assert out["student_vs_teacher_ndcg10"] == pytest.approx(0.8)
    assert out["student_vs_teacher_latency"] == pytest.approx(0.4)
    assert out["on_policy_minus_sft_ndcg10"] == pytest.approx(0.01)
    assert out["sft_vs_teacher_ndcg10"] == pytest.approx(0.11 / 0.15)
    assert "sft_then_on_policy_vs_teacher_ndcg10" not in out
    rows.append(row("student SFT then on-policy (12 layers)", 0.135, 300))
    out = targets(rows)
    assert out["sft_then_on_policy_vs_teacher_ndcg10"] == pytest.approx(0.9)
    assert out["sft_then_on_policy_vs_teacher_latency"] == pytest.approx(0.3)
    assert out["sft_then_on_policy_minus_sft_ndcg10"] == pytest.approx(0.025)
    assert out["student_vs_teacher_ndcg10"] == pytest.approx(0.8)  # "student on-policy" is still the pure one
    assert targets([]) == {}


def test_markdown_lists_every_row_with_speed():
    results = {"config": {"seed": 0}, "eval_users": 3, "rows": [row("keyphrase", 0.1, 0.1), row("teacher", 0.2, 500)],
               "targets": {"x": 1.0}, "best_of_n": {"users": 3, "n": [1, 2], "ndcg@10": [0.1, 0.2],
                                                    "fit": {"b": math.log(2) / math.log(2)}}}
    text = markdown(results)
    assert "| keyphrase |" in text and "| teacher |" in text and "2.00" in text  # 500 ms/user = 2 users/s
    assert "N=2: 0.200" in text


def test_without_the_train_stage_only_untrained_models_are_candidates_and_the_rest_are_listed_missing(tmp_path):
    from training.study import StudyConfig, StudyRuns

    cfg = StudyConfig()
    runs = StudyRuns(cfg, tmp_path, {"eval"}, env=None, grpo_cfg=cfg.grpo, pcfg=cfg.grpo.policy)
    models = runs.candidates(total_layers=30)
    keep = cfg.distill.keep_layers
    assert set(models) == {"base prompt-only", f"student undistilled ({keep} layers)"}
    assert models["base prompt-only"] == (None, None) and len(models[f"student undistilled ({keep} layers)"][1]) == keep
    assert {"teacher", "student-sft", "student-on-policy"} <= set(runs.missing)
    # a trained run is found by its manifest and becomes a candidate
    (tmp_path / "runs" / "teacher" / "adapter").mkdir(parents=True)
    (tmp_path / "runs" / "teacher" / "adapter" / "manifest.json").write_text("{}")
    assert StudyRuns(cfg, tmp_path, {"eval"}, None, cfg.grpo, cfg.grpo.policy).candidates(30)["teacher (Dr.GRPO)"][0] \
        == tmp_path / "runs" / "teacher" / "adapter"
