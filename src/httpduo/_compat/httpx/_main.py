"""`httpx._main`: the command-line client's entry point (httpduo's CLI; needs `[cli]`)."""

from __future__ import annotations

from httpduo._cli.main import main

__all__ = ["main"]
