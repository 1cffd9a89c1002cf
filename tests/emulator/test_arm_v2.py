"""The v2 ARM routes through the unmodified azure-ai-ml MLClient over real HTTPS: datastores and
datastore uploads, code uploads with dedupe, environments, components, batch endpoints and
pipeline component deployments with their long-running operations, and the service's errors.

Every test uses names of its own (the session emulator is shared). No ``from __future__ import
annotations`` here: ``@dsl.pipeline`` reads its function's annotations as objects."""

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.ai.ml import Input, MLClient, Output, dsl
from azure.ai.ml.entities import (
    BatchEndpoint,
    CommandComponent,
    Data,
    Environment,
    ParallelComponent,
    PipelineComponentBatchDeployment,
)
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from migrate_kit.emulator import Emulator

AUTH = {"Authorization": "Bearer test-token"}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def writes(emu: Emulator, marker: str) -> list[tuple[str, int | None]]:
    """(method, status) of the logged PUT/POST/DELETE requests whose path contains ``marker``."""
    return [
        (e["method"], e["status"])
        for e in emu.request_log()
        if e["method"] in ("PUT", "POST", "DELETE") and marker in e["path"]
    ]


def code_folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / "main.py").write_text(text)
    return folder


def command_component(name: str, code: Path, env: str, version: str = "1") -> CommandComponent:
    return CommandComponent(
        name=name,
        version=version,
        command="python main.py --data ${{inputs.data}} --out ${{outputs.out}}",
        code=str(code),
        environment=env,
        inputs={"data": Input(type="uri_folder"), "ratio": Input(type="number", default=0.5)},
        outputs={"out": Output(type="uri_folder")},
    )


def register_pipeline(
    ml: MLClient, tmp_path: Path, *, input_type: str = "uri_folder"
) -> tuple[str, str]:
    """A registered environment, command component and two-step pipeline component; returns the
    pipeline component's (name, version)."""
    env = ml.environments.create_or_update(
        Environment(name=unique("env"), version="1", image="python:3.11-slim")
    )
    step = ml.components.create_or_update(
        command_component(unique("step_"), code_folder(tmp_path, "print(1)\n"), env.id)
    )

    @dsl.pipeline(name=unique("pipe_"), default_compute="cpu-cluster")
    def two_steps(raw: Input(type=input_type), ratio: float = 0.3):  # type: ignore[valid-type]
        first = step(data=raw, ratio=ratio)
        second = step(data=first.outputs.out, ratio=ratio)
        return {"result": second.outputs.out}

    component = two_steps._pipeline_builder.build()
    component.version = "1"
    registered = ml.components.create_or_update(component)
    return str(registered.name), str(registered.version)


def create_endpoint(ml: MLClient, name: str | None = None) -> BatchEndpoint:
    endpoint = BatchEndpoint(name=name or unique("ep-"), description="migrated")
    return ml.batch_endpoints.begin_create_or_update(endpoint).result()


def deployment(
    ml: MLClient, endpoint: str, component: tuple[str, str], name: str = "blue"
) -> PipelineComponentBatchDeployment:
    return PipelineComponentBatchDeployment(
        name=name,
        endpoint_name=endpoint,
        component=ml.components.get(*component),
        settings={"default_compute": "cpu-cluster", "continue_on_step_failure": False},
        description="from v1",
    )


# -- workspace and datastores --------------------------------------------------------------------


def test_workspace_get(ml_client: MLClient, emu: Emulator) -> None:
    workspace = ml_client.workspaces.get(emu.ctx.config.workspace_name)

    assert workspace.id == emu.ctx.config.arm_id
    assert workspace.discovery_url == f"{emu.base_url}/discovery"


def test_datastores_get_list_and_default(ml_client: MLClient, emu: Emulator) -> None:
    cfg = emu.ctx.config

    by_name = ml_client.datastores.get("workspaceblobstore", include_secrets=True)
    listed = list(ml_client.datastores.list())
    default = ml_client.datastores.get_default()

    assert by_name.type == "AzureBlob"
    assert by_name.account_name == cfg.storage_account
    assert by_name.container_name == cfg.datastore_container
    assert by_name.credentials.sas_token and "sig=" in by_name.credentials.sas_token
    assert [d.name for d in listed] == ["workspaceartifactstore", "workspaceblobstore"]
    assert default.name == "workspaceblobstore"
    with pytest.raises(ResourceNotFoundError, match="UserError"):
        ml_client.datastores.get("workspacefilestore")


