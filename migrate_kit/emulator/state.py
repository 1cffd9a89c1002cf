"""The emulator's state: one SQLite file per state folder, plus capture export and import.

``Store`` keeps two kinds of things:

- entities: ``(kind, key) -> JSON body``, where ``kind`` is ``"<family>.<kind>"`` (for example
  ``pipelines.pipeline``) and the body is the wire JSON the family serves;
- blobs: ``(account, container, path) -> bytes + properties`` (ETag, Last-Modified, ...).

Entity bodies are stored as compact JSON text (``dumps_json``: no spaces, UTF-8 characters
unescaped), the exact bytes ``JSONResponse`` would send for them, so a family whose served body
equals the stored one can answer with ``get_json`` without decoding and re-encoding it. State
files written by older versions (``json.dumps`` defaults) are re-encoded once when opened.

A family may also register an *entity view* for a kind (``set_view``, see ``served.py``): on
every write of that kind the store then keeps the served form next to the body (NULL when it is
the body itself) with the view's fingerprint, in the same row, so ``get_served`` answers reads
without decoding anything. A served form counts only while its fingerprint is the registered
view's; rows written without the view (or by another version of it) are served the slow way.
Known shortcoming: a migrate_kit from before entity views writing into the same state file
rewrites bodies without clearing their served form, which would then be stale; do not share a
state folder between such versions (delete ``served_by`` values, or the folder, if you did).

The file lives at ``<state_dir>/emulator.sqlite`` in WAL mode. One connection is shared by all
threads behind one lock, so concurrent requests never interleave inside a write. Entities keep
their insertion order (``list`` returns them in that order; replacing a body keeps its place).

A *capture* is a folder that can be committed to git: ``state.json`` (format 1, entities by kind
and a blob manifest) plus ``blobs/<sha256>`` files. Seeding from a sample lives in ``seed.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate_kit.emulator.served import EntityView

__all__ = ["CAPTURE_FORMAT", "Store", "dumps_json"]

logger = logging.getLogger(__name__)

CAPTURE_FORMAT = 1

_MMAP_BYTES = 1 << 30  # address space only; pages are shared with the OS file cache
_CACHE_KIB = 64 * 1024

#: How entity bodies are encoded (kept in the meta table; see ``dumps_json``).
_ENTITY_ENCODING = ("entity_encoding", "compact-utf8")

# Aliases: inside ``Store`` the name ``list`` is the method, not the builtin.
_Bodies = list[dict[str, Any]]
_Names = list[str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, served TEXT, served_by TEXT,
    UNIQUE (kind, key));
CREATE TABLE IF NOT EXISTS blobs (
    account TEXT NOT NULL, container TEXT NOT NULL, path TEXT NOT NULL,
    data BLOB NOT NULL, properties TEXT NOT NULL, UNIQUE (account, container, path));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_UPSERT_ENTITY = (
    "INSERT INTO entities (kind, key, body, served, served_by) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (kind, key) DO UPDATE "
    "SET body = excluded.body, served = excluded.served, served_by = excluded.served_by"
)
_ViewRow = tuple[str, str, str, "str | None", "str | None"]


_UPSERT_BLOB = (
    "INSERT INTO blobs (account, container, path, data, properties) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (account, container, path) DO UPDATE "
    "SET data = excluded.data, properties = excluded.properties"
)


class Store:
    """Entities and blobs in one SQLite file; every method is safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # Reads of large bodies span several pages: map the file instead of a pread per page,
        # and keep a page cache big enough for a large workspace's hot entities.
        self._conn.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
        self._conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        self._conn.executescript(_SCHEMA)
        self._views: dict[str, EntityView] = {}
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(entities)")}
        for column in ("served", "served_by"):
            if column not in columns:  # a state file from before entity views
                self._conn.execute(f"ALTER TABLE entities ADD COLUMN {column} TEXT")
        if self.get_meta(_ENTITY_ENCODING[0]) != _ENTITY_ENCODING[1]:
            self._reencode_entities()

    def _reencode_entities(self) -> None:
        """Rewrite every entity body with ``dumps_json`` (state from older versions), once."""
        with self.transaction():
            rows = self._conn.execute("SELECT rowid, body FROM entities").fetchall()
            self._conn.executemany(
                "UPDATE entities SET body = ?, served = NULL, served_by = NULL WHERE rowid = ?",
                [(dumps_json(json.loads(body)), rowid) for rowid, body in rows],
            )
            self.set_meta(*_ENTITY_ENCODING)
        if rows:
            logger.info("Re-encoded %d entity bodies in %s", len(rows), self.path)

    def close(self) -> None:
        """Close the database file; the store cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all of them land, or none (on an exception). Nesting is allowed."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._conn.execute("COMMIT")

    def _execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, tuple(params))

    # -- entities ----------------------------------------------------------------------------

    def put(self, kind: str, key: str, body: dict[str, Any]) -> None:
        """Insert or replace one entity."""
        self._execute(_UPSERT_ENTITY, self._row(kind, key, body))

    def put_many(self, kind: str, items: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Insert or replace many entities of one kind in one transaction; returns the count."""
        rows = [self._row(kind, key, body) for key, body in items]
        with self.transaction():
            self._conn.executemany(_UPSERT_ENTITY, rows)
        return len(rows)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """The entity's body, or None."""
        row = self._execute(
            "SELECT body FROM entities WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return None if row is None else _loads(row[0])

    def set_view(self, kind: str, view: EntityView) -> None:
        """Keep ``view``'s served form with every entity of ``kind`` written from now on."""
        with self._lock:
            self._views[kind] = view

    def _row(self, kind: str, key: str, body: dict[str, Any]) -> _ViewRow:
        """The entities row for ``body``, with its served form when ``kind`` has a view."""
        text = dumps_json(body)
        view = self._views.get(kind)
        if view is None:
            return kind, key, text, None, None
        try:
            return kind, key, text, view.render(body, text), view.fingerprint
        except ValueError:
            return kind, key, text, None, None

    def get_served(self, kind: str, key: str) -> tuple[bytes, bytes | None] | None:
        """The stored body (as ``get_json``) and, when written under ``kind``'s current view,
        its served form (the same bytes when they are equal); None if the entity is missing."""
        view = self._views.get(kind)
        row = self._execute(
            "SELECT CAST(body AS BLOB), CAST(served AS BLOB), served_by FROM entities "
            "WHERE kind = ? AND key = ?",
            (kind, key),
        ).fetchone()
        if row is None:
            return None
        body, served, served_by = row
        if view is None or served_by != view.fingerprint:
            return body, None
        return body, body if served is None else served

    def get_json(self, kind: str, key: str) -> bytes | None:
        """The entity's body as stored: compact UTF-8 JSON (see ``dumps_json``), or None."""
        row = self._execute(
            "SELECT CAST(body AS BLOB) FROM entities WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def list(self, kind: str) -> _Bodies:
        """All bodies of one kind, in insertion order."""
        rows = self._execute(
            "SELECT body FROM entities WHERE kind = ? ORDER BY rowid", (kind,)
        ).fetchall()
        return [_loads(r[0]) for r in rows]

    def keys(self, kind: str) -> _Names:
        """All keys of one kind, in insertion order."""
        rows = self._execute(
            "SELECT key FROM entities WHERE kind = ? ORDER BY rowid", (kind,)
        ).fetchall()
        return [str(r[0]) for r in rows]

    def delete(self, kind: str, key: str) -> bool:
        """Remove one entity; True if it existed."""
        cur = self._execute("DELETE FROM entities WHERE kind = ? AND key = ?", (kind, key))
        return cur.rowcount > 0

    def find(self, kind: str, field: str, value: str) -> _Bodies:
        """Bodies of ``kind`` whose top-level (or dotted ``a.b``) ``field`` equals ``value``."""
        json_path = "$" + "".join(f'."{part}"' for part in field.split("."))
        rows = self._execute(
            "SELECT body FROM entities WHERE kind = ? AND json_extract(body, ?) = ? ORDER BY rowid",
            (kind, json_path, value),
        ).fetchall()
        return [_loads(r[0]) for r in rows]

    def count(self, kind: str | None = None) -> int:
        """Number of entities (of one kind, or all)."""
        if kind is None:
            row = self._execute("SELECT COUNT(*) FROM entities").fetchone()
        else:
            row = self._execute("SELECT COUNT(*) FROM entities WHERE kind = ?", (kind,)).fetchone()
        return int(row[0])

    def kinds(self) -> _Names:
        """Entity kinds present, sorted."""
        rows = self._execute("SELECT DISTINCT kind FROM entities ORDER BY kind").fetchall()
        return [str(r[0]) for r in rows]

    # -- blobs -------------------------------------------------------------------------------

    def put_blob(
        self,
        account: str,
        container: str,
        path: str,
        data: bytes,
        properties: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """Store a blob; returns its properties (given ones plus ETag, Last-Modified, MD5, size)."""
        props = dict(properties or {})
        props.update(
            {
                "etag": f'"0x{hashlib.sha256(data).hexdigest()[:16].upper()}"',
                "last_modified": formatdate(usegmt=True),
                "content_length": str(len(data)),
                "content_md5": base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),
            }
        )
        self._execute(_UPSERT_BLOB, (account, container, path, data, json.dumps(props)))
        return props

    def get_blob(
        self, account: str, container: str, path: str
    ) -> tuple[bytes, dict[str, str]] | None:
        """The blob's bytes and properties, or None."""
        row = self._execute(
            "SELECT data, properties FROM blobs WHERE account = ? AND container = ? AND path = ?",
            (account, container, path),
        ).fetchone()
        return None if row is None else (bytes(row[0]), json.loads(row[1]))

    def set_blob_properties(
        self, account: str, container: str, path: str, properties: dict[str, str]
    ) -> bool:
        """Replace a blob's properties (metadata updates); False if the blob does not exist."""
        cur = self._execute(
            "UPDATE blobs SET properties = ? WHERE account = ? AND container = ? AND path = ?",
            (json.dumps(properties), account, container, path),
        )
        return cur.rowcount > 0

    def list_blobs(self, account: str, container: str, prefix: str = "") -> _Names:
        """Blob paths in a container starting with ``prefix``, sorted."""
        rows = self._execute(
            "SELECT path FROM blobs WHERE account = ? AND container = ? AND substr(path, 1, ?) = ? "
            "ORDER BY path",
            (account, container, len(prefix), prefix),
        ).fetchall()
        return [str(r[0]) for r in rows]

    # -- metadata and wiping -----------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A value from the store's own key-value table (e.g. when it was seeded)."""
        row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the store's key-value table."""
        self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def clear(self) -> None:
        """Delete every entity, blob and metadata value."""
        with self.transaction():
            for table in ("entities", "blobs", "meta"):
                self._conn.execute(f"DELETE FROM {table}")
            self.set_meta(*_ENTITY_ENCODING)

    # -- captures ----------------------------------------------------------------------------

    def export_capture(self, folder: Path) -> None:
        """Write every entity and blob to ``folder`` (``state.json`` + ``blobs/<sha256>``).

        Exporting again into the same folder replaces the capture (stale blob files go).
        """
        blob_dir = folder / "blobs"
        blob_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            entity_rows = self._conn.execute(
                "SELECT kind, key, body FROM entities ORDER BY rowid"
            ).fetchall()
            blob_rows = self._conn.execute(
                "SELECT account, container, path, data, properties FROM blobs "
                "ORDER BY account, container, path"
            ).fetchall()

        entities: dict[str, _Bodies] = {}
        for kind, key, body in entity_rows:
            entities.setdefault(kind, []).append({"key": key, "body": _loads(body)})

        blobs = []
        for account, container, path, data, props in blob_rows:
            digest = hashlib.sha256(data).hexdigest()
            (blob_dir / digest).write_bytes(data)
            blobs.append(
                {
                    "account": account,
                    "container": container,
                    "path": path,
                    "sha256": digest,
                    "properties": json.loads(props),
                }
            )

        kept = {blob["sha256"] for blob in blobs}
        for stale in blob_dir.iterdir():
            if stale.name not in kept:  # left over from an earlier export into this folder
                stale.unlink()

        state = {"format": CAPTURE_FORMAT, "entities": entities, "blobs": blobs}
        text = json.dumps(state, indent=1, sort_keys=False, ensure_ascii=False)
        (folder / "state.json").write_text(text + "\n", encoding="utf-8")
        logger.info("Exported %d entities and %d blobs to %s", len(entity_rows), len(blobs), folder)

    def import_capture(self, folder: Path) -> None:
        """Load a capture written by :meth:`export_capture` (adds to or replaces current state)."""
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        if state.get("format") != CAPTURE_FORMAT:
            raise ValueError(
                f"{folder / 'state.json'} has format {state.get('format')!r}, expected "
                f"{CAPTURE_FORMAT}; regenerate the capture with this version of migrate_kit"
            )

        with self.transaction():
            for kind, items in state.get("entities", {}).items():
                rows = [self._row(kind, item["key"], item["body"]) for item in items]
                self._conn.executemany(_UPSERT_ENTITY, rows)
            for blob in state.get("blobs", []):
                data = (folder / "blobs" / blob["sha256"]).read_bytes()
                row = (
                    blob["account"],
                    blob["container"],
                    blob["path"],
                    data,
                    json.dumps(blob.get("properties", {})),
                )
                self._conn.execute(_UPSERT_BLOB, row)
        logger.info("Imported capture %s", folder)


def dumps_json(value: Any) -> str:
    """``value`` as compact JSON text, byte for byte what Starlette's ``JSONResponse`` sends.

    Unlike ``JSONResponse``, NaN and infinities are accepted (and stored); a served body that
    holds them still fails when it is rendered, as before.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value
