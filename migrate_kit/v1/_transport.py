"""A lean azure-core transport on urllib3 connection pools.

Why not azure-core's ``RequestsTransport``: the inventory reads thousands of small JSON bodies,
and per call the requests layer (session merging, hooks, cookie jar, streaming response
wrapper) cost about twice the CPU of the HTTP exchange itself. This transport hands azure-core's
legacy ``HttpRequest`` straight to a thread-safe ``urllib3.PoolManager`` (keep-alive pools sized
for the reader's threads) and returns the whole body in memory. The azure-core policies
(bearer token, retries, logging) run unchanged in front of it.

Errors map to azure-core's exceptions so ``RetryPolicy`` retries them: failures to connect
(refused, DNS, TLS, connect timeout) → ``ServiceRequestError``; a broken or timed-out answer →
``ServiceResponseError``.

``aiohttp_transport`` builds the asyncio counterpart: azure-core's own ``AioHttpTransport`` on
an aiohttp session whose connector keeps at most ``limit`` keep-alive connections and holds one
SSL context made once from the same CA setting (azure-core would otherwise build a new SSL
context, re-reading the CA file, for every request when given a CA bundle path).
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import urllib3
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpRequest, HttpResponse, HttpTransport

if TYPE_CHECKING:
    from azure.core.pipeline.transport import AioHttpTransport

__all__ = ["PooledTransport", "aiohttp_transport", "environment_ca_bundle", "environment_proxy"]

_CONNECT_TIMEOUT_S = 20.0
_READ_TIMEOUT_S = 120.0


def environment_ca_bundle(verify: str | bool) -> str | bool:
    """``verify``, or for ``True`` the CA bundle named by ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``.

    The same variables requests honours, so a custom CA set up for azure-identity and the SDKs
    also applies here.
    """
    if verify is True:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify


class _Response(HttpResponse):
    """A fully read urllib3 response, as azure-core's legacy ``HttpResponse``."""

    def __init__(self, request: HttpRequest, raw: urllib3.BaseHTTPResponse) -> None:
        super().__init__(request, raw)
        self.status_code = raw.status
        self.headers = raw.headers
        self.reason = raw.reason
        self.content_type = raw.headers.get("Content-Type")
        self._body = raw.data

    def body(self) -> bytes:
        """The whole body (already in memory)."""
        return self._body


class PooledTransport(HttpTransport):  # type: ignore[type-arg]
    """Sends requests through one ``urllib3.PoolManager`` shared by all threads.

    ``verify`` is ``True`` (system CAs), ``False`` (no check) or a CA bundle file or folder.
    ``proxy_for`` is a URL whose environment proxy (``HTTPS_PROXY`` and ``NO_PROXY``) is used
    for every request; environment settings are read once, here.
    """

    def __init__(self, *, verify: str | bool, pool_size: int, proxy_for: str) -> None:
        options: dict[str, Any] = {"maxsize": pool_size, "num_pools": 8, "retries": False}
        verify = environment_ca_bundle(verify)
        if verify is False:
            options["cert_reqs"] = "CERT_NONE"
        elif isinstance(verify, str):
            key = "ca_cert_dir" if os.path.isdir(verify) else "ca_certs"
            options[key] = verify

        proxy = environment_proxy(proxy_for)
        self._manager: urllib3.PoolManager = (
            urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        )

    def __enter__(self) -> PooledTransport:
        return self

    def __exit__(self, *args: object) -> None:
        return None  # the owner calls close(); pipelines must not close a shared transport

    def open(self) -> None:
        """Nothing to open: pools connect on demand."""

    def close(self) -> None:
        """Close every pooled connection."""
        self._manager.clear()

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Send ``request`` and return the fully read answer (no redirects, no retries here)."""
        timeout = urllib3.Timeout(
            connect=kwargs.get("connection_timeout") or _CONNECT_TIMEOUT_S,
            read=kwargs.get("read_timeout") or _READ_TIMEOUT_S,
        )
        try:
            raw = self._manager.request(
                request.method,
                request.url,
                body=request.data,
                headers=request.headers,
                redirect=False,
                retries=False,
                timeout=timeout,
            )
        except urllib3.exceptions.ConnectTimeoutError as exc:  # includes refused and DNS
            timed_out = not isinstance(exc, urllib3.exceptions.NewConnectionError)
            error_type = ServiceRequestTimeoutError if timed_out else ServiceRequestError
            raise error_type(exc, error=exc) from exc
        except urllib3.exceptions.SSLError as exc:
            raise ServiceRequestError(exc, error=exc) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise ServiceResponseTimeoutError(exc, error=exc) from exc
        except urllib3.exceptions.HTTPError as exc:  # connection reset, truncated answer, ...
            raise ServiceResponseError(exc, error=exc) from exc
        return _Response(request, raw)


def aiohttp_transport(*, verify: str | bool, limit: int) -> AioHttpTransport:
    """An ``AioHttpTransport`` on a new session; call it inside the event loop that will use it.

    The session keeps at most ``limit`` connections (keep-alive, reused across requests), sends
    no cookies and leaves proxies to the caller (``environment_proxy``, passed per request as
    the ``proxy`` option), so the environment is not read again for every request. Closing the
    transport closes the session. aiohttp is imported here, on first use: it takes a quarter
    of a second to import, which callers of the sync client alone need not pay.
    """
    import aiohttp
    from azure.core.pipeline.transport import AioHttpTransport

    connector = aiohttp.TCPConnector(
        limit=limit, limit_per_host=limit, ssl=_ssl_setting(verify), keepalive_timeout=30
    )
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        auto_decompress=False,  # the azure-core response decodes gzip/deflate bodies itself
    )
    return AioHttpTransport(session=session, session_owner=True)


def _ssl_setting(verify: str | bool) -> ssl.SSLContext | bool:
    """One SSL context for every connection: system CAs, a CA bundle file or folder, or none."""
    verify = environment_ca_bundle(verify)
    if verify is False:
        return False
    if verify is True:
        return ssl.create_default_context()
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


def environment_proxy(url: str) -> str | None:
    """The proxy the environment sets for ``url`` (respecting ``NO_PROXY``), if any."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not proxies or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxies.get(parts.scheme)
