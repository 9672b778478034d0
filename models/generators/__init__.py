"""Query generators behind one interface; ``make_generator(cfg)`` picks one from the configuration."""

from models.generators.base import QueryGenerator, UserContext, make_generator

__all__ = ["QueryGenerator", "UserContext", "make_generator"]
