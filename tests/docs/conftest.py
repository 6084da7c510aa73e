"""Fixtures the documentation examples may name besides those of tests/conftest.py.

The proxy daemons (tests/servers/proxies.py) are imported here so that `proxy=squid`
or `proxy=dante` directives find them; a missing daemon skips the example that needs it.
Once tests/conftest.py registers that module as a plugin, these imports can go (until
then, and harmlessly after, the definitions here are the ones tests/docs uses).
"""

from __future__ import annotations

from tests.servers.proxies import dante, squid

__all__ = ["dante", "squid"]
