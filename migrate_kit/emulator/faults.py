"""Fault injection and the request log, shared by the Python API and the admin routes.

Two kinds of faults act on every request except the ``/_emulator/*`` admin routes, which are
never faulted. A matching **rule** (a ``Fault``) takes precedence; the **settings** (one
``FaultSettings``) apply only to requests no rule matched.

Rules
-----
A ``Fault`` matches requests by HTTP method (``"*"`` for any) and a regular expression searched
in the path. Each match uses up one of ``count`` (``None`` = every matching request). What a
rule does, in order:

1. waits ``delay`` seconds;
2. ``drop=True``: sends the status line and headers, then closes the connection without a
   body (clients see a broken response, as with a connection reset mid-answer);
3. ``malformed=True``: answers ``status`` (200 if unset) with a truncated JSON body;
4. ``status`` set: answers it with ``body`` (a dict or list as JSON, a str as text) or the
   family's error body, plus ``Retry-After`` when ``retry_after`` is set;
5. otherwise (only a delay): lets the request through to its handler.

Settings (rate-based chaos, deterministic under a seed)
-------------------------------------------------------
``FaultSettings`` applies to requests whose method matches ``scope_method`` and whose path
matches ``scope_path`` (both regular expressions; by default every request). For each such
request, in order:

1. **latency**: ``latency_ms`` is added (the request waits, then goes on);
2. **ARM write throttle**: an ARM write (PUT, POST, PATCH or DELETE of a path under
   ``/subscriptions/``) takes a token from a bucket of ``arm_write_rate`` tokens a second
   (burst: the same number, at least 1; 0 turns it off). An empty bucket answers 429 with ARM's
   throttling body ``{"error": {"code": "TooManyRequests", ...}}`` and ``Retry-After``: the
   seconds until a token is free, rounded up. Other requests never touch the bucket;
3. **outcome**: one number drawn from ``random.Random(seed)`` picks, with the given
   probabilities, a 429 (``rate_429``, with ``Retry-After: retry_after``), a 500 (``rate_500``),
   a 503 (``rate_503``, also with ``Retry-After``), a dropped connection (``rate_drop``: closed
   before any byte of the answer, so clients see a connection error), or the real answer. The
   four rates add up to at most 1. Error bodies are in the family's shape (ARM's for ARM).

``lro_failure_rate`` is the share of long-running operations that end ``Failed``: the ARM
backend asks ``FaultSet.lro_failure(resource_path)`` once when an operation starts, and the
answer is drawn from a second generator seeded from ``seed`` (and limited to resources whose
path matches ``scope_path``).

Determinism: the same seed and the same sequence of requests give the same faults. The
generators are consumed under a lock in the order requests arrive, so concurrent clients make
that order (and hence which request gets which fault) depend on timing; the rates stay. The
throttle depends on the clock, not on the seed. Setting the settings again (the admin route,
``Emulator.set_fault_settings``, a reset) restarts both generators and refills the bucket.

The settings' values and validation live in ``chaos.py``; the server acts the faults out.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Collection, MutableMapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

from migrate_kit.emulator.chaos import (
    OUTCOMES,
    Chaos,
    FaultSettings,
    FaultSettingsError,
    TokenBucket,
    compile_scope,
    is_arm_write,
)

__all__ = [
    "Chaos",
    "Fault",
    "FaultSet",
    "FaultSettings",
    "FaultSettingsError",
    "RequestLog",
    "TokenBucket",
    "redact_query",
]

logger = logging.getLogger(__name__)

#: Query parameters never written to the request log (SAS signatures and similar).
SECRET_QUERY_KEYS = frozenset({"sig", "code", "client_secret", "token", "access_token", "key"})
#: Request headers never written to the request log.
SECRET_HEADERS = frozenset(
    {"authorization", "x-identity-header", "secret", "cookie", "x-ms-encryption-key"}
)
_ids = itertools.count(1)


# -- rules -------------------------------------------------------------------------------------


@dataclass
class Fault:
    """One injected fault rule (see the module docstring for what each field does)."""

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


# -- the set -----------------------------------------------------------------------------------


class FaultSet:
    """The active rules and settings; thread-safe."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.set_settings(settings or FaultSettings())

    # -- rules

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every rule (the settings stay)."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first rule matching the request, with one use counted; exhausted ones go away."""
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

    # -- settings

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def set_settings(self, settings: FaultSettings) -> None:
        """Replace the settings; restarts the generators from the seed and refills the bucket."""
        with self._lock:
            self._settings = settings
            self._active = settings.active
            self._rng = random.Random(settings.seed)
            self._lro_rng = random.Random(f"lro:{settings.seed}")
            rate = settings.arm_write_rate
            self._bucket = TokenBucket(rate) if rate > 0 else None
            self._scope_method, self._scope_path = compile_scope(
                settings.scope_method, settings.scope_path
            )
        logger.info("Fault settings: %s", settings)

    def draw(self, method: str, path: str) -> Chaos | None:
        """What the settings do to this request (None: nothing). Call once per request, in the
        order requests arrive; never for admin routes or requests a rule already matched."""
        if not self._active:
            return None  # the common case, without the lock
        with self._lock:
            settings = self._settings
            if not self._in_scope(method, path):
                return None
            rates = [(getattr(settings, name), kind) for name, kind in OUTCOMES]
            draw = self._rng.random() if any(rate for rate, _ in rates) else 1.0
            wait = 0.0
            if self._bucket is not None and is_arm_write(method, path):
                wait = self._bucket.take()

        delay = settings.latency_ms / 1000
        if wait > 0:
            return Chaos("throttle", delay, float(math.ceil(wait)))
        for rate, kind in rates:
            if draw < rate:
                retry_after = settings.retry_after if kind in ("429", "503") else None
                return Chaos(kind, delay, retry_after)
            draw -= rate
        return Chaos(None, delay) if delay else None

    def lro_failure(self, resource_path: str) -> tuple[str, str] | None:
        """``(code, message)`` when the long-running operation on ``resource_path`` (an ARM path
        such as ``.../batchEndpoints/ep1``) must end ``Failed``; None to let it succeed.

        Call it once per operation, when it starts: each call draws from the LRO generator.
        """
        settings = self._settings
        if settings.lro_failure_rate <= 0:
            return None
        with self._lock:
            if self._scope_path.search(resource_path) is None:
                return None
            failed = self._lro_rng.random() < settings.lro_failure_rate
        if not failed:
            return None
        logger.info("Injecting a failed long-running operation on %s", resource_path)
        return (
            "InternalServerError",
            f"Injected fault: the operation on '{resource_path}' failed "
            f"(lro_failure_rate={settings.lro_failure_rate:g}, seed={settings.seed}).",
        )

    def _in_scope(self, method: str, path: str) -> bool:
        return (
            self._scope_method.fullmatch(method) is not None
            and self._scope_path.search(path) is not None
        )


