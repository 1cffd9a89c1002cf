"""The migration engine against the emulator: the whole sample migrated through the unmodified
MLClient, reruns that write nothing, faults, a crash in the middle, and failures kept apart.

A private emulator (module scope) keeps these writes out of the session's workspace; each test
starts from the sample (``reset``), and counts requests in the emulator's request log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from migrate_kit import Connection, plan
from migrate_kit.convert.model import Plan
from migrate_kit.emulator import Emulator
from migrate_kit.engine import FINGERPRINT_TAG, WORKING, MigrationResult, Progress, migrate
from migrate_kit.ledger import Ledger, endpoint_subject

ROOT = Path(__file__).resolve().parents[1]
#: The sample's v1 defaults: endpoint -> the deployment that must be the default.
DEFAULTS = {
    "weekly-demand-forecast": "version-1",
    "price-elasticity": "version-1",
    "store-replenishment-endpoint": "version-0",
}
BLOCKED = {"sales-export-to-lake", "spark-feature-engineering"}


@pytest.fixture
def emu(private_emu: Emulator) -> Emulator:
    return private_emu


@pytest.fixture
def conn(private_conn: Connection) -> Connection:
    return private_conn


@pytest.fixture
def sample_plan(conn: Connection) -> Plan:
    return plan(conn, all=True)


def run(planned: Plan, conn: Connection, ledger: Ledger, work: Path, **kw: Any) -> MigrationResult:
    return migrate(planned, conn.ml_client, ledger, work_dir=work, **kw)


def workspace_state(conn: Connection) -> dict[str, Any]:
    """What the migration left in the workspace: endpoints with their default and deployments
    (and the component each runs), and every component's versions."""
    ml = conn.ml_client()
    endpoints = {}
    for endpoint in ml.batch_endpoints.list():
        deployments = {
            d.name: d.tags.get(FINGERPRINT_TAG) for d in ml.batch_deployments.list(endpoint.name)
        }
        default = endpoint.defaults.deployment_name if endpoint.defaults else None
        endpoints[endpoint.name] = (default, deployments)
    components = {
        c.name: sorted(v.version for v in ml.components.list(name=c.name))
        for c in ml.components.list()
    }
    return {"endpoints": endpoints, "components": components}


def planned_components(planned: Plan) -> dict[str, list[str]]:
    """Every component name with the versions the plan registers (no more may exist)."""
    found: dict[str, set[str]] = {}
    for p in planned.pipelines:
        if not p.deployable or p.pipeline_component is None:
            continue
        for c in (*p.components, p.pipeline_component):
            found.setdefault(c.name, set()).add(c.version)
    return {name: sorted(versions) for name, versions in found.items()}


def writes(emu: Emulator, since: int) -> list[tuple[str, str]]:
    return [
        (e["method"], e["path"])
        for e in emu.request_log(since=since)
        if e["method"] in ("PUT", "POST", "PATCH", "DELETE")
    ]


