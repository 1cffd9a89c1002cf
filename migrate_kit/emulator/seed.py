"""Filling a fresh state folder from a sample workspace folder.

A sample folder (the repository's ``data/`` by default) may hold, each part optional:

- ``workspace.json``: the workspace identity (read by ``config.load_config``);
- ``capture/``: a capture written by ``Store.export_capture`` (``state.json`` + ``blobs/``);
- ``datastore/**``: files that exist in the default datastore from the start; each is uploaded
  to the datastore's container at the same relative path (``datastore/raw/a.csv`` ->
  ``raw/a.csv``); names starting with ``.`` are skipped;
- ``handwritten/*.json``: entities the v1 SDK cannot publish offline, each file a JSON list of
  ``{"kind": "<family>.<kind>", "key": "<id>", "body": {...wire JSON...}}``; they are loaded
  last, so they replace captured entities with the same kind and key.

Seeding happens once: a state folder that already holds state is never reseeded on start
(``/_emulator/reset`` clears and reseeds on request).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from migrate_kit.emulator.config import EmulatorConfig
from migrate_kit.emulator.state import Store

__all__ = ["is_seeded", "load_entity_file", "saved_config", "seed"]

logger = logging.getLogger(__name__)

_SEEDED = "seeded_at"
_CONFIG = "config"


def is_seeded(store: Store) -> bool:
    """True when the store was seeded before or already holds entities or blobs."""
    return store.get_meta(_SEEDED) is not None or store.count() > 0


def seed(store: Store, sample: Path | None, config: EmulatorConfig) -> None:
    """Load ``sample`` into ``store`` (capture, then datastore files, then hand-written entities).

    ``sample=None`` seeds nothing but still marks the store as seeded (an empty workspace).
    The workspace settings are saved with the state, so a restart serves the same workspace
    (see :func:`saved_config`).
    """
    if sample is not None:
        if not sample.is_dir():
            raise FileNotFoundError(
                f"Sample folder {sample} does not exist; pass the folder holding workspace.json "
                "(the repository's data/), or an empty sample"
            )
        _seed_capture(store, sample / "capture")
        _seed_datastore(store, sample / "datastore", config)
        _seed_handwritten(store, sample / "handwritten")

    stamp = datetime.now(timezone.utc).isoformat()
    store.set_meta(_SEEDED, stamp)
    store.set_meta("seeded_from", str(sample) if sample is not None else "")
    store.set_meta(_CONFIG, json.dumps(asdict(config)))
    logger.info("Seeded %s from %s: %d entities", store.path, sample, store.count())


def saved_config(store: Store) -> EmulatorConfig | None:
    """The workspace settings the store was seeded with, or None (state from older versions)."""
    raw = store.get_meta(_CONFIG)
    return EmulatorConfig(**json.loads(raw)) if raw else None


def load_entity_file(path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """Read one hand-written entity file into ``(kind, key, body)`` triples, checking its shape."""
    items = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(items, list):
        raise ValueError(
            f"{path} holds a {type(items).__name__}; expected a JSON list of "
            '{"kind": ..., "key": ..., "body": {...}} objects'
        )

    triples = []
    for index, item in enumerate(items):
        ok = isinstance(item, dict) and {"kind", "key", "body"} <= set(item)
        if not ok or not isinstance(item["body"], dict) or "." not in str(item["kind"]):
            raise ValueError(
                f"{path} item {index} is not an entity: expected "
                '{"kind": "<family>.<kind>", "key": "<id>", "body": {...}}'
            )
        triples.append((str(item["kind"]), str(item["key"]), item["body"]))
    return triples


def _seed_capture(store: Store, folder: Path) -> None:
    if (folder / "state.json").is_file():
        store.import_capture(folder)
    else:
        logger.info("No capture in %s; starting without captured entities", folder)


def _seed_datastore(store: Store, folder: Path, config: EmulatorConfig) -> None:
    if not folder.is_dir():
        return

    files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    with store.transaction():
        for path in files:
            relative = path.relative_to(folder)
            if any(part.startswith(".") for part in relative.parts):
                continue
            store.put_blob(
                config.storage_account,
                config.datastore_container,
                relative.as_posix(),
                path.read_bytes(),
                {
                    "content_type": "text/csv"
                    if path.suffix == ".csv"
                    else "application/octet-stream"
                },
            )


def _seed_handwritten(store: Store, folder: Path) -> None:
    if not folder.is_dir():
        return

    with store.transaction():
        for path in sorted(folder.glob("*.json")):
            for kind, key, body in load_entity_file(path):
                store.put(kind, key, body)
