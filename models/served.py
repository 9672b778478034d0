"""What the generator worker serves, built from its configuration: the registry's current version of the served
model (converted and registered first when it is the packaged student) and a watcher that builds each new version
the same way. ``interests eval --generator served`` measures exactly this generator."""

from __future__ import annotations

from dataclasses import replace

from models.config import GeneratorConfig
from models.embeddings import Embedder
from models.generators import QueryGenerator
from models.generators.factory import make_generator
from models.registry import CurrentWatcher, ModelVersion, Registry


def generator_from_config(gen: GeneratorConfig, embedder: Embedder | None = None
                          ) -> tuple[QueryGenerator, CurrentWatcher | None]:
    """The configured generator (best-of-N when ``gen.best_of_n > 1``, scored with ``embedder``) and, for the
    ``smollm2`` backend, a watcher of the registry's current pointer that builds each new version the same way. The
    student is converted and registered as ``smollm2-135m-instruct@base`` first when that is the served name."""
    if gen.backend != "smollm2":
        return make_generator(gen, embedder), None
    from models.student import MODEL_NAME, ensure_student

    registry = Registry(gen.registry_dir)
    if gen.model_name == MODEL_NAME:
        ensure_student(gen.model_dir, registry)
    current = registry.current(gen.model_name)
    if current is None:
        registry.resolve(gen.model_name)  # raises, saying what to publish or make current

    def build(version: ModelVersion) -> QueryGenerator:
        return make_generator(replace(gen, model_dir=registry.load_path(version)), embedder)

    return build(current), CurrentWatcher(registry, gen.model_name, build, current.ref, gen.reload_check_s)
