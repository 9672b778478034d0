"""models.registry: publishing versions, the atomic current pointer, resolution, errors, and the pointer watcher.

The "models" here are FAKE folders (a config.json and a weights file of a few bytes): the registry only copies and
describes folders, it never loads them.
"""

from __future__ import annotations

import json
import os
import threading

import pytest

from models.registry import (CURRENT, MANIFEST, CurrentWatcher, ModelVersion, Registry, RegistryError, UnknownModel,
                             UnknownVersion, VersionExists)


def fake_model(path, weights=b"weights", manifest=None):
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (path / "model.safetensors").write_bytes(weights)
    (path / "sub").mkdir()
    (path / "sub" / "extra.txt").write_text("nested")
    if manifest is not None:
        (path / MANIFEST).write_text(json.dumps(manifest))
    return path


@pytest.fixture
def registry(tmp_path):
    return Registry(tmp_path / "registry")


@pytest.fixture
def src(tmp_path):
    return fake_model(tmp_path / "src")


def test_publish_copies_the_folder_and_writes_the_manifest(registry, src):
    path = registry.publish(src, "student", "v1", {"training_run": "run-7", "metrics": {"recall@10": 0.31}})
    assert path == registry.root / "student" / "v1"
    assert (path / "model.safetensors").read_bytes() == b"weights"
    assert (path / "sub" / "extra.txt").read_text() == "nested"
    manifest = json.loads((path / MANIFEST).read_text())
    assert {"name", "version", "base", "adapter", "training_run", "metrics", "created_at"} <= set(manifest)
    assert manifest["name"] == "student" and manifest["version"] == "v1"
    assert manifest["training_run"] == "run-7" and manifest["metrics"] == {"recall@10": 0.31}
    assert manifest["base"] is None and manifest["adapter"] is None
    assert manifest["created_at"].endswith("Z")
    (src / "model.safetensors").write_bytes(b"changed")  # a copy: the source can change afterwards
    assert (path / "model.safetensors").read_bytes() == b"weights"


def test_publish_keeps_source_manifest_fields_but_names_the_registry_version(registry, tmp_path):
    src = fake_model(tmp_path / "m", manifest={"name": "other", "version": "x", "source": "gguf", "parameters": 5})
    registry.publish(src, "student", "v2")
    manifest = registry.get("student", "v2").manifest
    assert manifest["name"] == "student" and manifest["version"] == "v2"
    assert manifest["source"] == "gguf" and manifest["parameters"] == 5


def test_publish_refuses_to_overwrite_an_existing_version(registry, src, tmp_path):
    registry.publish(src, "student", "v1")
    other = fake_model(tmp_path / "other", weights=b"other")
    with pytest.raises(VersionExists, match="student@v1 is already published"):
        registry.publish(other, "student", "v1")
    assert (registry.root / "student" / "v1" / "model.safetensors").read_bytes() == b"weights"
    assert not [p for p in (registry.root / "student").iterdir() if p.name.startswith(".")]  # no temp left


def test_publish_rejects_bad_names_and_non_model_folders(registry, src, tmp_path):
    for bad in ("", "../up", "a/b", ".hidden", "current"):
        with pytest.raises(ValueError, match="invalid model"):
            registry.publish(src, "student", bad)
    with pytest.raises(ValueError, match="invalid model name"):
        registry.publish(src, "bad/name", "v1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no config.json"):
        registry.publish(tmp_path / "empty", "student", "v1")
    with pytest.raises(FileNotFoundError):
        registry.publish(tmp_path / "missing", "student", "v1")


def test_publish_with_link_shares_the_files(registry, src):
    path = registry.publish(src, "student", "base", link=True)
    assert os.path.samefile(path / "model.safetensors", src / "model.safetensors")


def test_versions_are_listed_in_publication_order(registry, src):
    for version in ("v10", "v2", "a", "v1"):
        registry.publish(src, "student", version)
    assert [v.version for v in registry.versions("student")] == ["v10", "v2", "a", "v1"]
    assert all(isinstance(v, ModelVersion) and v.ref == f"student@{v.version}" for v in registry.versions("student"))
    assert registry.names() == ["student"]


def test_versions_ties_sort_by_natural_version_order(registry, src):
    for version in ("v10", "v2", "v1"):
        path = registry.publish(src, "student", version)
        manifest = json.loads((path / MANIFEST).read_text())
        (path / MANIFEST).write_text(json.dumps({**manifest, "created_at": "2026-01-01T00:00:00.000000Z"}))
    assert [v.version for v in registry.versions("student")] == ["v1", "v2", "v10"]


def test_current_is_none_until_set_then_names_the_version(registry, src):
    assert registry.current("student") is None
    registry.publish(src, "student", "v1")
    registry.publish(src, "student", "v2")
    assert registry.current("student") is None
    registry.set_current("student", "v1")
    assert registry.current("student").ref == "student@v1"
    registry.set_current("student", "v2")
    assert registry.current("student").ref == "student@v2"
    assert json.loads((registry.root / "student" / CURRENT).read_text())["version"] == "v2"


