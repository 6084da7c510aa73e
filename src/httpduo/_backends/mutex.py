"""The pool's decision mutex, one per side.

The pool holds its lock only for decisions that never await (DESIGN rule 5). On an
event loop such a section cannot be interleaved with another task, so the async mutex is
free; the sync twin, which threads share, is a real `threading.Lock`. Both are plain
(non-async) context managers so that the one source reads `with self._lock:`.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Optional

__all__ = ["AsyncMutex", "Mutex"]


class AsyncMutex:
    """No-op mutex for code that runs on one event loop and never awaits while holding it."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        return None


class Mutex:
    """A `threading.Lock` for the sync pool, which many threads may share."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self._lock.release()
