"""Rules of the v2 ARM backends without HTTP: names, versions and containers, code dedupe by
hash, environment immutability, component references, deployments, long-running operations."""

from __future__ import annotations

from typing import Any

import pytest

from migrate_kit.emulator.arm import names
from migrate_kit.emulator.arm.assets import AssetBackend
from migrate_kit.emulator.arm.endpoints import DEPLOYMENT_KIND, ENDPOINT_KIND, EndpointBackend
from migrate_kit.emulator.arm.errors import BadArgument, Conflict, InvalidRequestContent, NotFound
from migrate_kit.emulator.arm.lro import OPERATION_KIND, Operations
from migrate_kit.emulator.config import Context


class FailingLros:
    """A fault set whose long-running operations on paths containing ``marker`` fail."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def lro_failure(self, resource_path: str) -> tuple[str, str] | None:
        if self.marker in resource_path:
            return "QuotaExceeded", "Not enough quota for the deployment."
        return None


@pytest.fixture
def backends(ctx: Context) -> tuple[AssetBackend, EndpointBackend]:
    assets = AssetBackend(ctx)
    return assets, EndpointBackend(ctx, assets, Operations(ctx))


def component_id(ctx: Context, name: str, version: str) -> str:
    return f"{ctx.config.arm_id}/components/{name}/versions/{version}"


def command_spec(**extra: Any) -> dict[str, Any]:
    return {"properties": {"componentSpec": {"type": "command", "command": "echo", **extra}}}


def pipeline_spec(ctx: Context, child: str, input_type: str = "uri_folder") -> dict[str, Any]:
    spec = {
        "type": "pipeline",
        "inputs": {"raw": {"type": input_type}, "ratio": {"type": "number"}},
        "jobs": {"p": {"type": "command", "componentId": component_id(ctx, child, "1")}},
    }
    return {"properties": {"componentSpec": spec}}


def deployment_body(ctx: Context, name: str, version: str = "1") -> dict[str, Any]:
    reference = {"referenceType": "Id", "assetId": "azureml:" + component_id(ctx, name, version)}
    config = {
        "deploymentConfigurationType": "PipelineComponent",
        "componentId": reference,
        "settings": {"default_compute": "cpu-cluster"},
    }
    return {"properties": {"deploymentConfiguration": config}}


# -- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["abc", "a-1", "Ab9", "a" * 32])
def test_valid_endpoint_names(name: str) -> None:
    names.check_endpoint_name(name)


@pytest.mark.parametrize("name", ["ab", "a" * 33, "9ab", "ab-", "a_b", "a.b", "-ab"])
def test_invalid_endpoint_names(name: str) -> None:
    with pytest.raises(BadArgument, match=name[:3]):
        names.check_endpoint_name(name)


def test_component_and_asset_names() -> None:
    names.check_component_name("prep_data_2")
    names.check_asset_name("code", "Code.v-1_x")
    for bad in ("Prep", "prep-data", "_prep", ""):
        with pytest.raises(BadArgument):
            names.check_component_name(bad)
    with pytest.raises(BadArgument):
        names.check_asset_name("environment", "-env")
    with pytest.raises(BadArgument):
        names.check_version("code", "x", "1/2")


# -- versioned assets ------------------------------------------------------------------------------


def test_versions_created_then_updated_and_container(backends: Any) -> None:
    assets, _ = backends

    _, first = assets.components.put_version("prep", "1", command_spec())
    body, again = assets.components.put_version("prep", "1", command_spec(command="ls"))
    assets.components.put_version("prep", "2", command_spec())
    container = assets.components.get_container("prep")

    assert (first, again) == (True, False)
    assert body["name"] == "1" and body["id"].endswith("/components/prep/versions/1")
    assert body["properties"]["componentSpec"]["command"] == "ls"
    assert container["properties"]["latestVersion"] == "2"
    assert container["properties"]["nextVersion"] == "3"
    newest = assets.components.list_versions("prep", {"$orderBy": "createdtime desc", "$top": "1"})
    assert [v["name"] for v in newest["value"]] == ["2"]


def test_anonymous_components_stay_out_of_container_lists(backends: Any) -> None:
    assets, _ = backends
    anonymous = command_spec()
    anonymous["properties"]["isAnonymous"] = True

    assets.components.put_version("azureml_anonymous", "0f0e", anonymous)
    assets.components.put_version("named", "1", command_spec())

    listed = assets.components.list_containers({})["value"]
    assert [c["name"] for c in listed] == ["named"]


def test_code_versions_found_by_hash_whatever_their_name(backends: Any) -> None:
    assets, _ = backends
    hashes = {"hash_sha256": "abc", "hash_version": "202208"}
    props = {"codeUri": "https://x/a/b/src", "properties": hashes}
    assets.codes.put_version("first-name", "1", {"properties": props})

    hit = assets.code_versions_by_hash("another", {"hash": "abc", "hashVersion": "202208"})
    miss = assets.code_versions_by_hash("first-name", {"hash": "abd"})

    assert hit is not None and [b["id"].split("/")[-3] for b in hit["value"]] == ["first-name"]
    assert miss == {"value": []}
    assert assets.code_versions_by_hash("x", {}) is None


def test_pending_uploads_get_containers_of_their_own(backends: Any, ctx: Context) -> None:
    assets, _ = backends

    one = assets.start_pending_upload("c1", "1", {"pendingUploadType": "TemporaryBlobReference"})
    two = assets.start_pending_upload("c1", "1", None)

    refs = [r["blobReferenceForConsumption"] for r in (one, two)]
    assert refs[0]["blobUri"] != refs[1]["blobUri"]
    for ref in refs:
        assert ref["blobUri"].startswith(f"{ctx.base_url}/{ctx.config.storage_account}/")
        assert ref["credential"]["sasUri"].startswith(ref["blobUri"] + "?")
        assert "sig=" in ref["credential"]["sasUri"]


def test_environment_versions_are_immutable_except_description(backends: Any) -> None:
    assets, _ = backends
    assets.environments.put_version("env", "1", {"properties": {"image": "python:3.11"}})

    _, created = assets.environments.put_version(
        "env", "1", {"properties": {"image": "python:3.11", "description": "new"}}
    )

    assert created is False
    with pytest.raises(Conflict, match="cannot be changed"):
        assets.environments.put_version("env", "1", {"properties": {"image": "python:3.12"}})
    with pytest.raises(BadArgument, match="image or a build"):
        assets.environments.put_version("env", "2", {"properties": {}})


def test_pipeline_component_references_must_exist(backends: Any, ctx: Context) -> None:
    assets, _ = backends

    with pytest.raises(BadArgument, match="does not exist"):
        assets.components.put_version("pipe", "1", pipeline_spec(ctx, "child"))
    assets.components.put_version("child", "1", command_spec())
    assets.components.put_version("pipe", "1", pipeline_spec(ctx, "child"))
    with pytest.raises(BadArgument, match="code"):
        code = f"azureml:{ctx.config.arm_id}/codes/nope/versions/1"
        assets.components.put_version("other", "1", command_spec(code=code))


@pytest.mark.parametrize("body", [None, [], {"properties": "x"}])
def test_malformed_bodies_are_refused(backends: Any, body: Any) -> None:
    assets, endpoints = backends

    with pytest.raises(InvalidRequestContent):
        assets.components.put_version("c", "1", body)
    with pytest.raises(InvalidRequestContent):
        endpoints.put_deployment("ep1", "blue", body, "")


# -- endpoints, deployments and operations ---------------------------------------------------------


def test_endpoint_operation_settles_on_first_poll(backends: Any, ctx: Context) -> None:
    _, endpoints = backends

    status, body, headers = endpoints.put_endpoint("ep1", {"properties": {}}, "2023-10-01")
    op_id = headers["Azure-AsyncOperation"].split("/")[-1].split("?")[0]
    stored = ctx.store.get(ENDPOINT_KIND, "ep1")

    assert status == 201 and body is not None
    assert stored is not None and stored["properties"]["provisioningState"] == "Creating"
    assert headers["Retry-After"] == "0"
    assert headers["Location"].endswith(f"/mfeOperationResults/{op_id}?api-version=2023-10-01")
    assert endpoints.operations.status(op_id)["status"] == "Succeeded"
    assert endpoints.get_endpoint("ep1")["properties"]["provisioningState"] == "Succeeded"
    assert endpoints.put_endpoint("ep1", {"properties": {}}, "")[0] == 200


def test_reads_settle_operations_too(backends: Any, ctx: Context) -> None:
    _, endpoints = backends
    endpoints.put_endpoint("ep1", {"properties": {}}, "")

    endpoints.delete_endpoint("ep1", "")

    with pytest.raises(NotFound):
        endpoints.get_endpoint("ep1")
    assert all(op["status"] == "Succeeded" for op in ctx.store.list(OPERATION_KIND))
    assert endpoints.delete_endpoint("ep1", "")[0] == 204


def test_lro_failure_from_faults(backends: Any, ctx: Context) -> None:
    _, endpoints = backends
    ctx.faults = FailingLros("/batchEndpoints/doomed")  # type: ignore[assignment]

    _, _, headers = endpoints.put_endpoint("doomed", {"properties": {}}, "")
    op_id = headers["Azure-AsyncOperation"].split("/")[-1].split("?")[0]
    status = endpoints.operations.status(op_id)

    assert status["status"] == "Failed"
    assert status["error"] == {
        "code": "QuotaExceeded",
        "message": "Not enough quota for the deployment.",
    }
    assert endpoints.get_endpoint("doomed")["properties"]["provisioningState"] == "Failed"
    endpoints.put_endpoint("fine", {"properties": {}}, "")
    assert endpoints.get_endpoint("fine")["properties"]["provisioningState"] == "Succeeded"


def test_deployment_rules(backends: Any, ctx: Context) -> None:
    assets, endpoints = backends
    assets.components.put_version("child", "1", command_spec())
    assets.components.put_version("pipe", "1", pipeline_spec(ctx, "child"))
    assets.components.put_version("tabular", "1", pipeline_spec(ctx, "child", "mltable"))

    with pytest.raises(NotFound):
        endpoints.put_deployment("ep1", "blue", deployment_body(ctx, "pipe"), "")
    endpoints.put_endpoint("ep1", {"properties": {}}, "")
    with pytest.raises(BadArgument, match="does not exist"):
        endpoints.put_deployment("ep1", "blue", deployment_body(ctx, "pipe", "2"), "")
    with pytest.raises(BadArgument, match="mltable"):
        endpoints.put_deployment("ep1", "blue", deployment_body(ctx, "tabular"), "")
    with pytest.raises(BadArgument, match="pipeline component"):
        endpoints.put_deployment("ep1", "blue", deployment_body(ctx, "child"), "")
    with pytest.raises(BadArgument, match="model deployments"):
        endpoints.put_deployment("ep1", "blue", {"properties": {"model": {}}}, "")
    with pytest.raises(BadArgument):
        endpoints.put_deployment("ep1", "b_1", deployment_body(ctx, "pipe"), "")

    status, _, _ = endpoints.put_deployment("ep1", "blue", deployment_body(ctx, "pipe"), "")
    assert status == 201
    assert [d["name"] for d in endpoints.list_deployments("ep1", {})["value"]] == ["blue"]


def test_default_deployment_must_exist_and_endpoint_delete_cascades(
    backends: Any, ctx: Context
) -> None:
    assets, endpoints = backends
    assets.components.put_version("child", "1", command_spec())
    assets.components.put_version("pipe", "1", pipeline_spec(ctx, "child"))
    endpoints.put_endpoint("ep1", {"properties": {}}, "")
    with_default = {"properties": {"defaults": {"deploymentName": "blue"}}}

    with pytest.raises(BadArgument, match="blue"):
        endpoints.put_endpoint("ep1", with_default, "")
    endpoints.put_deployment("ep1", "blue", deployment_body(ctx, "pipe"), "")
    endpoints.put_endpoint("ep1", with_default, "")
    endpoints.delete_endpoint("ep1", "")
    endpoints.list_endpoints({})

    assert endpoints.list_endpoints({})["value"] == []
    assert ctx.store.count(DEPLOYMENT_KIND) == 0
