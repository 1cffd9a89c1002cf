"""The emulator's store (a real SQLite file), captures and seeding."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate_kit.emulator import DEFAULT_SAMPLE, EmulatorConfig, Store
from migrate_kit.emulator.config import load_config
from migrate_kit.emulator.seed import is_seeded, load_entity_file, saved_config, seed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "emulator.sqlite")
    yield s
    s.close()


def test_entities_keep_insertion_order_and_replace_in_place(store: Store) -> None:
    store.put("pipelines.pipeline", "b", {"Id": "b", "Name": "second"})
    store.put("pipelines.pipeline", "a", {"Id": "a", "Name": "first"})
    store.put("pipelines.pipeline", "b", {"Id": "b", "Name": "second, renamed"})

    assert [p["Id"] for p in store.list("pipelines.pipeline")] == ["b", "a"]
    assert store.get("pipelines.pipeline", "b") == {"Id": "b", "Name": "second, renamed"}
    assert store.get("pipelines.pipeline", "missing") is None
    assert store.keys("pipelines.pipeline") == ["b", "a"]


def test_delete_and_find(store: Store) -> None:
    store.put("pipelines.endpoint", "1", {"Id": "1", "Name": "daily", "Info": {"Owner": "x"}})
    store.put("pipelines.endpoint", "2", {"Id": "2", "Name": "weekly", "Info": {"Owner": "x"}})

    assert [e["Id"] for e in store.find("pipelines.endpoint", "Name", "weekly")] == ["2"]
    assert len(store.find("pipelines.endpoint", "Info.Owner", "x")) == 2
    assert store.delete("pipelines.endpoint", "1") is True
    assert store.delete("pipelines.endpoint", "1") is False
    assert store.count("pipelines.endpoint") == 1


def test_state_is_a_real_sqlite_file_in_wal_mode(store: Store) -> None:
    store.put("content.snapshot", "s1", {"id": "s1"})

    with sqlite3.connect(store.path) as other:
        mode = other.execute("PRAGMA journal_mode").fetchone()[0]
        rows = other.execute("SELECT kind, key FROM entities").fetchall()
    assert mode == "wal"
    assert rows == [("content.snapshot", "s1")]


def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put("pipelines.module", "m1", {"Id": "m1"})
        raise RuntimeError("boom")

    assert store.get("pipelines.module", "m1") is None


def test_put_many_is_fast_enough_for_synthetic_workspaces(store: Store) -> None:
    items = [(f"p{i}", {"Id": f"p{i}", "Name": f"pipeline {i}", "Graph": "x" * 500})
             for i in range(5000)]  # fmt: skip

    started = time.perf_counter()
    assert store.put_many("pipelines.pipeline", items) == 5000
    elapsed = time.perf_counter() - started

    assert store.count("pipelines.pipeline") == 5000
    assert elapsed < 2.0, f"put_many of 5000 entities took {elapsed:.2f} s"


def test_concurrent_writers_lose_nothing(store: Store) -> None:
    def write(worker: int) -> None:
        for i in range(100):
            store.put("pipelines.graph", f"{worker}-{i}", {"worker": worker, "i": i})
            store.get("pipelines.graph", f"{worker}-{i}")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert store.count("pipelines.graph") == 800


def test_blobs_have_azure_properties(store: Store) -> None:
    props = store.put_blob("stdemo", "c", "dir/a.csv", b"x,y\n1,2\n", {"content_type": "text/csv"})

    data, stored = store.get_blob("stdemo", "c", "dir/a.csv") or (b"", {})
    assert data == b"x,y\n1,2\n"
    assert stored == props
    assert props["content_length"] == "8"
    assert props["etag"].startswith('"0x')
    assert props["content_type"] == "text/csv"
    assert store.list_blobs("stdemo", "c", prefix="dir/") == ["dir/a.csv"]
    assert store.list_blobs("stdemo", "c", prefix="other/") == []
    assert store.get_blob("stdemo", "c", "missing") is None


def test_capture_round_trip(store: Store, tmp_path: Path) -> None:
    store.put("pipelines.pipeline", "p1", {"Id": "p1", "Name": "ünïcode"})
    store.put("content.snapshot", "s1", {"id": "s1"})
    store.put_blob("stdemo", "snapshots", "s1/train.py", b"print('hi')\n")
    capture = tmp_path / "capture"

    (capture / "blobs").mkdir(parents=True)
    (capture / "blobs" / "stale").write_bytes(b"from an earlier export")
    store.export_capture(capture)
    other = Store(tmp_path / "other.sqlite")
    other.import_capture(capture)

    state = json.loads((capture / "state.json").read_text(encoding="utf-8"))
    assert state["format"] == 1
    assert set(state["entities"]) == {"pipelines.pipeline", "content.snapshot"}
    assert [p.name for p in (capture / "blobs").iterdir()] == [state["blobs"][0]["sha256"]]
    assert other.get("pipelines.pipeline", "p1") == {"Id": "p1", "Name": "ünïcode"}
    assert other.get_blob("stdemo", "snapshots", "s1/train.py") == store.get_blob(
        "stdemo", "snapshots", "s1/train.py"
    )
    other.close()


def test_import_rejects_an_unknown_capture_format(store: Store, tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"format": 99}')

    with pytest.raises(ValueError, match="format 99, expected 1"):
        store.import_capture(tmp_path)


def test_seed_loads_capture_then_datastore_then_handwritten(store: Store, tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    source = Store(tmp_path / "source.sqlite")
    source.put("pipelines.pipeline", "p1", {"Id": "p1", "Name": "captured"})
    source.export_capture(sample / "capture")
    source.close()
    (sample / "datastore" / "raw").mkdir(parents=True)
    (sample / "datastore" / "raw" / "sales.csv").write_text("a,b\n")
    (sample / "datastore" / ".gitkeep").write_text("")
    (sample / "handwritten").mkdir()
    entities = [{"kind": "pipelines.pipeline", "key": "p1", "body": {"Id": "p1", "Name": "hand"}}]
    (sample / "handwritten" / "databricks.json").write_text(json.dumps(entities))
    config = EmulatorConfig()

    assert not is_seeded(store)
    seed(store, sample, config)

    assert is_seeded(store)
    assert store.get("pipelines.pipeline", "p1") == {"Id": "p1", "Name": "hand"}
    assert store.list_blobs("stdemo", config.datastore_container) == ["raw/sales.csv"]


def test_handwritten_file_errors_name_the_file_and_the_shape(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"kind": "pipelines.pipeline", "body": {}}]')

    with pytest.raises(ValueError, match=r"bad.json item 0 is not an entity"):
        load_entity_file(bad)


def test_repository_sample_seeds(store: Store) -> None:
    config = load_config(DEFAULT_SAMPLE)
    seed(store, DEFAULT_SAMPLE, config)

    assert config.workspace_name == "mlw-contoso-forecast"
    assert store.list_blobs(config.storage_account, config.datastore_container)


def test_config_falls_back_to_defaults_without_workspace_json(tmp_path: Path) -> None:
    config = load_config(tmp_path)

    assert config == EmulatorConfig()
    assert config.datastore_container == f"azureml-blobstore-{config.workspace_id}"
    assert config.subscription_id == "5f2c6a8e-1b3d-4c7e-9a0f-2d4b6c8e0a13"


def test_seed_saves_the_workspace_settings(store: Store) -> None:
    config = EmulatorConfig(workspace_name="other-ws", region="eastus")

    assert saved_config(store) is None
    seed(store, None, config)

    assert saved_config(store) == config
