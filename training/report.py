"""Result tables (terminal and Markdown), the JSON file and the PNG chart of an evaluation run."""

from __future__ import annotations

import json
from pathlib import Path

SHOWN = ("recall@5", "recall@10", "ndcg@5", "ndcg@10", "mrr", "ild", "coverage", "gen_ms")


def _cell(triple, metric: str) -> str:
    mean, low, high = triple
    if mean is None:
        return "-"
    if metric == "gen_ms":
        return f"{mean:.0f}"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def table(results: list[dict], markdown: bool = False) -> str:
    """One row per (generator, group): mean with its 95 % bootstrap interval."""
    header = ["generator", "group", "users", *SHOWN]
    rows = []
    for result in results:
        for group, values in result["summary"].items():
            rows.append([result["generator"], group, str(values["users"]),
                         *[_cell(values[m], m) for m in SHOWN]])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *[fmt(r) for r in rows]])


def write_json(results: list[dict], meta: dict, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))


def bar_chart(results: list[dict], path: Path, metric: str = "ndcg@10") -> None:
    """Grouped bars of ``metric`` per generator and user group, with the bootstrap interval as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = [g for g in ("all", "warm", "drift", "cold") if any(g in r["summary"] for r in results)]
    width = 0.8 / max(len(results), 1)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(len(groups))
    for i, result in enumerate(results):
        means, errors = [], [[], []]
        for group in groups:
            mean, low, high = result["summary"].get(group, {}).get(metric, [None] * 3)
            means.append(mean or 0.0)
            errors[0].append((mean - low) if mean is not None else 0.0)
            errors[1].append((high - mean) if mean is not None else 0.0)
        ax.bar(x + i * width - 0.4 + width / 2, means, width, yerr=errors, capsize=3, label=result["generator"])
    ax.set_xticks(x, groups)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by generator and user group (95 % bootstrap intervals)")
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


CHANNEL_SHOWN = ("ndcg@10", "recall@10", "mrr")


def channel_table(run: dict, metric: str = "ndcg@10") -> str:
    """Markdown: one row per recall channel (or fusion), ``metric`` per group with its interval, the ratio to the
    centroid over all users, and the exclusive hits against the centroid's top 10 (gained / lost, all users)."""
    summary, groups = run["channels"], [g for g in ("all", "warm", "cold", "drift") if g in run["channels"]["centroid"]]
    base = summary["centroid"]["all"][metric][0]
    header = ["recall", *[f"{metric} {g} ({summary['centroid'][g]['users']})" for g in groups], "x centroid",
              "hits gained / lost"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, by_group in summary.items():
        label = name
        generator = name.removeprefix("centroid + ").removesuffix(" (learned)")
        fusion = run.get("fusions", {}).get(generator)
        if name.startswith("centroid + ") and fusion:
            learned = name.endswith(" (learned)")
            rule = fusion["learned"]["rule"] if learned else fusion["rule"]
            margin = fusion["learned"].get("margin_over_rule") if learned else None
            if margin:  # held-out minus the rule's NDCG@10 on the choosing users, paired: mean and standard error
                rule += f"; {margin[0]:+.3f} ± {margin[1]:.3f} over the rule where chosen"
            label = f"centroid + {generator} ({rule})"
            if fusion.get("deployed") == ("learned" if learned else "rule") and "learned" in fusion:
                label += ", deployed"
        cells = [_cell(by_group[g][metric], metric) if g in by_group else "-" for g in groups]
        ratio = by_group["all"][metric][0] / base if base else float("nan")
        hits = "-" if name == "centroid" else f"{by_group['all']['gained_total']} / {by_group['all']['lost_total']}"
        lines.append("| " + " | ".join([label, *cells, f"{ratio:.2f}", hits]) + " |")
    return "\n".join(lines)


def paired_table(run: dict) -> str:
    """Markdown: each paired difference of the run (``a - b`` per user, by group) with its interval."""
    groups = [g for g in ("all", "warm", "cold", "drift") if g in run["channels"]["centroid"]]
    lines = ["| " + " | ".join(["difference", *groups]) + " |", "|" + "---|" * (len(groups) + 1)]
    for name, by_group in run["paired"].items():
        cells = [f"{by_group[g][0]:+.3f} [{by_group[g][1]:+.3f}, {by_group[g][2]:+.3f}]" if g in by_group else "-"
                 for g in groups]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def _mean(run: dict, row: str, group: str = "all") -> float | None:
    entry = run["channels"].get(row, {}).get(group)
    return entry["ndcg@10"][0] if entry else None


def fused_row(run: dict, generator: str) -> str:
    """The row of the centroid fused with ``generator`` by the fusion the run deploys (the rule fusion, or the
    learned one where it measured better on the users that choose the fusions)."""
    learned = (run.get("fusions", {}).get(generator) or {}).get("deployed") == "learned"
    return f"centroid + {generator}" + (" (learned)" if learned else "")


def targets(report: dict, generator: str = "served") -> list[tuple[str, str, bool]]:
    """The query channel's targets, each as ``(claim, measured, met)``, from a benchmark report (both truths); each
    fused row is the deployed fusion's (:func:`fused_row`)."""
    out = []
    for run in report["truths"]:
        truth, audit = run["truth"], run.get("audit") or {}
        fused = fused_row(run, generator)
        if audit:
            out.append((f"{truth}: no served query repeats the prompt's fixed text",
                        f"{audit['served_prompt_copies']} in {audit['users']} lists",
                        audit["served_prompt_copies"] == 0))
            if "served_garbled" in audit:  # reports before the slip check counted invented words only
                swapped = audit.get("served_swapped", 0)  # and before the swap check, none was counted
                out.append((f"{truth}: no served query holds an invented, garbled or swapped word",
                            f"{audit['served_invented']} invented, {audit['served_garbled']} garbled, "
                            f"{audit.get('served_swapped', '-')} swapped",
                            audit["served_invented"] == 0 and audit["served_garbled"] == 0 and swapped == 0))
            out.append((f"{truth}: at least 4 grounded queries per user", f"{audit['mean_queries']:.2f} "
                        f"({audit['mean_model_queries']:.2f} the model's)", audit["mean_queries"] >= 4))
            out.append((f"{truth}: no user without a list", f"{audit['users_without_list']}",
                        audit["users_without_list"] == 0))
        centroid, key, gen = _mean(run, "centroid"), _mean(run, "keyphrase"), _mean(run, generator)
        if None in (centroid, key, gen):
            continue
        out.append((f"{truth}: {generator} alone >= centroid", f"{gen:.3f} vs {centroid:.3f}", gen >= centroid))
        out.append((f"{truth}: {generator} alone >= 1.3x key phrases", f"{gen / key:.2f}x", gen >= 1.3 * key))
        cold_gen, cold_centroid = _mean(run, generator, "cold"), _mean(run, "centroid", "cold")
        if cold_gen is not None:
            out.append((f"{truth}: cold users, {generator} above the centroid",
                        f"{cold_gen:.3f} vs {cold_centroid:.3f}", cold_gen > cold_centroid))
        both = _mean(run, fused)
        groups = [g for g in ("warm", "cold", "drift") if _mean(run, fused, g) is not None]
        not_below = all(_mean(run, fused, g) >= _mean(run, "centroid", g) for g in groups)
        if truth == "embedding":
            out.append((f"{truth}: {fused} not below the centroid", f"{both / centroid:.2f}x",
                        both >= centroid))
            continue
        out.append((f"{truth}: {fused} >= 1.3x the centroid", f"{both / centroid:.2f}x",
                    both >= 1.3 * centroid))
        out.append((f"{truth}: {fused} not below the centroid in any group",
                    ", ".join(f"{g} {_mean(run, fused, g) / _mean(run, 'centroid', g):.2f}x" for g in groups),
                    not_below))
        rivals = {fused_row(run, "keyphrase"): _mean(run, fused_row(run, "keyphrase")),
                  "multi-centroid": _mean(run, "multi-centroid")}
        out.append((f"{truth}: {fused} above centroid + key phrases and the multi-centroid",
                    ", ".join(f"{k} {v:.3f}" for k, v in rivals.items() if v is not None) + f"; fused {both:.3f}",
                    all(v is None or both > v for v in rivals.values())))
    return out


def targets_table(report: dict, generator: str = "served") -> str:
    rows = targets(report, generator)
    lines = ["| target | measured | met |", "|---|---|---|"]
    lines += [f"| {claim} | {measured} | {'yes' if met else 'no'} |" for claim, measured, met in rows]
    return "\n".join(lines)
