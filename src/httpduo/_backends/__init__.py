"""Network backends: the only code touching sockets, TLS I/O, clocks, locks and threads."""
