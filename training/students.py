"""Students against their teacher: quality from benchmark reports (``interests benchmark --out DIR``, one per served
model, the same seed and users) and latency from one CPU throughput run timing every model back to back
(``python -m models.benchmarks.cpu_throughput --model-dir TEACHER STUDENT ...``).

Quality is the ratio of a student's mean NDCG@10 to the teacher's over the same test users, per channel (the served
lists alone, and fused with the history centroid by the fusion each benchmark chose on its training users) and per
group, with a paired bootstrap interval (users resampled together, the ratio of the two means per resample).
``interests train students`` writes ``students.json`` and ``students.md``; with a latency report that timed every
model, also the capacity curve: each truth's NDCG@10 of the served lists alone against the model's parameters, for
the teacher and the students on the curve, fitted by a power law ``a * params^b`` (``capacity.png``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CHANNELS = ("served", "centroid + served")
GROUPS = ("all", "warm", "cold", "drift")


def paired_ratio(student: list[float], teacher: list[float], resamples: int = 1000, seed: int = 0
                 ) -> tuple[float, float, float]:
    """``(ratio, low, high)``: mean(student) / mean(teacher) over paired users and its 95 % percentile bootstrap
    interval; nan where the teacher's mean is 0."""
    s, t = np.asarray(student, float), np.asarray(teacher, float)
    if s.shape != t.shape or s.size == 0:
        raise ValueError(f"paired values needed, got {s.size} and {t.size}")
    ratio = float(s.mean() / t.mean()) if t.mean() > 0 else float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, s.size, size=(resamples, s.size))
    num, den = s[idx].mean(axis=1), t[idx].mean(axis=1)
    ratios = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    low, high = np.nanpercentile(ratios, [2.5, 97.5])
    return ratio, float(low), float(high)


def _per_user(truth: dict, channel: str) -> dict[str, dict]:
    return {row["user_id"]: row for row in truth["channel_per_user"][channel]}


def compare_truth(teacher: dict, student: dict, seed: int = 0) -> dict:
    """One truth's comparison: per channel and group, both means and the paired ratio."""
    out = {}
    for channel in CHANNELS:
        t_rows, s_rows = _per_user(teacher, channel), _per_user(student, channel)
        if set(t_rows) != set(s_rows):
            raise ValueError(f"{channel}: the reports cover different users; run both with the same seed and sizes")
        by_group = {}
        for group in GROUPS:
            users = sorted(u for u, r in t_rows.items() if group == "all" or r["group"] == group)
            if not users:
                continue
            t = [t_rows[u]["ndcg@10"] for u in users]
            s = [s_rows[u]["ndcg@10"] for u in users]
            ratio, low, high = paired_ratio(s, t, seed=seed)
            by_group[group] = {"users": len(users), "teacher": float(np.mean(t)), "student": float(np.mean(s)),
                               "ratio": ratio, "ratio_ci": [low, high]}
        out[channel] = by_group
    return out


def load_report(folder: Path) -> dict:
    return json.loads((Path(folder) / "benchmark.json").read_text())


def latency_rows(report: dict, batch_size: int = 16) -> list[dict]:
    """The greedy rows of a CPU throughput report at ``batch_size``."""
    return [r for r in report["results"] if r.get("batch_size") == batch_size and r.get("n") == 1
            and r.get("version")]


def _vs_teacher(row: dict, base: dict) -> float | None:
    """``row``'s p50 over the teacher's of the same dtype and attention with the full head: without the stop rule,
    or with it where the run timed the teacher only with it; None when the run has no such teacher row."""
    for stop in (False, bool(row.get("stop_at_list", False))):
        teacher = base.get((row["dtype"], row.get("attention"), stop))
        if teacher is not None:
            return row["latency_p50_s"] / teacher["latency_p50_s"]
    return None