@pytest.mark.live
def test_the_sample_migrates_and_a_rerun_sends_no_request(
    emu: Emulator, conn: Connection, sample_plan: Plan, tmp_path: Path
) -> None:
    events: list[Progress] = []
    rerun_events: list[Progress] = []
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        first = run(
            sample_plan, conn, ledger, tmp_path / "work", concurrency=4, progress=events.append
        )
        seq = emu.log.last_seq
        again = run(
            sample_plan, conn, ledger, tmp_path / "work", concurrency=4,
            progress=rerun_events.append,
        )  # fmt: skip

        # each migrated pipeline is seen registering, then deploying, then migrated
        weekly = [e.status for e in events if e.pipeline == "weekly-demand-forecast 1.1"]
        assert weekly == ["registering", "deploying", "migrated"]
        assert sorted(e.done for e in events if e.status not in WORKING) == list(range(1, 14))
        assert {e.status for e in rerun_events} == {"unchanged", "blocked"}  # nothing started

        statuses = {o.pipeline_name: o.status for o in first.outcomes}
        assert {n for n, s in statuses.items() if s == "blocked"} == BLOCKED
        assert first.ok and first.counts() == {"migrated": 11, "blocked": 2}
        assert again.ok and again.counts() == {"unchanged": 11, "blocked": 2}
        assert emu.request_log(since=seq) == []  # the ledger knew everything was done

        blocked = {o.pipeline_name: o.error or "" for o in first.outcomes if o.status == "blocked"}
        assert "Databricks" in blocked["spark-feature-engineering"]
        assert "DataTransfer" in blocked["sales-export-to-lake"]
        stages = {(r.subject, r.stage): r for r in ledger.stages()}
        for outcome in first.outcomes:
            if outcome.status == "migrated":
                assert stages[(outcome.pipeline_id, "deploy")].done
        assert stages[(endpoint_subject("weekly-demand-forecast"), "default")].done

    state = workspace_state(conn)
    assert len(state["endpoints"]) == 8
    for endpoint, default in DEFAULTS.items():
        assert state["endpoints"][endpoint][0] == default
    assert sorted(state["endpoints"]["weekly-demand-forecast"][1]) == [
        "version-0",
        "version-1",
        "version-2",
    ]
    assert state["components"] == planned_components(sample_plan)
    ml = conn.ml_client()
    deployment = ml.batch_deployments.get("version-1", endpoint_name="weekly-demand-forecast")
    assert deployment.tags["v1_pipeline_name"] == "weekly-demand-forecast"


def test_without_a_ledger_the_workspace_is_read_and_nothing_written(
    emu: Emulator, conn: Connection, sample_plan: Plan, tmp_path: Path
) -> None:
    with Ledger(tmp_path / "one.sqlite") as ledger:
        run(sample_plan, conn, ledger, tmp_path / "work")
    seq = emu.log.last_seq

    with Ledger(tmp_path / "other.sqlite") as fresh:
        result = run(sample_plan, conn, fresh, tmp_path / "work")

    assert result.ok
    assert writes(emu, seq) == []
    assert {o.status for o in result.outcomes} == {"unchanged", "blocked"}


def test_a_changed_pipeline_gets_a_new_component_version_and_its_deployment_follows(
    emu: Emulator, conn: Connection, sample_plan: Plan, tmp_path: Path
) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        run(sample_plan, conn, ledger, tmp_path / "work")
        before = workspace_state(conn)
        # The team changes its v1 pipeline (here: a step's argument in the published graph's
        # module, as re-publishing after an edit does); the next plan sees the change.
        changed = _change_module_argument(emu, "weekly_forecast", "--window", "7", "14")
        assert changed
        replanned = plan(conn, select=["weekly-demand-forecast"])
        seq = emu.log.last_seq
        result = run(replanned, conn, ledger, tmp_path / "work")

    assert result.ok
    after = workspace_state(conn)
    grown = {n: v for n, v in after["components"].items() if v != before["components"].get(n)}
    assert grown  # new versions of the changed step's components (and the pipelines above)
    for name, versions in grown.items():
        assert len(versions) == len(before["components"].get(name, [])) + 1, name
    updated = [p for m, p in writes(emu, seq) if m == "PUT" and "/deployments/" in p]
    assert updated  # the deployments now run the new component versions
    assert after["endpoints"]["weekly-demand-forecast"][0] == "version-1"


def test_faults_and_failed_operations_end_migrated_without_duplicates(
    emu: Emulator, conn: Connection, sample_plan: Plan, tmp_path: Path
) -> None:
    # 10% of the ARM and data-plane requests fail. Blob uploads are left alone: their own
    # client (azure-storage-blob) retries a 503 after 15 s and more, which would only make the
    # test slow, not different.
    emu.set_fault_settings(
        seed=11,
        rate_429=0.05,
        rate_503=0.05,
        retry_after=0.1,
        lro_failure_rate=0.3,
        scope_path="^/subscriptions/",
    )
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        result = run(
            sample_plan, conn, ledger, tmp_path / "work", concurrency=4, attempts=8, backoff=0.1
        )
        failed = [(o.pipeline_name, o.error) for o in result.failed]
    emu.set_fault_settings()

    assert failed == []
    assert result.counts() == {"migrated": 11, "blocked": 2}
    injected = [e for e in emu.request_log() if e["status"] in (429, 503)]
    assert injected  # the faults did happen
    state = workspace_state(conn)
    assert state["components"] == planned_components(sample_plan)  # no duplicates
    for endpoint, default in DEFAULTS.items():
        assert state["endpoints"][endpoint][0] == default


