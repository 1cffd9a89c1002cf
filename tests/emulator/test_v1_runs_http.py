"""v1 pipeline runs over real HTTPS against the session emulator (the sample workspace).

Requests are shaped as the v1 SDK sends them (reference §2.1 #4, #12, #18–#27, §3.7). The
expected outputs come from running the sample's step scripts locally on the sample's data.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from migrate_kit.emulator import DEFAULT_SAMPLE, Emulator

STEPS = DEFAULT_SAMPLE / "v1_project" / "steps"
SALES = str(DEFAULT_SAMPLE / "datastore" / "retail" / "sales")
STORES = str(DEFAULT_SAMPLE / "datastore" / "retail" / "stores")
PRICES = str(DEFAULT_SAMPLE / "datastore" / "retail" / "prices")


class Service:
    """The pipelines service of the session emulator, as the v1 client calls it."""

    def __init__(self, emulator: Emulator, http: requests.Session) -> None:
        self.emulator = emulator
        self.http = http
        self.base = f"{emulator.base_url}/pipelines/v1.0/{emulator.ctx.config.scope}"

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": "Bearer test-token", **kwargs.pop("headers", {})}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            headers["Content-Type"] = "application/json-patch+json; charset=utf-8"
        return self.http.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.call(method, path, body, **kwargs)
        assert response.status_code == 200, response.text
        return response.json() if response.content else None

    def pipeline_id(self, name: str, version: str) -> str:
        found = [
            p
            for p in self.ok("GET", "/Pipelines", params={"activeOnly": "false"})
            if p["Name"] == name and p["Version"] == version
        ]
        assert len(found) == 1, (name, version)
        return str(found[0]["Id"])

    def wait(self, run_id: str, timeout: float = 120) -> dict[str, Any]:
        """Poll ``GET /PipelineRuns/{id}`` until the run is final, as the SDK's waiting does."""
        deadline = time.monotonic() + timeout
        while True:
            run: dict[str, Any] = self.ok("GET", f"/PipelineRuns/{run_id}")
            if run["Status"]["StatusCode"] in ("Finished", "Failed", "Canceled"):
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['Status']}"
            time.sleep(0.2)

    def blob(self, output: dict[str, Any], file: str) -> bytes:
        reference = output["DataLocation"]["DataReference"]["AzureBlobReference"]
        store = self.emulator.ctx.store
        path = f"{reference['RelativePath']}/{file}"
        found = store.get_blob(reference["Account"], reference["Container"], path)
        assert found is not None, path
        return found[0]


@pytest.fixture
def service(emulator: Emulator, http: requests.Session) -> Service:
    return Service(emulator, http)


def script(folder: str, name: str, *args: str) -> None:
    subprocess.run([sys.executable, str(STEPS / folder / name), *args], check=True)


