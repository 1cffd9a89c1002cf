"""A disk cache of the v1 entities that never change once they exist.

A published pipeline's graph and graph interface, the module versions and data sources its
nodes name, and the code snapshots of its steps are immutable in the v1 service: publishing
again creates new ones with new ids. What does change (a pipeline's status, the endpoints and
their versions and defaults, which pipelines exist) is read from the service every time.

So each command after the first (``migrate`` after ``plan``, a rerun, ``test``) reads only the
two lists and whatever is new, which matters against Azure, where every read is a round trip
of 50 to 150 ms. The cache is one SQLite file (by default beside the migration ledger); deleting
it is always safe. Entries are keyed by workspace and id; failed reads are never cached.

Known shortcoming: the local emulator lets a test change a module in place, which the real
service never does; such a change is not seen through a cache made before it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import orjson

__all__ = ["CACHE_FILE", "DATA_SOURCE", "GRAPH", "INTERFACE", "MODULE", "SNAPSHOT", "EntityCache"]

logger = logging.getLogger(__name__)

#: The cache's file name beside a migration ledger (the command line's and the workbook's).
CACHE_FILE = "v1-cache.sqlite"

#: Entity kinds the cache holds.
GRAPH, INTERFACE, MODULE, DATA_SOURCE, SNAPSHOT = (
    "graph",
    "graph_interface",
    "module",
    "data_source",
    "snapshot",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    workspace TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (workspace, kind, key)
)
"""


class EntityCache:
    """Immutable v1 entities of one workspace (``workspace``: any stable identity of it, such
    as its ARM id), kept in the SQLite file ``path``. Thread-safe."""

    def __init__(self, path: Path | str, workspace: str) -> None:
        self.path = Path(path)
        self.workspace = workspace
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self.hits = 0
        self.misses = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> EntityCache:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def get_bytes(self, kind: str, key: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM entities WHERE workspace = ? AND kind = ? AND key = ?",
                (self.workspace, kind, key),
            ).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
            return bytes(row[0])

    def put_bytes(self, kind: str, key: str, body: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO entities (workspace, kind, key, body) VALUES (?, ?, ?, ?)",
                (self.workspace, kind, key, body),
            )

    def get(self, kind: str, key: str) -> Any | None:
        """The cached JSON entity, or None."""
        body = self.get_bytes(kind, key)
        return None if body is None else orjson.loads(body)

    def put(self, kind: str, key: str, value: Any) -> None:
        self.put_bytes(kind, key, orjson.dumps(value))
