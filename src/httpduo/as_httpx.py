"""Run unmodified httpx code on httpduo: a pytest plugin and a program runner.

Importing this module calls `httpduo.install_as_httpx()`, which is all it takes:

    pytest -p httpduo.as_httpx tests/             # or addopts = "-p httpduo.as_httpx"
    python -m httpduo.as_httpx prog.py [args]     # run a script
    python -m httpduo.as_httpx -m package.module [args]
    python -m httpduo.as_httpx -c "import httpx; print(httpx.get('http://...'))"

`-p` plugins load before pytest's entry-point plugins (pytest-httpx, anyio) and before
any conftest, so everything the test session imports sees httpduo as httpx.
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Any, Optional

from ._install_as_httpx import install_as_httpx

__all__ = ["main", "pytest_report_header"]

install_as_httpx()

_USAGE = """\
usage: python -m httpduo.as_httpx SCRIPT [ARG ...]
       python -m httpduo.as_httpx -m MODULE [ARG ...]
       python -m httpduo.as_httpx -c CODE [ARG ...]

Runs the program with `import httpx` (and `import httpcore`) served by httpduo."""


def pytest_report_header(config: Any) -> str:
    """Say in the session header that httpx is httpduo (a pytest hook)."""
    from ._version import __version__

    return f"httpx: served by httpduo {__version__} (httpduo.as_httpx)"


def main(argv: Optional[list[str]] = None) -> int:
    """Run a script, a module (`-m`) or code (`-c`) as `python` would, httpx served by
    httpduo; returns the exit status for usage errors (the program's own exit status
    propagates as `SystemExit`)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE, file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] in ("-m", "-c"):
        if len(args) < 2:
            print(f"Argument expected for the {args[0]} option\n\n{_USAGE}", file=sys.stderr)
            return 2
        if args[0] == "-m":
            sys.argv = [args[1], *args[2:]]  # runpy puts the module's path first
            sys.path.insert(0, os.getcwd())
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *args[2:]]
            sys.path.insert(0, "")
            namespace = {"__name__": "__main__", "__builtins__": __builtins__}
            exec(compile(args[1], "<string>", "exec"), namespace)
        return 0
    script = args[0]
    sys.argv = list(args)
    # As `python script.py`: the script's own folder comes first on sys.path.
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