def test_submit_by_id_with_parameters_runs_every_step(service: Service, tmp_path: Path) -> None:
    pipeline_id = service.pipeline_id("daily_sales forecast", "1.4")
    body = {
        "ExperimentName": "daily-sales-http",
        "Description": "daily-sales-http",
        "RunSource": "SDK",
        "RunType": "SDK",
        "ParameterAssignments": {"region": "CH-GE", "horizon_days": "7", "include_promos": "False"},
        "DataPathAssignments": {
            "prices_path": {"DataStoreName": "workspaceblobstore", "RelativePath": "retail/prices"}
        },
        "DataSetDefinitionValueAssignments": {},
        "Properties": {},
    }
    submitted = service.ok("POST", f"/PipelineRuns/PipelineSubmit/{pipeline_id}", body)
    assert submitted["PipelineId"] == pipeline_id and submitted["RunSource"] == "SDK"
    run = service.wait(submitted["Id"])
    assert run["Status"]["StatusCode"] == "Finished", run["Status"]
    assert run["Status"]["EndTime"]
    assert run["ParameterAssignments"]["region"] == "CH-GE"

    statuses = service.ok("POST", f"/PipelineRuns/{run['Id']}/Graph/AllNodes/Status", [])
    assert len(statuses) == 3
    assert {s["StatusCode"] for s in statuses.values()} == {"Finished"}
    codes = service.ok("POST", f"/PipelineRuns/{run['Id']}/Graph/AllNodes/StatusCode", [])
    assert codes == dict.fromkeys(statuses, "Finished")
    node = next(iter(statuses))
    one = service.ok("POST", f"/PipelineRuns/{run['Id']}/Graph/Node/Status", [node])
    assert one["RunId"] == statuses[node]["RunId"]
    code = service.ok("POST", f"/PipelineRuns/{run['Id']}/Graph/Node/StatusCode", [node])
    assert code == "Finished"

    # The oracle: the three scripts run locally with the same parameter values.
    daily, prices, forecast = (str(tmp_path / n) for n in ("daily", "prices", "forecast"))
    script("prep_sales", "prep_sales.py", "--sales_dir", SALES, "--stores_dir", STORES,
           "--region", "CH-GE", "--min_units", "1", "--output_dir", daily)  # fmt: skip
    script("prep_prices", "prep_prices.py", "--prices_dir", PRICES, "--include_promos", "False",
           "--output_dir", prices)  # fmt: skip
    script("forecast", "forecast.py", "--sales_dir", daily, "--prices_dir", prices,
           "--horizon_days", "7", "--smoothing", "0.3", "--output_dir", forecast)  # fmt: skip
    [expected] = Path(forecast).iterdir()
    output = service.ok("GET", f"/PipelineRuns/{run['Id']}/PipelineRunOutputs/daily_forecast")
    reference = output["DataLocation"]["DataReference"]["AzureBlobReference"]
    assert reference["AmlDataStoreName"] == "workspaceblobstore"
    assert reference["RelativePath"].startswith("azureml/")
    assert service.blob(output, expected.name) == expected.read_bytes()

    # Known values: the cleaned sales hold exactly the Geneva stores.
    with open(Path(STORES) / "stores.csv", encoding="utf-8") as handle:
        geneva = {row["store_id"] for row in csv.DictReader(handle) if row["region"] == "CH-GE"}
    outputs = [service.ok("POST", f"/PipelineRuns/{run['Id']}/Outputs", [n]) for n in statuses]
    [cleaned] = [o["daily_sales"] for o in outputs if "daily_sales" in o]
    rows = csv.DictReader(io.StringIO(service.blob(cleaned, "daily_sales.csv").decode()))
    assert geneva and {row["store_id"] for row in rows} == geneva

    runs = service.ok("GET", f"/PipelineRuns/Pipeline/{pipeline_id}")
    assert run["Id"] in {r["Id"] for r in runs}


def test_node_outputs_and_logs(service: Service) -> None:
    pipeline_id = service.pipeline_id("zurich_store_forecast", "1.0")
    body = {"ExperimentName": "zurich", "ParameterAssignments": {"window": "3"}}
    run = service.wait(
        service.ok("POST", f"/PipelineRuns/PipelineSubmit/{pipeline_id}", body)["Id"]
    )
    assert run["Status"]["StatusCode"] == "Finished", run["Status"]
    statuses = service.ok("POST", f"/PipelineRuns/{run['Id']}/Graph/AllNodes/Status", [])
    for node in statuses:
        outputs = service.ok("POST", f"/PipelineRuns/{run['Id']}/Outputs", [node])
        [(port, output)] = outputs.items()
        reference = output["DataLocation"]["DataReference"]["AzureBlobReference"]
        assert reference["RelativePath"] == f"azureml/{statuses[node]['RunId']}/{port}"
        assert output["LogicalSizeInBytes"] > 0

        log = service.call("POST", f"/PipelineRuns/{run['Id']}/Graph/Shareable/JobLog", [node])
        assert log.status_code == 200
        stdout = service.call("POST", f"/PipelineRuns/{run['Id']}/Graph/Shareable/STDOUT", [node])
        stderr = service.call("POST", f"/PipelineRuns/{run['Id']}/Graph/Shareable/STDERR", [node])
        assert stdout.text.strip() and stdout.text.strip() in log.text
        assert stderr.status_code == 200 and stderr.text == ""
    logs = " ".join(
        service.call("POST", f"/PipelineRuns/{run['Id']}/Graph/Shareable/STDOUT", [n]).text
        for n in statuses
    )
    assert "region=CH-ZH" in logs and "window=3" in logs


