"""The ARM family: cloud metadata, managed-identity tokens, subscriptions, the workspace (also
through the unmodified ``MLClient``), discovery, the v1 default datastore and compute list."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from migrate_kit.emulator import Emulator

AUTH = {"Authorization": "Bearer test-token"}


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    def part(text: str) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        )
        return decoded

    header, claims, signature = token.split(".")
    return part(header), part(claims), signature


# -- cloud metadata and identity -----------------------------------------------------------------


def test_cloud_metadata_names_the_emulator(emu: Emulator, http: requests.Session) -> None:
    clouds = http.get(f"{emu.base_url}/metadata/endpoints?api-version=2019-05-01").json()

    assert [c["name"] for c in clouds] == ["MigrateKitEmulator", "AzureCloud"]
    for cloud in clouds:
        assert cloud["resourceManager"] == emu.base_url + "/"
        assert cloud["authentication"]["loginEndpoint"] == emu.base_url + "/"
    port = emu.base_url.rsplit(":", 1)[-1]
    # azure-ai-ml's storage suffix sends blob requests to 127.0.0.1 path style (user info trick);
    # the v1 SDK's keeps host style on *.blob.localhost.
    account = emu.ctx.config.storage_account
    assert clouds[0]["suffixes"]["storage"] == f"emu@127.0.0.1:{port}/{account}"
    assert clouds[1]["suffixes"]["storage"] == f"localhost:{port}"
    assert emu.connection["env"]["ARM_CLOUD_METADATA_URL"].startswith(clouds[0]["resourceManager"])


def test_msi_token_is_an_unsigned_jwt(emu: Emulator, http: requests.Session) -> None:
    env = emu.connection["env"]
    resource = "https://management.azure.com"

    response = http.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
    )

    body = response.json()
    header, claims, signature = decode_jwt(body["access_token"])
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["resource"] == resource
    assert int(body["expires_on"]) > time.time() + 3000
    assert header["alg"] == "none"
    assert signature == ""
    assert claims["tid"] == emu.ctx.config.tenant_id
    assert claims["aud"] == resource
    assert claims["oid"]
    assert claims["exp"] == int(body["expires_on"])


@pytest.mark.parametrize("headers", [{}, {"X-IDENTITY-HEADER": "wrong"}])
def test_msi_token_checks_the_identity_header(
    emu: Emulator, http: requests.Session, headers: dict[str, str]
) -> None:
    url = emu.connection["env"]["IDENTITY_ENDPOINT"]

    response = http.get(url, params={"api-version": "2019-08-01", "resource": "r"}, headers=headers)

    assert response.status_code == 401
    assert "IDENTITY_HEADER" in response.json()["error"]["message"]


def test_msi_token_old_protocols(emu: Emulator, http: requests.Session) -> None:
    env = emu.connection["env"]
    old = http.get(
        env["MSI_ENDPOINT"] + "/",
        params={"api-version": "2017-09-01", "resource": "https://management.core.windows.net/"},
        headers={"secret": env["MSI_SECRET"]},
    )
    legacy = http.post(
        env["MSI_ENDPOINT"], data={"resource": "https://x/"}, headers={"Metadata": "true"}
    )
    refused = http.post(env["MSI_ENDPOINT"], data={"resource": "https://x/"})

    assert old.status_code == 200
    assert (
        decode_jwt(old.json()["access_token"])[1]["aud"] == "https://management.core.windows.net/"
    )
    assert legacy.status_code == 200
    assert legacy.json()["resource"] == "https://x/"
    assert refused.status_code == 401


def test_subscription_list(emu: Emulator, http: requests.Session) -> None:
    response = http.get(f"{emu.base_url}/subscriptions?api-version=2022-12-01", headers=AUTH)

    [subscription] = response.json()["value"]
    assert subscription["subscriptionId"] == emu.ctx.config.subscription_id
    assert subscription["tenantId"] == emu.ctx.config.tenant_id
    assert subscription["state"] == "Enabled"


# -- workspace -----------------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", ["2022-05-01", "2024-10-01-preview", "1999-01-01"])
def test_workspace_get_ignores_api_version(
    emu: Emulator, http: requests.Session, api_version: str
) -> None:
    cfg = emu.ctx.config
    url = f"{emu.base_url}/{cfg.scope}?api-version={api_version}"

    body = http.get(url, headers=AUTH).json()

    assert body["id"] == cfg.arm_id
    assert body["name"] == cfg.workspace_name
    assert body["type"] == "Microsoft.MachineLearningServices/workspaces"
    assert body["location"] == cfg.region
    assert body["properties"]["discoveryUrl"] == f"{emu.base_url}/discovery"
    assert body["properties"]["workspaceId"] == cfg.workspace_id


@pytest.mark.parametrize(
    ("part", "code"),
    [
        ("subscription_id", "SubscriptionNotFound"),
        ("resource_group", "ResourceGroupNotFound"),
        ("workspace_name", "ResourceNotFound"),
    ],
)
def test_workspace_get_of_another_workspace_is_arm_404(
    emu: Emulator, http: requests.Session, part: str, code: str
) -> None:
    cfg = emu.ctx.config
    ids = {"subscription_id": cfg.subscription_id, "resource_group": cfg.resource_group,
           "workspace_name": cfg.workspace_name, part: "00000000-other"}  # fmt: skip
    url = (
        f"{emu.base_url}/subscriptions/{ids['subscription_id']}/resourceGroups/"
        f"{ids['resource_group']}/providers/Microsoft.MachineLearningServices/workspaces/"
        f"{ids['workspace_name']}?api-version=2024-10-01-preview"
    )

    response = http.get(url, headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == code
    assert "00000000-other" in response.json()["error"]["message"]


def test_mlclient_in_a_clean_process(emu: Emulator, clean_env: dict[str, str]) -> None:
    """The unmodified MLClient with DefaultAzureCredential, configured only by the env map."""
    cfg = emu.ctx.config
    script = (
        "import os\n"
        "from azure.identity import DefaultAzureCredential\n"
        "from azure.ai.ml import MLClient\n"
        f"ml = MLClient(DefaultAzureCredential(), {cfg.subscription_id!r}, "
        f"{cfg.resource_group!r}, {cfg.workspace_name!r})\n"
        f"ws = ml.workspaces.get({cfg.workspace_name!r})\n"
        "print(ws.id, ws.location, ws.discovery_url, os.environ['AZUREML_CURRENT_CLOUD'])\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", script], env=clean_env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [
        cfg.arm_id, cfg.region, f"{emu.base_url}/discovery", "MigrateKitEmulator"
    ]  # fmt: skip
    paths = [(e["method"], e["path"]) for e in emu.request_log()]
    assert ("GET", "/msi/token") in paths
    assert ("GET", cfg.arm_id) in paths


def test_mlclient_in_process_with_the_env_map(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.ai.ml import MLClient
    from azure.core.exceptions import ResourceNotFoundError
    from azure.identity import DefaultAzureCredential

    for name in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in emu.connection["env"].items():
        monkeypatch.setenv(name, value)
    cfg = emu.ctx.config

    ml = MLClient(DefaultAzureCredential(), cfg.subscription_id, cfg.resource_group,
                  cfg.workspace_name, enable_telemetry=False)  # fmt: skip
    ws = ml.workspaces.get(cfg.workspace_name)
    with pytest.raises(ResourceNotFoundError, match="ResourceNotFound"):
        ml.workspaces.get("no-such-workspace")

    assert ws.name == cfg.workspace_name
    assert ws.location == cfg.region


# -- discovery and v1 helpers --------------------------------------------------------------------


def test_discovery_has_every_key_the_v1_sdk_needs(emu: Emulator, http: requests.Session) -> None:
    document = http.get(f"{emu.base_url}/discovery").json()

    required = {"api", "history", "modelmanagement", "experimentation", "hyperdrive", "studio"}
    assert required | {"pipelines", "catalog"} <= set(document)
    assert document["api"] == emu.base_url
    assert document["history"] == emu.base_url


def test_default_datastore_dto(emu: Emulator, http: requests.Session) -> None:
    cfg = emu.ctx.config

    body = http.get(f"{emu.base_url}/datastore/v1.0/{cfg.scope}/default", headers=AUTH).json()

    section = body["azureStorageSection"]
    assert body["name"] == "workspaceblobstore"
    assert body["dataStoreType"] == "AzureBlob"
    assert section["accountName"] == "stdemo"
    assert section["containerName"] == cfg.datastore_container
    assert section["protocol"] == "https"
    assert section["credentialType"] == "None"


def test_datastore_by_name(emu: Emulator, http: requests.Session) -> None:
    base = f"{emu.base_url}/datastore/v1.0/{emu.ctx.config.scope}/datastores"

    found = http.get(f"{base}/workspaceblobstore", headers=AUTH)
    missing = http.get(f"{base}/retail_lake", headers=AUTH)

    assert found.status_code == 200 and found.json()["name"] == "workspaceblobstore"
    assert missing.status_code == 404
    assert "retail_lake" in missing.json()["error"]["message"]


def test_compute_list(emu: Emulator, http: requests.Session) -> None:
    cfg = emu.ctx.config
    url = f"{emu.base_url}/rp/workspaces/{cfg.scope}/computes?api-version=2020-02-02"

    [compute] = http.get(url, headers=AUTH).json()["value"]

    assert compute["name"] == "cpu-cluster"
    assert compute["id"] == f"{cfg.arm_id}/computes/cpu-cluster"
    assert compute["properties"]["computeType"] == "AmlCompute"
    assert compute["properties"]["properties"]["scaleSettings"]["maxNodeCount"] == 4


def test_v1_helpers_check_the_workspace(emu: Emulator, http: requests.Session) -> None:
    scope = emu.ctx.config.scope.replace(emu.ctx.config.workspace_name, "other-ws")

    response = http.get(f"{emu.base_url}/datastore/v1.0/{scope}/default", headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ResourceNotFound"


# -- the unmodified v1 SDK -----------------------------------------------------------------------

V1_SCRIPT = """
import sys
from azureml.core import Workspace
from azureml.core.authentication import MsiAuthentication
from azureml.pipeline.core import PublishedPipeline
sub, rg, name = sys.argv[1:4]
ws = Workspace(sub, rg, name, auth=MsiAuthentication())
print(ws.name, ws.location, len(PublishedPipeline.list(ws)) >= 0)
"""


@pytest.mark.v1peer
def test_v1_sdk_builtin_msi_auth_with_only_the_env_map(
    emu: Emulator, clean_env: dict[str, str]
) -> None:
    """The v1 SDK needs no auth object of ours: ``MsiAuthentication()`` + the env map suffice."""
    if os.environ.get("MIGRATE_KIT_SKIP_V1_PEER") == "1":
        pytest.skip("v1 peer tests skipped because MIGRATE_KIT_SKIP_V1_PEER=1")
    spec = importlib.util.spec_from_file_location(
        "v1peer_harness", Path(__file__).parents[1] / "v1peer" / "harness.py"
    )
    assert spec is not None and spec.loader is not None
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    cfg = emu.ctx.config

    done = subprocess.run(
        [str(harness.v1_python()), "-c", V1_SCRIPT,
         cfg.subscription_id, cfg.resource_group, cfg.workspace_name],
        env=clean_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-3:] == [cfg.workspace_name, cfg.region, "True"]
    hosts = {e["host"].split(":")[0] for e in emu.request_log()}
    assert hosts == {"127.0.0.1"}
    paths = [(e["method"], e["path"]) for e in emu.request_log()]
    assert ("POST", "/msi/token") in paths
    assert ("GET", "/subscriptions") in paths