def test_set_current_replaces_the_pointer_atomically(registry, src, monkeypatch):
    registry.publish(src, "student", "v1")
    registry.publish(src, "student", "v2")
    registry.set_current("student", "v1")
    pointer = registry.root / "student" / CURRENT
    replaced = []
    real_replace = os.replace

    def spy(tmp, dst):
        # the new pointer is complete in a temporary file beside the old one, which is intact until the replace
        assert os.path.dirname(tmp) == str(pointer.parent) and json.loads(open(tmp).read())["version"] == "v2"
        assert registry.current("student").version == "v1"
        replaced.append(dst)
        return real_replace(tmp, dst)

    monkeypatch.setattr(os, "replace", spy)
    registry.set_current("student", "v2")
    assert replaced == [pointer]
    assert registry.current("student").version == "v2"
    assert sorted(p.name for p in pointer.parent.iterdir()) == [CURRENT, "v1", "v2"]  # no temp file left


def test_readers_never_see_a_partial_pointer(registry, src):
    for version in ("v1", "v2"):
        registry.publish(src, "student", version)
    registry.set_current("student", "v1")
    stop, seen, errors = threading.Event(), set(), []

    def read():
        while not stop.is_set():
            try:
                seen.add(registry.current("student").version)
            except Exception as exc:  # a torn or missing pointer would land here
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(200):
        registry.set_current("student", "v2" if i % 2 else "v1")
    stop.set()
    reader.join()
    assert not errors and seen <= {"v1", "v2"}


def test_resolve_gives_the_current_folder(registry, src):
    registry.publish(src, "student", "v1")
    registry.publish(src, "student", "v2")
    registry.set_current("student", "v2")
    assert registry.resolve("student") == registry.root / "student" / "v2"


def test_clear_errors_for_unknown_names_and_versions(registry, src):
    with pytest.raises(UnknownModel, match="no model named 'nope'.*interests model publish"):
        registry.versions("nope")
    with pytest.raises(UnknownModel):
        registry.resolve("nope")
    with pytest.raises(UnknownModel):
        registry.set_current("nope", "v1")
    registry.publish(src, "student", "v1")
    with pytest.raises(UnknownVersion, match="no current version.*interests model use"):
        registry.resolve("student")
    with pytest.raises(UnknownVersion, match=r"no version 'v9'.*versions: v1"):
        registry.set_current("student", "v9")
    with pytest.raises(UnknownVersion):
        registry.get("student", "..")
    assert issubclass(UnknownModel, RegistryError) and issubclass(UnknownVersion, LookupError)


def test_a_pointer_to_a_deleted_version_is_a_clear_error(registry, src):
    import shutil

    registry.publish(src, "student", "v1")
    registry.set_current("student", "v1")
    shutil.rmtree(registry.root / "student" / "v1")
    with pytest.raises(UnknownVersion, match="no version 'v1'"):
        registry.current("student")


def adapter_folder(path, base="student@v1"):
    path.mkdir()
    (path / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base, "peft_type": "LORA"}))
    (path / "adapter_model.safetensors").write_bytes(b"lora")
    return path


def test_an_adapter_records_base_and_adapter(registry, tmp_path):
    path = registry.publish(adapter_folder(tmp_path / "lora"), "student", "lora1", {"training_run": "grpo-3"})
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["base"] == "student@v1" and manifest["adapter"] == "."
    assert registry.get("student", "lora1").is_adapter


def test_an_adapter_without_a_base_is_refused(registry, tmp_path):
    with pytest.raises(ValueError, match="names no base"):
        registry.publish(adapter_folder(tmp_path / "lora", base=None), "student", "lora1")