def test_datastore_upload_lands_in_the_store(
    ml_client: MLClient, emu: Emulator, tmp_path: Path
) -> None:
    folder = tmp_path / "scores"
    folder.mkdir()
    (folder / "part-0.csv").write_bytes(b"id,score\n1,0.5\n")
    name = unique("scores")

    data = ml_client.data.create_or_update(
        Data(name=name, version="1", path=str(folder), type="uri_folder")
    )

    prefix = "azureml://datastores/workspaceblobstore/paths/"
    assert data.path.startswith(prefix)
    blob_path = data.path[len(prefix) :].rstrip("/") + "/part-0.csv"
    cfg = emu.ctx.config
    stored = emu.ctx.store.get_blob(cfg.storage_account, cfg.datastore_container, blob_path)
    assert stored is not None and stored[0] == b"id,score\n1,0.5\n"
    uploads = [e for e in emu.request_log() if e["method"] == "PUT" and "part-0.csv" in e["path"]]
    assert uploads and all(e["host"].startswith("127.0.0.1:") for e in uploads)
    assert ml_client.data.get(name, version="1").path.rstrip("/") == data.path.rstrip("/")


# -- code, environments, components --------------------------------------------------------------


def test_code_upload_and_dedupe_by_hash(ml_client: MLClient, emu: Emulator, tmp_path: Path) -> None:
    code = code_folder(tmp_path, f"print({uuid.uuid4().hex!r})\n")
    env = "azureml:any-env:1"  # the SDK builds the id locally; the emulator does not look it up

    first = ml_client.components.create_or_update(command_component(unique("a_"), code, env))
    uploads_after_first = len(writes(emu, "/startPendingUpload"))
    second = ml_client.components.create_or_update(command_component(unique("b_"), code, env))

    assert uploads_after_first == 1
    assert len(writes(emu, "/startPendingUpload")) == 1  # the second found the code by hash
    assert first.code == second.code
    code_id = str(first.code).removeprefix("azureml:")
    code_body = emu.ctx.store.get("arm.code", "/".join(code_id.split("/")[-3::2]).lower())
    assert code_body is not None
    uri = code_body["properties"]["codeUri"]
    assert uri.startswith(f"{emu.base_url}/{emu.ctx.config.storage_account}/")
    account, container, *rest = uri[len(emu.base_url) + 1 :].split("/")
    blob = emu.ctx.store.get_blob(account, container, "/".join([*rest, "main.py"]))
    assert blob is not None and blob[0] == (code / "main.py").read_bytes()


def test_environments_image_and_conda_versions(ml_client: MLClient) -> None:
    name = unique("env")
    conda = {"name": "x", "dependencies": ["python=3.11", {"pip": ["pandas"]}]}

    image = ml_client.environments.create_or_update(
        Environment(name=name, version="1", image="mcr.microsoft.com/azureml/base:latest")
    )
    with_conda = ml_client.environments.create_or_update(
        Environment(name=name, version="2", image="python:3.11", conda_file=conda)
    )
    auto = ml_client.environments.create_or_update(
        Environment(name=name, image="python:3.12", description="auto")
    )

    assert image.version == "1" and with_conda.version == "2"
    assert auto.version == "3"  # latest (2) cannot change its image: 409, then nextVersion
    assert ml_client.environments.get(name, version="2").conda_file == conda
    assert ml_client.environments.get(name, label="latest").version == "3"
    assert {e.version for e in ml_client.environments.list(name=name)} == {"1", "2", "3"}
    assert name in {e.name for e in ml_client.environments.list()}
    with pytest.raises(ResourceExistsError, match="cannot be changed"):
        ml_client.environments.create_or_update(
            Environment(name=name, version="1", image="python:3.10")
        )


def test_components_versions_and_updates(
    ml_client: MLClient, emu: Emulator, tmp_path: Path
) -> None:
    name = unique("prep_")
    code = code_folder(tmp_path, "print('prep')\n")

    ml_client.components.create_or_update(command_component(name, code, "azureml:e:1", "1"))
    ml_client.components.create_or_update(command_component(name, code, "azureml:e:1", "1"))
    ml_client.components.create_or_update(command_component(name, code, "azureml:e:1", "2"))

    statuses = [s for m, s in writes(emu, f"/components/{name}/versions/") if m == "PUT"]
    assert statuses == [201, 200, 201]
    assert sorted(c.version for c in ml_client.components.list(name=name)) == ["1", "2"]
    assert name in {c.name for c in ml_client.components.list()}
    assert ml_client.components.get(name, label="latest").version == "2"
    got = ml_client.components.get(name, version="1")
    assert got.type == "command" and "python main.py" in got.command
    with pytest.raises(ResourceNotFoundError):
        ml_client.components.get(name, version="9")


