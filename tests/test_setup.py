"""The set-up README gives is what CI runs: its test command appears word for word in .ci/run."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert first_block is not None, "README has no bash block"
    lines = first_block.group(1).splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_ci_runs_the_readme_test_command() -> None:
    commands = _readme_commands()
    tests = [command for command in commands if "nox" in command]
    assert len(tests) == 1, commands
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests[0] in ci


def test_readme_installs_from_the_checkout_into_a_virtualenv() -> None:
    # httpduo is not published, so `pip install httpduo` cannot work for a reader.
    for command in _readme_commands():
        assert "python3 -m venv .venv && . .venv/bin/activate && pip install " in command
        assert "pip install httpduo" not in command
