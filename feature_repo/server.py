"""The Feast feature server for rankers, and what a ranker's HTTP lookup looks like.

``interests features serve [--host H] [--port P]`` runs Feast's own Python feature server (FastAPI behind gunicorn,
what ``feast serve`` runs) over this project's store config (``INTERESTS_FEAST_*``: SQLite by default, Redis in the
deployment), after registering the definitions. A ranker then asks::

    POST /get-online-features
    {"feature_service": "interest_features_v1", "entities": {"user_id": ["u1", "u2"]}}

and gets Feast's columnar JSON (``metadata.feature_names`` and one ``results`` entry per feature, with a value and a
status per user). :func:`lookup` is that call, returning one dict per user; ``GET /health`` answers 200 when the
server can read its registry.
"""

from __future__ import annotations

import json
import urllib.request

from feature_repo import offline
from feature_repo.config import FeatureStoreConfig
from feature_repo.store import FEATURE_SERVICE, open_store

DEFAULT_PORT = 6566  # Feast's default


class FeatureServerError(RuntimeError):
    """The feature server did not answer a lookup; the message says where and why."""


def serve(cfg: FeatureStoreConfig, host: str = "127.0.0.1", port: int = DEFAULT_PORT, workers: int = 1) -> None:
    """Blocks: Feast's HTTP feature server on ``host:port`` (access log off)."""
    store = open_store(cfg, apply=True)
    store.serve(host=host, port=port, type_="http", no_access_log=True, workers=workers, registry_ttl_sec=5)


def lookup(base_url: str, user_ids: list[str], timeout: float = 5.0,
           feature_service: str = FEATURE_SERVICE) -> list[dict]:
    """A ranker's lookup over HTTP: one dict per user (feature name -> value; None where the user has none)."""
    body = json.dumps({"feature_service": feature_service, "entities": {"user_id": list(user_ids)}}).encode()
    request = urllib.request.Request(f"{base_url.rstrip('/')}/get-online-features", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise FeatureServerError(f"feature server at {base_url} did not answer a lookup: {exc}") from exc
    return rows_of(payload, len(user_ids))


def rows_of(payload: dict, n: int) -> list[dict]:
    """Feast's columnar response -> one dict per entity row, as :func:`feature_repo.store.read_features` gives it
    (the packed ``activity`` as its named values). A value whose status is not PRESENT becomes None."""
    names = payload["metadata"]["feature_names"]
    rows = [dict() for _ in range(n)]
    for name, result in zip(names, payload["results"]):
        statuses = result.get("statuses") or ["PRESENT"] * n
        for i, (value, status) in enumerate(zip(result["values"], statuses)):
            rows[i][name] = value if status == "PRESENT" else None
    return [offline.unpack_activity(r) if "activity" in r else r for r in rows]


def healthy(base_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False
