"""Sans-I/O protocol code (HTTP/1.1 codecs, HTTP/2 state, CONNECT, SOCKS): bytes in,
events out; no sockets, no awaits, no locks.

`HTTP11Connection` (in `_async/`) talks only to the `HTTP11Codec` interface in `base`,
so a faster codec can be slotted in beside the h11 reference codec in `h11`.
"""
