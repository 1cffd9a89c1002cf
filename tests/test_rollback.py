"""Rollback against the emulator: only what a migration created goes, what was there stays.

The workspace already has a batch endpoint named as the plan names one, with a deployment of
its own as the default. Migrating adds deployments to it and moves the default; rolling back
puts the default back, deletes the added deployments, archives the added component versions,
and leaves the endpoint (with the description and tags the migration gave it), its own
deployment and the components that were there before.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml import load_component
from azure.ai.ml.entities import BatchEndpoint, PipelineComponentBatchDeployment

from migrate_kit import Connection, Ledger, migrate, plan, rollback, write_plan
from migrate_kit.engine import default_deployment


@pytest.fixture
def conn(private_conn: Connection) -> Connection:
    return private_conn


def test_rollback_restores_what_was_there(conn: Connection, tmp_path: Path) -> None:
    planned = plan(conn, select=["weekly-demand-forecast"])
    first = next(p for p in planned.pipelines if p.pipeline_version == "1.0")
    assert first.pipeline_component is not None
    ml = conn.ml_client()
    # Someone already made the endpoint by hand, with the 1.0 components and a deployment.
    write_plan(planned, tmp_path / "by-hand")
    for component in (*first.components, first.pipeline_component):
        ml.components.create_or_update(
            load_component(tmp_path / "by-hand" / first.folder / component.yaml_path)
        )
    ml.batch_endpoints.begin_create_or_update(
        BatchEndpoint(name="weekly-demand-forecast", description="made by hand")
    ).result()
    ml.batch_deployments.begin_create_or_update(
        PipelineComponentBatchDeployment(
            name="legacy",
            endpoint_name="weekly-demand-forecast",
            component=f"azureml:{first.pipeline_component.name}:{first.pipeline_component.version}",
            settings={"default_compute": "cpu-cluster"},
        )
    ).result()
    endpoint = ml.batch_endpoints.get("weekly-demand-forecast")
    endpoint.defaults = {"deployment_name": "legacy"}
    ml.batch_endpoints.begin_create_or_update(endpoint).result()
    before = {c.name: sorted(v.version for v in ml.components.list(name=c.name))
              for c in ml.components.list()}  # fmt: skip

    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        result = migrate(planned, conn.ml_client, ledger, work_dir=tmp_path / "work")
        assert result.ok
        assert default_deployment(ml.batch_endpoints.get("weekly-demand-forecast")) == "version-1"
        undone = rollback(ml, ledger, result.migration_id)
        stages = {(r.subject, r.stage): r.status for r in ledger.stages()}

    assert undone.ok, undone.kept
    assert sorted(undone.removed) == [
        f"deployment weekly-demand-forecast/version-{n}" for n in range(3)
    ]
    kept = ml.batch_endpoints.get("weekly-demand-forecast")  # updated by the migration, kept
    assert default_deployment(kept) == "legacy"
    assert [d.name for d in ml.batch_deployments.list("weekly-demand-forecast")] == ["legacy"]
    after = {c.name: sorted(v.version for v in ml.components.list(name=c.name))
             for c in ml.components.list()}  # fmt: skip
    assert after == before  # what rollback archived is hidden; what was there is listed
    assert len(undone.archived) > 0
    assert all(label.startswith("component ") for label in undone.archived)
    assert stages[(first.pipeline_id, "deploy")] == "rolled_back"


def test_rollback_of_an_unknown_migration_names_the_known_ones(
    conn: Connection, tmp_path: Path
) -> None:
    from migrate_kit.errors import ConfigurationError

    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        run = ledger.start("migrate", "w")
        with pytest.raises(ConfigurationError, match=rf"no migration 'nope' \(latest: {run}\)"):
            rollback(conn.ml_client(), ledger, "nope")
