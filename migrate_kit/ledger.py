"""The ledger: what every migration did, in one SQLite file.

The engine writes here before and after each stage of each pipeline, so the file is the single
source of truth for "what happened": a rerun reads it to know what is done, ``rollback`` reads
which v2 assets a migration created, and reports are views of it.

Three tables:

- ``migrations``: one row per command run (``migrate``, ``test``, ``rollback``...): id, command,
  workspace, options, start and end times, final status;
- ``stages``: one row per *subject* and stage, the latest state: the subject is a v1 published
  pipeline id, or ``endpoint:<v2 name>`` for endpoint-wide stages; the row holds the migration
  that last touched it, status (``running``, ``done``, ``failed``, ``skipped``,
  ``rolled_back``), times, the number
  of attempts, a *fingerprint* (what the stage applied, e.g. a hash of the spec; a rerun skips a
  ``done`` stage whose fingerprint is unchanged), a JSON detail (v2 asset ids, job names) and
  the error;
- ``events``: every status change, append-only, for the history of a subject;
- ``assets``: every v2 asset a migration wrote, and whether it created it or updated an existing
  one (``rollback`` removes only what its migration created).

Every write is its own transaction in WAL mode, so a process killed at any moment leaves the file
consistent: at worst a stage stays ``running``, and the engine's next run checks the workspace
and carries on. Error texts are redacted before they are stored: no token, key or SAS signature
reaches the file. One ``Ledger`` may be shared by threads; several processes may use one file
(writers wait up to ``BUSY_TIMEOUT_S`` for each other).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate_kit.errors import ConfigurationError
from migrate_kit.redact import redact

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BUSY_TIMEOUT_S",
    "STAGE_STATUSES",
    "V1_DISABLED",
    "AssetRecord",
    "Ledger",
    "MigrationRecord",
    "StageRecord",
    "endpoint_subject",
]

logger = logging.getLogger(__name__)

#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_S = 30.0
STAGE_STATUSES = ("running", "done", "failed", "skipped", "rolled_back")
#: The asset kind of a v1 published pipeline a test run disabled (rollback enables it again).
V1_DISABLED = "v1_pipeline_disabled"
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS migrations (
    id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    workspace TEXT NOT NULL,
    options TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stages (
    subject TEXT NOT NULL,
    stage TEXT NOT NULL,
    migration_id TEXT NOT NULL,
    status TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    attempts INTEGER NOT NULL,
    fingerprint TEXT,
    detail TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (subject, stage)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    migration_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    time TEXT NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS assets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    migration_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT,
    endpoint TEXT,
    created INTEGER NOT NULL,
    time TEXT NOT NULL,
    removed TEXT
);
CREATE INDEX IF NOT EXISTS assets_by_migration ON assets (migration_id);
"""


def endpoint_subject(endpoint_name: str) -> str:
    """The ledger subject of an endpoint-wide stage (creating it, setting its default)."""
    return f"endpoint:{endpoint_name}"


@dataclass(frozen=True)
class MigrationRecord:
    """One command run that wrote to the ledger."""

    id: str
    command: str
    workspace: str
    options: Mapping[str, Any]
    started: str
    ended: str | None
    status: str


@dataclass(frozen=True)
class StageRecord:
    """The latest state of one stage of one subject."""

    subject: str
    stage: str
    migration_id: str
    status: str
    started: str
    ended: str | None
    attempts: int
    fingerprint: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status == "done"


