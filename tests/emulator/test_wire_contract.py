"""The wire contract of azure-ai-ml the kit depends on: per MLClient operation, the method,
path template and api-version of every request it sends (from the emulator's request log).

An azure-ai-ml upgrade that changes any of them fails here, loudly, before it breaks a migration
in front of a user. Templates: ``{ws}`` is the workspace's ARM path, ``{loc}`` the region's
operation path, ``{blob}`` a path-style blob URL; the other ``{...}`` are names and ids.
"""

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml import Input, MLClient, Output, dsl
from azure.ai.ml.entities import (
    BatchEndpoint,
    CommandComponent,
    Data,
    Environment,
    PipelineComponentBatchDeployment,
)

from migrate_kit.emulator import Emulator

Call = tuple[str, str, str]  # method, path template, api-version

WS = "{ws}"
EXPECTED: dict[str, list[Call]] = {
    "workspaces.get": [("GET", WS, "2024-10-01-preview")],
    "datastores.get": [("GET", WS + "/datastores/{datastore}", "2024-10-01-preview")],
    "datastores.get_default": [("GET", WS + "/datastores", "2024-10-01-preview")],
    "datastores.list": [("GET", WS + "/datastores", "2024-10-01-preview")],
    "environments.create_or_update": [
        ("PUT", WS + "/environments/{env}/versions/1", "2023-04-01-preview"),
    ],
    "components.create_or_update(command, code upload)": [
        ("GET", WS + "/codes/{uuid}/versions", "2023-04-01"),
        ("POST", WS + "/codes/{uuid}/versions/1/startPendingUpload", "2023-04-01"),
        ("HEAD", "{blob}", ""),
        ("PUT", "{blob}", ""),
        ("PUT", "{blob}", ""),
        ("PUT", WS + "/codes/{uuid}/versions/1", "2023-04-01"),
        ("PUT", WS + "/components/{step}/versions/1", "2024-01-01-preview"),
    ],
    "components.create_or_update(pipeline)": [
        ("GET", WS, "2024-10-01-preview"),
        ("PUT", WS + "/components/{pipe}/versions/1", "2024-01-01-preview"),
    ],
    "components.get(label=latest)": [
        ("GET", WS + "/components/{pipe}/versions", "2024-01-01-preview"),
    ],
    "components.list(name)": [("GET", WS + "/components/{pipe}/versions", "2024-01-01-preview")],
    "data.create_or_update(local folder)": [
        ("GET", WS + "/datastores/{datastore}", "2024-10-01-preview"),
        ("POST", WS + "/datastores/{datastore}/listSecrets", "2024-10-01-preview"),
        ("HEAD", "{blob}", ""),
        ("PUT", "{blob}", ""),
        ("PUT", "{blob}", ""),
        ("PUT", WS + "/data/{data}/versions/1", "2023-04-01-preview"),
    ],
    "batch_endpoints.begin_create_or_update": [
        ("GET", WS, "2024-10-01-preview"),
        ("PUT", WS + "/batchEndpoints/{ep}", "2023-10-01"),
        ("GET", "{loc}/mfeOperationsStatus/{op}", "2023-10-01"),
        ("GET", WS + "/batchEndpoints/{ep}", "2023-10-01"),
    ],
    "batch_deployments.begin_create_or_update": [
        ("GET", WS + "/batchEndpoints/{ep}", "2024-01-01-preview"),
        ("GET", WS + "/components/{pipe}/versions/1", "2024-01-01-preview"),
        ("GET", WS, "2024-10-01-preview"),
        ("PUT", WS + "/batchEndpoints/{ep}/deployments/{dep}", "2023-02-01-preview"),
        ("GET", "{loc}/mfeOperationsStatus/{op}", "2023-02-01-preview"),
        ("GET", WS + "/batchEndpoints/{ep}/deployments/{dep}", "2023-02-01-preview"),
    ],
    "set default deployment": [
        ("GET", WS + "/batchEndpoints/{ep}", "2023-10-01"),
        ("GET", WS, "2024-10-01-preview"),
        ("PUT", WS + "/batchEndpoints/{ep}", "2023-10-01"),
        ("GET", "{loc}/mfeOperationsStatus/{op}", "2023-10-01"),
        ("GET", WS + "/batchEndpoints/{ep}", "2023-10-01"),
    ],
    "batch_endpoints.list": [("GET", WS + "/batchEndpoints", "2023-10-01")],
    "batch_deployments.list": [
        ("GET", WS + "/batchEndpoints/{ep}/deployments", "2024-01-01-preview"),
    ],
    "batch_deployments.begin_delete": [
        ("DELETE", WS + "/batchEndpoints/{ep}/deployments/{dep}", "2024-01-01-preview"),
        ("GET", "{loc}/mfeOperationsStatus/{op}", "2024-01-01-preview"),
    ],
    "batch_endpoints.begin_delete": [
        ("DELETE", WS + "/batchEndpoints/{ep}", "2023-10-01"),
        ("GET", "{loc}/mfeOperationsStatus/{op}", "2023-10-01"),
    ],
}


