"""I/O-free models shared by the async source and the generated sync tree.

Nothing here imports anyio, sockets, threading or asyncio, or reads a clock: a request
or response *is* data; moving it is the transports' job.
"""
