"""The timing loop every runtime's round uses (compare.py, and its DeepSparse child process)."""
import time
from typing import Callable, List


def timed_runs(run: Callable[[], object], warmup: int, iters: int) -> List[float]:
    """Milliseconds of each of `iters` calls of run() after `warmup` untimed ones."""
    for _ in range(warmup):
        run()
    ts = []
    for _ in range(iters):
        t = time.perf_counter()
        run()
        ts.append((time.perf_counter() - t) * 1e3)
    return ts
