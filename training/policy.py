"""Models as the training loops use them: load (optionally depth-pruned), add a LoRA adapter, sample rollouts with
the serving prompt, score the rollout tokens, save an adapter in Hugging Face / PEFT format.

Speed on a CPU: weights in bfloat16 (AMX), logits computed only at completion positions (``logits_to_keep``), and
LoRA on the top layers only for the big model, so backpropagation stops there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from models.decoding import NoRepeatInCompletion
from models.prefill import generate_shared
from models.prompt import chat_prompts
from models.pruning import prune_layers

log = logging.getLogger(__name__)
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def end_of_turn_id(path: Path) -> int | None:
    """The token that ends the model's answer, as its ``generation_config.json`` names it (``eos_token_id``, the
    first of a list); None without one."""
    config = Path(path) / "generation_config.json"
    if not config.exists():
        return None
    eos = json.loads(config.read_text()).get("eos_token_id")
    return eos[0] if isinstance(eos, list) and eos else eos if isinstance(eos, int) else None


def load_tokenizer(path: Path):
    """The tokenizer, padding on the left, its end token the one that ends the model's answer. The SmolLM2 converted
    from GGUF names ``<|im_start|>`` as its tokenizer's end token while generation stops at ``<|im_end|>``: targets
    must end with the latter, or a student learns to open a new turn after its list instead of ending it."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    end = end_of_turn_id(path)
    if end is not None and end != tokenizer.eos_token_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(end)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: the first CUDA GPU when one is visible, else the CPU; any other name as torch reads it, checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} asked for, but torch sees no CUDA GPU here (use --device cpu or auto)")
    return device


def load_model(path: Path, dtype: str = "bfloat16", layers: list[int] | None = None, adapter: Path | None = None,
               trainable: bool = False, device: str = "cpu"):
    """A causal LM from a Hugging Face folder on ``device``, pruned to ``layers`` when given, with the PEFT
    ``adapter`` loaded: trainable (its weights in float32, :func:`float_trainable`) or merged for inference."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).to(resolve_device(device))
    if layers is not None and len(layers) != model.config.num_hidden_layers:
        prune_layers(model, list(layers))
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter, is_trainable=trainable)
        model = float_trainable(model) if trainable else model.merge_and_unload()
    model.train(trainable)
    return model


def add_lora(model, rank: int = 16, alpha: int = 32, top_layers: int = 0, dropout: float = 0.0):
    """Wrap ``model`` with a fresh LoRA adapter on every linear projection of the top ``top_layers`` layers (0 = all
    layers); adapter weights stay float32 while the base is bfloat16."""
    from peft import LoraConfig, get_peft_model

    total = model.config.num_hidden_layers
    layers = list(range(total - top_layers, total)) if 0 < top_layers < total else None
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGETS,
                        layers_to_transform=layers, task_type="CAUSAL_LM")
    return float_trainable(get_peft_model(model, config))


def float_trainable(model):
    """Keep the trainable (adapter) weights in float32 whatever the base's dtype: AdamW on bfloat16 weights loses
    small updates. Returns ``model``."""
    for param in model.parameters():
        if param.requires_grad:
            param.data = param.data.float()
    return model


@dataclass
class Rollout:
    """``N`` completions (prompt by prompt, ``n`` per prompt) with their prompts, left-padded to one length ``P``."""

    input_ids: torch.Tensor  # [N, P + T]
    attention_mask: torch.Tensor  # [N, P + T]: prompt padding 0, completion tokens after the end 0
    prompt_len: int
    completion_mask: torch.Tensor  # [N, T]: 1 on completion tokens up to and including the first end token
    texts: list[str]  # decoded completions
    n: int  # completions per prompt

    @property
    def completion(self) -> torch.Tensor:
        return self.input_ids[:, self.prompt_len:]

    @property
    def lengths(self) -> torch.Tensor:
        return self.completion_mask.sum(dim=1)


def build_prompts(tokenizer, histories: list[list[dict]], num_queries: int, max_signals: int,
                  contract: str = "chat") -> list[str]:
    """The serving prompt of ``contract`` (``models/prompt.py``): what the model is trained on is what it is served
    with."""
    return chat_prompts(tokenizer, histories, num_queries, max_signals, contract)


def completion_mask(tokens: torch.Tensor, end_ids: set[int]) -> torch.Tensor:
    """1 on each row's tokens up to and including its first end token (all tokens if it has none)."""
    is_end = torch.zeros_like(tokens, dtype=torch.bool)
    for end in end_ids:
        is_end |= tokens == end
    ended_before = torch.cumsum(is_end.long(), dim=1) - is_end.long()  # ends strictly before each position
    return (ended_before == 0).long()


