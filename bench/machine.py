"""The machine's speed at the time of a run, so that absolute figures from different days compare."""

from __future__ import annotations

import time


def calibration() -> float:
    """Seconds for a plain Python loop of 5M additions: to compare figures taken on different machines/loads."""
    t = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return round(time.perf_counter() - t, 3)
