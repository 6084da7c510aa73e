"""Real HTTP servers for the integration tests, on loopback only.

app.py (the ASGI app and its endpoints), digest.py (server-side digest auth), certs.py
(trustme certificates), base.py (threaded start/stop), uvicorn_server.py,
hypercorn_server.py (HTTP/2), raw.py (scripted fault server, never-accepting listener) and
fixtures.py (the pytest fixtures, loaded by tests/conftest.py).
"""
