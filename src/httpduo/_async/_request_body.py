"""Request bodies as the connections send them: closing the body's iterator.

Rules:
- A connection that stops iterating a request body (at its end, on an early response,
  an error or a cancellation) closes the iterator it got from the body, when that
  iterator can be closed (a generator, or httpduo's wrapper of one): a generator left
  suspended would be finalised by the garbage collector, and trio warns about it.
- A body that is its own iterator is the caller's object: it is left open.
"""

from __future__ import annotations

__all__ = ["close_body_iterator"]


async def close_body_iterator(body: object, chunks: object) -> None:
    """Close `chunks`, the iterator the connection got from `body`, if it closes."""
    if chunks is body:
        return
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()