def compare(teacher: dict, students: dict[str, dict], latency: dict | None = None, seed: int = 0,
            on_curve: list[str] | None = None) -> dict:
    """Every student against the teacher, truth by truth, plus the latency rows at batch 16 with each one's ratio
    to the teacher's row of the same dtype and attention without the stop rule (with it, where only that was timed)
    and without the trimmed head, and the capacity curve of the models on it."""
    truths = {t["truth"]: t for t in teacher["truths"]}
    report = {"teacher": teacher["meta"], "students": {}}
    for name, student in students.items():
        report["students"][name] = {
            "meta": student["meta"],
            "truths": {s["truth"]: compare_truth(truths[s["truth"]], s, seed) for s in student["truths"]
                       if s["truth"] in truths},
            "audit": {s["truth"]: s["audit"] for s in student["truths"]},
        }
    report["teacher_audit"] = {t["truth"]: t["audit"] for t in teacher["truths"]}
    if latency is not None:
        rows = latency_rows(latency)
        models = {m["version"]: m for m in latency["models"]}
        first = rows[0]["version"] if rows else None  # the teacher is the first model timed
        base = {(r["dtype"], r.get("attention"), r.get("stop_at_list", False)): r for r in rows
                if r["version"] == first and not r.get("trim_head")}
        report["latency"] = {
            "command": latency["command"], "machine": latency["machine"], "teacher": first,
            "rows": [{**{k: r[k] for k in ("version", "dtype", "stop_at_list", "users", "users_per_s",
                                           "latency_p50_s", "latency_p99_s", "mean_decode_steps",
                                           "mean_prompt_tokens", "valid_share")},
                      "trim_head": bool(r.get("trim_head")), "attention": r.get("attention"),
                      "layers": models.get(r["version"], {}).get("layers"),
                      "parameters": models.get(r["version"], {}).get("parameters"),
                      "latency_vs_teacher": _vs_teacher(r, base)}
                     for r in rows]}
        report["capacity"] = capacity(teacher, students, latency, on_curve)
    return report


def served_version(truth: dict) -> str | None:
    """The model version a benchmark truth's ``served`` generator was (None without one)."""
    return next((g.get("version") for g in truth.get("generators", []) if g.get("generator") == "served"), None)


def capacity(teacher: dict, students: dict[str, dict], latency: dict, on_curve: list[str] | None = None) -> dict:
    """Per truth: ``{"points": [{model, version, parameters, ndcg@10}] by size, "fit": {a, b, r2}}`` for the teacher
    and the students named in ``on_curve`` (default all), parameters from the latency report's models (a model it
    did not time is left off), NDCG@10 the mean over the test users of the served lists alone; ``b`` is the
    exponent of the fit over parameters in millions."""
    from training.study import power_law

    params = {m["version"]: m["parameters"] for m in latency["models"] if m.get("parameters")}
    reports = [("teacher", teacher)] + [(n, r) for n, r in students.items() if on_curve is None or n in on_curve]
    out = {}
    for truth in (t["truth"] for t in teacher["truths"]):
        points = []
        for name, rep in reports:
            found = next((t for t in rep["truths"] if t["truth"] == truth), None)
            version = served_version(found) if found else None
            if version not in params:
                continue
            rows = found["channel_per_user"]["served"]
            points.append({"model": name, "version": version, "parameters": params[version],
                           "ndcg@10": float(np.mean([r["ndcg@10"] for r in rows]))})
        points.sort(key=lambda p: p["parameters"])
        out[truth] = {"points": points, "fit": power_law([p["parameters"] / 1e6 for p in points],
                                                         [p["ndcg@10"] for p in points])}
    return out


