"""`install_as_httpx()` / `uninstall_as_httpx()`: the public switch of the compat layer.

The layer itself (`_compat/`) is imported only when the switch is used, so a program
that never calls it loads none of it.
"""

from __future__ import annotations

__all__ = ["install_as_httpx", "uninstall_as_httpx"]


def install_as_httpx() -> None:
    """Serve `import httpx` and `import httpcore` from httpduo, for the whole process.

    After it, `import httpx`, `from httpx import Client`, httpx's private module paths
    (`httpx._client`, `httpx._config`, `httpx._transports.default`, ...) and `httpcore`
    give httpduo's own objects, so packages built on httpx (Starlette's TestClient, the
    OpenAI SDK, respx, pytest-httpx, hishel) run on httpduo unchanged. Call it before
    anything imports httpx: if the real httpx or httpcore is already imported it raises
    `RuntimeError` saying so. Calling it again does nothing; `uninstall_as_httpx()`
    undoes it. `pytest -p httpduo.as_httpx` and `python -m httpduo.as_httpx prog.py`
    call it for you.
    """
    from ._compat._install import install

    install()


def uninstall_as_httpx() -> None:
    """Undo `install_as_httpx()`: forget the `httpx`/`httpcore` modules it served.

    Objects already taken from them stay httpduo's; the next `import httpx` imports the
    real httpx, if it is installed. Does nothing when the switch is not on.
    """
    import sys

    if "httpduo._compat._install" in sys.modules:
        from ._compat._install import uninstall

        uninstall()
