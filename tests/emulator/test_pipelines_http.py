"""The v1 pipelines service over real HTTPS: an in-process emulator and plain ``requests``.

Bodies are the ones the v1 SDK sends (reference §7, §11; see ``v1_bodies.py``). The emulator is
empty (no sample) and reset before each test; the last tests read a second emulator seeded
from the repository's sample.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import v1_bodies  # tests/emulator is on sys.path (pytest's default "prepend" import mode)

from migrate_kit.emulator import DEFAULT_SAMPLE, Emulator
from migrate_kit.emulator.pipelines.backend import backend_for


class Client:
    """A requests session for one emulator, trusting its CA, with a bearer token."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would replace our CA bundle
        self.session.verify = emu.connection["ca_bundle"]
        self.session.headers["Authorization"] = "Bearer any-token"
        self.base = f"{emu.base_url}/pipelines/v1.0/{emu.ctx.config.scope}"

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json-patch+json"
        return self.session.request(method, self.base + path, timeout=30, **kwargs)

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.call(method, path, body, **kwargs)
        assert response.status_code == 200, response.text
        return response.json() if response.content else None


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state = tmp_path_factory.mktemp("pipelines-http")
    with Emulator(state_dir=Path(state), sample=None) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Client]:
    emulator.reset()
    backend_for(emulator.ctx).honour_batch_size = True
    client = Client(emulator)
    yield client
    client.session.close()


def assert_error(response: requests.Response, status: int, inner: str) -> dict[str, Any]:
    """The response is a data-plane error with this status and inner code."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] in ("UserError", "SystemError")
    assert body["error"]["innerError"]["code"] == inner
    assert body["error"]["message"]
    assert set(body["correlation"]) == {"operation", "request"}
    return body


def module_id(client: Client, name: str) -> str:
    """What the SDK does per step: reuse a completed module with the same hash, else create."""
    body = v1_bodies.module_creation(name)
    found = client.call("GET", f"/Modules/Hash/{body['IdentifierHash']}")
    if found.status_code == 200 and found.json()["Data"]["UploadState"] in ("Completed", "1"):
        return str(found.json()["Data"]["Id"])
    assert_error(found, 404, "NotFoundError")
    created = client.ok("POST", "/Modules", body)
    assert client.ok("GET", f"/Modules/{created['Id']}")["Data"]["Id"] == created["Id"]
    return str(created["Id"])


def publish(client: Client) -> dict[str, Any]:
    """The SDK's publish sequence for the two-step demo pipeline; returns the pipeline."""
    prep, train = module_id(client, "prep"), module_id(client, "train")
    return dict(client.ok("POST", "/Pipelines/Create", v1_bodies.pipeline_creation(prep, train)))


# -- reading and errors -----------------------------------------------------------------------


def test_data_types_get_and_post(client: Client) -> None:
    assert len(client.ok("GET", "/DataTypes")) == 11
    body = {"Id": "Parquet", "Name": "Parquet", "Description": "p", "IsDirectory": False,
            "ParentDataTypeIds": []}  # fmt: skip
    assert client.ok("POST", "/DataTypes", body)["Id"] == "Parquet"
    assert len(client.ok("GET", "/DataTypes")) == 12
    assert_error(client.call("POST", "/DataTypes", body), 409, "Conflict")


def test_unknown_entities_answer_404_in_the_data_plane_shape(client: Client) -> None:
    paths = ("/Pipelines/nope", "/Graphs/nope", "/Graphs/nope/Interface", "/Modules/nope",
             "/DataSources/nope", "/PipelineEndpoints/Id/nope",
             "/PipelineEndpoints/Name?Name=nope", "/PipelineEndpoints/nope/pipelines")  # fmt: skip
    for path in paths:
        body = assert_error(client.call("GET", path), 404, "NotFoundError")
        assert body["environment"] == body["location"] == "westeurope"


def test_another_workspace_is_404_naming_it(client: Client) -> None:
    url = client.base.replace("mlw-contoso-forecast", "someone-elses-ws") + "/Pipelines"
    response = client.session.get(url, timeout=30)
    body = assert_error(response, 404, "NotFoundError")
    assert "someone-elses-ws" in body["error"]["message"]


