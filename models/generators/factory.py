"""The one place generators are built from the configuration: the backend by name, best-of-N around a sampling
backend, the fill of short lists and the fallback. The backends are imported here when first asked for (vLLM is an
optional extra; torch is heavy), and none of them imports this module, so there is no circle."""

from __future__ import annotations

from collections.abc import Mapping

from models.generators.base import QueryGenerator, WithFallback

SAMPLING_BACKENDS = ("smollm2", "vllm")


def backend(name: str, cfg, n: int = 1, temperature: float = 0.8) -> QueryGenerator:
    """The generator ``name`` (``smollm2``, ``vllm`` or ``keyphrase``) for ``cfg`` (a
    :class:`models.config.GeneratorConfig`); the LLM backends draw ``n`` samples per user at ``temperature``."""
    if name == "keyphrase":
        from models.generators.keyphrase import KeyphraseGenerator

        return KeyphraseGenerator(cfg.num_queries)
    if name == "smollm2":
        from models.generators.transformers_backend import TransformersGenerator
        from models.student import ensure_student

        return TransformersGenerator(ensure_student(cfg.model_dir), cfg, n=n, temperature=temperature)
    if name == "vllm":
        # raises ImportError naming the extra (pip install 'interests[vllm]') where vLLM is not installed
        from models.generators.vllm_backend import VLLMGenerator
        from models.student import ensure_student

        return VLLMGenerator(ensure_student(cfg.model_dir), cfg, n=n, temperature=temperature)
    raise ValueError(f"unknown generator backend {name!r}: use 'smollm2', 'vllm' or 'keyphrase'")


def best_of_n(cfg, n: int, temperature: float = 0.8, embedder=None, index: object | None = None,
              weights: Mapping[str, float] | None = None) -> QueryGenerator:
    """A :class:`models.bestofn.BestOfN` around the configured sampling backend (``cfg.backend``) drawing ``n``
    samples per user at ``temperature``; the embedder defaults to ``cfg.embedder``'s."""
    from models.bestofn import BestOfN
    from models.embeddings import make_embedder

    if cfg.backend not in SAMPLING_BACKENDS:
        raise ValueError(f"best-of-N needs a sampling LLM backend ('smollm2' or 'vllm'), not {cfg.backend!r}")
    inner = backend(cfg.backend, cfg, n=n, temperature=temperature)
    return BestOfN(inner, embedder or make_embedder(cfg.embedder), index, weights)


def make_generator(cfg, embedder=None) -> QueryGenerator:
    """The generator named by ``cfg.backend``: best-of-N over ``cfg.best_of_n`` samples when that is above 1
    (``embedder`` scores them; default ``cfg.embedder``'s), a short list topped up from ``cfg.top_up`` of the
    model's own samples (:class:`models.generators.topup.TopUp`) and then completed by ``cfg.fill``'s queries
    (:class:`models.generators.fill.Filled`) or, with ``cfg.select == "value"``, chosen with the reader's key phrases
    by the query-value model (:class:`models.generators.select.Selected`), wrapped with the fallback when
    ``cfg.on_invalid == "fallback"``. Under
    ``"stale"`` the worker applies :func:`make_fallback`'s generator itself, only to users who have no features to
    keep."""
    if cfg.best_of_n > 1:
        primary = best_of_n(cfg, cfg.best_of_n, cfg.sample_temperature, embedder, weights=cfg.reward_weight_map())
    else:
        primary = backend(cfg.backend, cfg)
    chooses = cfg.select == "value" and cfg.backend != "keyphrase"
    if getattr(cfg, "top_up", 0):
        from models.generators.topup import TopUp

        pool = 2 * cfg.num_queries if chooses else cfg.num_queries
        primary = TopUp(primary, cfg.top_up, cfg.sample_temperature, cfg.num_queries, limit=pool)
    if chooses:
        from models.embeddings import make_embedder
        from models.generators.select import Selected
        from models.query_value import QueryValueModel

        primary = Selected(primary, QueryValueModel.load(cfg.query_value_dir), embedder or make_embedder(cfg.embedder),
                           cfg.num_queries)
    elif cfg.fill and cfg.fill != cfg.backend:
        from models.generators.fill import Filled

        primary = Filled(primary, backend(cfg.fill, cfg), cfg.num_queries)
    if cfg.on_invalid == "fallback" and cfg.fallback and cfg.fallback != cfg.backend:
        return WithFallback(primary, backend(cfg.fallback, cfg))
    return primary


def make_fallback(cfg) -> QueryGenerator | None:
    """The generator for users without features to keep under ``on_invalid="stale"`` (None when ``cfg.fallback``
    is empty or names the primary backend, or when the policy is ``"fallback"``: :func:`make_generator` wraps it
    then)."""
    if cfg.on_invalid != "stale" or not cfg.fallback or cfg.fallback == cfg.backend:
        return None
    return backend(cfg.fallback, cfg)
