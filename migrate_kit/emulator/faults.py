"""Fault injection and the request log, shared by the Python API and the admin routes.

A fault matches requests by HTTP method (``"*"`` for any) and a regular expression searched in
the path. Each match uses up one of ``count`` (``None`` = every matching request). What a fault
does, in order:

1. waits ``delay`` seconds;
2. ``drop=True``: sends the status line and headers, then closes the connection without a
   body (clients see a broken response, as with a connection reset mid-answer); uvicorn logs
   this as "Exception in ASGI application", which is expected;
3. ``malformed=True``: answers ``status`` (200 if unset) with a truncated JSON body;
4. ``status`` set: answers it with ``body`` (a dict or list as JSON, a str as text) or the
   family's error body, plus ``Retry-After`` when ``retry_after`` is set;
5. otherwise (only a delay): lets the request through to its handler.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["Fault", "FaultSet", "RequestLog", "redact_query"]

#: Query parameters never written to the request log (SAS signatures and similar).
SECRET_QUERY_KEYS = frozenset({"sig", "code", "client_secret", "token", "access_token", "key"})
#: Request headers never written to the request log.
SECRET_HEADERS = frozenset(
    {"authorization", "x-identity-header", "secret", "cookie", "x-ms-encryption-key"}
)

_ids = itertools.count(1)


@dataclass
class Fault:
    """One injected fault (see the module docstring for what each field does)."""

    method: str = "*"
    path: str = ".*"
    status: int | None = 503
    count: int | None = 1
    retry_after: float | None = None
    body: Any = None
    malformed: bool = False
    delay: float = 0.0
    drop: bool = False
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return self._pattern.search(path) is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultSet:
    """The active faults; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, with one use counted; exhausted ones go away."""
        if not self._faults:
            return None  # the common case, without the lock (reading a list's length is atomic)
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.count is not None and fault.hits >= fault.count:
                        self._faults.remove(fault)
                    return fault
        return None

    def lro_failure(self, resource_path: str) -> tuple[str, str] | None:
        """``(code, message)`` when the long-running operation on ``resource_path`` (an ARM path
        such as ``.../batchEndpoints/ep1``) must end ``Failed``; None to let it succeed."""
        return None


def redact_query(query: str) -> str:
    """``query`` without SAS signatures and other secrets."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k.lower() not in SECRET_QUERY_KEYS])


class RequestLog:
    """The last ``maxlen`` requests: method, host, path, query (redacted), status, duration.

    ``record`` only keeps the raw values (it runs on every request); the entries, with secrets
    removed, are built when they are read.
    """

    def __init__(self, maxlen: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[_Raw] = deque(maxlen=maxlen)

    def record(
        self,
        scope: MutableMapping[str, Any],
        status: int | None,
        started: float,
        fault: Fault | None,
        *,
        headers: dict[str, str] | None = None,
    ) -> float:
        """Append a finished request; returns its duration in ms.

        ``headers``: its decoded, lower-cased headers when the caller has them already (they
        are decoded from ``scope`` otherwise); the log keeps the dict, so it must not change.
        """
        if headers is None:
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in scope.get("headers", [])
            }
        duration_ms = (time.perf_counter() - started) * 1000
        raw = (
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            status,
            duration_ms,
            headers,
            fault.id if fault else None,
        )
        with self._lock:
            self._entries.append(raw)
        return duration_ms

    def entries(self) -> list[dict[str, Any]]:
        """The recorded requests, oldest first, without secrets."""
        with self._lock:
            raws = list(self._entries)
        return [_entry(*raw) for raw in raws]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# method, path, query string, status, duration in ms, headers, fault id
_Raw = tuple[str, str, bytes, "int | None", float, dict[str, str], "int | None"]


def _entry(
    method: str,
    path: str,
    query: bytes,
    status: int | None,
    duration_ms: float,
    headers: dict[str, str],
    fault: int | None,
) -> dict[str, Any]:
    return {
        "method": method,
        "host": headers.get("host", ""),
        "path": path,
        "query": redact_query(query.decode("latin-1")) if query else "",
        "status": status,
        "duration_ms": round(duration_ms, 2),
        "headers": {k: v for k, v in headers.items() if k not in SECRET_HEADERS},
        "fault": fault,
    }