@torch.no_grad()
def sample(model, tokenizer, prompts: list[str], n: int = 1, temperature: float = 1.0, max_new_tokens: int = 48,
           top_p: float = 1.0, no_repeat_ngram: int = 0) -> Rollout:
    """``n`` completions per prompt (greedy when ``temperature`` is 0, which needs ``n == 1``); ``no_repeat_ngram``
    >= 2: no n-gram of tokens twice in a completion, the served rule (``models.decoding.NoRepeatInCompletion``)."""
    if temperature <= 0 and n > 1:
        raise ValueError("n > 1 completions per prompt need a temperature > 0")
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    options = ({"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
               if temperature > 0 else {"do_sample": False})
    if no_repeat_ngram >= 2:
        from transformers import LogitsProcessorList

        options["logits_processor"] = LogitsProcessorList([NoRepeatInCompletion(no_repeat_ngram,
                                                                                enc["input_ids"].shape[1])])
    was_training = model.training
    model.eval()
    # n samples of a prompt share its prefill (models/prefill.py)
    out = generate_shared(model, enc["input_ids"], enc["attention_mask"], n, max_new_tokens=max_new_tokens,
                          use_cache=True, pad_token_id=tokenizer.pad_token_id, **options)
    model.train(was_training)
    prompt_len = enc["input_ids"].shape[1]
    completion = out[:, prompt_len:]
    if completion.shape[1] == 0:
        completion = torch.full((out.shape[0], 1), tokenizer.eos_token_id, dtype=out.dtype, device=out.device)
        out = torch.cat([out, completion], dim=1)
    mask = completion_mask(completion, {tokenizer.eos_token_id, tokenizer.pad_token_id})
    prompt_mask = enc["attention_mask"].repeat_interleave(n, dim=0)
    texts = tokenizer.batch_decode(completion * mask + tokenizer.pad_token_id * (1 - mask), skip_special_tokens=True)
    return Rollout(out.clone(), torch.cat([prompt_mask, mask], dim=1), prompt_len, mask, texts, n)


def rollout_from_texts(tokenizer, prompts: list[str], completions: list[str], n: int) -> Rollout:  # on the CPU
    """A :class:`Rollout` for given completion texts (``n`` per prompt, prompt by prompt): teacher samples for SFT."""
    end = tokenizer.eos_token or ""
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    bodies = [tokenizer(text + end, add_special_tokens=False)["input_ids"] for text in completions]
    width = max(1, max(len(b) for b in bodies))
    completion = torch.full((len(bodies), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(bodies), width), dtype=torch.long)
    for i, body in enumerate(bodies):
        completion[i, :len(body)] = torch.tensor(body, dtype=torch.long)
        mask[i, :len(body)] = 1
    prompt_ids = enc["input_ids"].repeat_interleave(n, dim=0)
    prompt_mask = enc["attention_mask"].repeat_interleave(n, dim=0)
    return Rollout(torch.cat([prompt_ids, completion], dim=1), torch.cat([prompt_mask, mask], dim=1),
                   prompt_ids.shape[1], mask, list(completions), n)


def with_prompts(tokenizer, rollout: Rollout, prompts: list[str]) -> Rollout:
    """The same completion tokens after other prompts (one per prompt of ``rollout``, its ``n`` rows each): how a
    teacher that reads another prompt contract scores the student's own tokens."""
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    if enc["input_ids"].shape[0] * rollout.n != rollout.input_ids.shape[0]:
        raise ValueError(f"{len(prompts)} prompts for {rollout.input_ids.shape[0]} rows of {rollout.n} per prompt")
    device = rollout.input_ids.device
    prompt_ids = enc["input_ids"].repeat_interleave(rollout.n, dim=0).to(device)
    prompt_mask = enc["attention_mask"].repeat_interleave(rollout.n, dim=0).to(device)
    mask = rollout.completion_mask
    return Rollout(torch.cat([prompt_ids, rollout.completion], dim=1),
                   torch.cat([prompt_mask, mask.to(prompt_mask.dtype)], dim=1), prompt_ids.shape[1], mask,
                   list(rollout.texts), rollout.n)


def completion_logits(model, rollout: Rollout, rows: slice | None = None) -> torch.Tensor:
    """Logits ``[N, T, V]`` predicting each completion token (computed only at those positions)."""
    rows = rows or slice(None)
    ids, mask = rollout.input_ids[rows].to(model.device), rollout.attention_mask[rows].to(model.device)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)  # as generate() numbers left-padded rows
    width = ids.shape[1] - rollout.prompt_len
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=width + 1).logits
    return logits[:, :-1]