def test_loading_an_adapter_without_peft_names_the_package(registry, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_peft(name, *args, **kwargs):
        if name == "peft":
            raise ImportError("No module named 'peft'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_peft)
    registry.publish(adapter_folder(tmp_path / "lora"), "student", "lora1")
    registry.set_current("student", "lora1")
    with pytest.raises(NotImplementedError, match="`peft` package"):
        registry.resolve("student")


# --- the watcher of the current pointer ---------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def watcher(registry, build, loaded="student@v1", background=False, every_s=5.0):
    clock = Clock()
    return CurrentWatcher(registry, "student", build, loaded, every_s=every_s, background=background,
                          clock=clock), clock


@pytest.fixture
def two_versions(registry, src):
    registry.publish(src, "student", "v1")
    registry.publish(src, "student", "v2")
    registry.set_current("student", "v1")
    return registry


def test_watcher_builds_a_new_current_version_once(two_versions):
    built = []
    w, clock = watcher(two_versions, lambda v: built.append(v.ref) or f"gen-{v.version}")
    assert w.poll() is None and built == []  # nothing changed
    two_versions.set_current("student", "v2")
    assert w.poll() is None  # not yet due: at most every every_s
    clock.now = 5.0
    version, generator = w.poll()
    assert version.ref == "student@v2" and generator == "gen-v2" and w.loaded == "student@v2"
    clock.now = 10.0
    assert w.poll() is None and built == ["student@v2"]


def test_watcher_builds_in_the_background_and_hands_over_when_ready(two_versions):
    release = threading.Event()

    def slow_build(version):
        release.wait(5)
        return f"gen-{version.version}"

    w, clock = watcher(two_versions, slow_build, background=True, every_s=0)
    two_versions.set_current("student", "v2")
    assert w.poll() is None  # the build started; the caller goes on serving the old version
    assert w.poll() is None
    release.set()
    w.wait(5)
    version, generator = w.poll()
    assert (version.version, generator) == ("v2", "gen-v2")


def test_watcher_skips_a_version_that_fails_to_build_until_the_pointer_moves(two_versions, src):
    calls = []

    def build(version):
        calls.append(version.version)
        if version.version == "v2":
            raise OSError("corrupt weights")
        return f"gen-{version.version}"

    w, clock = watcher(two_versions, build, every_s=0)
    two_versions.set_current("student", "v2")
    assert w.poll() is None and w.loaded == "student@v1"
    assert w.poll() is None and calls == ["v2"]  # not retried while the pointer stays
    two_versions.publish(src, "student", "v3")
    two_versions.set_current("student", "v3")
    assert w.poll()[1] == "gen-v3"


def test_watcher_survives_an_unreadable_pointer(two_versions):
    w, _ = watcher(two_versions, lambda v: "gen", every_s=0)
    (two_versions.root / "student" / CURRENT).write_text("{not json")
    assert w.poll() is None and w.loaded == "student@v1"


def test_packaged_student_is_published_once_and_made_current_over_base(tmp_path):
    import json as _json

    from models.student import MODEL_NAME, register_packaged

    packaged = tmp_path / "artifacts" / "distilled-v1"
    packaged.mkdir(parents=True)
    (packaged / "adapter_config.json").write_text(_json.dumps({"base_model_name_or_path": "x"}))
    (packaged / "manifest.json").write_text(_json.dumps({"name": MODEL_NAME, "version": "distilled-v1",
                                                          "base": f"{MODEL_NAME}@base", "layers": [0, 1]}))
    other = tmp_path / "artifacts" / "other-model"
    other.mkdir()
    (other / "adapter_config.json").write_text("{}")
    (other / "manifest.json").write_text(_json.dumps({"name": "someone-else", "version": "v1", "base": "b"}))
    registry = Registry(tmp_path / "registry")
    assert register_packaged(registry, tmp_path / "artifacts") == ["distilled-v1"]
    version = registry.get(MODEL_NAME, "distilled-v1")
    assert version.is_adapter and version.manifest["layers"] == [0, 1]
    assert register_packaged(registry, tmp_path / "artifacts") == []  # published once
    assert "someone-else" not in registry.names()


def test_a_new_default_shipped_with_the_code_replaces_the_shipped_version_that_served(tmp_path, monkeypatch):
    import json as _json

    from models import student
    from models.student import MODEL_NAME, register_base

    artifacts = tmp_path / "artifacts"
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    (base / "manifest.json").write_text(_json.dumps({"name": MODEL_NAME, "version": "base", "source": "gguf"}))

    def ship(version, **extra):
        folder = artifacts / version
        folder.mkdir(parents=True)
        (folder / "adapter_config.json").write_text("{}")
        (folder / "manifest.json").write_text(_json.dumps({"name": MODEL_NAME, "version": version,
                                                            "base": f"{MODEL_NAME}@base", **extra}))

    monkeypatch.setattr(student, "PACKAGED", artifacts)
    registry = Registry(tmp_path / "registry")
    ship("teacher-v1")
    register_base(base, registry)
    assert registry.current(MODEL_NAME).version == "teacher-v1"
    ship("student-v1", default=True)
    ship("zz-experiment")  # sorts last, but is not the default
    register_base(base, registry)
    assert registry.current(MODEL_NAME).version == "student-v1"
    registry.set_current(MODEL_NAME, "zz-experiment")  # an operator's choice stays from now on
    register_base(base, registry)
    assert registry.current(MODEL_NAME).version == "zz-experiment"
    # a fresh registry serves the default at once
    fresh = Registry(tmp_path / "fresh")
    register_base(base, fresh)
    assert fresh.current(MODEL_NAME).version == "student-v1"


def test_marking_a_shipped_default_unmarks_the_one_before_it(tmp_path):
    import json as _json

    from models.student import MODEL_NAME, mark_default, packaged_default

    for version, extra in (("old", {"default": True}), ("new", {})):
        folder = tmp_path / version
        folder.mkdir()
        (folder / "manifest.json").write_text(_json.dumps({"name": MODEL_NAME, "version": version, **extra}))
    assert packaged_default(tmp_path) == "old"
    assert mark_default("new", tmp_path) == ["old"]
    assert packaged_default(tmp_path) == "new"
    assert "default" not in _json.loads((tmp_path / "old" / "manifest.json").read_text())
    assert mark_default("new", tmp_path) == []  # already the default: nothing rewritten
    with pytest.raises(ValueError, match="no shipped version 'gone'"):
        mark_default("gone", tmp_path)
