"""The `httpduo` command-line client: click parses, rich renders (see `main.py`).

Loaded only when the command runs or `httpduo.main` is first looked up (`load_main`),
so `import httpduo` never pulls in click or rich.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, NoReturn

__all__ = ["load_main"]

_MISSING = (
    "The httpduo command line client could not run because {name} is not installed. "
    "Install it with: pip install 'httpduo[cli]'"
)


def load_main() -> Callable[..., Any]:
    """The command as a click command (`httpduo.main`, as `httpx.main` is httpx's);
    without the `cli` extra, a stand-in that says what to install and exits with 1."""
    try:
        from .main import cli
    except ImportError as exc:
        if exc.name not in ("click", "rich"):
            raise
        return _missing_dependency(exc.name)
    return cli


def _missing_dependency(name: str) -> Callable[..., NoReturn]:
    def main(*args: Any, **kwargs: Any) -> NoReturn:
        print(_MISSING.format(name=name), file=sys.stderr)
        sys.exit(1)

    return main
