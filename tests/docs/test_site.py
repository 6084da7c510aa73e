"""The documentation stays complete: no untested example, no undocumented public name or
command-line option, and the README points to it. (Broken links and references are
`mkdocs build --strict`'s job: `nox -s docs`.)"""

from __future__ import annotations

import re

import click

import httpduo
from httpduo._cli.main import cli
from tests.docs.examples import (
    DOCS,
    NEVER_RUN,
    ROOT,
    RUN,
    all_blocks,
    missing_requirement,
)
from tests.docs.setups import SETUPS

API_ENTRY = re.compile(r"^::: (?P<path>[\w.]+)\s*$", re.MULTILINE)


def test_every_block_is_run_or_marked_as_never_run() -> None:
    blocks = all_blocks()
    assert sum(block.runnable for block in blocks) > 50, "the examples were not found"
    unlabelled = [
        f"{block.name}: {block.language or '(no language)'}"
        for block in blocks
        if block.language not in RUN | NEVER_RUN
    ]
    assert not unlabelled, (
        f"label each block {sorted(RUN)} (run by tests/docs) or {sorted(NEVER_RUN)} "
        "(shown only): " + ", ".join(unlabelled)
    )


def test_directives_name_known_setups_and_valid_requirements() -> None:
    for block in all_blocks():
        for name in block.directive.setup:
            assert name in SETUPS, f"{block.name}: unknown setup {name!r}"
        for spec in block.directive.requires:
            missing_requirement(spec)  # raises for a malformed spec
        if block.language == "console":
            assert not block.directive.continues, f"{block.name}: console blocks stand alone"


def test_api_reference_documents_every_public_name() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = {match["path"].rsplit(".", 1)[-1] for match in API_ENTRY.finditer(text)}
    public = {name for name in httpduo.__all__ if not name.startswith("__")}
    missing = sorted(public - documented)
    assert not missing, f"docs/api.md has no `::: httpduo.NAME` entry for {missing}"


def test_cli_page_documents_every_option() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    options = [
        option
        for param in cli.params
        if isinstance(param, click.Option)
        for option in param.opts
        if option.startswith("--")
    ]
    assert options
    missing = [option for option in options if f"`{option}" not in text]
    assert not missing, f"docs/cli.md does not document {missing}"


def test_readme_links_to_the_documentation() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/index.md)" in readme