def test_parallel_component(ml_client: MLClient, tmp_path: Path) -> None:
    name = unique("score_")
    component = ParallelComponent(
        name=name,
        version="1",
        inputs={"data": Input(type="uri_folder")},
        outputs={"scores": Output(type="uri_folder")},
        input_data="${{inputs.data}}",
        mini_batch_size="2",
        error_threshold=1,
        task={
            "type": "run_function",
            "code": str(code_folder(tmp_path, "def init():\n    pass\n")),
            "entry_script": "main.py",
            "environment": "azureml:e:1",
            "append_row_to": "${{outputs.scores}}",
        },
    )

    registered = ml_client.components.create_or_update(component)

    assert registered.type == "parallel"
    assert ml_client.components.get(name, "1").mini_batch_size == 2


def test_pipeline_component_with_anonymous_children(
    ml_client: MLClient, emu: Emulator, tmp_path: Path
) -> None:
    name, version = register_pipeline(ml_client, tmp_path)

    pipeline = ml_client.components.get(name, version)

    assert pipeline.type == "pipeline"
    assert sorted(pipeline.jobs) == ["first", "second"]
    spec = emu.ctx.store.get("arm.component", f"{name}/{version}".lower())
    assert spec is not None
    jobs = spec["properties"]["componentSpec"]["jobs"]
    assert all("/components/" in job["componentId"] for job in jobs.values())


