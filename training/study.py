"""The training study behind the README's results table, one command with a seed (``interests train study``):

1. the teacher: SmolLM2-135M-Instruct + LoRA trained with Dr.GRPO on all rewards (training/grpo.py);
2. the reward ablation: the same without ``coverage``;
3. the students, depth-pruned to ``keep_layers`` layers: on-policy distilled, SFT distilled, and undistilled; and
   the SFT student trained further, on-policy or on the teacher's greedy completions (sequence-level);
4. capacity: on-policy students of other depths;
5. evaluation of every model and the baselines on the same benchmark test users (training/evaluate.py), with CPU
   users/s from the same run;
6. inference-time scaling: best-of-N for N in 1, 2, 4, 8, 16 with the teacher on the composite reward (without
   ``relevance``, which needs the future); capacity scaling over the students' sizes; power-law fits and PNGs.

Every stage is cached in the work folder (a rerun resumes where it stopped: training runs from their newest
checkpoint, finished evaluations from their JSON). Results: ``training/results/study.{json,md}``,
``training/results/scaling_{best_of_n,capacity}.png``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from training import policy as P
from training.config import DistillConfig, GRPOConfig, PolicyConfig
from training.evaluate import Benchmark, EvalResult, evaluate, make_baseline

log = logging.getLogger(__name__)
RESULTS = Path(__file__).parent / "results"
SELECTION_REWARDS = ("format", "alignment", "coverage", "specificity", "diversity", "engagement")


@dataclass(frozen=True)
class StudyConfig:
    seed: int = 0
    bench_users: int = 2000
    eval_users: int = 60
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    ablations: tuple[str, ...] = ("coverage",)  # one teacher trained without each of these rewards
    capacity_layers: tuple[int, ...] = (8, 16, 20)  # more on-policy student depths (besides keep_layers and the teacher)
    best_of_n: tuple[int, ...] = (1, 2, 4, 8, 16)
    best_of_n_users: int = 16
    torch_threads: int = 1


def materialize(work: Path, name: str, base: Path, adapter: Path | None, layers: list[int] | None,
                prompt: dict, dtype: str = "bfloat16") -> Path:
    """A Hugging Face folder for evaluation: ``base`` pruned to ``layers`` with ``adapter`` merged (cached)."""
    out = work / "merged" / name
    if (out / "manifest.json").exists():
        return out
    model = P.load_model(base, dtype, layers, adapter=adapter, trainable=False)
    tokenizer = P.load_tokenizer(base)
    manifest = {"name": name, "version": "study", "base": str(base), "layers": layers,
                "adapter": str(adapter) if adapter else None, "prompt": prompt}
    tmp = out.with_name(out.name + ".tmp")
    P.save_merged(model, tokenizer, tmp, manifest)
    tmp.rename(out)
    return out


def gen_config(threads: int, pcfg: PolicyConfig):
    from models.config import GeneratorConfig

    return GeneratorConfig(torch_threads=threads, dtype=pcfg.dtype, max_prompt_signals=pcfg.max_prompt_signals,
                           num_queries=pcfg.num_queries, fallback="")


def evaluate_folder(bench: Benchmark, name: str, folder: Path | None, embedder, users: list[str], work: Path,
                    gen_cfg, seed: int) -> dict:
    """Evaluate a model folder (or a baseline when ``folder`` is None), cached in ``work/eval/<name>.json``."""
    from models.generators.transformers_backend import TransformersGenerator

    out = work / "eval" / f"{name}.json"
    if out.exists():
        return json.loads(out.read_text())
    generator = TransformersGenerator(folder, gen_cfg) if folder is not None else make_baseline(name, gen_cfg)
    result: EvalResult = evaluate(bench, name, generator, embedder, users, seed=seed)
    row = {"name": name, "version": result.version, "summary": result.summary["all"],
           "per_user": [{k: r[k] for k in ("user_id", "ndcg@10", "queries")} for r in result.per_user],
           "params": count_params(generator)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, default=float))
    return row


def measure_speed(name: str, folder: Path, bench: Benchmark, users: list[str], gen_cfg, work: Path,
                  batch: int = 16) -> dict:
    """Pure generation speed: one greedy batch of ``batch`` users, 40-token budget, no parsing or retry (the
    evaluation's ms/user includes the sampled retry of invalid outputs, which a broken model pays more often).
    Cached in ``work/eval/speed-<name>.json``; all models are timed back to back in one pass."""
    from models.generators.base import UserContext
    from models.generators.transformers_backend import TransformersGenerator

    out = work / "eval" / f"speed-{name}.json"
    if out.exists():
        return json.loads(out.read_text())
    generator = TransformersGenerator(folder, gen_cfg)
    prompts = generator.prompts([UserContext(u, bench.histories[u]) for u in users[:batch]])
    generator.complete(prompts[:2])  # warm-up
    started = time.perf_counter()
    generator.complete(prompts)
    seconds = time.perf_counter() - started
    row = {"users": len(prompts), "seconds": seconds, "users_per_s": len(prompts) / seconds,
           "layers": generator.model.config.num_hidden_layers, "load_average": list(__import__("os").getloadavg())}
    out.write_text(json.dumps(row))
    return row


def count_params(generator) -> int | None:
    model = getattr(generator, "model", None)
    return int(sum(p.numel() for p in model.parameters())) if model is not None else None


def power_law(xs: list[float], ys: list[float]) -> dict:
    """Least-squares fit of ``y = a * x^b`` in log-log space: ``{"a", "b", "r2"}`` (positive values only)."""
    pts = [(x, y) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len(pts) < 2:
        return {"a": None, "b": None, "r2": None}
    lx, ly = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    b, log_a = np.polyfit(lx, ly, 1)
    pred = log_a + b * lx
    ss_res, ss_tot = float(((ly - pred) ** 2).sum()), float(((ly - ly.mean()) ** 2).sum())
    return {"a": float(np.exp(log_a)), "b": float(b), "r2": 1 - ss_res / ss_tot if ss_tot > 0 else None}


def best_of_n_curve(bench: Benchmark, env, folder: Path, users: list[str], ns: tuple[int, ...], gen_cfg,
                    embedder, work: Path, seed: int) -> dict:
    """Sample ``max(ns)`` lists per user once; for each N, choose among the first N by the composite reward
    (:data:`SELECTION_REWARDS`) and score the chosen list's NDCG@10 against the user's future clicks."""
    from models.generators.base import UserContext
    from models.generators.transformers_backend import TransformersGenerator
    from models.retrieval import retrieve
    from common import ranking
    from training.rewards import composite

    out = work / "eval" / "best_of_n.json"
    if out.exists():
        return json.loads(out.read_text())
    generator = TransformersGenerator(folder, gen_cfg, n=max(ns), temperature=0.8)
    weights = {name: 1.0 for name in SELECTION_REWARDS}
    curve = {n: [] for n in ns}
    for start in range(0, len(users), 4):
        chunk = users[start:start + 4]
        contexts = [UserContext(u, bench.histories[u]) for u in chunk]
        prompts = generator.prompts(contexts)
        raws = generator.complete(prompts, temperature=0.8, n=max(ns))
        for i, user in enumerate(chunk):
            samples = raws[i * max(ns):(i + 1) * max(ns)]
            ctx = env.contexts([user] * len(samples))
            totals, _ = composite([""] * len(samples), samples, ctx, weights)
            for n in ns:
                best = int(np.argmax(totals[:n]))
                queries = ctx[best].served(samples[best])
                ranked = retrieve(env.index, embedder.embed(queries), k=10,
                                  exclude=bench.clicked.get(user, set())) if queries else []
                curve[n].append(ranking.ndcg_at_k(ranked, bench.targets[user], 10))
        log.info("best-of-N: %d/%d users", min(start + 4, len(users)), len(users))
    result = {"n": list(ns), "ndcg@10": [float(np.mean(curve[n])) for n in ns], "users": len(users)}
    result["fit"] = power_law(result["n"], result["ndcg@10"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result))
    return result


def plot_curve(xs, ys, fit: dict, xlabel: str, title: str, path: Path, labels: list[str] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(xs, ys, "o", label="measured")
    if fit.get("b") is not None:
        grid = np.geomspace(min(xs), max(xs), 50)
        ax.plot(grid, fit["a"] * grid ** fit["b"], "-", label=f"fit: {fit['a']:.3g} x^{fit['b']:.3f}")
    for x, y, text in zip(xs, ys, labels or []):
        ax.annotate(text, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("NDCG@10")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


class StudyRuns:
    """The study's trained models: each trained once into ``work/runs/<tag>`` and reused; a model the stages do not
    train is recorded in ``missing`` (evaluated once a later run of the train stage made it)."""

    def __init__(self, cfg: StudyConfig, work: Path, stages: set[str], env, grpo_cfg, pcfg):
        self.cfg, self.runs, self.stages, self.env = cfg, Path(work) / "runs", stages, env
        self.grpo_cfg, self.pcfg = grpo_cfg, pcfg
        self.missing: list[str] = []

    def _done(self, tag: str) -> Path | None:
        adapter = self.runs / tag / "adapter"
        return adapter if (adapter / "manifest.json").exists() else None

    def teacher(self, tag: str, drop: str | None) -> Path | None:
        from training import grpo

        if done := self._done(tag):
            return done
        if "train" not in self.stages:
            self.missing.append(tag)
            return None
        gcfg = self.grpo_cfg if drop is None else grpo.with_rewards(
            self.grpo_cfg, {k: v for k, v in self.grpo_cfg.weights.items() if k != drop})
        return grpo.train(gcfg, self.env, self.runs / tag)

    def student(self, tag: str, mode: str, keep: int, teacher_adapter: Path | None, init: Path | None = None,
                needs_init: bool = False, teacher_temperature: float | None = None) -> Path | None:
        from training import distill

        if done := self._done(tag):
            return done
        if "train" not in self.stages or teacher_adapter is None or (needs_init and init is None):
            self.missing.append(tag)
            return None
        cfg, pcfg = self.cfg, self.pcfg
        spcfg = replace(cfg.distill.student, torch_threads=cfg.torch_threads, dtype=pcfg.dtype,
                        max_prompt_signals=pcfg.max_prompt_signals, num_queries=pcfg.num_queries)
        dcfg = replace(cfg.distill, student=spcfg, mode=mode, keep_layers=keep, seed=cfg.seed,
                       teacher_temperature=teacher_temperature)
        return distill.train(dcfg, self.env, teacher_adapter, self.runs / tag, init_adapter=init)

    def candidates(self, total_layers: int) -> dict[str, tuple[Path | None, list[int] | None]]:
        """Every model of the study by name: (adapter or None for the base, layers kept or None for all); models
        that need an adapter not trained yet are left out."""
        from models.pruning import default_layers

        keep = self.cfg.distill.keep_layers
        pruned = default_layers(total_layers, keep)
        teacher = self.teacher("teacher", None)
        sft = self.student("student-sft", "sft", keep, teacher)
        rows: list[tuple[str, Path | None, list[int] | None, bool]] = [  # name, adapter, layers, needs adapter
            ("base prompt-only", None, None, False),
            ("teacher (Dr.GRPO)", teacher, None, True),
            (f"student on-policy ({keep} layers)", self.student("student-on-policy", "on-policy", keep, teacher),
             pruned, True),
            (f"student SFT ({keep} layers)", sft, pruned, True),
            (f"student SFT then on-policy ({keep} layers)",
             self.student("student-sft-on-policy", "on-policy", keep, teacher, init=sft, needs_init=True),
             pruned, True),
            (f"student SFT then greedy-teacher SFT ({keep} layers)",  # sequence-level distillation after SFT
             self.student("student-sft-greedy", "sft", keep, teacher, init=sft, needs_init=True,
                          teacher_temperature=0.0), pruned, True),
            (f"student undistilled ({keep} layers)", None, pruned, False),
        ]
        for drop in self.cfg.ablations:
            rows.append((f"teacher without {drop}", self.teacher(f"teacher-no-{drop}", drop), None, True))
        for depth in self.cfg.capacity_layers:
            rows.append((f"student on-policy ({depth} layers)",
                         self.student(f"student-on-policy-L{depth}", "on-policy", depth, teacher),
                         default_layers(total_layers, depth), True))
        return {name: (adapter, layers) for name, adapter, layers, needs in rows if adapter or not needs}


def run(cfg: StudyConfig, work: Path, out_dir: Path = RESULTS, stages: set[str] | None = None) -> dict:
    """The whole study (or ``stages`` of it: train, eval, scaling); returns and writes the results."""
    import torch

    from models.embeddings import MiniLMEmbedder
    from training.benchmark import simulated
    from training.env import RewardEnv

    stages = stages or {"train", "eval", "scaling"}
    started = time.time()
    torch.set_num_threads(cfg.torch_threads)
    work = Path(work)
    bench = Benchmark.load(simulated(cfg.seed, cfg.bench_users))
    embedder = MiniLMEmbedder()
    env = RewardEnv(bench, embedder, num_queries=cfg.grpo.policy.num_queries, seed=cfg.seed)
    pcfg = replace(cfg.grpo.policy, torch_threads=cfg.torch_threads)
    runs = StudyRuns(cfg, work, stages, env, replace(cfg.grpo, seed=cfg.seed, policy=pcfg), pcfg)
    models = runs.candidates(P.load_model(Path(pcfg.model), pcfg.dtype).config.num_hidden_layers)
    results: dict = {"config": asdict(cfg), "rows": [], "machine": _machine(), "not_trained": runs.missing}
    if "eval" in stages or "scaling" in stages:
        users = bench.eval_users("test", cfg.eval_users, seed=cfg.seed)
        gen_cfg = gen_config(cfg.torch_threads, pcfg)
        folders = _evaluate_all(results, models, bench, embedder, users, work, gen_cfg, cfg, pcfg)
        if "scaling" in stages and "teacher (Dr.GRPO)" in folders:
            _scaling(results, bench, env, folders["teacher (Dr.GRPO)"], users, gen_cfg, embedder, work, cfg,
                     out_dir)
        results["targets"] = targets(results["rows"])
        results["wall_s"] = round(time.time() - started, 1)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "study.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
        (out_dir / "study.md").write_text(markdown(results))
    return results


def _evaluate_all(results: dict, models: dict, bench, embedder, users: list[str], work: Path, gen_cfg, cfg, pcfg
                  ) -> dict[str, Path]:
    """The baselines and every model evaluated (rows appended to ``results``) and timed; returns each model's
    materialised folder by name."""
    prompt = {"num_queries": pcfg.num_queries, "max_prompt_signals": pcfg.max_prompt_signals}
    for name in ("centroid", "recent-titles", "keyphrase"):
        results["rows"].append(evaluate_folder(bench, name, None, embedder, users, work, gen_cfg, cfg.seed))
    folders = {}
    for name, (adapter, layers) in models.items():
        slug = name.replace(" ", "-").replace("(", "").replace(")", "")
        folders[name] = materialize(work, slug, Path(pcfg.model), adapter, layers, prompt, pcfg.dtype)
        results["rows"].append(evaluate_folder(bench, name, folders[name], embedder, users, work, gen_cfg, cfg.seed))
    results["eval_users"] = len(users)
    speeds = {name: measure_speed(name, folder, bench, users, gen_cfg, work) for name, folder in folders.items()}
    for row in results["rows"]:
        if row["name"] in speeds:
            row["speed"] = speeds[row["name"]]
    return folders


def _scaling(results: dict, bench, env, teacher_folder: Path, users: list[str], gen_cfg, embedder, work: Path, cfg,
             out_dir: Path) -> None:
    """The best-of-N curve of the teacher and the capacity curve of the students, fitted and plotted."""
    results["best_of_n"] = best_of_n_curve(bench, env, teacher_folder, users[: cfg.best_of_n_users], cfg.best_of_n,
                                           gen_cfg, embedder, work, cfg.seed)
    capacity = [r for r in results["rows"] if r["name"].startswith("student on-policy")
                or r["name"] == "teacher (Dr.GRPO)"]
    capacity.sort(key=lambda r: r["params"])
    xs = [r["params"] / 1e6 for r in capacity]
    ys = [r["summary"]["ndcg@10"][0] for r in capacity]
    results["capacity"] = {"models": [r["name"] for r in capacity], "params_m": xs, "ndcg@10": ys,
                           "fit": power_law(xs, ys)}
    out_dir.mkdir(parents=True, exist_ok=True)
    bon = results["best_of_n"]
    plot_curve(bon["n"], bon["ndcg@10"], bon["fit"], "N (samples per user)", "Best-of-N with the teacher",
               out_dir / "scaling_best_of_n.png")
    plot_curve(xs, ys, results["capacity"]["fit"], "parameters (millions)", "Capacity: student depth",
               out_dir / "scaling_capacity.png", [r["name"].split("(")[-1].rstrip(")") for r in capacity])


def _row(rows: list[dict], prefix: str) -> dict | None:
    return next((r for r in rows if r["name"].startswith(prefix)), None)


def targets(rows: list[dict]) -> dict:
    """The study's targets as measured ratios (reported whatever they are)."""
    def ndcg(r):
        return r["summary"]["ndcg@10"][0] if r else None

    def ms(r):  # pure generation time per user where measured (measure_speed), else the evaluation's
        if r and r.get("speed"):
            return 1000.0 / r["speed"]["users_per_s"]
        return r["summary"]["gen_ms"][0] if r else None

    base, teacher = _row(rows, "base prompt-only"), _row(rows, "teacher (Dr.GRPO)")
    on, sft = _row(rows, "student on-policy"), _row(rows, "student SFT")
    out = {}
    if base and teacher and ndcg(base):
        out["teacher_vs_base_ndcg10"] = ndcg(teacher) / ndcg(base)
    both = _row(rows, "student SFT then on-policy")
    for key, row in (("student", on), ("sft", sft), ("sft_then_on_policy", both)):  # "student": pure on-policy
        if row and teacher and ndcg(teacher):
            out[f"{key}_vs_teacher_ndcg10"] = ndcg(row) / ndcg(teacher)
            out[f"{key}_vs_teacher_latency"] = ms(row) / ms(teacher) if ms(teacher) else None
    if on and sft:
        out["on_policy_minus_sft_ndcg10"] = ndcg(on) - ndcg(sft)
    if both and sft:
        out["sft_then_on_policy_minus_sft_ndcg10"] = ndcg(both) - ndcg(sft)
    return out


def markdown(results: dict) -> str:
    cols = ("recall@5", "recall@10", "ndcg@5", "ndcg@10", "mrr", "ild")
    lines = [f"Test users: {results.get('eval_users')} (seed {results['config']['seed']}); mean [95% bootstrap CI].",
             "CPU users/s: one greedy batch of 16 users, no retry (training/study.py measure_speed); ms/user: the "
             "evaluation's generation time including the sampled retry of invalid outputs.", "",
             "| model | " + " | ".join(cols) + " | CPU users/s | ms/user |",
             "|---|" + "---|" * (len(cols) + 2)]
    for row in results["rows"]:
        s = row["summary"]
        cells = [f"{s[c][0]:.3f} [{s[c][1]:.3f}, {s[c][2]:.3f}]" if s[c][0] is not None else "-" for c in cols]
        ms = s["gen_ms"][0] or 0.0
        speed = f"{row['speed']['users_per_s']:.2f}" if row.get("speed") else f"{1000 / ms:.2f}" if ms > 0.5 else "-"
        lines.append(f"| {row['name']} | " + " | ".join(cells) + f" | {speed} | {ms:.0f} |")
    lines += ["", "Targets: " + json.dumps({k: round(v, 3) if isinstance(v, float) else v
                                           for k, v in results.get("targets", {}).items()})]
    if "best_of_n" in results:
        b = results["best_of_n"]
        lines += ["", f"Best-of-N (teacher, {b['users']} users): " + ", ".join(
            f"N={n}: {v:.3f}" for n, v in zip(b["n"], b["ndcg@10"])) + f"; fit exponent b = {b['fit']['b']}"]
    if "capacity" in results:
        c = results["capacity"]
        lines += ["", "Capacity: " + ", ".join(f"{m} ({p:.0f}M): {v:.3f}" for m, p, v in
                                              zip(c["models"], c["params_m"], c["ndcg@10"]))
                  + f"; fit exponent b = {c['fit']['b']}"]
    return "\n".join(lines) + "\n"


def _machine() -> dict:
    import os
    import platform

    return {"cpus": os.cpu_count(), "platform": platform.platform(), "load_average": list(os.getloadavg())}
