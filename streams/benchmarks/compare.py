"""The load benchmark on the previous code and on this checkout, side by side in one run:
``interests stream load --previous REF [--previous-embedder E] [--rounds N]``.

The previous code is a git worktree of ``REF`` (detached, removed after); only its workers run from it. The harness,
the events, the broker and the measurements are this checkout's, so both sides are measured the same way, and the
rounds alternate (previous, current, previous, ...) so the machine's load falls on both alike. The result holds every
run and, per round, the ratio current / previous of the throughput phase's updates per worker CPU-second (whole run
and steady part).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
RATIO_KEYS = ("updates_per_cpu_s", "steady_updates_per_cpu_s", "steady_rate")


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def head() -> str:
    """This checkout's commit, with ``+changes`` when its tracked files differ from it."""
    commit = _git("rev-parse", "--short", "HEAD")
    return commit + ("+changes" if _git("status", "--porcelain", "--untracked-files=no") else "")


@contextmanager
def checkout(ref: str) -> Iterator[tuple[Path, str]]:
    """A detached worktree of ``ref`` of this repository: ``(folder, commit)``; removed on exit."""
    try:
        commit = _git("rev-parse", "--short", f"{ref}^{{commit}}")
    except subprocess.CalledProcessError as exc:
        raise ValueError(f"--previous {ref!r} is not a commit of this repository: {exc.stderr.strip()}") from None
    folder = Path(tempfile.mkdtemp(prefix="interests-previous-")) / "tree"
    _git("worktree", "add", "--detach", str(folder), commit)
    try:
        yield folder, commit
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], capture_output=True)
        shutil.rmtree(folder.parent, ignore_errors=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True)


def ratios(previous: list[dict], current: list[dict]) -> dict:
    """Per round, current / previous of each throughput figure both runs have."""
    out: dict[str, list] = {}
    for key in RATIO_KEYS:
        pairs = [(p.get("throughput", {}).get(key), c.get("throughput", {}).get(key))
                 for p, c in zip(previous, current)]
        values = [round(c / p, 2) for p, c in pairs if p and c]
        if values:
            out[key] = values
    return out


def raw_named(lc, side: str, round_: int):
    """``lc`` with its kept profile (``--profile-raw FILE``) named after the side and round: ``raw.txt.gz`` ->
    ``raw-current-1.txt.gz``."""
    if not lc.profile_raw:
        return lc
    path = Path(lc.profile_raw)
    stem, dot, suffixes = path.name.partition(".")
    return replace(lc, profile_raw=str(path.with_name(f"{stem}-{side}-{round_}{dot}{suffixes}")))


def run_comparison(lc, previous_ref: str, previous_embedder: str | None = None, rounds: int = 1,
                   out: Path | None = None) -> dict:
    """``rounds`` alternating runs of the phases of ``lc`` on ``previous_ref``'s workers and on this checkout's."""
    from streams.benchmarks.load import command_line, load_average, run_benchmark
    from streams.benchmarks.report import write_result

    if rounds < 1:
        raise ValueError(f"--rounds must be at least 1, got {rounds}")
    previous_lc = replace(lc, embedder=previous_embedder or lc.embedder)
    result: dict = {"command": command_line(), "started_at": time.strftime("%FT%T%z"), "loadavg_start": load_average(),
                    "previous": {"ref": previous_ref, "embedder": previous_lc.embedder, "runs": []},
                    "current": {"commit": head(), "embedder": lc.embedder, "runs": []}}
    with checkout(previous_ref) as (tree, commit):
        result["previous"]["commit"] = commit
        for round_ in range(1, rounds + 1):
            print(f"--- round {round_} of {rounds}: previous code ({commit}, {previous_lc.embedder})", flush=True)
            result["previous"]["runs"].append(run_benchmark(raw_named(previous_lc, "previous", round_), code_dir=tree,
                                                            code_name=f"a git worktree of {commit}"))
            print(f"--- round {round_} of {rounds}: this checkout ({result['current']['commit']}, {lc.embedder})",
                  flush=True)
            result["current"]["runs"].append(run_benchmark(raw_named(lc, "current", round_)))
    result["ratios"] = ratios(result["previous"]["runs"], result["current"]["runs"])
    result["loadavg_end"] = load_average()
    print(f"current / previous, per round: {result['ratios']}")
    if out is not None:
        write_result(out, f"compare-{lc.embedder}.json", result)
    return result
