"""The embedders side by side on the benchmark's own texts: texts per CPU-second at one thread, and how close each
one's vectors come to the torch model's (cosine per text: min, 1st percentile, mean).

    python -m models.benchmarks.embedders [--data BENCH_DIR] [--texts 2000] [--out FILE]

The texts are the first distinct signal texts (titles, queries, posts, page titles) of a simulated benchmark's event
log, in order (default: the seed-0 lexical benchmark that ``interests benchmark`` makes). The three run back to back
in one process, so their ratios are comparable on a shared machine; the load average is in the report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from common.settings import cache_dir, portable
from models.benchmarks.cpu_throughput import machine
from models.benchmarks.output import print_and_write
from models.noise import signal_from_event

RESULTS = Path(__file__).parent / "results" / "embedders.json"
HEADER = f"{'embedder':<32} {'texts/cpu-s':>11} {'x torch':>8} {'cos min':>8} {'cos p1':>8} {'cos mean':>8}"


def benchmark_texts(events: Path, limit: int) -> list[str]:
    """The first ``limit`` distinct non-empty signal texts of an event log, in order."""
    seen: dict[str, None] = {}
    with Path(events).open(encoding="utf-8") as handle:
        for line in handle:
            text = signal_from_event(json.loads(line))["text"]
            if text.strip():
                seen.setdefault(text, None)
            if len(seen) >= limit:
                break
    return list(seen)


def measure(embedder, texts: list[str], batch: int = 64) -> tuple[np.ndarray, float]:
    """``(vectors, texts per CPU-second)`` for ``texts`` in batches of ``batch``."""
    embedder.embed(texts[:batch])  # warm-up: first-call allocations are not the embedder's speed
    started = time.process_time()
    vectors = np.concatenate([embedder.embed(texts[i:i + batch]) for i in range(0, len(texts), batch)])
    return vectors, len(texts) / max(time.process_time() - started, 1e-9)


def _row(r: dict) -> str:
    return (f"{r['embedder']:<32} {r['texts_per_cpu_s']:>11.0f} {r['x_torch']:>8.2f} {r['cosine_min']:>8.4f} "
            f"{r['cosine_p1']:>8.4f} {r['cosine_mean']:>8.4f}")


def run(texts: list[str]) -> list[dict]:
    import torch

    from models.embeddings import MiniLMEmbedder
    from models.onnx_embedder import OnnxMiniLMEmbedder

    torch.set_num_threads(1)
    rows, reference, ref_rate = [], None, None
    for make in (MiniLMEmbedder, lambda: OnnxMiniLMEmbedder(quantize=False), lambda: OnnxMiniLMEmbedder(quantize=True)):
        embedder = make()  # one at a time: each model loads only when its turn comes
        vectors, rate = measure(embedder, texts)
        if reference is None:  # the torch model, measured first, is what the others are compared to
            reference, ref_rate = vectors, rate
        cosine = (vectors * reference).sum(axis=1)
        rows.append({"embedder": embedder.name, "texts_per_cpu_s": round(rate, 1),
                     "x_torch": round(rate / ref_rate, 3), "cosine_min": round(float(cosine.min()), 4),
                     "cosine_p1": round(float(np.quantile(cosine, 0.01)), 4),
                     "cosine_mean": round(float(cosine.mean()), 4)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=cache_dir() / "bench" / "sim-seed0-users2000-lexical",
                        help="a benchmark folder (default: the seed-0 lexical benchmark of `interests benchmark`)")
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (args.data / "events.jsonl").exists():
        parser.error(f"no events.jsonl in {args.data}: run `interests benchmark` (or `interests data simulate "
                     f"--topics lexical --out DIR`) first, or give --data")
    texts = benchmark_texts(args.data / "events.jsonl", args.texts)
    load_start = os.getloadavg()
    rows = run(texts)
    given = argv if argv is not None else sys.argv[1:]
    report = {"command": "python -m models.benchmarks.embedders " + " ".join(given),
              "data": portable(str(args.data)), "texts": len(texts), "machine": machine(),
              "load_average_1_5_15_min_at_start": [round(x, 2) for x in load_start],
              "load_average_1_5_15_min_at_end": [round(x, 2) for x in os.getloadavg()], "results": rows}
    print_and_write(HEADER, rows, _row, report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
