"""The client side of the bomb tests, run in a subprocess so its memory can be measured.

    python -m tests.hostile.client MODE PROTOCOL CHUNK STOP_AFTER [read] URL...

MODE is sync or async; PROTOCOL is llhttp, h11 (HTTP/1.1 codecs) or h2 (prior
knowledge). After a warm-up request (`/small`, so the pool, parser and buffers exist),
each URL in turn: the peak resident size is reset to the current one and noted, then
the URL is streamed with `iter_bytes(CHUNK)` until STOP_AFTER decoded bytes (or read
whole with `read()` when `read` is given, under a `max_response_body` of STOP_AFTER),
then `/small` is fetched again (the pool must still work). Prints a JSON list, one
entry per URL: decoded bytes, how far the peak resident size (`resource.getrusage`)
rose, in KiB, the exception raised (type: message) if any, and the seconds taken.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any, Optional

import httpduo


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _baseline_kib() -> int:
    """The peak so far, first brought down to the resident size where Linux allows:
    setting up a client (its TLS context) allocates and frees ~16 MiB, which would
    otherwise hide that much growth."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # reset the peak resident size ("high water mark")
    except OSError:
        pass
    return _peak_kib()


def _transport_options(protocol: str) -> dict[str, Any]:
    if protocol == "h2":
        return {"http1": False, "http2": True}
    return {"http1_codec": protocol}


class Run:
    """One URL's measurement."""

    def __init__(self, stop_after: int, read: bool) -> None:
        self.stop_after = stop_after
        self.read = read
        self.extensions = {"max_response_body": stop_after} if read else None
        self.decoded = 0
        self.error: Optional[str] = None
        self.start = time.monotonic()
        self.baseline = _baseline_kib()

    def count(self, piece: bytes) -> bool:
        """Count a piece; whether to stop."""
        self.decoded += len(piece)
        return self.decoded >= self.stop_after

    def result(self) -> dict[str, Any]:
        return {
            "decoded": self.decoded,
            "peak_growth_kib": _peak_kib() - self.baseline,
            "error": self.error,
            "seconds": round(time.monotonic() - self.start, 2),
        }


def run_sync(
    urls: list[str], protocol: str, chunk: int, stop_after: int, read: bool
) -> list[dict[str, Any]]:
    results = []
    transport = httpduo.HTTPTransport(**_transport_options(protocol))
    with httpduo.Client(transport=transport, timeout=30) as client:
        for url in urls:
            small = url.rsplit("/", 2)[0] + "/small"
            assert client.get(small).content
            run = Run(stop_after, read)
            try:
                with client.stream("GET", url, extensions=run.extensions) as response:
                    if read:
                        run.count(response.read())
                    else:
                        for piece in response.iter_bytes(chunk):
                            if run.count(piece):
                                break
            except httpduo.HTTPError as exc:
                run.error = f"{type(exc).__name__}: {exc}"
            results.append(run.result())
            assert client.get(small).content
    return results


async def run_async(
    urls: list[str], protocol: str, chunk: int, stop_after: int, read: bool
) -> list[dict[str, Any]]:
    results = []
    transport = httpduo.AsyncHTTPTransport(**_transport_options(protocol))
    async with httpduo.AsyncClient(transport=transport, timeout=30) as client:
        for url in urls:
            small = url.rsplit("/", 2)[0] + "/small"
            assert (await client.get(small)).content
            run = Run(stop_after, read)
            try:
                async with client.stream("GET", url, extensions=run.extensions) as response:
                    if read:
                        run.count(await response.aread())
                    else:
                        async for piece in response.aiter_bytes(chunk):
                            if run.count(piece):
                                break
            except httpduo.HTTPError as exc:
                run.error = f"{type(exc).__name__}: {exc}"
            results.append(run.result())
            assert (await client.get(small)).content
    return results


def main(argv: list[str]) -> None:
    mode, protocol, chunk, stop_after, *urls = argv
    read = urls[:1] == ["read"]
    if read:
        urls = urls[1:]
    if mode == "sync":
        results = run_sync(urls, protocol, int(chunk), int(stop_after), read)
    else:
        import asyncio

        results = asyncio.run(run_async(urls, protocol, int(chunk), int(stop_after), read))
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
