"""The layering rules of DESIGN.md, checked on the source and on a live process."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import textwrap
from typing import Any

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "httpduo"


def imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_anyio_backend_imports_anyio() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "anyio" in imported_modules(path) and path != SRC / "_backends" / "anyio.py"
    ]
    assert offenders == []


def test_models_and_codecs_do_no_io() -> None:
    forbidden = {"anyio", "asyncio", "socket", "threading", "select", "selectors", "trio"}
    offenders = {
        str(path.relative_to(SRC)): sorted(imported_modules(path) & forbidden)
        for folder in ("_models", "_codecs")
        for path in (SRC / folder).rglob("*.py")
        if imported_modules(path) & forbidden
    }
    assert offenders == {}


def run_python(code: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_loads_no_optional_or_async_machinery() -> None:
    out = run_python(
        """
        import sys
        import httpduo
        print(sorted(m for m in ("anyio", "trio", "h2", "click", "rich") if m in sys.modules))
        """
    )
    assert out == "[]"


def test_sync_requests_never_import_anyio(server: Any) -> None:
    out = run_python(
        f"""
        import sys
        import httpduo
        with httpduo.Client() as client:
            assert client.get({server.url!r}).status_code == 200
        assert httpduo.get({server.url!r}).text == "Hello, world!"
        print("anyio" in sys.modules)
        """
    )
    assert out == "False"
