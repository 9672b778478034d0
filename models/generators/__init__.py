"""Query generators behind one interface (:mod:`models.generators.base`); :mod:`models.generators.factory` builds
the configured one."""

from models.generators.base import Generation, QueryGenerator, UserContext

__all__ = ["Generation", "QueryGenerator", "UserContext"]
