"""Code written for httpx runs unchanged after `import httpduo as httpx`, and the README's
examples run as written (against the local test server instead of the internet)."""

from __future__ import annotations

import asyncio
import pathlib
import re
from typing import Any

import pytest

import httpduo as httpx

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_typical_httpx_snippet(server: Any) -> None:
    base = server.url
    r = httpx.get(base + "/json")
    assert r.status_code == httpx.codes.OK
    assert r.json() == {"Hello": "world!"}

    r = httpx.post(base + "/echo_body", json={"key": "value"})
    assert r.json() == {"key": "value"}

    with httpx.Client(base_url=base, follow_redirects=True, timeout=10.0) as client:
        r = client.get("/redirect/2", params={"x": "1"})
        assert r.status_code == 200
        assert len(r.history) == 2
        r = client.get("/basic_auth/me/secret", auth=("me", "secret"))
        r.raise_for_status()
        with pytest.raises(httpx.HTTPStatusError) as info:
            client.get("/status/404").raise_for_status()
        assert info.value.response.status_code == 404

    with httpx.stream("GET", base + "/bytes/5000") as response:
        total = sum(len(chunk) for chunk in response.iter_bytes())
    assert total == 5000

    with pytest.raises(httpx.TimeoutException):
        httpx.get(base + "/slow_headers?delay=1", timeout=0.1)


def test_async_gather_snippet(server: Any) -> None:
    async def main() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url) as client:
            responses = await asyncio.gather(*[client.get(f"/status/{200 + i}") for i in range(8)])
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200 + i for i in range(8)]


def test_readme_python_examples_run(server: Any, capsys: Any) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README has no python examples"
    for block in blocks:
        code = block.replace("https://www.example.org", server.url)
        namespace: dict[str, Any] = {}
        exec(compile(code, "README.md", "exec"), namespace)
        if "main" in namespace:
            asyncio.run(namespace["main"]())
    assert "HTTP/1.1 200" in capsys.readouterr().out
