"""Entry point: `python -m codegen [--check] [--diff] [--root DIR]`."""

from __future__ import annotations

from codegen._main import main

raise SystemExit(main())