# -- the request log ---------------------------------------------------------------------------


def redact_query(query: str) -> str:
    """``query`` without SAS signatures and other secrets."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k.lower() not in SECRET_QUERY_KEYS])


class RequestLog:
    """The last ``maxlen`` requests: sequence number, method, host, path, query (redacted),
    status, start time, duration, and the fault that hit it.

    ``seq`` grows by one per recorded request and never restarts (not even on ``clear``), so a
    test can note ``last_seq`` and later read only what came after it. ``record`` only keeps the
    raw values (it runs on every request); the entries, with secrets removed, are built when
    they are read.
    """

    def __init__(self, maxlen: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[_Raw] = deque(maxlen=maxlen)
        self._seq = 0

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the latest recorded request (0 before the first)."""
        return self._seq

    def record(
        self,
        scope: MutableMapping[str, Any],
        status: int | None,
        started: float,
        fault: Fault | None,
        *,
        headers: dict[str, str] | None = None,
        chaos: str | None = None,
    ) -> float:
        """Append a finished request; returns its duration in ms.

        ``started`` is the request's ``time.perf_counter()``; ``status`` None means no answer
        was sent (a dropped connection); ``chaos`` names the settings fault that hit it.
        ``headers``: its decoded, lower-cased headers when the caller has them already (they
        are decoded from ``scope`` otherwise); the log keeps the dict, so it must not change.
        """
        if headers is None:
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in scope.get("headers", [])
            }
        elapsed = time.perf_counter() - started
        with self._lock:
            self._seq += 1
            raw = (
                self._seq,
                time.time() - elapsed,
                scope["method"],
                scope["path"],
                scope.get("query_string", b""),
                status,
                elapsed * 1000,
                headers,
                fault.id if fault else None,
                chaos,
            )
            self._entries.append(raw)
        return elapsed * 1000

    def entries(
        self,
        *,
        since: int | None = None,
        method: str | Collection[str] | None = None,
        path: str | None = None,
    ) -> list[dict[str, Any]]:
        """The recorded requests, oldest first, without secrets.

        Filters: ``since`` keeps those with a larger ``seq``; ``method`` one method or several
        (case-insensitive); ``path`` a regular expression searched in the path.
        """
        with self._lock:
            raws = list(self._entries)
        if since is not None:
            raws = [raw for raw in raws if raw[0] > since]
        if method is not None:
            wanted = {method.upper()} if isinstance(method, str) else {m.upper() for m in method}
            raws = [raw for raw in raws if raw[2].upper() in wanted]
        if path is not None:
            pattern = re.compile(path)
            raws = [raw for raw in raws if pattern.search(raw[3])]
        return [_entry(*raw) for raw in raws]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# seq, start time (epoch s), method, path, query string, status, duration in ms, headers,
# rule id, chaos kind
_Raw = tuple[
    int, float, str, str, bytes, "int | None", float, dict[str, str], "int | None", "str | None"
]


def _entry(
    seq: int,
    started: float,
    method: str,
    path: str,
    query: bytes,
    status: int | None,
    duration_ms: float,
    headers: dict[str, str],
    fault: int | None,
    chaos: str | None,
) -> dict[str, Any]:
    when = datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="milliseconds")
    return {
        "seq": seq,
        "time": when.replace("+00:00", "Z"),
        "method": method,
        "host": headers.get("host", ""),
        "path": path,
        "query": redact_query(query.decode("latin-1")) if query else "",
        "status": status,
        "duration_ms": round(duration_ms, 2),
        "headers": {k: v for k, v in headers.items() if k not in SECRET_HEADERS},
        "fault": fault,
        "chaos": chaos,
    }
