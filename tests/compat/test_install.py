"""`install_as_httpx()`, `pytest -p httpduo.as_httpx` and `python -m httpduo.as_httpx`.

Installing is process-wide, so every test runs its program in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(code: str, *args: str, cwd: Path = ROOT, pythonpath: str = "") -> str:
    """Run `code` in a fresh interpreter; its stdout, or the failure with stderr."""
    env_path = f"{pythonpath}:" if pythonpath else ""
    result = subprocess.run(
        [sys.executable, *args, *(["-c", textwrap.dedent(code)] if code else [])],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": env_path + str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def fake_httpx(tmp_path: Path) -> Path:
    """A folder with a stand-in real `httpx` package (the test venv has no httpx)."""
    package = tmp_path / "site" / "httpx"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("REAL = True\n")
    return package.parent


def test_plain_import_loads_no_compat_layer() -> None:
    out = run(
        """
        import sys, httpduo
        print(sorted(m for m in sys.modules
                     if m.split('.')[0] in ('httpx', 'httpcore') or 'compat' in m))
        """
    )
    assert out.strip() == "[]"


def test_httpx_names_and_private_paths_are_httpduos_objects() -> None:
    out = run(
        """
        import httpduo
        httpduo.install_as_httpx()
        import httpx
        from httpx import Client, AsyncClient, Response
        from httpx._client import USE_CLIENT_DEFAULT, BaseClient, UseClientDefault
        from httpx._config import DEFAULT_TIMEOUT_CONFIG, DEFAULT_LIMITS, UNSET
        from httpx._config import DEFAULT_MAX_REDIRECTS, create_ssl_context
        from httpx._content import IteratorByteStream, AsyncIteratorByteStream, encode_json
        from httpx._exceptions import ConnectError, HTTPStatusError
        from httpx._models import Request, Headers, Cookies
        from httpx._urls import URL, QueryParams
        from httpx._utils import get_environment_proxies
        from httpx._types import URLTypes, RequestContent, ProxyTypes, TimeoutTypes
        from httpx._transports.default import HTTPTransport, AsyncHTTPTransport
        from httpx._transports.asgi import ASGITransport
        from httpx._transports.wsgi import WSGITransport
        from httpx._transports.mock import MockTransport
        from httpx._transports.base import BaseTransport, AsyncBaseTransport
        from httpx._multipart import MultipartStream
        from httpx._decoders import GZipDecoder
        from httpx._auth import DigestAuth
        from httpx._status_codes import codes
        from httpx._api import get

        assert Client is httpduo.Client and AsyncClient is httpduo.AsyncClient
        assert Response is httpduo.Response and Request is httpduo.Request
        assert HTTPTransport is httpduo.HTTPTransport and URL is httpduo.URL
        assert ConnectError is httpduo.ConnectError and codes is httpduo.codes
        assert USE_CLIENT_DEFAULT is httpduo.USE_CLIENT_DEFAULT
        assert httpx._client.USE_CLIENT_DEFAULT is USE_CLIENT_DEFAULT  # as an attribute
        assert issubclass(IteratorByteStream, httpduo.SyncByteStream)
        headers, stream = encode_json({"a": 1})
        assert headers["Content-Type"] == "application/json" and b"".join(stream) == b'{"a":1}'
        assert isinstance(httpx.Client(), httpduo.Client)
        print(httpx.__version__, httpx.__httpduo_version__ == httpduo.__version__)
        """
    )
    assert out.split() == ["0.28.1", "True"]


def test_a_request_through_httpx_is_sent_by_httpduo(server: Any) -> None:
    out = run(
        f"""
        import httpduo
        httpduo.install_as_httpx()
        import httpx
        with httpx.Client() as client:
            response = client.get("{server.url}/json")
        print(type(response) is httpduo.Response, response.json())
        """
    )
    assert out.strip() == "True {'Hello': 'world!'}"


def test_missing_module_names_the_gap() -> None:
    out = run(
        """
        import httpduo
        httpduo.install_as_httpx()
        try:
            import httpx._not_a_module
        except ModuleNotFoundError as exc:
            print(exc.name, "|", exc)
        """
    )
    assert out.startswith("httpx._not_a_module | No module named 'httpx._not_a_module'")
    assert "httpduo" in out


def test_refuses_when_real_httpx_came_first_and_uninstall_restores_it(tmp_path: Path) -> None:
    site = fake_httpx(tmp_path)
    out = run(
        """
        import httpx, httpduo
        try:
            httpduo.install_as_httpx()
        except RuntimeError as exc:
            print("refused:", exc)
        """,
        pythonpath=str(site),
    )
    assert "refused: httpduo.install_as_httpx() must run before anything imports httpx" in out
    assert str(site / "httpx") in out

    out = run(
        """
        import sys, httpduo
        httpduo.install_as_httpx()
        httpduo.install_as_httpx()  # twice is fine
        import httpx._client
        print(httpx.Client is httpduo.Client)
        httpduo.uninstall_as_httpx()
        print(sorted(m for m in sys.modules if m.startswith('httpx')))
        import httpx
        print(getattr(httpx, "REAL", False))
        """,
        pythonpath=str(site),
    )
    assert out.split("\n")[:3] == ["True", "[]", "True"]


def test_patching_getproxies_in_httpx_utils_takes_effect() -> None:
    out = run(
        """
        from unittest import mock
        import httpduo
        httpduo.install_as_httpx()
        import httpx._utils
        proxies = {"https": "http://proxy.internal:3128", "no": "localhost,.corp"}
        with mock.patch("httpx._utils.getproxies", return_value=proxies):
            print(sorted(httpx._utils.get_environment_proxies().items()))
        """
    )
    assert out.strip() == (
        "[('all://*corp', None), ('all://localhost', None), "
        "('https://', 'http://proxy.internal:3128')]"
    )


def test_runner_runs_scripts_modules_and_code(tmp_path: Path) -> None:
    script = tmp_path / "prog.py"
    script.write_text(
        "import sys, httpx, httpduo\nprint(httpx.Client is httpduo.Client, sys.argv[1:])\n"
    )
    (tmp_path / "helper_mod.py").write_text("import httpx\nprint(httpx.__version__)\n")
    assert run("", "-m", "httpduo.as_httpx", str(script), "a", "-b").strip() == (
        "True ['a', '-b']"
    )
    assert run("", "-m", "httpduo.as_httpx", "-m", "helper_mod", cwd=tmp_path).strip() == (
        "0.28.1"
    )
    out = run("", "-m", "httpduo.as_httpx", "-c", "import httpx; print(httpx.URL('http://a/b'))")
    assert out.strip() == "http://a/b"


def test_runner_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "httpduo.as_httpx"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 2
    assert "usage: python -m httpduo.as_httpx SCRIPT" in result.stderr


def test_pytest_plugin_serves_httpx_to_an_unmodified_suite(tmp_path: Path) -> None:
    (tmp_path / "test_uses_httpx.py").write_text(
        textwrap.dedent(
            """
            import httpx
            from httpx._client import USE_CLIENT_DEFAULT

            def test_it():
                import httpduo
                assert httpx.Client is httpduo.Client
                assert repr(USE_CLIENT_DEFAULT) == "USE_CLIENT_DEFAULT"
            """
        )
    )
    out = run(
        "",
        "-m",
        "pytest",
        "-p",
        "httpduo.as_httpx",
        "-p",
        "no:cacheprovider",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert "httpx: served by httpduo" in out
    assert "1 passed" in out


@pytest.mark.parametrize("name", ["httpx", "httpcore"])
def test_modules_vanish_from_sys_modules_on_uninstall(name: str) -> None:
    out = run(
        f"""
        import sys, httpduo
        httpduo.install_as_httpx()
        import {name}._exceptions
        assert "{name}._exceptions" in sys.modules
        httpduo.uninstall_as_httpx()
        print([m for m in sys.modules if m.split('.')[0] == "{name}"])
        """
    )
    assert out.strip() == "[]"


def test_served_httpx_introduces_itself_as_httpx_until_uninstalled(server: Any) -> None:
    out = run(
        f"""
        import httpduo
        httpduo.install_as_httpx()
        import httpx
        with httpx.Client() as client:
            sent = dict(client.get("{server.url}/echo_headers").json())
        print(sent["user-agent"], httpx.ReadTimeout.__module__, repr(httpx.URL("http://a/")))
        try:
            raise httpx.ReadTimeout("slow")
        except httpx.TimeoutException as exc:
            import traceback
            print(traceback.format_exception_only(type(exc), exc)[0].strip())
        httpduo.uninstall_as_httpx()
        print(httpduo.Client().headers["user-agent"] == "python-httpduo/" + httpduo.__version__)
        print(httpduo.ReadTimeout.__module__)
        """
    )
    assert out.splitlines() == [
        "python-httpx/0.28.1 httpx URL('http://a/')",
        "httpx.ReadTimeout: slow",
        "True",
        "httpduo",
    ]
