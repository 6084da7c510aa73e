"""The `httpduo` command-line client: click parses, rich renders (see `main.py`).

Nothing outside this package imports it, and it is loaded only when the command runs, so
`import httpduo` never pulls in click or rich.
"""