def test_pipeline_component_with_unknown_step_is_400(emu: Emulator, http: requests.Session) -> None:
    ws = emu.ctx.config.arm_id
    missing = f"{ws}/components/nope_{uuid.uuid4().hex[:6]}/versions/1"
    body = {
        "properties": {
            "componentSpec": {
                "type": "pipeline",
                "name": "broken",
                "jobs": {"p": {"type": "command", "componentId": missing}},
            }
        }
    }

    response = http.put(
        f"{emu.base_url}{ws}/components/{unique('broken_')}/versions/1",
        json=body,
        headers=AUTH,
        params={"api-version": "2024-01-01-preview"},
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "UserError" and "does not exist" in error["message"]


# -- batch endpoints and deployments -------------------------------------------------------------


def test_batch_endpoint_lifecycle(ml_client: MLClient, emu: Emulator) -> None:
    name = unique("ep-")

    created = create_endpoint(ml_client, name)
    got = ml_client.batch_endpoints.get(name)
    listed = {e.name for e in ml_client.batch_endpoints.list()}
    ml_client.batch_endpoints.begin_delete(name).result()

    assert created.provisioning_state == "Succeeded"
    assert got.scoring_uri == f"{emu.base_url}/batchEndpoints/{name}/jobs"
    assert name in listed
    assert writes(emu, f"/batchEndpoints/{name}") == [("PUT", 201), ("DELETE", 202)]
    polls = [e for e in emu.request_log() if "/mfeOperationsStatus/" in e["path"]]
    assert len(polls) == 2 and all(e["status"] == 200 for e in polls)
    with pytest.raises(ResourceNotFoundError):
        ml_client.batch_endpoints.get(name)


def test_batch_endpoint_write_answers_async_headers(emu: Emulator, http: requests.Session) -> None:
    url = f"{emu.base_url}{emu.ctx.config.arm_id}/batchEndpoints/{unique('ep-')}"
    params = {"api-version": "2023-10-01"}

    put = http.put(url, json={"location": "westeurope", "properties": {}}, headers=AUTH,
                   params=params)  # fmt: skip
    status = http.get(put.headers["Azure-AsyncOperation"], headers=AUTH)
    result = http.get(put.headers["Location"], headers=AUTH)

    assert put.status_code == 201
    assert put.json()["properties"]["provisioningState"] == "Creating"
    assert put.headers["Retry-After"] == "0"
    assert "/mfeOperationsStatus/" in put.headers["Azure-AsyncOperation"]
    assert status.json()["status"] == "Succeeded"
    assert result.status_code == 200 and result.json()["properties"]["provisioningState"] == (
        "Succeeded"
    )


@pytest.mark.parametrize("name", ["ab", "a" * 33, "1abc", "ab_c", "abc-"])
def test_invalid_endpoint_names_are_refused(
    emu: Emulator, http: requests.Session, name: str
) -> None:
    url = f"{emu.base_url}{emu.ctx.config.arm_id}/batchEndpoints/{name}"

    response = http.put(url, json={"properties": {}}, headers=AUTH)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UserError"


def test_malformed_body_is_400_and_the_next_request_is_served(
    emu: Emulator, http: requests.Session
) -> None:
    url = f"{emu.base_url}{emu.ctx.config.arm_id}/batchEndpoints/{unique('ep-')}"

    garbled = http.put(url, data=b'{"properties": ', headers={**AUTH, "Content-Type": "x"})
    wrong_type = http.put(url, json=["not", "an", "object"], headers=AUTH)
    after = http.get(f"{emu.base_url}{emu.ctx.config.arm_id}/batchEndpoints", headers=AUTH)

    assert garbled.status_code == 400
    assert garbled.json()["error"]["code"] == "InvalidRequestContent"
    assert wrong_type.status_code == 400
    assert after.status_code == 200


def test_pipeline_deployment_and_default(ml_client: MLClient, tmp_path: Path) -> None:
    component = register_pipeline(ml_client, tmp_path)
    endpoint = create_endpoint(ml_client).name

    created = ml_client.batch_deployments.begin_create_or_update(
        deployment(ml_client, endpoint, component)
    ).result()
    current = ml_client.batch_endpoints.get(endpoint)
    current.defaults.deployment_name = "blue"
    updated = ml_client.batch_endpoints.begin_create_or_update(current).result()
    got = ml_client.batch_deployments.get("blue", endpoint)
    listed = [d.name for d in ml_client.batch_deployments.list(endpoint)]
    ml_client.batch_deployments.begin_delete("blue", endpoint).result()

    assert created.name == "blue"
    assert updated.defaults.deployment_name == "blue"
    assert got.name == "blue"
    assert listed == ["blue"]
    assert list(ml_client.batch_deployments.list(endpoint)) == []


def test_deployment_needs_its_endpoint_and_component(ml_client: MLClient, tmp_path: Path) -> None:
    component = register_pipeline(ml_client, tmp_path)
    endpoint = create_endpoint(ml_client).name
    missing = (component[0], "99")

    with pytest.raises(ResourceNotFoundError):
        ml_client.batch_deployments.begin_create_or_update(
            deployment(ml_client, unique("ep-"), component)
        ).result()
    body = _deployment_body(ml_client, missing)
    with pytest.raises(HttpResponseError, match="does not exist") as caught:
        ml_client.batch_deployments._batch_deployment.begin_create_or_update(
            resource_group_name=ml_client.resource_group_name,
            workspace_name=ml_client.workspace_name,
            endpoint_name=endpoint,
            deployment_name="blue",
            body=body,
        ).result()
    assert caught.value.status_code == 400


def test_mltable_input_cannot_be_deployed(ml_client: MLClient, tmp_path: Path) -> None:
    component = register_pipeline(ml_client, tmp_path, input_type="mltable")
    endpoint = create_endpoint(ml_client).name

    with pytest.raises(HttpResponseError, match="mltable") as caught:
        ml_client.batch_deployments.begin_create_or_update(
            deployment(ml_client, endpoint, component)
        ).result()

    assert caught.value.status_code == 400
    assert caught.value.error is not None and caught.value.error.code == "UserError"


def _deployment_body(ml: MLClient, component: tuple[str, str]) -> Any:
    """The REST body the SDK would send for a deployment of ``component`` (any version)."""
    ws = f"/subscriptions/{ml.subscription_id}/resourceGroups/{ml.resource_group_name}"
    ws += f"/providers/Microsoft.MachineLearningServices/workspaces/{ml.workspace_name}"
    return {
        "location": "westeurope",
        "properties": {
            "deploymentConfiguration": {
                "deploymentConfigurationType": "PipelineComponent",
                "componentId": {
                    "referenceType": "Id",
                    "assetId": f"{ws}/components/{component[0]}/versions/{component[1]}",
                },
                "settings": {},
            }
        },
    }


def test_lro_failure_fault_fails_the_operation(ml_client: MLClient, emu: Emulator) -> None:
    name = unique("ep-")
    emu.set_fault_settings(lro_failure_rate=1.0, scope_path=f"/batchEndpoints/{name}$")
    try:
        with pytest.raises(HttpResponseError) as caught:
            create_endpoint(ml_client, name)
    finally:
        emu.set_fault_settings()

    assert caught.value.error is not None and caught.value.error.code
    assert ml_client.batch_endpoints.get(name).provisioning_state == "Failed"
    assert create_endpoint(ml_client).provisioning_state == "Succeeded"  # others unaffected
