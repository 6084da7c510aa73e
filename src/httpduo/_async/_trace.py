"""Tracing and debug logging: one mechanism for both.

A step of the transport (`connection.connect_tcp`, `http11.send_request_headers`, ...)
runs inside `trace_step(name, logger, request)`. It emits `<name>.started`, then
`<name>.complete` or `<name>.failed` to the request's `trace` extension callback and, at
DEBUG level, to the given `httpduo.*` logger. When neither listens, the step gets one
shared do-nothing context manager: a request passes through several steps, so the
unobserved case must cost next to nothing.
"""

from __future__ import annotations

import inspect
import logging
from types import TracebackType
from typing import Any, Optional, Union

from httpduo._models._requests import Request

__all__ = ["AsyncTrace", "IterationStep", "trace_step"]


class AsyncTrace:
    """Context manager reporting one named step of handling a request."""

    __slots__ = ("_callback", "_debug", "_info", "_logger", "_name", "return_value")

    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        request: Optional[Request] = None,
        info: Optional[dict[str, Any]] = None,
    ) -> None:
        self._name = name
        self._logger = logger
        self._info = info or {}
        self._callback = None if request is None else request.extensions.get("trace")
        self._debug = logger.isEnabledFor(logging.DEBUG)
        # Set by the traced code to report what the step produced (e.g. the stream).
        self.return_value: Any = None

    async def _emit(self, event: str, info: dict[str, Any]) -> None:
        if self._debug:
            if info:
                details = " ".join(f"{key}={value!r}" for key, value in info.items())
                self._logger.debug("%s.%s %s", self._name, event, details)
            else:
                self._logger.debug("%s.%s", self._name, event)
        if self._callback is not None:
            result = self._callback(f"{self._name}.{event}", info)
            # The callback may be a plain function or a coroutine function.
            if inspect.isawaitable(result):
                result = await result

    async def __aenter__(self) -> AsyncTrace:
        if self._debug or self._callback is not None:
            await self._emit("started", self._info)
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if self._debug or self._callback is not None:
            if exc_value is None:
                info = {} if self.return_value is None else {"return_value": self.return_value}
                await self._emit("complete", info)
            else:
                await self._emit("failed", {"exception": exc_value})


class _NoTrace:
    """The step nobody listens to: enters and exits doing nothing, drops return_value."""

    __slots__ = ()

    @property
    def return_value(self) -> Any:
        return None

    @return_value.setter
    def return_value(self, value: Any) -> None:
        pass

    async def __aenter__(self) -> _NoTrace:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        return None


_NO_TRACE = _NoTrace()
# An `IterationStep` that has reported its end.
_ENDED = _NoTrace()


class IterationStep:
    """A traced step spanning a body's iteration, driven from an iterator's `__anext__`:
    `started` before the first chunk, `complete` at the end, `failed` on an error. Only
    the iterator's own calls move it on, so an abandoned iterator leaves no open step
    (nor a suspended generator) behind."""

    __slots__ = ("_logger", "_name", "_request", "_trace")

    def __init__(self, name: str, logger: logging.Logger, request: Request) -> None:
        self._name = name
        self._logger = logger
        self._request = request
        self._trace: Union[AsyncTrace, _NoTrace, None] = None

    @property
    def ended(self) -> bool:
        """The iteration has finished, or failed: nothing more is to be read."""
        return self._trace is _ENDED

    async def start(self) -> None:
        """Report `started`, on the first call only."""
        if self._trace is None:
            self._trace = trace_step(self._name, self._logger, self._request)
            await self._trace.__aenter__()

    async def end(self, exc: Optional[BaseException] = None) -> None:
        """Report `complete` (or `failed` with `exc`), once; `ended` is true from then on."""
        trace = self._trace
        self._trace = _ENDED
        if trace is not None and trace is not _ENDED:
            if exc is None:
                await trace.__aexit__(None, None, None)
            else:
                await trace.__aexit__(type(exc), exc, exc.__traceback__)


def trace_step(
    name: str,
    logger: logging.Logger,
    request: Optional[Request] = None,
    info: Optional[dict[str, Any]] = None,
) -> Union[AsyncTrace, _NoTrace]:
    """The context manager for one step: reporting it if anyone listens."""
    if (request is None or request.extensions.get("trace") is None) and not logger.isEnabledFor(
        logging.DEBUG
    ):
        return _NO_TRACE
    return AsyncTrace(name, logger, request, info)