def shared_completion_logits(model, rollout: Rollout, groups: list[int]) -> torch.Tensor:
    """:func:`completion_logits` of the rows of prompt groups ``groups`` (each prompt's ``n`` rows, in order), with
    one forward pass of each prompt instead of ``n``: the prompt runs once with its KV cache kept (and its graph, so
    gradients reach the prompt's positions as in the full pass), the cache is repeated for the ``n`` completions, and
    they continue from it. The same logits as the full pass (to float rounding) at about ``1/n`` of the prompt's
    cost, which is most of a step's forward and backward work on a CPU."""
    n, width = rollout.n, rollout.input_ids.shape[1] - rollout.prompt_len
    device = model.device
    first = torch.tensor([g * n for g in groups])
    rows = torch.tensor([g * n + j for g in groups for j in range(n)])
    ids, mask = rollout.input_ids[rows].to(device), rollout.attention_mask[rows].to(device)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)  # as completion_logits numbers them
    plen = rollout.prompt_len
    prompt_ids = rollout.input_ids[first, :plen].to(device)
    prompt_mask = rollout.attention_mask[first, :plen].to(device)
    prefix = model(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=positions[::n, :plen],
                   use_cache=True, logits_to_keep=1)
    head = prefix.logits[:, -1:].repeat_interleave(n, dim=0)  # the last prompt position predicts the first token
    if width <= 1:
        return head
    cache = prefix.past_key_values
    cache.batch_repeat_interleave(n)
    rest = model(input_ids=ids[:, plen:-1], attention_mask=mask[:, :-1], position_ids=positions[:, plen:-1],
                 past_key_values=cache, use_cache=True).logits
    return torch.cat([head, rest], dim=1)


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Log-probabilities ``[N, T]`` of ``tokens`` under ``logits / temperature``."""
    scaled = logits.float() / (temperature if temperature > 0 else 1.0)
    return F.log_softmax(scaled, dim=-1).gather(-1, tokens.to(logits.device)[..., None]).squeeze(-1)


def entropy(logits: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean per-token entropy (nats) over the masked positions."""
    logp = F.log_softmax(logits.float(), dim=-1)
    ent = -(logp.exp() * logp).sum(-1)
    mask = mask.to(ent)
    return float((ent * mask).sum() / mask.sum().clamp(min=1))


def trainable_parameters(model) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def save_adapter(model, tokenizer, out_dir: Path, manifest: dict) -> Path:
    """Save the LoRA adapter (PEFT format), the tokenizer and ``manifest.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return out_dir


def save_merged(model, tokenizer, out_dir: Path, manifest: dict) -> Path:
    """Save a full Hugging Face model folder (adapter merged) with ``manifest.json``: what evaluation loads."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    merged = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
    merged.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return out_dir
