"""What the whole process shares: the garbage collector's setting during a run."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["quiet_gc"]

_QUIET = [0]  # how many quiet_gc blocks are open (the command line opens one around score_run's)


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """No cyclic-GC passes over a run's many long-lived objects (there are no cycles to free), then as before.

    A run builds millions of small objects that all live to its end; the collector
    would walk them again and again for nothing (≈ 25 % of a 100k-unit run's CPU).
    """
    if _QUIET[0]:
        yield
        return
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    _QUIET[0] += 1
    try:
        yield
    finally:
        _QUIET[0] -= 1
        gc.set_threshold(*old)
        gc.unfreeze()
