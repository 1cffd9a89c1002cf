"""v1 pipeline runs in the pipelines backend: the sample workspace, the real runner, no HTTP.

Expected outputs are computed by running the sample's own step scripts on the sample's data
files in a temporary folder, independently of the emulator, and compared byte for byte.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrate_kit.emulator import DEFAULT_SAMPLE
from migrate_kit.emulator.config import Context
from migrate_kit.emulator.content.backend import content_backend_for
from migrate_kit.emulator.pipelines.backend import PipelinesBackend
from migrate_kit.emulator.pipelines.base import PIPELINE
from migrate_kit.emulator.pipelines.endpoints import ENDPOINT
from migrate_kit.emulator.pipelines.errors import BadRequest, NotFound
from migrate_kit.emulator.runner.backend import runner_for
from migrate_kit.emulator.seed import seed

STEPS = DEFAULT_SAMPLE / "v1_project" / "steps"
DATA = DEFAULT_SAMPLE / "datastore"


@pytest.fixture
def backend(ctx: Context) -> Iterator[PipelinesBackend]:
    seed(ctx.store, DEFAULT_SAMPLE, ctx.config)
    yield PipelinesBackend(ctx)
    runner_for(ctx).close()


def pipeline_id(backend: PipelinesBackend, name: str, version: str) -> str:
    for entity in backend.store.list(PIPELINE):
        if entity["Name"] == name and entity["Version"] == version:
            return str(entity["Id"])
    raise AssertionError(f"no published pipeline {name} {version} in the sample")


def run_to_end(backend: PipelinesBackend, submitted: dict[str, Any]) -> dict[str, Any]:
    runner_for(backend.ctx).wait(submitted["Id"], timeout=120)
    return backend.get_pipeline_run(submitted["Id"])


def output_blob(backend: PipelinesBackend, run_id: str, node: str, port: str, file: str) -> bytes:
    output = backend.get_node_outputs(run_id, [node])[port]
    blob = output["DataLocation"]["DataReference"]["AzureBlobReference"]
    found = backend.store.get_blob(
        blob["Account"], blob["Container"], f"{blob['RelativePath']}/{file}"
    )
    assert found is not None, f"{file} missing under {blob['RelativePath']}"
    return found[0]


def run_script(folder: str, script: str, *args: str) -> None:
    """Run a sample step script locally: the oracle for the emulator's outputs."""
    subprocess.run([sys.executable, str(STEPS / folder / script), *args], check=True)


def node_of(backend: PipelinesBackend, run_id: str, display_name: str) -> str:
    for child in runner_for(backend.ctx).children(run_id):
        if child["displayName"] == display_name:
            return str(child["stepName"])
    raise AssertionError(display_name)


def test_submitted_pipeline_runs_its_scripts_with_the_assigned_parameters(
    backend: PipelinesBackend, tmp_path: Path
) -> None:
    submitted = backend.submit_pipeline(
        pipeline_id(backend, "inventory-replenishment", "1.2"),
        {"ExperimentName": "replenish-test", "ParameterAssignments": {"pack_size": "12"}},
    )
    assert submitted["Status"]["StatusCode"] == "NotStarted"
    run = run_to_end(backend, submitted)
    assert run["Status"]["StatusCode"] == "Finished", run["Status"]
    assert run["ParameterAssignments"] == {"safety_factor": "1.15", "pack_size": "12"}
    assert run["RunHistoryExperimentName"] == "replenish-test"

    weekly, orders = str(tmp_path / "weekly"), str(tmp_path / "o")
    run_script("weekly_forecast", "weekly_forecast.py", "--sales_dir", str(DATA / "retail/sales"),
               "--method", "trend", "--window", "7", "--output_dir", weekly)  # fmt: skip
    run_script("replenishment", "replenish.py", "--forecast_dir", weekly,
               "--safety_factor", "1.15", "--pack_size", "12", "--output_dir", orders)  # fmt: skip
    [expected] = (tmp_path / "o").iterdir()
    node = node_of(backend, run["Id"], "replenish")
    assert output_blob(backend, run["Id"], node, "orders", expected.name) == expected.read_bytes()
    assert "pack=12" in backend.get_node_log(run["Id"], [node], "STDOUT")
    # The pipeline output "store_orders" is the replenish step's "orders".
    pipeline_output = backend.get_pipeline_run_output(run["Id"], "store_orders")
    assert pipeline_output == backend.get_node_outputs(run["Id"], [node])["orders"]


