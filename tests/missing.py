"""What to do when the machine lacks something a test needs: skip locally, fail in CI.

Rules:
- A test that needs a daemon, a command or an optional package it cannot find calls
  `missing(reason)` (or `import_or_missing(module)`), with a reason naming what to
  install. Locally that skips the test, so a partial machine still runs the rest.
- With `CI=true` in the environment it fails the test instead: a green CI run means every
  test ran, none was skipped because the machine was incomplete. (`nox -s tests` installs
  the Debian daemons itself, so a complete machine is one command away.)
- Skips for facts of the platform (no IPv6 loopback, a Python version without a feature)
  stay plain `pytest.skip`: they are not something to install.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import NoReturn

import pytest

STRICT = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(reason: str, *, module_level: bool = False) -> NoReturn:
    """Skip (locally) or fail (with CI=true) because `reason` names something not installed."""
    if STRICT:
        pytest.fail(f"{reason} (CI=true: a missing requirement is a failure)", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)


def import_or_missing(module: str, *, module_level: bool = False) -> ModuleType:
    """`pytest.importorskip` that fails with CI=true: test packages come from nox's TEST_DEPS."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing(f"could not import {module!r}: {exc}", module_level=module_level)
