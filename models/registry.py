"""The model registry: versioned student models in a folder, and which version each model name serves now.

Layout (default ``$INTERESTS_CACHE/registry``, ``INTERESTS_GEN_REGISTRY_DIR`` to move it)::

    <root>/<name>/<version>/manifest.json   {name, version, base, adapter, training_run, metrics, created_at}
    <root>/<name>/<version>/...             a Hugging Face model folder (config.json, safetensors, tokenizer)
                                            or a PEFT adapter (adapter_config.json, ...) on top of ``base``
    <root>/<name>/current.json              {"version": ..., "updated_at": ...}: the version workers serve

A version is published once and never changed: :meth:`Registry.publish` copies into a hidden temporary folder and
renames it into place, and refuses a version that exists. The ``current`` pointer is replaced atomically (temporary
file + ``os.replace``), so a reader sees the old or the new pointer, never half of one. Workers poll it between
batches and swap generators (``streams/generator/worker.py``). Command line: ``interests model list|publish|use``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CURRENT = "current.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_RESERVED = {"current", "current.json"}


class RegistryError(LookupError):
    """Something asked of the registry does not exist or is not allowed; the message says what to do."""


class UnknownModel(RegistryError):
    pass


class UnknownVersion(RegistryError):
    pass


class VersionExists(RegistryError, FileExistsError):
    pass


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    path: Path  # the version's folder in the registry
    manifest: dict

    @property
    def ref(self) -> str:
        """``name@version``: what generators report and every feature row carries."""
        return f"{self.name}@{self.version}"

    @property
    def is_adapter(self) -> bool:
        return bool(self.manifest.get("adapter"))


def _now() -> str:
    # microseconds: versions published within one second still sort in publication order
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1e6) % 1_000_000:06d}Z"


def _check_name(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value) or value in _RESERVED:
        raise ValueError(f"invalid model {kind} {value!r}: use letters, digits and . _ + - (not starting with . "
                         f"or -, at most 128 characters, not 'current')")
    return value


def _natural(version: str) -> list:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", version) if part]


def _write_json_atomic(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; workers may run as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _copy_tree(src: Path, dst: Path, link: bool) -> None:
    """Copy ``src`` to ``dst``; with ``link``, hard-link files where the file system allows (published versions are
    never modified in place, so a link is as good as a copy and costs no space)."""
    def copy(s, d):
        if link:
            try:
                os.link(s, d)
                return d
            except OSError:
                pass
        return shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=copy, ignore=shutil.ignore_patterns(MANIFEST, ".*"))


class Registry:
    """Versioned model folders under ``root``; see the module docstring for the layout."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    # --- reading -------------------------------------------------------------------------------------------------
    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def versions(self, name: str) -> list[ModelVersion]:
        """Every published version of ``name``, oldest first (by publication time, then by version name)."""
        folder = self._model_dir(name)
        found = []
        for path in folder.iterdir():
            if path.is_dir() and not path.name.startswith(".") and (path / MANIFEST).exists():
                found.append(ModelVersion(name, path.name, path, json.loads((path / MANIFEST).read_text())))
        return sorted(found, key=lambda v: (str(v.manifest.get("created_at", "")), _natural(v.version)))

    def get(self, name: str, version: str) -> ModelVersion:
        path = self._model_dir(name) / version
        if not version or version.startswith(".") or not (path / MANIFEST).is_file():
            known = ", ".join(v.version for v in self.versions(name)) or "none"
            raise UnknownVersion(f"model {name!r} has no version {version!r} in {self.root} (versions: {known})")
        return ModelVersion(name, version, path, json.loads((path / MANIFEST).read_text()))

    def current(self, name: str) -> ModelVersion | None:
        """The version ``name`` serves now; None when the name is unknown or has no pointer yet."""
        pointer = self.root / name / CURRENT
        try:
            version = json.loads(pointer.read_text())["version"]
        except FileNotFoundError:
            return None
        except (ValueError, KeyError) as exc:
            raise RegistryError(f"{pointer} is not a valid pointer ({exc}); fix it with `interests model use`")
        return self.get(name, version)

    def resolve(self, name: str) -> Path:
        """The folder to load for the current version of ``name`` (a Hugging Face model folder)."""
        current = self.current(name)
        if current is None:
            self._model_dir(name)  # a clear error for an unknown name
            raise UnknownVersion(f"model {name!r} has no current version in {self.root}: "
                                 f"`interests model use VERSION --name {name}`")
        return self.load_path(current)

    def load_path(self, version: ModelVersion) -> Path:
        """A loadable folder for ``version``. A PEFT adapter is merged into its base once (needs ``peft``)."""
        if not version.is_adapter:
            return version.path
        merged = self.root / ".merged" / version.name / version.version
        if (merged / MANIFEST).exists():
            return merged
        try:
            import peft  # noqa: F401
        except ImportError:
            raise NotImplementedError(
                f"{version.ref} is a PEFT adapter on {version.manifest.get('base')!r}; loading adapters needs the "
                f"`peft` package, which is not installed (pip install peft), or publish a merged model instead"
            ) from None
        return self._merge(version, merged)

    # --- writing -------------------------------------------------------------------------------------------------
    def publish(self, src_dir: Path | str, name: str, version: str, manifest_extra: dict | None = None,
                link: bool = False) -> Path:
        """Copy the model folder ``src_dir`` in as ``name``/``version`` and write its manifest; returns its folder.

        ``src_dir`` holds a Hugging Face model (``config.json``) or a PEFT adapter (``adapter_config.json``; its base
        comes from ``manifest_extra['base']`` or the adapter config). Fields of a ``manifest.json`` in ``src_dir``
        and of ``manifest_extra`` are kept; name, version and created_at are the registry's. Refuses (raises
        :class:`VersionExists`) to overwrite an existing version. ``link`` hard-links files instead of copying.
        """
        src = Path(src_dir)
        _check_name("name", name)
        _check_name("version", version)
        if not src.is_dir():
            raise FileNotFoundError(f"cannot publish {src}: not a folder")
        extra = dict(manifest_extra or {})
        manifest = json.loads((src / MANIFEST).read_text()) if (src / MANIFEST).exists() else {}
        manifest.update(extra)
        if (src / "adapter_config.json").exists() and not (src / "config.json").exists():
            manifest.setdefault("adapter", ".")
            if not manifest.get("base"):
                manifest["base"] = json.loads((src / "adapter_config.json").read_text()).get(
                    "base_model_name_or_path")
            if not manifest.get("base"):
                raise ValueError(f"{src} is a PEFT adapter but names no base model: pass manifest_extra['base']")
        elif not (src / "config.json").exists():
            raise ValueError(f"cannot publish {src}: no config.json (Hugging Face model) or adapter_config.json")
        manifest = {"base": None, "adapter": None, "training_run": None, "metrics": {}, **manifest,
                    "name": name, "version": version, "created_at": _now()}
        target = self.root / name / version
        if target.exists():
            raise VersionExists(f"{name}@{version} is already published in {self.root}: versions never change, "
                                f"publish a new version")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".publish-{version}-{uuid.uuid4().hex[:8]}"
        try:
            _copy_tree(src, tmp, link)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
            try:
                os.rename(tmp, target)  # atomic; fails if another publisher got there first
            except OSError:
                raise VersionExists(f"{name}@{version} was published concurrently in {self.root}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    def set_current(self, name: str, version: str) -> ModelVersion:
        """Point ``name`` at ``version`` (which must be published); atomic for concurrent readers."""
        chosen = self.get(name, version)
        _write_json_atomic(self.root / name / CURRENT, {"version": version, "updated_at": _now()})
        return chosen

    # --- internals -----------------------------------------------------------------------------------------------
    def _model_dir(self, name: str) -> Path:
        folder = self.root / name
        if not name or name.startswith(".") or not folder.is_dir():
            known = ", ".join(self.names()) or "none"
            raise UnknownModel(f"no model named {name!r} in the registry {self.root} (models: {known}); "
                               f"publish one with `interests model publish PATH --name {name} --version V`")
        return folder

    def base_path(self, base: str) -> Path:
        if "@" in base and not Path(base).exists():
            name, version = base.split("@", 1)
            return self.load_path(self.get(name, version))
        if Path(base).is_dir():
            return Path(base)
        raise RegistryError(f"the adapter's base {base!r} is neither a registry reference (name@version) nor a "
                            f"folder")

    def _merge(self, version: ModelVersion, merged: Path) -> Path:
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        base = self.base_path(str(version.manifest["base"]))
        model = AutoModelForCausalLM.from_pretrained(base)
        if version.manifest.get("layers"):  # a depth-pruned student: rebuild its base from the full model
            from models.pruning import prune_layers

            prune_layers(model, list(version.manifest["layers"]))
        model = PeftModel.from_pretrained(model, version.path / version.manifest["adapter"])
        tmp = merged.with_name(f".{merged.name}-{uuid.uuid4().hex[:8]}")
        model.merge_and_unload().save_pretrained(tmp)
        AutoTokenizer.from_pretrained(base).save_pretrained(tmp)
        (tmp / MANIFEST).write_text(json.dumps(version.manifest, indent=2))
        merged.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, merged)
        except OSError:  # merged concurrently by another worker
            shutil.rmtree(tmp, ignore_errors=True)
        return merged


