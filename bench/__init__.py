"""httpduo's benchmark harness: httpduo side by side with httpx, aiohttp, urllib3 and
requests, in one run, against a private nginx. See bench/README.md; run `python -m bench`.
"""