def test_one_failing_deployment_does_not_stop_the_others(
    emu: Emulator, conn: Connection, sample_plan: Plan, tmp_path: Path
) -> None:
    emu.inject_fault(
        method="PUT",
        path="/batchEndpoints/zurich-store-forecast/deployments/",
        status=400,
        count=None,
        body={"error": {"code": "BadArgument", "message": "compute cpu-cluster is busy"}},
    )
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        result = run(sample_plan, conn, ledger, tmp_path / "work", concurrency=2)
        (failed,) = result.failed
        record = ledger.stage(failed.pipeline_id, "deploy")

    assert failed.pipeline_name == "zurich_store_forecast"
    assert failed.stage == "deploy" and "compute cpu-cluster is busy" in (failed.error or "")
    assert record is not None and record.status == "failed"
    assert "compute cpu-cluster is busy" in (record.error or "")
    assert result.counts() == {"migrated": 10, "failed": 1, "blocked": 2}
    assert not result.ok


def test_killed_in_the_middle_a_rerun_finishes_as_an_uninterrupted_run(
    emu: Emulator, conn: Connection, sample_plan: Plan, tmp_path: Path
) -> None:
    with Ledger(tmp_path / "straight.sqlite") as ledger:
        run(sample_plan, conn, ledger, tmp_path / "work")
    expected = workspace_state(conn)
    emu.reset()

    emu.set_fault_settings(latency_ms=40)  # slow enough to be killed half way
    ledger_path = tmp_path / "ledger.sqlite"
    script = textwrap.dedent(
        f"""
        import sys
        from migrate_kit import connect, plan
        from migrate_kit.engine import migrate
        from migrate_kit.ledger import Ledger
        conn = connect(connection_file={str(emu.connection_file)!r})
        planned = plan(conn, all=True)
        def progress(event):
            print(event.done, event.status, flush=True)
        migrate(planned, conn.ml_client, Ledger({str(ledger_path)!r}),
                work_dir=__import__("pathlib").Path({str(tmp_path / "work2")!r}),
                concurrency=2, progress=progress)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    try:
        assert process.stdout is not None
        migrated = 0
        for line in process.stdout:
            migrated += line.split()[1] == b"migrated"
            if migrated == 4:
                os.kill(process.pid, signal.SIGKILL)
                break
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    emu.set_fault_settings()

    with Ledger(ledger_path) as ledger:
        assert any(m.status == "running" for m in ledger.migrations())  # it never finished
        result = run(sample_plan, conn, ledger, tmp_path / "work2")

    assert result.ok
    assert workspace_state(conn) == expected


def _change_module_argument(emu: Emulator, step: str, flag: str, old: str, new: str) -> int:
    """Edit, in the emulator's store, the argument after ``flag`` of every module of the step
    named ``step``; returns how many modules changed."""
    store = emu.ctx.store
    changed = 0
    for key in list(store.keys("pipelines.module")):
        module = store.get("pipelines.module", key)
        assert module is not None
        data = module.get("Data") or {}
        if data.get("Name") != step:
            continue
        arguments = data.get("StructuredInterface", {}).get("Arguments") or []
        values = [a.get("Value") for a in arguments]
        for i in range(len(values) - 1):
            if values[i] == flag and values[i + 1] == old:
                arguments[i + 1]["Value"] = new
                store.put("pipelines.module", key, module)
                changed += 1
                break
    return changed