def test_parallel_run_step_appends_the_entry_scripts_rows(
    backend: PipelinesBackend, tmp_path: Path
) -> None:
    submitted = backend.submit_pipeline(
        pipeline_id(backend, "store-batch-scoring", "1.0"),
        {"ExperimentName": "scoring", "ParameterAssignments": {"horizon_days": "3"}},
    )
    run = run_to_end(backend, submitted)
    assert run["Status"]["StatusCode"] == "Finished", run["Status"]

    # The oracle: split the sales per store, then score each store file with score_store.py.
    run_script("split_by_store", "split_by_store.py", "--sales_dir", str(DATA / "retail/sales"),
               "--since", "2024-03-01", "--output_dir", str(tmp_path / "split"))  # fmt: skip
    sys.path.insert(0, str(STEPS / "batch_scoring"))
    try:
        import score_store

        score_store.HORIZON_DAYS = 3
        files = sorted(str(p) for p in (tmp_path / "split").iterdir())
        expected = [score_store.score_file(Path(f)) for f in files]
    finally:
        sys.path.remove(str(STEPS / "batch_scoring"))
    node = node_of(backend, run["Id"], "score-stores")
    rows = output_blob(backend, run["Id"], node, "store_scores", "parallel_run_step.txt")
    assert sorted(rows.decode().splitlines()) == sorted(expected)
    assert len(expected) == 5


def test_endpoint_submit_runs_the_default_or_the_given_version(
    backend: PipelinesBackend,
) -> None:
    [endpoint] = backend.store.find(ENDPOINT, "Name", "weekly-demand-forecast")
    default = backend.submit_pipeline_endpoint(endpoint["Id"], {"ExperimentName": "weekly"})
    second = backend.submit_pipeline_endpoint(
        endpoint["Id"], {"ExperimentName": "weekly"}, version="2"
    )
    assert default["PipelineId"] == pipeline_id(backend, "weekly-demand-forecast", "1.1")
    assert second["PipelineId"] == pipeline_id(backend, "weekly-demand-forecast", "2.0")
    assert second["Properties"]["azureml.pipelineEndpointVersion"] == "2"
    assert run_to_end(backend, second)["Status"]["StatusCode"] == "Finished"
    assert run_to_end(backend, default)["Status"]["StatusCode"] == "Finished"
    assert {r["Id"] for r in backend.list_pipeline_runs(second["PipelineId"])} == {second["Id"]}

    with pytest.raises(NotFound) as caught:
        backend.submit_pipeline_endpoint(endpoint["Id"], {"ExperimentName": "w"}, version="7")
    assert "no version '7'" in caught.value.message


