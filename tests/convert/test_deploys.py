"""A written plan registers, deploys and runs: the YAML on disk through unmodified azure-ai-ml.

For a few sample pipelines (a PythonScriptStep chain, the ParallelRunStep, the CommandStep and
the one whose DataPath parameter must now be passed), every file of the pipeline's folder is
loaded with azure-ai-ml's loaders and sent with ``MLClient`` exactly in the order
``findings.md`` lists: step components, pipeline component, endpoint, deployment. The
deployment is then invoked and must complete. A private emulator keeps these endpoints out of
the session's workspace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.ai.ml import Input, MLClient, load_batch_endpoint, load_component
from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment
from azure.identity import DefaultAzureCredential

from migrate_kit import Plan, connect, plan
from migrate_kit.emulator import DEFAULT_SAMPLE, Emulator

TERMINAL = ("Completed", "Failed", "Canceled")


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state = tmp_path_factory.mktemp("deploy-emulator")
    with Emulator(
        state_dir=state, sample=DEFAULT_SAMPLE, connection_file=state / "connection.json"
    ) as emu:
        yield emu


@pytest.fixture
def ml_client(private: Emulator, monkeypatch: pytest.MonkeyPatch) -> MLClient:
    for name, value in private.connection["env"].items():
        monkeypatch.setenv(name, str(value))
    for name in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    logging.getLogger("azure").setLevel(logging.ERROR)
    connection = private.connection
    return MLClient(
        DefaultAzureCredential(),
        connection["subscription_id"],
        connection["resource_group"],
        connection["workspace_name"],
        enable_telemetry=False,
    )


@pytest.fixture(scope="module")
def written(private: Emulator, tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Path]:
    out = tmp_path_factory.mktemp("deploy-plan")
    assert private.connection_file is not None
    return plan(connect(connection_file=private.connection_file), all=True, out=out), out


@pytest.mark.parametrize(
    "folder",
    [
        "weekly-demand-forecast/version-1",
        "store-batch-scoring/version-1-0",
        "store-replenishment-endpoint/version-0",
        "daily-sales-forecast-1e339ac8/version-1-4",
    ],
)
def test_the_written_plan_deploys_and_runs(
    written: tuple[Plan, Path], ml_client: MLClient, folder: str
) -> None:
    result, out = written
    (planned,) = [p for p in result.pipelines if p.folder == folder]
    assert planned.pipeline_component is not None and planned.deployment is not None
    where = out / folder

    for component in planned.components:
        registered = ml_client.components.create_or_update(
            load_component(where / component.yaml_path)
        )
        assert (registered.name, registered.version) == (component.name, component.version)
    pipeline = ml_client.components.create_or_update(load_component(where / "pipeline.yml"))
    assert pipeline.version == planned.pipeline_component.version
    endpoint = load_batch_endpoint(out / planned.endpoint_name / "endpoint.yml")
    ml_client.batch_endpoints.begin_create_or_update(endpoint).result()
    deployment = load_pipeline_component_batch_deployment(where / "deployment.yml")
    ml_client.batch_deployments.begin_create_or_update(deployment).result()

    inputs = {}
    if "prices_path" in planned.pipeline_component.spec.get("inputs", {}):
        # The DataPath parameter's v1 default, which v2 cannot hold (see its finding).
        path = "azureml://datastores/workspaceblobstore/paths/retail/prices/"
        inputs["prices_path"] = Input(type="uri_folder", path=path)
    job = ml_client.batch_endpoints.invoke(
        endpoint_name=planned.endpoint_name,
        deployment_name=planned.deployment.name,
        inputs=inputs or None,
    )
    status = ""
    for _ in range(600):  # polls, not a time limit: each one is a request to the emulator
        value = ml_client.jobs.get(job.name).status
        status = str(getattr(value, "value", value))
        if status in TERMINAL:
            break
        time.sleep(0.3)
    children = {c.display_name: c.status for c in ml_client.jobs.list(parent_job_name=job.name)}
    assert status == "Completed", children
    assert set(children) == {c.step for c in planned.components}
