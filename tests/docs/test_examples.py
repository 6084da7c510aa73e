"""Every runnable example in docs/ runs, against the local test servers.

How examples are found, configured and rewritten: tests/docs/examples.py. Each example
runs in a temporary working directory, with no proxy or CA variables from the developer's
environment, and whatever it sets in `os.environ` or on the root logger is undone after
it. `SSL_CERT_FILE` names the test CA, so examples that verify certificates the default
way (as users do against public sites) trust the local servers and HTTPS proxies.
"""

from __future__ import annotations

import contextlib
import doctest
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import anyio
import pytest
from click.testing import CliRunner

from httpduo._cli import _render
from httpduo._cli.main import cli
from tests.docs.examples import (
    CHECKED_PRINT,
    RUN_AS_DOCTEST,
    RUN_AS_SCRIPT,
    RUN_AS_TRANSCRIPT,
    Block,
    Targets,
    all_blocks,
    backends_for,
    check_print_comments,
    checked_print,
    defines_async_main,
    missing_requirement,
    parse_transcript,
    second_origin,
    split_run_line,
    strip_ansi,
)
from tests.docs.setups import SETUPS, ExampleContext

pytestmark = pytest.mark.network

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Variables that would send an example somewhere else or change what it trusts or shows.
CLEARED_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSLKEYLOGFILE",
    "REQUEST_METHOD",
    "NO_COLOR",
    "FORCE_COLOR",
)


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Examples may set environment variables themselves: undo whatever they did."""
    saved = os.environ.copy()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """Undo an example's logging configuration (`logging.basicConfig(...)`)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)


def _cases() -> Iterator[Any]:
    for block in all_blocks():
        if not block.runnable:
            continue
        backends = backends_for(block) if block.language == RUN_AS_SCRIPT else ()
        if not backends:
            yield pytest.param(block, None, id=block.name)
        for backend in backends:
            yield pytest.param(block, backend, id=f"{block.name}[{backend}]")


@pytest.mark.parametrize(("block", "backend"), list(_cases()))
def test_example(
    block: Block,
    backend: Optional[str],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    chain = block.chain()
    for part in chain:
        for spec in part.directive.requires:
            reason = missing_requirement(spec)
            if reason is not None:
                pytest.skip(f"requires {spec}: {reason}")

    first = chain[0].directive
    server = request.getfixturevalue(first.server)
    server_url: str = server.url
    proxy_url = _proxy_url(request, first.proxy)

    for name in CLEARED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # Servers and HTTPS proxies present certificates of the test CA.
    monkeypatch.setenv("SSL_CERT_FILE", request.getfixturevalue("ca_cert_path"))
    monkeypatch.chdir(tmp_path)

    context = ExampleContext(request, monkeypatch, tmp_path, server_url, proxy_url, {})
    done: set[str] = set()
    for part in chain:
        for name in part.directive.setup:
            if name not in done:
                SETUPS[name](context)
                done.add(name)
    targets = Targets(
        www=server_url,
        api=second_origin(server_url),
        proxy=proxy_url,
        extra=context.substitutions,
    )

    if block.language == RUN_AS_TRANSCRIPT:
        _run_transcript(block, targets, monkeypatch)
        return
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    with _logging_restored():
        for part in chain:
            code = targets.rewrite(part.code)
            if part.language == RUN_AS_SCRIPT:
                _run_script(part, code, namespace, backend)
            elif part.language == RUN_AS_DOCTEST:
                _run_doctest(part, code, namespace)
            else:
                raise ValueError(f"{part.name}: a {part.language} block cannot be continued")


def _proxy_url(request: pytest.FixtureRequest, spec: Optional[str]) -> Optional[str]:
    if spec is None:
        return None
    name, _, attribute = spec.partition(".")
    fixture = request.getfixturevalue(name)
    url = getattr(fixture, attribute or "url")
    assert isinstance(url, str), spec
    return url


def _run_script(
    block: Block, code: str, namespace: dict[str, Any], backend: Optional[str]
) -> None:
    source = check_print_comments(split_run_line(code))
    namespace[CHECKED_PRINT] = checked_print
    # Padding keeps tracebacks pointing at the right line of the Markdown file.
    exec(compile("\n" * (block.line - 1) + source, str(block.path), "exec"), namespace)
    if backend is not None and defines_async_main(source):
        anyio.run(namespace["main"], backend=backend)


def _run_doctest(block: Block, code: str, namespace: dict[str, Any]) -> None:
    test = doctest.DocTestParser().get_doctest(
        code, namespace, block.name, str(block.path), block.line - 1
    )
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    if runner.failures:
        pytest.fail("".join(report), pytrace=False)


def _run_transcript(block: Block, targets: Targets, monkeypatch: pytest.MonkeyPatch) -> None:
    if block.directive.terminal:
        monkeypatch.setattr(_render, "is_terminal", lambda stream: True)
    text = targets.rewrite(block.code, bare_hosts=True)
    checker = doctest.OutputChecker()
    commands = list(parse_transcript(text, block.name))
    for index, command in enumerate(commands):
        expected_exit = block.directive.exit if index == len(commands) - 1 else 0
        result = CliRunner().invoke(
            cli,
            command.argv,
            env={"NO_COLOR": "1", "COLUMNS": "100", "TERM": "xterm-256color"},
            catch_exceptions=False,
        )
        shown = "httpduo " + " ".join(command.argv)
        if result.exit_code != expected_exit:
            pytest.fail(
                f"{block.name}: `{shown}` exited with {result.exit_code}, expected "
                f"{expected_exit}:\n{strip_ansi(result.output)}",
                pytrace=False,
            )
        output = strip_ansi(result.output)
        if not checker.check_output(command.expected, output, FLAGS):
            example = doctest.Example(shown, command.expected)
            pytest.fail(
                f"{block.name}: `{shown}`\n" + checker.output_difference(example, output, FLAGS),
                pytrace=False,
            )
