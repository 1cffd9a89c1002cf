"""Loaded automatically by the v1 SDK's interpreter (the harness puts this folder on PYTHONPATH).

Pitfall P1 of the v1 reference: the v1 SDK rebuilds blob URLs as ``https://{account}.blob.{suffix}``
from the SAS URL the emulator hands out, so the emulator answers with host names such as
``stdemo.blob.localhost``. Those do not resolve where nss-myhostname is missing (Debian 12), so
this file makes every ``*.localhost`` name resolve to 127.0.0.1 inside this one process. The SDK
itself stays unmodified; only name resolution of the test process changes, and only for
``localhost`` names, so traffic can only ever go to loopback.
"""

from __future__ import annotations

import socket

_original_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    """Resolve ``*.localhost`` to 127.0.0.1; hand every other name to the real resolver."""
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.lower().rstrip(".").endswith(".localhost"):
        host = "127.0.0.1"
    return _original_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_getaddrinfo
