"""httpduo's compatibility layer: httpx's and httpcore's module paths, served by httpduo.

Rules (DESIGN rule 14):
- Nothing here is imported by `import httpduo`; it loads when a program opts in with
  `httpduo.install_as_httpx()`, `pytest -p httpduo.as_httpx` or
  `python -m httpduo.as_httpx`, and only the modules actually imported are loaded.
- `httpx/` mirrors httpx 0.28's module paths (`httpx._client`, `httpx._config`, ...);
  each module re-exports httpduo's own objects under httpx's names, so `isinstance`
  holds across both spellings. Names that exist only for compatibility are defined
  here, thin, never on the path of a request that does not use them.
- `httpcore/` is an httpcore-shaped facade; while it is imported, httpduo's transports
  route each request through its pool classes so that tools patching httpcore (respx)
  see every request. See that package's docstring.
- The real code keeps its own names and layout: nothing in httpduo imports from here.
"""

__all__ = ["HTTPX_API_VERSION"]

# The httpx release whose API this layer serves: `httpx.__version__` under the switch.
HTTPX_API_VERSION = "0.28.1"
