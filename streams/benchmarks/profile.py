"""A py-spy profile of a worker process during a benchmark phase, summarised as shares of samples.

``py-spy`` (a sampling profiler that reads another process's stack from outside it, so the worker runs its own code
unchanged) must be on ``PATH`` or named by ``PY_SPY``: ``pip install py-spy``. It is not one of the project's
dependencies: only the load benchmark's ``--profile`` uses it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

TOP = 25  # rows kept of each table


class ProfilerMissing(RuntimeError):
    pass


def py_spy() -> str:
    found = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not found:
        raise ProfilerMissing("--profile needs py-spy (pip install py-spy), on PATH or named by PY_SPY")
    return found


class Sampler:
    """``py-spy record`` on ``pid`` for ``seconds`` at ``rate`` samples/s, in the background. By default every
    thread that is not idle is sampled (wall-clock: a thread waiting for the CPU, or inside a system call, counts
    where it waits); ``gil=True`` samples only the thread holding the interpreter lock, so the shares are of the
    Python work itself (an embedder running outside the lock, in native code, is then left out)."""

    def __init__(self, pid: int, seconds: float, rate: int = 200, gil: bool = False, keep: Path | None = None):
        self.pid, self.seconds, self.rate, self.gil = pid, seconds, rate, gil
        self.keep = keep  # where py-spy's raw stacks are kept, gzipped, with the local folders taken out
        self.binary = py_spy()
        self.raw = Path(tempfile.mkdtemp(prefix="interests-profile-")) / "profile.txt"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "record", "-p", str(self.pid), "-r", str(self.rate), "-d", str(max(1, round(self.seconds))),
             "-f", "raw", "--nonblocking", "-o", str(self.raw), *(["--gil"] if self.gil else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def finish(self) -> dict:
        """Wait for the sampler (it stops by itself after ``seconds``, or when the process ends) and summarise."""
        if self.proc is None:
            return {}
        _, err = self.proc.communicate(timeout=self.seconds + 60)
        if not self.raw.exists():
            return {"error": (err or b"").decode(errors="replace")[-500:]}
        try:
            text = self.raw.read_text()
            if self.keep is not None:
                keep_raw(text, self.keep)
            return summarise(text)
        finally:
            shutil.rmtree(self.raw.parent, ignore_errors=True)


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", "/lib/python3.12/"):
        if marker in path:
            return path.split(marker)[-1]
    parts = Path(path).parts
    for top in ("streams", "models", "schemas", "common", "feature_repo", "interests_cli", "training"):
        if top in parts:
            return "/".join(parts[parts.index(top):])
    return path


def _frame(frame: str) -> tuple[str, str, str]:
    """A py-spy frame ``name (path:line)`` -> ``(name, short path, line)``; a frame without a place -> ``(frame, "",
    "")``."""
    name, _, where = frame.partition(" (")
    place = where.rstrip(")")
    path, _, line = place.rpartition(":") if ":" in place else (place, "", "")
    return name, _short(path), line


def _function(frame: str) -> str:
    """``name (path:line)`` -> ``name (short path)``."""
    name, path, _ = _frame(frame)
    return f"{name} ({path})"


def keep_raw(raw: str, path: Path) -> None:
    """py-spy's raw stacks written gzipped to ``path``, each frame's file shortened as in the summary (no local
    folder names)."""
    import gzip

    def shortened(frame: str) -> str:
        name, file, line = _frame(frame)
        return f"{name} ({file}:{line})" if " (" in frame else frame

    lines = []
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        lines.append(f"{';'.join(shortened(f) for f in stack.split(';'))} {count}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as out:
        out.write("\n".join(lines) + "\n")


def summarise(raw: str, top: int = TOP) -> dict:
    """py-spy's raw (collapsed) stacks -> the samples, the share of samples in each module and in each function
    (inclusive: a sample counts once for every module or function on its stack) and the leaf frames (where the time
    is spent itself), largest first."""
    modules, functions, leaves, total = Counter(), Counter(), Counter(), 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n, frames = int(count), stack.split(";")
        total += n
        for module in {_frame(f)[1] for f in frames}:
            modules[module] += n
        for function in {_function(f) for f in frames}:
            functions[function] += n
        leaves[_function(frames[-1])] += n
    share = (lambda c: round(100.0 * c / total, 1)) if total else (lambda c: 0.0)
    return {"samples": total,
            "modules_pct": {m: share(c) for m, c in modules.most_common(top)},
            "functions_pct": {f: share(c) for f, c in functions.most_common(2 * top)},
            "leaves_pct": {f: share(c) for f, c in leaves.most_common(top)}}
