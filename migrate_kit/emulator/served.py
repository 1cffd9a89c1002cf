"""Answers rendered from stored entities, for the emulator's hot read routes.

A family's GET of one entity (a graph, a module, ...) is: read the stored body, apply the wire
transform (enum forms, derived fields), serialise. ``ServedJson`` avoids that work per request:

1. it registers each transform with the store as an *entity view* (``Store.set_view``): every
   write of that kind then also keeps the served JSON text in the same row (or notes that it is
   the stored text itself), so a read is one SQLite lookup with nothing to decode or encode;
2. entities written without the view (seeded from a capture before the families were loaded,
   or with an older version of the transform: the view's fingerprint includes a hash of the
   transform's module source) are rendered on read: decoded once, transformed, and when that
   changes nothing the stored bytes are the answer, since the store keeps the exact text
   ``JSONResponse`` would send (``state.dumps_json``);
3. answers rendered on read are kept in a bounded LRU cache, used only while the stored bytes
   are the ones they were rendered from (compared on every read), so writes by any connection,
   rollbacks and resets can never serve a stale answer.

Transforms must depend on the stored body alone (no port, no clock): bodies with derived URLs
are rendered by their families without this module.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from migrate_kit.emulator.state import Store

__all__ = ["EntityView", "ServedJson", "render_json"]

Serve = Callable[[dict[str, Any]], Any]


class EntityView(Protocol):
    """How a family serves one entity kind; what ``Store.set_view`` takes."""

    fingerprint: str

    def render(self, body: dict[str, Any], text: str) -> str | None:
        """The served JSON text of ``body`` (stored as ``text``); None when it is ``text``.

        Raises ValueError when the body cannot be served as JSON (it is then stored without).
        """
        ...


def render_json(value: Any) -> bytes:
    """``value`` encoded exactly as Starlette's ``JSONResponse`` does (NaN is an error)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _unchanged(served: Any, body: Any) -> bool:
    """Whether ``served`` encodes like ``body``.

    Equal dicts may still differ in key order; the wire functions copy nested objects and
    assign into the copies, which keeps their order, so only the top level is checked here.
    """
    return bool(served == body) and (not isinstance(body, dict) or list(served) == list(body))


@functools.cache
def _fingerprint(serve: Serve) -> str:
    """Names ``serve`` and the source of its module, so a changed transform is not trusted."""
    module = sys.modules[serve.__module__]
    source = inspect.getsource(module).encode()
    return f"{serve.__module__}.{serve.__qualname__}@{hashlib.sha256(source).hexdigest()[:16]}"


class _View:
    """``Store.set_view`` adapter of a serve function."""

    def __init__(self, serve: Serve) -> None:
        self.serve = serve
        self.fingerprint = _fingerprint(serve)

    def render(self, body: dict[str, Any], text: str) -> str | None:
        served = self.serve(body)
        if _unchanged(served, body) and "NaN" not in text and "Infinity" not in text:
            return None
        return render_json(served).decode()  # ValueError for NaN, as JSONResponse


class ServedJson:
    """Served JSON bytes of the stored entities of some kinds; thread-safe.

    ``serves`` maps each kind to its transform (stored body -> served body, without modifying
    its input). At most ``max_bytes`` of answers rendered on read are cached.
    """

    def __init__(
        self, store: Store, serves: Mapping[str, Serve], *, max_bytes: int = 96 * 2**20
    ) -> None:
        self._store = store
        self._serves = dict(serves)
        for kind, serve in self._serves.items():
            store.set_view(kind, _View(serve))
        self._max_bytes = max_bytes
        self._size = 0
        self._lock = threading.Lock()
        # (kind, key) -> (stored bytes, served bytes); the same object when they are equal.
        self._items: OrderedDict[tuple[str, str], tuple[bytes, bytes]] = OrderedDict()

    def get(self, kind: str, key: str) -> bytes | None:
        """The served body of entity ``(kind, key)`` as JSON bytes, or None if it is missing."""
        row = self._store.get_served(kind, key)
        if row is None:
            return None
        stored, served = row
        if served is not None:
            return served
        with self._lock:
            hit = self._items.get((kind, key))
            if hit is not None and hit[0] == stored:
                self._items.move_to_end((kind, key))
                return hit[1]

        served = _render(stored, self._serves[kind])
        self._remember((kind, key), stored, served)
        return served

    def _remember(self, item: tuple[str, str], stored: bytes, served: bytes) -> None:
        size = _size(stored, served)
        if size > self._max_bytes:
            return
        with self._lock:
            old = self._items.pop(item, None)
            if old is not None:
                self._size -= _size(*old)
            self._items[item] = (stored, served)
            self._size += size
            while self._size > self._max_bytes:
                _, oldest = self._items.popitem(last=False)
                self._size -= _size(*oldest)


def _size(stored: bytes, served: bytes) -> int:
    return len(stored) + (len(served) if served is not stored else 0)


def _render(stored: bytes, serve: Serve) -> bytes:
    """Apply ``serve`` to the stored body; the stored bytes themselves when nothing changes.

    Non-finite numbers (which ``JSONResponse`` refuses) always take the encoding path, so they
    fail the same way they always did.
    """
    body = json.loads(stored)
    served = serve(body)
    if _unchanged(served, body) and b"NaN" not in stored and b"Infinity" not in stored:
        return stored
    return render_json(served)
