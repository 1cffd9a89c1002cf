"""The migration ledger on a real SQLite file: stages, events, assets, redaction, crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from migrate_kit.errors import ConfigurationError
from migrate_kit.ledger import Ledger, endpoint_subject


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with Ledger(tmp_path / "state" / "ledger.sqlite") as opened:
        yield opened


def test_a_stage_goes_running_then_done_with_its_detail(ledger: Ledger) -> None:
    run = ledger.start("migrate", "workspace 'w'", {"concurrency": 4})

    ledger.begin(run, "p1", "register", fingerprint="abc")
    running = ledger.stage("p1", "register")
    ledger.done(run, "p1", "register", fingerprint="abc", detail={"component": "c:1"})
    done = ledger.stage("p1", "register")

    assert running is not None and running.status == "running" and running.ended is None
    assert done is not None and done.done
    assert done.detail == {"component": "c:1"}
    assert done.fingerprint == "abc"
    assert done.attempts == 1
    assert done.migration_id == run
    assert ledger.stage("p1", "deploy") is None
    assert [e["status"] for e in ledger.events("p1")] == ["running", "done"]


def test_attempts_count_and_a_failure_keeps_the_last_fingerprint(ledger: Ledger) -> None:
    run = ledger.start("migrate", "w")
    ledger.begin(run, "p1", "deploy", fingerprint="f1")
    ledger.failed(run, "p1", "deploy", "HttpResponseError: (Conflict) busy")
    ledger.begin(run, "p1", "deploy", fingerprint="f1")

    record = ledger.stage("p1", "deploy")

    assert record is not None
    assert record.status == "running" and record.attempts == 2 and record.error is None
    assert record.fingerprint == "f1"
    events = ledger.events("p1")
    assert [e["status"] for e in events] == ["running", "failed", "running"]
    assert events[1]["error"] == "HttpResponseError: (Conflict) busy"


def test_secrets_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    with Ledger(path) as ledger:
        run = ledger.start("migrate", "w")
        ledger.begin(run, "p1", "test")
        ledger.failed(
            run,
            "p1",
            "test",
            f"request with Authorization: Bearer {token} to "
            "https://acct.blob.core.windows.net/c/x?sv=2021&sig=s3cr3tSig%3D failed",
        )
        ledger.skipped(run, "p2", "test", f"token {token} expired")
        stored = ledger.stage("p1", "test")

    assert stored is not None and stored.error is not None
    assert "blob.core.windows.net/c/x" in stored.error
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert token.encode() not in raw
    assert b"s3cr3tSig" not in raw


def test_assets_by_migration_created_or_updated_and_removed(ledger: Ledger) -> None:
    first = ledger.start("migrate", "w")
    ledger.record_asset(first, "endpoint:ep", "endpoint", "ep", created=True)
    ledger.record_asset(first, "p1", "deployment", "v1", endpoint="ep", created=True)
    second = ledger.start("migrate", "w")
    ledger.record_asset(second, "p1", "deployment", "v1", endpoint="ep", created=False)

    ledger.mark_removed(first, "deployment", "v1", "ep")

    assets = ledger.assets(first)
    assert [(a.kind, a.name, a.created) for a in assets] == [
        ("endpoint", "ep", True),
        ("deployment", "v1", True),
    ]
    assert assets[0].removed is None and assets[1].removed is not None
    assert [a.created for a in ledger.assets(second)] == [False]
    assert len(ledger.assets()) == 3


def test_migrations_are_listed_and_unknown_ids_named(ledger: Ledger) -> None:
    run = ledger.start("migrate", "workspace 'w'", {"select": ["a*"]})
    ledger.finish(run, "succeeded")

    (record,) = ledger.migrations()
    assert record.id == run and record.status == "succeeded" and record.ended
    assert record.options == {"select": ["a*"]}
    assert ledger.migration(run) == record
    with pytest.raises(ConfigurationError, match=f"no migration 'nope'.*{run}"):
        ledger.migration("nope")


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        run = ledger.start("migrate", "w")
        ledger.done(run, endpoint_subject("ep"), "endpoint", detail={"id": "/x"})

    with Ledger(path) as again:
        record = again.stage("endpoint:ep", "endpoint")
        frame = again.stage_frame()

    assert record is not None and record.detail == {"id": "/x"}
    assert list(frame["subject"]) == ["endpoint:ep"]


def test_threads_share_one_ledger(ledger: Ledger) -> None:
    run = ledger.start("migrate", "w")

    def work(worker: int) -> None:
        for i in range(25):
            subject = f"p{worker}-{i}"
            ledger.begin(run, subject, "register")
            ledger.done(run, subject, "register", detail={"i": i})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ledger.stages()) == 100
    assert all(record.done for record in ledger.stages())
    assert len(ledger.events()) == 200


def test_a_process_killed_while_writing_leaves_a_consistent_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    writer = textwrap.dedent(
        f"""
        from migrate_kit.ledger import Ledger
        ledger = Ledger({str(path)!r})
        run = ledger.start("migrate", "w")
        i = 0
        while True:
            ledger.begin(run, f"p{{i}}", "register")
            ledger.done(run, f"p{{i}}", "register", detail={{"n": i}})
            i += 1
            if i == 20:
                print("writing", flush=True)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"writing\n"
        time.sleep(0.2)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)

    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    check.close()
    with Ledger(path) as ledger:
        records = ledger.stages()
        events = ledger.events()
    assert len(records) >= 20
    # each stage row has its events: at most the last one is still running
    assert sum(1 for r in records if not r.done) <= 1
    assert len(events) in (2 * len(records), 2 * len(records) - 1)


def test_a_file_that_is_no_ledger_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not a database, just some notes that are long enough to matter\n" * 20)

    with pytest.raises(ConfigurationError, match=r"cannot use .*notes.txt as a ledger.*--ledger"):
        Ledger(bad)