@dataclass(frozen=True)
class AssetRecord:
    """A v2 asset a migration wrote (``created``: it did not exist before)."""

    migration_id: str
    subject: str
    kind: str  # "component", "endpoint", "deployment", "v1_pipeline_disabled", ...
    name: str
    version: str | None
    endpoint: str | None
    created: bool
    time: str
    removed: str | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Ledger:
    """A migration ledger in the SQLite file ``path`` (created with its folder if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise ConfigurationError(
                    f"ledger {self.path} was written by a newer migrate_kit (schema {version}); "
                    "upgrade migrate_kit or use another --ledger file"
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(
                f"cannot use {self.path} as a ledger ({exc}); name another file with --ledger"
            ) from None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._db.execute(sql, args)
            cursor.row_factory = sqlite3.Row
            return list(cursor.fetchall())

    # -- migrations ------------------------------------------------------------------------

    def start(self, command: str, workspace: str, options: Mapping[str, Any] | None = None) -> str:
        """Record the start of a command run; returns its migration id."""
        migration_id = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        with self._write() as db:
            db.execute(
                "INSERT INTO migrations VALUES (?, ?, ?, ?, ?, NULL, 'running')",
                (migration_id, command, workspace, _json(options or {}), _now()),
            )
        return migration_id

    def finish(self, migration_id: str, status: str) -> None:
        """Record the end of a command run (``succeeded``, ``failed``, ``interrupted``)."""
        with self._write() as db:
            db.execute(
                "UPDATE migrations SET ended = ?, status = ? WHERE id = ?",
                (_now(), status, migration_id),
            )

    def migrations(self) -> list[MigrationRecord]:
        """Every command run, oldest first."""
        rows = self._read("SELECT * FROM migrations ORDER BY started, id")
        return [
            MigrationRecord(**{**dict(row), "options": json.loads(row["options"])}) for row in rows
        ]

    def migration(self, migration_id: str) -> MigrationRecord:
        """One command run; ``ConfigurationError`` naming the known ids when there is none."""
        for record in self.migrations():
            if record.id == migration_id:
                return record
        known = ", ".join(r.id for r in self.migrations()[-5:]) or "none yet"
        raise ConfigurationError(
            f"the ledger {self.path} has no migration {migration_id!r} (latest: {known})"
        )

    # -- stages ----------------------------------------------------------------------------

    def begin(
        self, migration_id: str, subject: str, stage: str, *, fingerprint: str | None = None
    ) -> None:
        """Record that ``stage`` of ``subject`` starts now (one more attempt)."""
        now = _now()
        with self._write() as db:
            db.execute(
                """INSERT INTO stages VALUES (?, ?, ?, 'running', ?, NULL, 1, ?, '{}', NULL)
                   ON CONFLICT (subject, stage) DO UPDATE SET
                     migration_id = excluded.migration_id, status = 'running',
                     started = excluded.started, ended = NULL, attempts = attempts + 1,
                     fingerprint = excluded.fingerprint, error = NULL""",
                (subject, stage, migration_id, now, fingerprint),
            )
            _event(db, migration_id, subject, stage, "running", now)

    def done(
        self,
        migration_id: str,
        subject: str,
        stage: str,
        *,
        fingerprint: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``stage`` of ``subject`` succeeded, with what it made."""
        self._end(migration_id, subject, stage, "done", fingerprint, detail, None)

    def failed(
        self,
        migration_id: str,
        subject: str,
        stage: str,
        error: str,
        *,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``stage`` of ``subject`` failed; ``error`` is stored redacted."""
        self._end(migration_id, subject, stage, "failed", None, detail, error)

    def skipped(
        self,
        migration_id: str,
        subject: str,
        stage: str,
        reason: str,
        *,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``stage`` of ``subject`` was not attempted, and why."""
        self._end(migration_id, subject, stage, "skipped", None, detail, reason)

    def rolled_back(self, migration_id: str, subject: str, stage: str) -> None:
        """Record that a rollback undid ``stage`` of ``subject`` (the next run redoes it)."""
        if self.stage(subject, stage) is not None:
            self._end(migration_id, subject, stage, "rolled_back", None, None, None)

    def _end(
        self,
        migration_id: str,
        subject: str,
        stage: str,
        status: str,
        fingerprint: str | None,
        detail: Mapping[str, Any] | None,
        error: str | None,
    ) -> None:
        now = _now()
        text = redact(error) if error else None
        with self._write() as db:
            db.execute(
                """INSERT INTO stages VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
                   ON CONFLICT (subject, stage) DO UPDATE SET
                     migration_id = excluded.migration_id, status = excluded.status,
                     ended = excluded.ended,
                     fingerprint = COALESCE(excluded.fingerprint, fingerprint),
                     detail = excluded.detail, error = excluded.error""",
                (subject, stage, migration_id, status, now, now, fingerprint,
                 _json(detail or {}), text),
            )  # fmt: skip
            _event(db, migration_id, subject, stage, status, now, text)

    def stage(self, subject: str, stage: str) -> StageRecord | None:
        """The latest state of ``stage`` of ``subject``, or ``None`` if it never ran."""
        rows = self._read("SELECT * FROM stages WHERE subject = ? AND stage = ?", (subject, stage))
        return _stage(rows[0]) if rows else None

    def stages(self, subject: str | None = None) -> list[StageRecord]:
        """Every stage row (of one subject), in the order they were first started."""
        if subject is None:
            rows = self._read("SELECT * FROM stages ORDER BY rowid")
        else:
            rows = self._read("SELECT * FROM stages WHERE subject = ? ORDER BY rowid", (subject,))
        return [_stage(row) for row in rows]

    def events(self, subject: str | None = None) -> list[dict[str, Any]]:
        """The status changes (of one subject), oldest first."""
        sql = "SELECT * FROM events" + (" WHERE subject = ?" if subject else "") + " ORDER BY seq"
        return [dict(row) for row in self._read(sql, (subject,) if subject else ())]

    # -- assets ----------------------------------------------------------------------------

    def record_asset(
        self,
        migration_id: str,
        subject: str,
        kind: str,
        name: str,
        *,
        version: str | None = None,
        endpoint: str | None = None,
        created: bool,
    ) -> None:
        """Record that the migration wrote a v2 asset (``created``: it did not exist before)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO assets (migration_id, subject, kind, name, version, endpoint, "
                "created, time, removed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (migration_id, subject, kind, name, version, endpoint, int(created), _now()),
            )

    def mark_removed(self, migration_id: str, kind: str, name: str, endpoint: str | None) -> None:
        """Record that rollback removed an asset the migration had created."""
        with self._write() as db:
            db.execute(
                "UPDATE assets SET removed = ? WHERE migration_id = ? AND kind = ? AND name = ? "
                "AND endpoint IS ? AND removed IS NULL",
                (_now(), migration_id, kind, name, endpoint),
            )

    def assets(self, migration_id: str | None = None) -> list[AssetRecord]:
        """The assets written (by one migration), in the order they were written."""
        if migration_id is None:
            rows = self._read("SELECT * FROM assets ORDER BY seq")
        else:
            rows = self._read(
                "SELECT * FROM assets WHERE migration_id = ? ORDER BY seq", (migration_id,)
            )
        return [_asset(row) for row in rows]

    # -- views -----------------------------------------------------------------------------

    def stage_frame(self) -> pd.DataFrame:
        """The ``stages`` table as a DataFrame (detail as JSON text)."""
        import pandas as pd

        rows = self._read("SELECT * FROM stages ORDER BY rowid")
        columns = ["subject", "stage", "migration_id", "status", "started", "ended", "attempts",
                   "fingerprint", "detail", "error"]  # fmt: skip
        frame: pd.DataFrame = pd.DataFrame([dict(r) for r in rows], columns=columns)
        return frame


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _event(
    db: sqlite3.Connection,
    migration_id: str,
    subject: str,
    stage: str,
    status: str,
    time: str,
    error: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO events (migration_id, subject, stage, status, time, error) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (migration_id, subject, stage, status, time, error),
    )


def _stage(row: sqlite3.Row) -> StageRecord:
    values = dict(row)
    values["detail"] = json.loads(values["detail"])
    return StageRecord(**values)


def _asset(row: sqlite3.Row) -> AssetRecord:
    values = dict(row)
    del values["seq"]
    values["created"] = bool(values["created"])
    return AssetRecord(**values)
