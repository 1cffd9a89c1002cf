"""PipelinesClient's run calls over real HTTPS against the session emulator (the sample
workspace): submit a published pipeline or an endpoint version, read the run, its steps, their
outputs and logs; and ``migrate_kit.v1.runs`` reading what comes back (reference §2.1 #4, #12,
#18-#25, §3.7, §3.8)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from migrate_kit import Connection
from migrate_kit.emulator import Emulator
from migrate_kit.errors import NotFoundError, ServiceCallError
from migrate_kit.v1.client import PipelinesClient
from migrate_kit.v1.runs import RUN_TERMINAL, output_location, run_status, step_status

PRICES = {"DataStoreName": "workspaceblobstore", "RelativePath": "retail/prices"}


@pytest.fixture
def v1(connection: Connection, emu: Emulator) -> Iterator[PipelinesClient]:
    with connection.v1_client() as client:
        yield client


def pipeline_id(client: PipelinesClient, name: str, version: str) -> str:
    [found] = [
        p for p in client.list_pipelines() if (p["Name"], p.get("Version")) == (name, version)
    ]
    return str(found["Id"])


def wait(client: PipelinesClient, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = client.get_run(run_id)
        if run_status(run)[0] in RUN_TERMINAL or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


def test_submit_a_published_pipeline_and_read_its_steps(v1: PipelinesClient, emu: Emulator) -> None:
    daily = pipeline_id(v1, "daily_sales forecast", "1.4")
    run_id = v1.submit_pipeline(
        daily,
        "v1-client-runs",
        {"region": "CH-GE", "horizon_days": "7"},
        {"prices_path": PRICES},
        tags={"purpose": "test"},
    )
    run = wait(v1, run_id)
    assert run_status(run) == ("Finished", None)
    assert run["ParameterAssignments"]["region"] == "CH-GE"
    assert run["tags"] == {"purpose": "test"}

    [submitted] = [e for e in emu.request_log() if "/PipelineSubmit/" in e["path"]]
    assert submitted["method"] == "POST" and submitted["status"] == 200
    assert submitted["headers"]["content-type"].startswith("application/json-patch+json")

    statuses = v1.get_node_statuses(run_id)
    assert len(statuses) == 3
    assert {step_status(s)[0] for s in statuses.values()} == {"Finished"}
    ports = {}
    for node in statuses:
        for port, output in v1.get_node_outputs(run_id, node).items():
            ports[port] = output_location(output)
    assert sorted(ports) == ["daily_sales", "forecast", "weekly_prices"]
    forecast = ports["forecast"]
    assert forecast is not None and forecast.datastore == "workspaceblobstore"
    assert forecast.path.startswith("azureml/") and forecast.path.endswith("/forecast")

    output = v1.get_pipeline_run_output(run_id, "daily_forecast")
    assert output_location(output) == forecast
    node = next(iter(statuses))
    assert v1.get_node_log(run_id, node, "STDERR") == ""
    assert v1.get_node_log(run_id, node, "STDOUT").strip()


def test_submit_an_endpoint_version_or_its_default(v1: PipelinesClient, emu: Emulator) -> None:
    endpoint = v1.get_endpoint_by_name("weekly-demand-forecast")
    second = v1.submit_endpoint(endpoint["Id"], "2", "v1-client-runs", {"window": "5"})
    default = v1.submit_endpoint(endpoint["Id"], None, "v1-client-runs", {})

    assert wait(v1, second)["PipelineId"] == pipeline_id(v1, "weekly-demand-forecast", "2.0")
    assert wait(v1, default)["PipelineId"] == pipeline_id(v1, "weekly-demand-forecast", "1.1")
    submits = [e for e in emu.request_log() if "/PipelineEndpointSubmit/" in e["path"]]
    # With a version, the version is in the path and in the query, as the SDK sends it.
    assert [(e["path"].rsplit("/", 1)[-1], e["query"]) for e in submits] == [
        ("2", "pipelineVersion=2"),
        (endpoint["Id"], ""),
    ]


def test_a_refused_submission_and_an_unknown_run_are_errors(v1: PipelinesClient) -> None:
    daily = pipeline_id(v1, "daily_sales forecast", "1.4")
    with pytest.raises(ServiceCallError) as refused:
        v1.submit_pipeline(daily, "v1-client-runs", {"horizon": "3"})
    assert refused.value.status == 400 and "horizon" in str(refused.value)
    with pytest.raises(NotFoundError, match="has no pipeline run 'nope'"):
        v1.get_run("nope")


@pytest.mark.parametrize(
    ("wire", "expected"),
    [({"StatusCode": 3}, "Finished"), ({"StatusCode": "2"}, "Failed"), ({}, "NotStarted")],
)
def test_run_status_reads_numbers_and_names(wire: dict[str, Any], expected: str) -> None:
    assert run_status({"Status": wire})[0] == expected
    assert run_status({"Status": {"StatusCode": expected}})[0] == expected


def test_a_step_status_and_an_output_without_a_datastore_name() -> None:
    assert step_status({"StatusCode": "4", "StatusDetail": "done"}) == ("Finished", "done")
    gen2 = {
        "DataLocation": {
            "DataReference": {
                "Type": "AzureDataLakeGen2",
                "AzureDataLakeGen2Reference": {
                    "FileSystemName": "lake",
                    "Account": "stlake",
                    "RelativePath": "/azureml/run-1/out/",
                },
            }
        }
    }
    location = output_location(gen2)
    assert location is not None
    assert (location.path, location.datastore, location.account, location.container) == (
        "azureml/run-1/out",
        None,
        "stlake",
        "lake",
    )
    assert output_location({"DataLocation": None}) is None
