"""``interests features apply|get|serve``: the Feast store (register the definitions, read features as a ranker
does) and the Feast feature server (HTTP) for rankers."""

from __future__ import annotations

import json

from interests_cli.base import command, group

DEFINITIONS = "user, user_interest_queries_push, user_interest_queries, interest_features_v1"


def cmd_apply(args) -> int:
    from feature_repo.config import FeatureStoreConfig
    from feature_repo.store import open_store

    open_store(FeatureStoreConfig.from_env(), apply=True)
    print(f"applied: {DEFINITIONS}")
    return 0


def cmd_get(args) -> int:
    from feature_repo.config import FeatureStoreConfig
    from feature_repo.store import open_store, read_features

    rows = read_features(open_store(FeatureStoreConfig.from_env(), apply=True), args.users)
    for row in rows:
        embeddings = row.get("query_embeddings") or []
        vector = row.get("interest_vector") or []
        shown = {**row, "query_embeddings": f"<{len(embeddings)} x {len(embeddings[0]) if embeddings else 0}>",
                 "interest_vector": f"<{len(vector)} floats>"}
        print(json.dumps(shown, default=str, indent=2))
    return 0 if all(r.get("queries") for r in rows) else 1


def cmd_serve(args) -> int:
    from feature_repo.config import FeatureStoreConfig
    from feature_repo.server import serve

    serve(FeatureStoreConfig.from_env(), host=args.host, port=args.port, workers=args.workers)
    return 0


def add(sub) -> None:
    features = group(sub, "features", "the Feast feature store")
    command(features, "apply", cmd_apply, "register the feature definitions in the store")
    get = command(features, "get", cmd_get, "the features of USER... as a ranker reads them (exit 1 when one has "
                  "no queries)")
    get.add_argument("users", nargs="+", metavar="USER")
    serve = command(features, "serve", cmd_serve, "the Feast feature server (HTTP) for rankers")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 in a container)")
    serve.add_argument("--port", type=int, default=6566, help="port (Feast's default 6566)")
    serve.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