def test_requests_without_a_bearer_token_are_refused(client: Client) -> None:
    response = client.call("GET", "/Pipelines", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json()["error"]["innerError"]["code"] == "AuthenticationFailed"


def test_bad_json_and_bad_query_values_are_400(client: Client) -> None:
    response = client.session.post(client.base + "/Modules", data="{not json", timeout=30)
    assert_error(response, 400, "BadArgument")
    assert_error(client.call("GET", "/Pipelines?activeOnly=yes"), 400, "BadArgument")


# -- publishing flow --------------------------------------------------------------------------


def test_module_post_answers_the_bare_entity_and_get_the_wrapper(client: Client) -> None:
    created = client.ok("POST", "/Modules", v1_bodies.module_creation("prep", storage_id="s-1"))
    assert created["UploadState"] == "Completed" and "Data" not in created
    assert created["DataLocation"] == {"StorageType": "Snapshot", "StorageId": "s-1"}
    module = client.ok("GET", f"/Modules/{created['Id']}")
    assert set(module) == {"Data", "Interface"}
    assert module["Interface"]["Ports"]["Inputs"][0]["DataTypesIds"] == ["AzureMLDataset"]
    by_hash = client.ok("GET", f"/Modules/Hash/{v1_bodies.PREP_HASH}")
    assert by_hash["Data"]["Id"] == created["Id"]


def test_published_pipeline_is_listed_and_its_graph_readable(client: Client) -> None:
    pipeline = publish(client)
    assert pipeline["EntityStatus"] == "Active" and pipeline["TotalRunSteps"] == 2
    assert pipeline["ParameterAssignments"] == {"learning_rate": "0.01"}
    assert pipeline["Url"] == (f"{client.base}/PipelineRuns/PipelineSubmit/{pipeline['Id']}")

    listed = client.ok("GET", "/Pipelines?activeOnly=true")
    assert [p["Id"] for p in listed] == [pipeline["Id"]]
    assert client.ok("GET", f"/Pipelines/{pipeline['Id']}") == pipeline

    graph = client.ok("GET", f"/Graphs/{pipeline['GraphId']}")
    assert graph["Id"] == pipeline["GraphId"]
    train_params = graph["ModuleNodes"][1]["ModuleParameters"]
    assert {"ValueType": "1", "Name": "learning_rate", "Value": "learning_rate"} in train_params
    interface = client.ok("GET", f"/Graphs/{pipeline['GraphId']}/Interface")
    assert interface["Parameters"] == [
        {"Name": "learning_rate", "DefaultValue": "0.01", "IsOptional": True, "Type": "1"}
    ]


def test_pipeline_status_put_and_active_only(client: Client) -> None:
    first, second = publish(client), publish(client)
    response = client.call("PUT", f"/Pipelines/{second['Id']}/status", "Disabled")
    assert response.status_code == 200 and response.content == b""
    active = client.ok("GET", "/Pipelines?activeOnly=true")
    assert [p["Id"] for p in active] == [first["Id"]]
    everything = client.ok("GET", "/Pipelines?activeOnly=false")
    assert {p["Id"]: p["EntityStatus"] for p in everything} == {
        first["Id"]: "Active", second["Id"]: "Disabled"
    }  # fmt: skip
    assert_error(
        client.call("PUT", f"/Pipelines/{first['Id']}/status", "Paused"), 400, "BadArgument"
    )
    assert_error(client.call("PUT", "/Pipelines/nope/status", "Active"), 404, "NotFoundError")


def test_data_source_post_and_get(client: Client) -> None:
    created = client.ok("POST", "/DataSources", v1_bodies.data_source_creation())
    fetched = client.ok("GET", f"/DataSources/{created['Id']}")
    reference = fetched["DataLocation"]["DataReference"]
    assert reference["Type"] == "AzureBlob"
    assert reference["AzureBlobReference"]["RelativePath"] == "ref/path"


def test_concurrent_module_creation(client: Client) -> None:
    def create(i: int) -> str:
        body = v1_bodies.module_creation("train", storage_id=f"snap-{i}")
        return str(client.ok("POST", "/Modules", body)["Id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(24)))
    assert len(set(ids)) == 24
    with ThreadPoolExecutor(max_workers=8) as pool:
        modules = list(pool.map(lambda i: client.ok("GET", f"/Modules/{i}"), ids))
    assert {m["Data"]["DataLocation"]["StorageId"] for m in modules} == {
        f"snap-{i}" for i in range(24)
    }


# -- endpoints --------------------------------------------------------------------------------


def test_endpoint_create_add_version_and_set_default(client: Client) -> None:
    first, second = publish(client), publish(client)
    assert client.call("GET", "/PipelineEndpoints/Name?Name=forecast").status_code == 404
    endpoint = client.ok("POST", "/PipelineEndpoints/Create",
                         v1_bodies.endpoint_creation(first["Id"], "forecast"))  # fmt: skip
    assert endpoint["DefaultVersion"] == "0" and endpoint["EntityStatus"] == "Active"
    assert (
        endpoint["Url"] == f"{client.base}/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint['Id']}"
    )
    assert endpoint["SwaggerUrl"]
    assert client.ok("GET", f"/PipelineEndpoints/Id/{endpoint['Id']}") == endpoint
    assert client.ok("GET", "/PipelineEndpoints/Name?Name=forecast") == endpoint

    duplicate = client.call("POST", "/PipelineEndpoints/Create",
                            v1_bodies.endpoint_creation(second["Id"], "forecast"))  # fmt: skip
    assert_error(duplicate, 409, "Conflict")

    # What PipelineEndpoint.add_default() does: GET, append max+1, set default, PUT.
    body = client.ok("GET", f"/PipelineEndpoints/Id/{endpoint['Id']}")
    body["PipelineVersionList"].append({"Version": "1", "PipelineId": second["Id"]})
    body["DefaultVersion"] = "1"
    updated = client.ok("PUT", f"/PipelineEndpoints/{endpoint['Id']}", body)
    assert updated["Id"] == endpoint["Id"] and updated["DefaultVersion"] == "1"
    pipelines = client.ok("GET", f"/PipelineEndpoints/{endpoint['Id']}/pipelines?activeOnly=true")
    assert [p["Id"] for p in pipelines] == [first["Id"], second["Id"]]

    body["DefaultVersion"] = "5"
    assert_error(
        client.call("PUT", f"/PipelineEndpoints/{endpoint['Id']}", body), 400, "BadArgument"
    )


def test_endpoint_list_active_only_and_batch_size(client: Client) -> None:
    pipeline = publish(client)
    ids = [
        client.ok("POST", "/PipelineEndpoints/Create",
                  v1_bodies.endpoint_creation(pipeline["Id"], f"ep-{i}"))["Id"]
        for i in range(3)
    ]  # fmt: skip
    body = client.ok("GET", f"/PipelineEndpoints/Id/{ids[2]}")
    client.ok("PUT", f"/PipelineEndpoints/{ids[2]}", {**body, "EntityStatus": "Disabled"})

    active = client.ok("GET", "/PipelineEndpoints?activeOnly=true", headers={"BatchSize": "100"})
    assert [e["Id"] for e in active] == ids[:2]
    limited = client.ok("GET", "/PipelineEndpoints?activeOnly=false", headers={"BatchSize": "2"})
    assert [e["Id"] for e in limited] == ids[:2]

    backend_for(client.emu.ctx).honour_batch_size = False
    unlimited = client.ok("GET", "/PipelineEndpoints?activeOnly=false", headers={"BatchSize": "2"})
    assert [e["Id"] for e in unlimited] == ids
    bad = client.call("GET", "/PipelineEndpoints", headers={"BatchSize": "lots"})
    assert_error(bad, 400, "BadArgument")


# -- the sample workspace ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A separate emulator seeded from the repository's sample (read-only use)."""
    if not (DEFAULT_SAMPLE / "capture" / "state.json").is_file():
        pytest.skip("the sample capture data/capture/state.json is missing")
    state = tmp_path_factory.mktemp("pipelines-sample")
    with Emulator(state_dir=Path(state), sample=DEFAULT_SAMPLE) as emu:
        client = Client(emu)
        yield client
        client.session.close()


def test_every_sample_pipeline_reads_completely(sample_client: Client) -> None:
    """The reader's call sequence (reference §8) succeeds for every sample pipeline."""
    client = sample_client
    pipelines = client.ok("GET", "/Pipelines?activeOnly=false")
    assert pipelines
    for pipeline in pipelines:
        graph = client.ok("GET", f"/Graphs/{pipeline['GraphId']}")
        client.ok("GET", f"/Graphs/{pipeline['GraphId']}/Interface")
        for node in graph["ModuleNodes"]:
            module = client.ok("GET", f"/Modules/{node['ModuleId']}")
            assert set(module) == {"Data", "Interface"} and module["Data"]["Id"]
            params = node.get("ModuleParameters", [])
            bound = [p["Value"] for p in params if p["ValueType"] == "1"]  # graph parameter names
            assert set(bound) <= set(pipeline["ParameterAssignments"]), pipeline["Name"]
        for node in graph.get("DatasetNodes") or []:
            if node.get("DatasetId"):
                client.ok("GET", f"/DataSources/{node['DatasetId']}")


def test_every_sample_snapshot_downloads(sample_client: Client) -> None:
    client = sample_client
    content = client.base.replace("/pipelines/v1.0/", "/content/v2.0/") + "/snapshots"
    storage_ids = set()
    for pipeline in client.ok("GET", "/Pipelines?activeOnly=false"):
        for node in client.ok("GET", f"/Graphs/{pipeline['GraphId']}")["ModuleNodes"]:
            data = client.ok("GET", f"/Modules/{node['ModuleId']}")["Data"]
            storage_ids.add((data.get("DataLocation") or {}).get("StorageId"))
    storage_ids.discard(None)
    assert storage_ids
    for storage_id in storage_ids:
        answer = client.session.post(f"{content}/{storage_id}/zip", timeout=30)
        assert answer.status_code == 200, answer.text
        download = client.session.get(answer.json()["zipSasUri"], timeout=30)
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            assert archive.namelist()


def test_every_sample_endpoint_reads_completely(sample_client: Client) -> None:
    client = sample_client
    endpoints = client.ok("GET", "/PipelineEndpoints?activeOnly=false")
    assert endpoints
    for endpoint in endpoints:
        assert client.ok("GET", f"/PipelineEndpoints/Id/{endpoint['Id']}") == endpoint
        by_name = client.ok("GET", "/PipelineEndpoints/Name", params={"Name": endpoint["Name"]})
        assert by_name["Id"] == endpoint["Id"]
        versions = {v["Version"] for v in endpoint["PipelineVersionList"]}
        assert endpoint["DefaultVersion"] in versions
        listed = client.ok("GET", f"/PipelineEndpoints/{endpoint['Id']}/pipelines?activeOnly=false")
        assert len(listed) == len(versions)