class CurrentWatcher:
    """Follows one name's ``current`` pointer for a worker: :meth:`poll`, called between batches, re-reads the pointer
    at most every ``every_s`` seconds and, when it names another version, builds that version (``build``) in a
    background thread, off the request path. A later :meth:`poll` hands the built object over for the caller to swap
    in; a version that fails to build is logged and skipped until the pointer moves again, and the old one serves on.
    """

    def __init__(self, registry: Registry, name: str, build: Callable[[ModelVersion], Any], loaded: str | None,
                 every_s: float = 5.0, background: bool = True, clock: Callable[[], float] = time.monotonic):
        self.registry, self.name, self.build, self.loaded = registry, name, build, loaded
        self.every_s, self.background, self.clock = every_s, background, clock
        self._checked = clock()
        self._failed: str | None = None
        self._thread: threading.Thread | None = None
        self._target: ModelVersion | None = None
        self._built: Any = None
        self._error: BaseException | None = None

    def poll(self) -> tuple[ModelVersion, Any] | None:
        """The next version and its built object when one is ready to swap in, else None. Never waits on a build."""
        if self._thread is not None and not self._thread.is_alive():
            return self._take()
        if self._thread is None and self.clock() - self._checked >= self.every_s:
            self._checked = self.clock()
            try:
                current = self.registry.current(self.name)
            except (RegistryError, OSError) as exc:
                log.warning("cannot read the current version of %s: %s; still serving %s", self.name, exc,
                            self.loaded)
                return None
            if current is not None and current.ref not in (self.loaded, self._failed):
                log.info("current version of %s is now %s: loading it beside %s", self.name, current.ref,
                         self.loaded)
                self._target, self._built, self._error = current, None, None
                self._thread = threading.Thread(target=self._build, name=f"load-{current.ref}", daemon=True)
                if not self.background:
                    self._build()
                    return self._take()
                self._thread.start()
        return None

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a build in progress (tests and shutdown)."""
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def _build(self) -> None:
        try:
            self._built = self.build(self._target)
        except Exception as exc:  # a bad version must not stop the worker: it keeps serving the old one
            self._error = exc

    def _take(self) -> tuple[ModelVersion, Any] | None:
        target, built, error = self._target, self._built, self._error
        self._thread, self._target, self._built, self._error = None, None, None, None
        if error is not None:
            log.error("could not load %s (%s: %s); still serving %s", target.ref, type(error).__name__, error,
                      self.loaded)
            self._failed = target.ref
            return None
        self.loaded = target.ref
        return target, built
