"""httpcore's `_backends` package: the network stream and backend interfaces."""
