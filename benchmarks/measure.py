"""How every benchmark measures: the best wall time of a few runs, and peak resident memory (Linux /proc).

A benchmark runs as `python benchmarks/bench_x.py`, which puts only benchmarks/ on sys.path; importing this
module first also puts the repo root there, for the harnesses benchmarks share with movie_pipeline_tests
(which is not installed).
"""

import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def best_of(runs: int, action: Callable[[], object]) -> float:
    """The shortest wall time of `runs` calls of `action`, in seconds."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def reset_peak_rss_mib() -> float:
    """Resident memory now; also restarts the peak, so peak_rss_mib() covers only what follows."""
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from VmRSS
    return _status_mib("VmRSS")


def peak_rss_mib() -> float:
    return _status_mib("VmHWM")


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status (the benchmarks measure memory on Linux only)")
