"""Serve `import httpx` and `import httpcore` from httpduo (the opt-in, undoable).

Rules:
- `install()` puts one finder first on `sys.meta_path`. For `httpx`, `httpcore` and any
  dotted name below them, it loads the module of the same path below
  `httpduo._compat.httpx` / `httpduo._compat.httpcore` and registers it under the httpx
  name too: one module object, two names, so patching either patches both.
- A name below `httpx`/`httpcore` that httpduo does not provide fails like any missing
  module (ModuleNotFoundError naming it); the real packages are never searched.
- Installing after the real httpx or httpcore was imported is an error: objects from
  the real package would already be loose in the program, and mixing them silently is
  worse than stopping. Installing twice is a no-op.
- While installed, httpduo presents itself as the httpx it serves, as httpx would:
  new clients send `User-Agent: python-httpx/<served version>`, and the public classes
  report `httpx` as their module (in reprs and tracebacks: `httpx.ReadTimeout`). Test
  suites written for httpx assert both.
- `uninstall()` removes the finder and every `httpx*`/`httpcore*` alias it registered,
  switches the httpcore routing off if it was on, and gives httpduo its own name back.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.abc import Loader
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Optional, Sequence

from . import HTTPX_API_VERSION

__all__ = ["install", "is_installed", "uninstall"]

_PACKAGES = {"httpx": "httpduo._compat.httpx", "httpcore": "httpduo._compat.httpcore"}
_ROUTING = "httpduo._compat.httpcore._routing"


def _served(fullname: str) -> Optional[str]:
    """The httpduo module behind an httpx/httpcore module name, or None."""
    top, dot, rest = fullname.partition(".")
    target = _PACKAGES.get(top)
    if target is None:
        return None
    return f"{target}.{rest}" if dot else target


class _AliasLoader(Loader):
    """Hands out an already-importable httpduo module under the requested name."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._real_spec: Optional[ModuleSpec] = None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = importlib.import_module(self._target)
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # importlib has just set `__spec__` to the alias spec; the module keeps its own,
        # so reloads, pickling and its submodules go on under its real name.
        module.__spec__ = self._real_spec
        if self._target == "httpduo._compat.httpcore":
            # respx and friends patch httpcore's pools: from now on every request of
            # httpduo's transports goes through them.
            importlib.import_module(_ROUTING).activate()


class _Finder:
    """The meta path finder `install()` puts first; see the module docstring."""

    def find_spec(
        self,
        fullname: str,
        path: Optional[Sequence[str]] = None,
        target: Optional[ModuleType] = None,
    ) -> Optional[ModuleSpec]:
        served = _served(fullname)
        if served is None:
            return None
        try:
            real_spec = importlib.util.find_spec(served)
        except ModuleNotFoundError:
            real_spec = None
        if real_spec is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: httpduo.install_as_httpx() serves httpx "
                f"and httpcore from httpduo, which has no {served!r}. If a package needs "
                f"it, please report it to httpduo.",
                name=fullname,
            )
        is_package = real_spec.submodule_search_locations is not None
        spec = ModuleSpec(fullname, _AliasLoader(served), is_package=is_package)
        if is_package:
            spec.submodule_search_locations = list(real_spec.submodule_search_locations or [])
        return spec


_finder: Optional[_Finder] = None


def _present_as(module_name: str, user_agent: str) -> None:
    """Name httpduo's public classes' module and new clients' User-Agent."""
    import httpduo
    from httpduo._models import _client_config

    _client_config.USER_AGENT = user_agent
    for name in httpduo.__all__:
        value = getattr(httpduo, name)
        if isinstance(value, type) and value.__module__ in ("httpduo", "httpx"):
            value.__module__ = module_name


def _foreign(name: str) -> Optional[ModuleType]:
    module = sys.modules.get(name)
    if module is None or getattr(module, "__name__", "").startswith("httpduo."):
        return None
    return module


def install() -> None:
    """Make `import httpx` / `import httpcore` (and their submodules) give httpduo's."""
    global _finder
    if _finder is not None:
        return
    for name in _PACKAGES:
        module = _foreign(name)
        if module is not None:
            where = getattr(module, "__file__", None) or repr(module)
            raise RuntimeError(
                f"httpduo.install_as_httpx() must run before anything imports {name}, but "
                f"{name} is already imported (from {where}). Call it first thing in the "
                f"program (or run `python -m httpduo.as_httpx ...` / "
                f"`pytest -p httpduo.as_httpx ...`, which do)."
            )
    _finder = _Finder()
    sys.meta_path.insert(0, _finder)
    _present_as("httpx", f"python-httpx/{HTTPX_API_VERSION}")


def is_installed() -> bool:
    """Whether `install()` is in effect."""
    return _finder is not None


def uninstall() -> None:
    """Undo `install()`: the real httpx/httpcore (if installed) import again afterwards."""
    global _finder
    if _finder is None:
        return
    routing = sys.modules.get(_ROUTING)
    if routing is not None:
        routing.deactivate()
    try:
        sys.meta_path.remove(_finder)
    except ValueError:  # pragma: no cover - somebody else removed it
        pass
    _finder = None
    from httpduo._models._client_config import HTTPDUO_USER_AGENT

    _present_as("httpduo", HTTPDUO_USER_AGENT)
    for name in list(sys.modules):
        if name.partition(".")[0] in _PACKAGES:
            del sys.modules[name]
