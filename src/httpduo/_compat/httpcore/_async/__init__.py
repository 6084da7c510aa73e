"""httpcore's `_async` package: the facade's async pool, proxy and connection classes."""
