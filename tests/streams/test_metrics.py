"""The workers' metric values stay in their own process and registry, whatever Feast does to prometheus_client."""

from __future__ import annotations

import subprocess
import sys


def test_two_registries_in_one_process_count_apart_even_after_feast_is_imported():
    """Feast's import flips prometheus_client into multi-process mode (PROMETHEUS_MULTIPROC_DIR); in a fresh process
    that imports Feast first, two workers' registries must still not share values."""
    code = ("import feast.metrics, os; assert os.environ.get('PROMETHEUS_MULTIPROC_DIR');"
            "from streams.metrics import StreamMetrics; from streams.generator.metrics import GeneratorMetrics;"
            "a = StreamMetrics(process=False); a.updated([0]); b = StreamMetrics(process=False);"
            "assert b.history_updates._value.get() == 0 and b.freshness._sum.get() == 0;"
            "g = GeneratorMetrics(process=False); g.written([{'last_event_at': 0, 'generated_at': 0}]);"
            "h = GeneratorMetrics(process=False); assert h.feature_freshness._sum.get() == 0")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
