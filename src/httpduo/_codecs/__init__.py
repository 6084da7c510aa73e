"""Sans-I/O HTTP/1.1 codecs: bytes in, events out; no sockets, no awaits, no locks.

`HTTP11Connection` (in `_async/`) talks only to the `HTTP11Codec` interface in `base`,
so a faster codec can be slotted in beside the h11 reference codec in `h11`.
"""
