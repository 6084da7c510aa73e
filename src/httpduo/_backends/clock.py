"""The clock the clients read (for `Response.elapsed`), kept with the other
time-touching code so models and the one-source client stay clock-free."""

from __future__ import annotations

import time

__all__ = ["perf_counter"]

perf_counter = time.perf_counter
