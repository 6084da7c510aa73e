"""httpcore's `_sync` package: the facade's sync pool, proxy and connection classes."""
