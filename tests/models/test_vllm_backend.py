"""models.generators.vllm_backend and models.benchmarks.gpu_throughput.

- Without vLLM (this project's CPU machines): importing the backend raises an ImportError naming the extra, and the
  GPU benchmark still parses its arguments (``--help``) and says what it needs.
- The backend's own logic (prompts, one ``generate`` call per batch, sampling parameters, retries, n samples) runs
  against a FAKE ``vllm`` module put in ``sys.modules``: it checks our code, never vLLM.
- The real generation test is marked ``gpu`` and skipped unless vLLM and a CUDA GPU are present.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest

from models.config import GeneratorConfig
from models.generators.base import Generation, UserContext

MODULE = "models.generators.vllm_backend"
HAS_VLLM = importlib.util.find_spec("vllm") is not None


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def contexts(n):
    return [UserContext(f"u{i}", [{"domain": "click", "kind": "click", "text": f"Story number {i} about tennis",
                                   "ts": 1000 - i, "platform": None}]) for i in range(n)]


# --- without vLLM ----------------------------------------------------------------------------------------------

@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here: the missing-extra error cannot be seen")
def test_import_without_vllm_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    with pytest.raises(ImportError, match=r"pip install 'interests\[vllm\]'"):
        importlib.import_module(MODULE)


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here: the missing-extra error cannot be seen")
def test_make_generator_vllm_without_vllm_raises_the_clear_error(monkeypatch):
    import models.student
    from models.generators.factory import make_generator

    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    monkeypatch.setattr(models.student, "ensure_student", lambda path: path)
    with pytest.raises(ImportError, match=r"interests\[vllm\]"):
        make_generator(GeneratorConfig(backend="vllm", fallback=""))


def test_pyproject_declares_the_extra_and_the_gpu_marker():
    import tomllib

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert project["project"]["optional-dependencies"]["vllm"] == ["vllm==0.32.0"]
    assert any(m.startswith("gpu:") for m in project["tool"]["pytest"]["ini_options"]["markers"])


# --- the backend's logic against a FAKE vllm -------------------------------------------------------------------

class FakeTokenizer:
    """FAKE chat template: the messages joined, then an assistant header."""

    def apply_chat_template(self, messages, add_generation_prompt=False, tokenize=True):
        assert add_generation_prompt and not tokenize
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

    def encode(self, text, add_special_tokens=False):
        """The prompt's token budget counts with the backend's tokenizer: one token per word here."""
        return text.split()


class FakeSamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.n = kwargs.get("n", 1)


class FakeLLM:
    """FAKE ``vllm.LLM``: records its arguments and calls; answers with ``script(prompt_index, sample, params)``."""

    instances: list = []

    def __init__(self, **kwargs):
        self.kwargs, self.calls = kwargs, []
        self.script = lambda i, j, params: "tennis story\nnumber tennis"
        FakeLLM.instances.append(self)

    def get_tokenizer(self):
        return FakeTokenizer()

    def generate(self, prompts, params, use_tqdm=True):
        self.calls.append((list(prompts), params))
        return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=self.script(i, j, params))
                                               for j in range(params.n)]) for i in range(len(prompts))]


@pytest.fixture
def backend(monkeypatch):
    """The backend module imported against the FAKE vllm (removed again afterwards)."""
    fake = types.ModuleType("vllm")
    fake.LLM, fake.SamplingParams = FakeLLM, FakeSamplingParams
    FakeLLM.instances = []
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    module = importlib.import_module(MODULE)
    yield module
    sys.modules.pop(MODULE, None)


CFG = GeneratorConfig(max_new_tokens=12, batch_size=2, retry_temperature=0.7, repetition_penalty=1.0)


def test_engine_gets_the_model_dtype_and_memory_share(backend, tmp_path):
    (tmp_path / "manifest.json").write_text('{"name": "student", "version": "v3"}')
    generator = backend.VLLMGenerator(tmp_path, CFG, dtype="bfloat16", gpu_memory_utilization=0.5)
    assert generator.llm.kwargs == {"model": str(tmp_path), "dtype": "bfloat16", "gpu_memory_utilization": 0.5,
                                    "max_model_len": 4096, "seed": 0}
    assert generator.version == "student@v3"
    assert backend.VLLMGenerator(tmp_path / "nomanifest", CFG).version == "nomanifest@unversioned"


def test_engine_dtype_follows_the_generator_config(backend, tmp_path):
    from dataclasses import replace

    assert backend.VLLMGenerator(tmp_path, CFG).llm.kwargs["dtype"] == CFG.dtype == "bfloat16"
    assert backend.VLLMGenerator(tmp_path, replace(CFG, dtype="float32")).llm.kwargs["dtype"] == "float32"


def test_one_generate_call_for_the_whole_batch_greedy(backend, tmp_path):
    generator = backend.VLLMGenerator(tmp_path, CFG)
    results = generator.generate(contexts(5))  # more users than cfg.batch_size: vLLM batches them itself
    [(prompts, params)] = generator.llm.calls
    assert len(prompts) == 5
    assert "Story number 3 about tennis" in prompts[3] and prompts[3].endswith("<assistant>")
    assert params.kwargs["n"] == 1 and params.kwargs["temperature"] == 0.0 and params.kwargs["max_tokens"] == 12
    assert [r.queries for r in results] == [["tennis story", "number tennis"]] * 5
    assert all(r.candidates == [] and r.error == "" for r in results)


def test_invalid_outputs_are_retried_once_with_sampling(backend, tmp_path):
    generator = backend.VLLMGenerator(tmp_path, CFG)
    generator.llm.script = lambda i, j, params: ("tennis story" if params.kwargs["temperature"] > 0 or i == 1
                                                 else "http://nonsense")
    results = generator.generate(contexts(3))
    assert [len(p) for p, _ in generator.llm.calls] == [3, 2]  # then only the two failed users
    assert generator.llm.calls[1][1].kwargs["temperature"] == 0.7
    assert [r.queries for r in results] == [["tennis story"]] * 3


def test_ungrounded_output_gives_no_queries(backend, tmp_path):
    generator = backend.VLLMGenerator(tmp_path, dataclass_replace(CFG, retry_temperature=0.0))
    generator.llm.script = lambda i, j, params: "chess openings"
    [result] = generator.generate(contexts(1))
    assert result.queries == [] and "no query relates" in result.error and len(generator.llm.calls) == 1


def test_n_samples_per_user_become_candidates(backend, tmp_path):
    generator = backend.VLLMGenerator(tmp_path, CFG, n=3, temperature=0.9)
    samples = {0: "chess openings", 1: "tennis story\nnumber tennis", 2: "!!!"}
    generator.llm.script = lambda i, j, params: samples[j]
    results = generator.generate(contexts(2))
    [(prompts, params)] = generator.llm.calls
    assert len(prompts) == 2 and params.kwargs["n"] == 3 and params.kwargs["temperature"] == 0.9
    for result in results:
        assert result.candidates == [["chess openings"], ["tennis story", "number tennis"], []]
        assert result.queries == ["tennis story", "number tennis"]  # the sample with the most grounded queries
        assert "--- sample 2 ---" in result.raw


def test_n_above_one_needs_a_temperature(backend, tmp_path):
    with pytest.raises(ValueError, match="temperature"):
        backend.VLLMGenerator(tmp_path, CFG, n=2, temperature=0.0)


def test_make_generator_registers_vllm(backend, monkeypatch, tmp_path):
    import models.student
    from models.generators.factory import make_generator

    monkeypatch.setattr(models.student, "ensure_student", lambda path: path)
    generator = make_generator(GeneratorConfig(backend="vllm", fallback="", fill="", select="",
                                                model_dir=tmp_path))
    assert type(generator).__name__ == "VLLMGenerator" and generator.llm.kwargs["model"] == str(tmp_path)


def dataclass_replace(cfg, **changes):
    import dataclasses

    return dataclasses.replace(cfg, **changes)


# --- the real thing --------------------------------------------------------------------------------------------

MISSING = [what for what, ok in (("vLLM (pip install 'interests[vllm]')", HAS_VLLM), ("a CUDA GPU", _cuda()))
           if not ok]


@pytest.mark.gpu
@pytest.mark.skipif(bool(MISSING), reason=f"the real vLLM backend needs {' and '.join(MISSING)}, missing here")
def test_real_vllm_generates_for_the_student(tmp_path):
    from models.generators.vllm_backend import VLLMGenerator
    from models.student import ensure_student

    student = ensure_student(GeneratorConfig().model_dir)
    generator = VLLMGenerator(student, GeneratorConfig(), n=2, temperature=0.8, gpu_memory_utilization=0.3)
    try:
        results = generator.generate(contexts(8))
        assert len(results) == 8 and all(isinstance(r, Generation) for r in results)
        assert all(len(r.candidates) == 2 for r in results)
        assert all(r.queries or r.error for r in results)
        assert generator.version.startswith("smollm2-135m-instruct@")
    finally:
        generator.close()


# --- the GPU benchmark's command line, here -----------------------------------------------------------------------

def test_gpu_benchmark_help_works_without_vllm():
    done = subprocess.run([sys.executable, "-m", "models.benchmarks.gpu_throughput", "--help"],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert "--batch-sizes" in done.stdout and "RANDOMLY INITIALISED" in done.stdout


def test_gpu_benchmark_defaults_and_configs():
    from models.benchmarks.gpu_throughput import PAPER_STUDENT_USERS_PER_S, model_config, parse_args

    args = parse_args([])
    assert args.batch_sizes == [64, 256, 1024] and args.max_tokens == 48
    assert set(args.models) == {"smollm2-135m", "qwen2.5-0.5b"}
    assert PAPER_STUDENT_USERS_PER_S == 67.0
    smol, qwen = model_config("smollm2-135m"), model_config("qwen2.5-0.5b")
    assert type(smol).__name__ == "LlamaConfig" and type(qwen).__name__ == "Qwen2Config"
    assert (smol.hidden_size, smol.intermediate_size, smol.num_hidden_layers, smol.num_attention_heads,
            smol.num_key_value_heads, smol.vocab_size, smol.tie_word_embeddings) == (576, 1536, 30, 9, 3, 49152, True)
    assert (qwen.hidden_size, qwen.intermediate_size, qwen.num_hidden_layers, qwen.num_attention_heads,
            qwen.num_key_value_heads, qwen.vocab_size, qwen.tie_word_embeddings) == (896, 4864, 24, 14, 2, 151936,
                                                                                       True)


def test_gpu_benchmark_configs_have_the_real_parameter_counts():
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM

    from models.benchmarks.gpu_throughput import model_config

    counts = {}
    for name in ("smollm2-135m", "qwen2.5-0.5b"):
        with torch.device("meta"):  # shapes only, no memory
            counts[name] = sum(p.numel() for p in AutoModelForCausalLM.from_config(model_config(name)).parameters())
    assert counts == {"smollm2-135m": 134_515_008, "qwen2.5-0.5b": 494_032_768}  # the published models' sizes


def test_gpu_benchmark_rejects_bad_arguments():
    from models.benchmarks.gpu_throughput import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--batch-sizes", "0"])
    with pytest.raises(SystemExit):
        parse_args(["--models", "gpt-5"])


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here")
def test_gpu_benchmark_without_vllm_says_what_it_needs(capsys):
    from models.benchmarks.gpu_throughput import main

    assert main(["--out", "unused.json"]) == 2
    assert "pip install 'interests[vllm]'" in capsys.readouterr().err
