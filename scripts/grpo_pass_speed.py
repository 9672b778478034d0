"""The scoring pass of one Dr.GRPO micro-batch, forward and backward, two ways: every row through the model whole
(``training.policy.completion_logits``) and each prompt once for its group (``shared_completion_logits``), on the
served student (its adapter trainable, on its base and layers, its compact prompt) with ``--users`` training users'
prompts and ``--samples`` sampled lists each. The two run back to back, ``--repeats`` times each, interleaved; the
fastest of each is reported, with their ratio (this machine is shared: compare the ratio, not the seconds):

    python scripts/grpo_pass_speed.py --out training/results/grpo-pass-speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

from common.settings import portable
from models.config import GeneratorConfig
from models.registry import Registry
from training import policy as P
from training.benchmark import commit, machine, simulated
from training.config import PolicyConfig
from training.evaluate import Benchmark
from training.grpo import continue_from, prompt_contract, setup_policy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapter", default="models/artifacts/student-hs12b")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the result as JSON here")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    adapter = Path(args.adapter)
    pcfg, _ = continue_from(adapter, replace(PolicyConfig(), dtype=args.dtype),
                            Registry(GeneratorConfig().registry_dir).base_path)
    tokenizer, model = setup_policy(pcfg, adapter)
    bench = Benchmark.load(simulated(args.seed, 2000, "lexical"))
    users = bench.eval_users("train")[:args.users]
    prompts = P.build_prompts(tokenizer, [bench.histories[u] for u in users], pcfg.num_queries,
                              pcfg.max_prompt_signals, prompt_contract(adapter))
    rollout = P.sample(model, tokenizer, prompts, n=args.samples, temperature=pcfg.temperature,
                       max_new_tokens=pcfg.max_new_tokens, top_p=pcfg.top_p)
    groups = list(range(len(users)))
    passes = {"full": lambda: P.completion_logits(model, rollout),
              "shared": lambda: P.shared_completion_logits(model, rollout, groups)}
    load = [os.getloadavg()]
    seconds: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(args.repeats):
        for name, run in passes.items():
            model.zero_grad(set_to_none=True)
            start = time.perf_counter()
            logits = run()
            (P.token_logprobs(logits, rollout.completion, pcfg.temperature) * rollout.completion_mask).sum().backward()
            seconds[name].append(time.perf_counter() - start)
            print(f"{name}: {seconds[name][-1]:.2f} s", flush=True)
    load.append(os.getloadavg())
    result = {
        "command": "python scripts/grpo_pass_speed.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None and k != "out"),
        "commit": commit(), "machine": machine(), "load_average": {"start": load[0], "end": load[1]},
        "adapter": portable(adapter), "dtype": args.dtype, "rows": len(users) * args.samples,
        "prompt_tokens": rollout.prompt_len, "completion_tokens": rollout.input_ids.shape[1] - rollout.prompt_len,
        "seconds": seconds, "best_s": {name: min(v) for name, v in seconds.items()},
        "shared_over_full": min(seconds["shared"]) / min(seconds["full"]),
    }
    print(json.dumps({k: result[k] for k in ("rows", "prompt_tokens", "best_s", "shared_over_full")}))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