def test_endpoint_submit_by_version_and_default(service: Service, tmp_path: Path) -> None:
    endpoint = service.ok(
        "GET", "/PipelineEndpoints/Name", params={"Name": "weekly-demand-forecast"}
    )
    base = f"/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint['Id']}"
    body = {"ExperimentName": "weekly", "ParameterAssignments": {"window": "5"}}
    # With a version the SDK puts it in the path and in the query.
    second = service.ok("POST", f"{base}/2", body, params={"pipelineVersion": "2"})
    default = service.ok("POST", base, body)
    assert second["PipelineId"] == service.pipeline_id("weekly-demand-forecast", "2.0")
    assert default["PipelineId"] == service.pipeline_id("weekly-demand-forecast", "1.1")

    expectations = {
        # 2.0: cleaned sales (ALL regions, at least 1 unit), then seasonal naive.
        second["Id"]: ("seasonal_naive", True),
        # 1.1 (the default version): raw sales, moving average.
        default["Id"]: ("moving_average", False),
    }
    for run_id, (method, cleaned) in expectations.items():
        run = service.wait(run_id)
        assert run["Status"]["StatusCode"] == "Finished", run["Status"]
        sales = SALES
        if cleaned:
            sales = str(tmp_path / f"clean-{run_id}")
            script("prep_sales", "prep_sales.py", "--sales_dir", SALES, "--stores_dir", STORES,
                   "--region", "ALL", "--min_units", "1", "--output_dir", sales)  # fmt: skip
        out = tmp_path / f"weekly-{run_id}"
        script("weekly_forecast", "weekly_forecast.py", "--sales_dir", sales, "--method", method,
               "--window", "5", "--output_dir", str(out))  # fmt: skip
        output = service.ok("GET", f"/PipelineRuns/{run_id}/PipelineRunOutputs/next_week")
        expected = (out / "weekly_forecast.csv").read_bytes()
        assert service.blob(output, "weekly_forecast.csv") == expected
        assert f",{method},".encode() in expected


@pytest.mark.parametrize(
    ("name", "version", "step_type"),
    [
        ("spark-feature-engineering", "3.1", "DatabricksStep"),
        ("sales-export-to-lake", "1.0", "DataTransferStep"),
    ],
)
def test_steps_that_cannot_run_locally_fail_with_the_reason(
    service: Service, name: str, version: str, step_type: str
) -> None:
    pipeline_id = service.pipeline_id(name, version)
    submitted = service.ok(
        "POST", f"/PipelineRuns/PipelineSubmit/{pipeline_id}", {"ExperimentName": "blocked"}
    )
    run = service.wait(submitted["Id"])
    assert run["Status"]["StatusCode"] == "Failed"
    [status] = service.ok("POST", f"/PipelineRuns/{run['Id']}/Graph/AllNodes/Status", []).values()
    assert status["StatusCode"] == "Failed"
    assert f"A {step_type} cannot run in the local emulator" in status["StatusDetail"]


def test_refused_submissions_get_the_service_errors(service: Service) -> None:
    daily = service.pipeline_id("daily_sales forecast", "1.4")
    bad = service.call(
        "POST",
        f"/PipelineRuns/PipelineSubmit/{daily}",
        {"ExperimentName": "x", "ParameterAssignments": {"horizon": "3"}},
    )
    assert bad.status_code == 400, bad.text
    error = bad.json()["error"]
    assert error["innerError"]["code"] == "BadArgument" and "horizon" in error["message"]

    disabled = service.pipeline_id("promo-uplift-legacy", "0.3")
    refused = service.call(
        "POST", f"/PipelineRuns/PipelineSubmit/{disabled}", {"ExperimentName": "x"}
    )
    assert refused.status_code == 400 and "Disabled" in refused.json()["error"]["message"]

    missing = service.call("POST", "/PipelineRuns/PipelineSubmit/nope", {"ExperimentName": "x"})
    assert missing.status_code == 404
    assert service.call("GET", "/PipelineRuns/nope").status_code == 404
    garbled = service.call(
        "POST", f"/PipelineRuns/PipelineSubmit/{daily}", data=b"{not json",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert garbled.status_code == 400
    assert service.call("GET", "/Pipelines").status_code == 200  # still serving


def test_cancel_answers_200_and_a_finished_run_stays_finished(service: Service) -> None:
    pipeline_id = service.pipeline_id("daily-sales-forecast", "0.9")
    run_id = service.ok(
        "POST", f"/PipelineRuns/PipelineSubmit/{pipeline_id}", {"ExperimentName": "cancel"}
    )["Id"]
    first = service.call("DELETE", f"/PipelineRuns/{run_id}/Execution")
    assert first.status_code == 200 and first.content == b""
    status = service.wait(run_id)["Status"]["StatusCode"]
    assert status in ("Canceled", "Finished")  # it may have finished before the cancel
    service.call("DELETE", f"/PipelineRuns/{run_id}/Execution")
    assert service.wait(run_id)["Status"]["StatusCode"] == status