def template(entry: dict[str, Any], emu: Emulator, names: dict[str, str]) -> Call:
    """The logged request as (method, path template, api-version)."""
    cfg = emu.ctx.config
    path: str = entry["path"]
    query = dict(p.split("=", 1) for p in entry["query"].split("&") if "=" in p)
    if path.startswith(f"/{cfg.storage_account}/"):
        return entry["method"], "{blob}", ""
    path = path.replace(cfg.arm_id, "{ws}")
    loc = (
        f"/subscriptions/{cfg.subscription_id}/providers/"
        f"Microsoft.MachineLearningServices/locations/{cfg.region}"
    )
    path = path.replace(loc, "{loc}")
    path = re.sub(r"mfeOperationsStatus/[0-9a-f-]{36}", "mfeOperationsStatus/{op}", path)
    path = re.sub(r"/codes/[0-9a-f-]{36}/", "/codes/{uuid}/", path)
    for placeholder, name in names.items():
        path = re.sub(rf"/{re.escape(name)}(?=/|$)", "/{" + placeholder + "}", path)
    return entry["method"], path, query.get("api-version", "")


def test_wire_contract(ml_client: MLClient, emu: Emulator, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    names = {
        "env": f"wire-env-{suffix}",
        "step": f"wire_step_{suffix}",
        "pipe": f"wire_pipe_{suffix}",
        "data": f"wire-data-{suffix}",
        "ep": f"wire-ep-{suffix}",
        "dep": "blue",
        "datastore": "workspaceblobstore",
    }
    code = tmp_path / "code"
    code.mkdir()
    (code / "run.py").write_text(f"print({suffix!r})\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.csv").write_text("a\n1\n")
    ws_name = emu.ctx.config.workspace_name
    step = CommandComponent(
        name=names["step"], version="1", command="python run.py ${{inputs.x}} ${{outputs.y}}",
        code=str(code), environment=f"azureml:{names['env']}:1",
        inputs={"x": Input(type="uri_folder")}, outputs={"y": Output(type="uri_folder")},
    )  # fmt: skip
    state: dict[str, Any] = {}

    def pipeline() -> None:
        @dsl.pipeline(name=names["pipe"])
        def pipe(raw: Input) -> dict[str, Any]:
            return {"out": state["step"](x=raw).outputs.y}

        component = pipe._pipeline_builder.build()
        component.version = "1"
        ml_client.components.create_or_update(component)

    def set_default() -> None:
        endpoint = ml_client.batch_endpoints.get(names["ep"])
        endpoint.defaults.deployment_name = "blue"
        ml_client.batch_endpoints.begin_create_or_update(endpoint).result()

    def deploy() -> None:
        deployment = PipelineComponentBatchDeployment(
            name="blue", endpoint_name=names["ep"],
            component=state["pipe"], settings={"default_compute": "cpu-cluster"},
        )  # fmt: skip
        ml_client.batch_deployments.begin_create_or_update(deployment).result()

    operations: dict[str, Callable[[], Any]] = {
        "workspaces.get": lambda: ml_client.workspaces.get(ws_name),
        "datastores.get": lambda: ml_client.datastores.get("workspaceblobstore"),
        "datastores.get_default": lambda: ml_client.datastores.get_default(),
        "datastores.list": lambda: list(ml_client.datastores.list()),
        "environments.create_or_update": lambda: ml_client.environments.create_or_update(
            Environment(name=names["env"], version="1", image="python:3.11")
        ),
        "components.create_or_update(command, code upload)": lambda: state.update(
            step=ml_client.components.create_or_update(step)
        ),
        "components.create_or_update(pipeline)": pipeline,
        "components.get(label=latest)": lambda: state.update(
            pipe=ml_client.components.get(names["pipe"], label="latest")
        ),
        "components.list(name)": lambda: list(ml_client.components.list(name=names["pipe"])),
        "data.create_or_update(local folder)": lambda: ml_client.data.create_or_update(
            Data(name=names["data"], version="1", path=str(data), type="uri_folder")
        ),
        "batch_endpoints.begin_create_or_update": lambda: (
            ml_client.batch_endpoints.begin_create_or_update(
                BatchEndpoint(name=names["ep"])
            ).result()
        ),
        "batch_deployments.begin_create_or_update": deploy,
        "set default deployment": set_default,
        "batch_endpoints.list": lambda: list(ml_client.batch_endpoints.list()),
        "batch_deployments.list": lambda: list(ml_client.batch_deployments.list(names["ep"])),
        "batch_deployments.begin_delete": lambda: ml_client.batch_deployments.begin_delete(
            "blue", names["ep"]
        ).result(),
        "batch_endpoints.begin_delete": lambda: ml_client.batch_endpoints.begin_delete(
            names["ep"]
        ).result(),
    }
    assert list(operations) == list(EXPECTED)

    recorded: dict[str, list[Call]] = {}
    for label, operation in operations.items():
        emu.clear_request_log()
        operation()
        recorded[label] = [
            template(entry, emu, names)
            for entry in emu.request_log()
            if not entry["path"].startswith(("/metadata/", "/msi/"))
        ]

    mismatches = {k: v for k, v in recorded.items() if v != EXPECTED[k]}
    assert not mismatches, "azure-ai-ml's wire contract changed:\n" + "\n".join(
        f"{label}:\n  expected {EXPECTED[label]}\n  got      {calls}"
        for label, calls in mismatches.items()
    )


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_every_operation_has_an_api_version_or_is_a_blob(label: str) -> None:
    for method, path, api_version in EXPECTED[label]:
        assert (path == "{blob}") != bool(api_version), (label, method, path)