def test_a_databricks_step_fails_its_job_saying_why(backend: PipelinesBackend) -> None:
    submitted = backend.submit_pipeline(
        pipeline_id(backend, "spark-feature-engineering", "3.1"), {"ExperimentName": "spark"}
    )
    run = run_to_end(backend, submitted)
    assert run["Status"]["StatusCode"] == "Failed" and run["HasErrors"] is True
    [(node, status)] = backend.get_node_statuses(run["Id"], []).items()
    assert status["StatusCode"] == "Failed"
    assert "DatabricksStep cannot run in the local emulator" in status["StatusDetail"]
    assert "Failed nodes: /" + node in run["Status"]["StatusDetail"]
    assert backend.get_node_outputs(run["Id"], [node]) == {}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"ExperimentName": "x", "ParameterAssignments": {"regoin": "CH-ZH"}}, "regoin"),
        ({"ExperimentName": "x", "DataPathAssignments": {"nope": {}}}, "DataPathAssignments.nope"),
        ({"ExperimentName": "bad name!"}, "ExperimentName"),
        ({"ParameterAssignments": {}}, "ExperimentName"),
    ],
)
def test_bad_submissions_are_refused(
    backend: PipelinesBackend, body: dict[str, Any], words: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        backend.submit_pipeline(pipeline_id(backend, "daily_sales forecast", "1.4"), body)
    assert words in caught.value.message
    assert backend.store.count("pipelines.run") == 0


def test_disabled_and_unknown_pipelines_are_refused(backend: PipelinesBackend) -> None:
    disabled = pipeline_id(backend, "promo-uplift-legacy", "0.3")
    with pytest.raises(BadRequest) as caught:
        backend.submit_pipeline(disabled, {"ExperimentName": "promo"})
    assert "Disabled" in caught.value.message
    with pytest.raises(NotFound):
        backend.submit_pipeline("no-such-pipeline", {"ExperimentName": "promo"})
    with pytest.raises(NotFound):
        backend.get_pipeline_run("no-such-run")


def test_cancel_stops_a_running_pipeline(backend: PipelinesBackend) -> None:
    """A synthetic one-step pipeline whose script sleeps: canceled while it runs."""
    content_backend_for(backend.ctx).add_snapshot(
        "snap-sleep", {"sleep.py": b"import time\nprint('started', flush=True)\ntime.sleep(60)\n"}
    )
    module = {
        "Id": "mod-sleep",
        "Name": "sleep",
        "StepType": "PythonScriptStep",
        "ModuleExecutionType": "escloud",
        "DataLocation": {"StorageType": "Snapshot", "StorageId": "snap-sleep"},
        "StructuredInterface": {"Inputs": [], "Outputs": [], "Parameters": [], "Arguments": []},
    }
    script = {"ValueType": "0", "Name": "Script", "Value": "sleep.py"}
    node = {"Id": "n1", "ModuleId": "mod-sleep", "ModuleParameters": [script]}
    pipeline = backend.add_published_pipeline(
        {"Name": "sleepy", "Version": "1"}, {"ModuleNodes": [node]}, modules=[module]
    )
    run_id = backend.submit_pipeline(pipeline, {"ExperimentName": "sleepy"})["Id"]
    deadline = time.monotonic() + 30
    while "started" not in backend.get_node_log(run_id, ["n1"], "JobLog"):
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    assert backend.get_node_status_code(run_id, ["n1"]) == "Running"
    assert backend.get_pipeline_run(run_id)["Status"]["StatusCode"] == "Running"

    backend.cancel_pipeline_run(run_id)
    assert backend.get_pipeline_run(run_id)["Status"]["StatusCode"] == "Canceled"
    assert backend.get_node_status_code(run_id, ["n1"]) == "Canceled"
    with pytest.raises(BadRequest):
        backend.get_node_status(run_id, "n1")  # not a JSON array
    with pytest.raises(NotFound):
        backend.get_node_status(run_id, ["other"])


def test_continue_on_step_failure_comes_from_the_pipeline_unless_submitted(
    backend: PipelinesBackend,
) -> None:
    elasticity = pipeline_id(backend, "price_elasticity_weekly_estimation_by_store", "2.0")
    runner = runner_for(backend.ctx)
    inherited = backend.submit_pipeline(elasticity, {"ExperimentName": "e"})["Id"]
    overridden = backend.submit_pipeline(
        elasticity, {"ExperimentName": "e", "ContinueRunOnStepFailure": False}
    )["Id"]
    settings = [
        runner.wait(r)["settings"]["continueOnStepFailure"] for r in (inherited, overridden)
    ]
    assert settings == [True, False]