def plot_capacity(curves: dict, path: Path) -> None:
    """Each truth's points and fitted line, NDCG@10 against parameters (millions, log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for truth, curve in curves.items():
        xs = [p["parameters"] / 1e6 for p in curve["points"]]
        ys = [p["ndcg@10"] for p in curve["points"]]
        if not xs:
            continue
        dots = ax.plot(xs, ys, "o", label=f"{truth} truth")[0]
        fit = curve["fit"]
        if fit.get("b") is not None:
            grid = np.geomspace(min(xs), max(xs), 50)
            ax.plot(grid, fit["a"] * grid ** fit["b"], "-", color=dots.get_color(),
                    label=f"{truth}: {fit['a']:.3g} x^{fit['b']:.2f}")
        for x, y, p in zip(xs, ys, curve["points"]):
            ax.annotate(p["model"], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("parameters (millions)")
    ax.set_ylabel("NDCG@10, served lists alone")
    ax.set_title("Capacity: distilled students and their teacher", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _ratio(cell: dict) -> str:
    low, high = cell["ratio_ci"]
    return f"{cell['student']:.3f} vs {cell['teacher']:.3f}: {cell['ratio']:.2f}x [{low:.2f}, {high:.2f}]"


def markdown(report: dict) -> str:
    lines = [f"Teacher: `{report['teacher']['command']}` (commit {report['teacher']['commit']}).", ""]
    for name, student in report["students"].items():
        lines += [f"## {name}", "", f"`{student['meta']['command']}` (commit {student['meta']['commit']}), "
                  f"served with its own prompt contract.", ""]
        for truth, channels in student["truths"].items():
            lines += [f"{truth} truth, NDCG@10 student vs teacher, ratio [paired 95 % interval]:", "",
                      "| channel | " + " | ".join(GROUPS) + " |", "|---|" + "---|" * len(GROUPS)]
            for channel, groups in channels.items():
                lines.append(f"| {channel} | " + " | ".join(_ratio(groups[g]) if g in groups else "-"
                                                          for g in GROUPS) + " |")
            audit, teacher = student["audit"][truth], report["teacher_audit"].get(truth, {})
            lines += ["", f"Served lists: {audit['mean_queries']:.2f} queries per user, {audit['mean_model_queries']:.2f} "
                      f"the model's (teacher {teacher.get('mean_model_queries', float('nan')):.2f}); "
                      f"{audit.get('users_by_fallback_alone', '-')} users' lists are the fallback's alone (teacher "
                      f"{teacher.get('users_by_fallback_alone', '-')}); "
                      f"{audit['served_prompt_copies']} prompt copies, {audit['served_invented']} invented words, "
                      f"{audit.get('served_garbled', '-')} garbled words, "
                      f"{audit.get('served_swapped', '-')} swapped words, "
                      f"{audit['users_without_list']} users without a list.", ""]
    if "latency" in report:
        lat = report["latency"]
        lines += ["## Latency (batch 16, greedy, one run, back to back)", "", f"`{lat['command']}`", "",
                  "| model | layers | parameters | dtype | attention | stop at list | trimmed head | users/s | p50 s | "
                  "p99 s | decode steps | prompt tokens | valid | p50 vs teacher |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in lat["rows"]:
            vs = f"{r['latency_vs_teacher']:.2f}" if r["latency_vs_teacher"] is not None else "-"
            params = f"{r['parameters'] / 1e6:.1f} M" if r["parameters"] else "-"
            lines.append(f"| {r['version']} | {r['layers']} | {params} | {r['dtype']} | {r.get('attention') or '-'} | "
                         f"{'yes' if r['stop_at_list'] else 'no'} | {'yes' if r.get('trim_head') else 'no'} | "
                         f"{r['users_per_s']:.2f} | {r['latency_p50_s']:.2f} | "
                         f"{r['latency_p99_s']:.2f} | {r['mean_decode_steps']:.1f} | {r['mean_prompt_tokens']:.0f} | "
                         f"{r['valid_share']:.2f} | {vs} |")
        machine = lat["machine"]
        lines += ["", f"Machine: {machine.get('cpu')}, {machine.get('logical_cores')} cores, torch threads "
                  f"{machine.get('torch_threads')}; load average {machine.get('load_average_1_5_15_min_at_start')} -> "
                  f"{machine.get('load_average_1_5_15_min_at_end')}."]
    for truth, curve in report.get("capacity", {}).items():
        fit = curve["fit"]
        r2 = f" (R² {fit['r2']:.2f})" if fit.get("r2") is not None else ""
        exponent = f"b = {fit['b']:.3f}{r2}" if fit.get("b") is not None else "no fit (fewer than two points)"
        lines += ["", f"Capacity, {truth} truth (served lists alone): " + ", ".join(
            f"{p['model']} {p['parameters'] / 1e6:.1f} M: {p['ndcg@10']:.3f}" for p in curve["points"])
            + f"; power-law exponent {exponent}."]
    return "\n".join(lines) + "\n"


def write(report: dict, out: Path) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "students.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "students.md").write_text(markdown(report))
    if report.get("capacity"):
        plot_capacity(report["capacity"], out / "capacity.png")
    return out
