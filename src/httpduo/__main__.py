"""`python -m httpduo`: the command-line client, imported only when run as a program."""

from __future__ import annotations


def _run() -> None:
    # Imported here so that importing this module (tools do) never loads click or rich.
    from httpduo._cli.main import main

    main()


if __name__ == "__main__":
    _run()
