"""``interests``: the project's one command line.

  interests kafka install|start|stop|status|topics   the local Apache Kafka broker (KRaft) and the topics
  interests schemas check                            backward compatibility of every schema with its previous version
  interests replay FILE [--rate N]                   send events from a JSONL/Parquet file to Kafka
  interests stream worker                            the Faust worker (validation, histories, drift)
  interests stream load [--embedder hash|minilm]     load benchmark of the stream side (throughput, freshness, memory)
  interests generate worker [--backend B]            the generator worker (student model -> Feast)
  interests model convert                            convert the student GGUF to a cached safetensors folder
  interests model list | publish PATH --version V | use VERSION   the model registry (workers hot-reload `use`)
  interests features apply | get USER...             the Feast store: register definitions, read features
  interests features serve [--port P]                the Feast feature server (HTTP) for rankers
  interests data fetch | simulate | mind PATH | vocabulary   real articles/tweets; the benchmark folders
  interests noise train SIM_DIR                      the behaviour-cleaning classifier (precision/recall report)
  interests eval --generator NAME --data DIR         retrieval metrics of one generator (or all) on a benchmark
  interests benchmark [--seed S]                     the whole (query) benchmark table from scratch
  interests rank USER... [--server URL]              rank news for users: features, candidates, the trained ranker
  interests ranker benchmark | train --data DIR      the reference ranker with and without the query features
  interests train grpo|distill|study|retrain|package|export-histories
                                                     Dr.GRPO teacher, distilled student, study, retraining, shipping
  interests health                                   is the deployment healthy (broker, workers, lag, Feast)?
  interests demo                                     the whole path on the sample events, then a table

`interests COMMAND --help` shows a command's options. Exit codes: 0 done; 1 a check failed or an error
(printed as `error: ...`); 2 a usage error. Configuration comes from the environment (INTERESTS_*, INTERESTS_GEN_*,
INTERESTS_FEAST_*); see the README.
"""

from __future__ import annotations

import argparse
import logging
import sys

from interests_cli import data, evaluation, features, generation, kafka, ops, ranking, schemas_cmd, stream, train
from interests_cli.base import UsageError, domain_errors
from interests_cli.train import reward_weights

__all__ = ["main", "parser", "reward_weights"]

GROUPS = (kafka, schemas_cmd, stream, generation, features, data, evaluation, ranking, train, ops)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="interests", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    sub = p.add_subparsers(required=True)
    for module in GROUPS:
        module.add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command line; returns the exit code (argparse exits 2 itself on a usage error)."""
    root = parser()
    args, unknown = root.parse_known_args(argv)
    if unknown:  # reported by the command's own parser, with its usage (argparse would show the root's)
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    from streams.logs import configure, log_format

    try:
        fmt = log_format()
    except ValueError as exc:
        root.error(str(exc))
    configure(args.log_level, fmt)  # text lines, or JSON lines with INTERESTS_LOG_FORMAT=json
    try:
        return args.func(args)
    except UsageError as exc:
        args.parser.error(str(exc))
    except Exception as exc:
        # the error classes are imported only here, when a command failed (importing them loads Feast); a stopped
        # worker's SystemExit or KeyboardInterrupt never reaches this, so a worker's shutdown imports nothing
        if not isinstance(exc, domain_errors()):
            raise
        logging.getLogger("interests").debug("the command failed", exc_info=True)  # the traceback at --log-level debug
        print(f"error: {exc}", file=sys.stderr)
        return 1
