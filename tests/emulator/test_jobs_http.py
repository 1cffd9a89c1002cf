"""End to end through the unmodified azure-ai-ml MLClient over real HTTPS: a two-step pipeline
component (the second step consumes the first's output) registered with local code, deployed
under a batch endpoint with settings, set default, invoked with a literal and a datastore
folder, with and without a deployment name; the job read back, listed, streamed and its outputs
downloaded (named, default, all); a failing script fails the job with its stderr in the logs.

Every test uses names of its own (the session emulator is shared). No ``from __future__ import
annotations`` here: ``@dsl.pipeline`` reads its function's annotations as objects."""

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from azure.ai.ml import Input, MLClient, Output, dsl
from azure.ai.ml.constants._endpoint import EndpointInvokeFields
from azure.ai.ml.entities import (
    BatchEndpoint,
    CommandComponent,
    Environment,
    PipelineComponentBatchDeployment,
    PipelineJob,
)
from azure.ai.ml.exceptions import JobException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.jobs.backend import backend_for

SALES = "azureml://datastores/workspaceblobstore/paths/retail/sales/"
TERMINAL = ("Completed", "Failed", "Canceled")
DATAPLANE = "2020-09-01-dataplanepreview"

PREP = """\
import argparse, pathlib
p = argparse.ArgumentParser()
p.add_argument("--raw"); p.add_argument("--label"); p.add_argument("--out")
a = p.parse_args()
files = sorted(pathlib.Path(a.raw).rglob("*.csv"))
rows = sum(len(f.read_text().splitlines()) - 1 for f in files)
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "summary.txt").write_text(f"{a.label}:{len(files)}:{rows}\\n")
print("prep counted", rows, "rows")
"""

REPORT = """\
import argparse, pathlib, sys
p = argparse.ArgumentParser()
p.add_argument("--data"); p.add_argument("--mode"); p.add_argument("--out")
a = p.parse_args()
if a.mode == "explode":
    print("report refuses mode explode", file=sys.stderr)
    sys.exit(3)
summary = (pathlib.Path(a.data) / "summary.txt").read_text().strip()
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "report.txt").write_text(f"report[{a.mode}] {summary}\\n")
"""


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def folder(tmp_path: Path, name: str, script: str, text: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / script).write_text(text)
    return path


def sample_rows(emu: Emulator) -> tuple[int, int]:
    """(files, data rows) of the sample's retail/sales folder in the datastore."""
    cfg = emu.ctx.config
    paths = emu.ctx.store.list_blobs(cfg.storage_account, cfg.datastore_container, "retail/sales/")
    rows = 0
    for path in paths:
        found = emu.ctx.store.get_blob(cfg.storage_account, cfg.datastore_container, path)
        assert found is not None
        rows += len(found[0].decode().splitlines()) - 1
    return len(paths), rows


@pytest.fixture
def deployed(ml_client: MLClient, tmp_path: Path) -> Iterator[str]:
    """A batch endpoint whose default deployment ``blue`` runs the two-step pipeline; a second
    deployment ``green`` runs the same pipeline. Yields the endpoint name."""
    env = ml_client.environments.create_or_update(
        Environment(name=unique("jobs_env"), version="1", image="python:3.11-slim")
    )
    prep = ml_client.components.create_or_update(
        CommandComponent(
            name=unique("jobs_prep_"),
            version="1",
            command="python prep.py --raw ${{inputs.raw}} --label ${{inputs.label}} "
            "--out ${{outputs.out}}",
            code=str(folder(tmp_path, "prep", "prep.py", PREP)),
            environment=env.id,
            inputs={"raw": Input(type="uri_folder"), "label": Input(type="string")},
            outputs={"out": Output(type="uri_folder")},
        )
    )
    report = ml_client.components.create_or_update(
        CommandComponent(
            name=unique("jobs_report_"),
            version="1",
            command="python report.py --data ${{inputs.data}} --mode ${{inputs.mode}} "
            "--out ${{outputs.out}}",
            code=str(folder(tmp_path, "report", "report.py", REPORT)),
            environment=env.id,
            inputs={"data": Input(type="uri_folder"), "mode": Input(type="string")},
            outputs={"out": Output(type="uri_folder")},
        )
    )

    @dsl.pipeline(name=unique("jobs_pipe_"))
    def two_steps(raw_data: Input(type="uri_folder"), label: str, mode: str = "full"):  # type: ignore[valid-type]
        counted = prep(raw=raw_data, label=label)
        reported = report(data=counted.outputs.out, mode=mode)
        return {"report": reported.outputs.out}

    component = two_steps._pipeline_builder.build()
    component.version = "1"
    pipeline = ml_client.components.create_or_update(component)

    endpoint_name = unique("jobs-ep-")
    ml_client.batch_endpoints.begin_create_or_update(
        BatchEndpoint(name=endpoint_name, description="jobs e2e")
    ).result()
    for name in ("blue", "green"):
        ml_client.batch_deployments.begin_create_or_update(
            PipelineComponentBatchDeployment(
                name=name,
                endpoint_name=endpoint_name,
                component=pipeline,
                settings={"default_compute": "cpu-cluster", "continue_on_step_failure": False},
            )
        ).result()
    endpoint = ml_client.batch_endpoints.get(endpoint_name)
    endpoint.defaults.deployment_name = "blue"
    ml_client.batch_endpoints.begin_create_or_update(endpoint).result()
    yield endpoint_name


def inputs(label: str, mode: str | None = None) -> dict[str, Input]:
    given = {
        "raw_data": Input(type="uri_folder", path=SALES),
        "label": Input(type="string", default=label),
    }
    if mode is not None:
        given["mode"] = Input(type="string", default=mode)
    return given


def status_of(value: object) -> str:
    """A job status as text (the SDK gives pipeline jobs a str enum, children plain text)."""
    return str(getattr(value, "value", value))


def wait(ml_client: MLClient, name: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = status_of(ml_client.jobs.get(name).status)
        if status in TERMINAL or time.monotonic() > deadline:
            return status
        time.sleep(0.3)


def test_invoke_runs_the_pipeline_and_the_output_downloads(
    ml_client: MLClient, emu: Emulator, deployed: str, tmp_path: Path
) -> None:
    job = ml_client.batch_endpoints.invoke(
        endpoint_name=deployed, deployment_name="blue", inputs=inputs("march", "quick")
    )
    assert wait(ml_client, job.name) == "Completed"

    # the job resource, in the SDK's own types
    pipeline_job = ml_client.jobs.get(job.name)
    assert isinstance(pipeline_job, PipelineJob)
    assert pipeline_job.inputs["label"]._data == "march"
    assert pipeline_job.inputs["raw_data"].path == SALES
    assert pipeline_job.settings.default_compute == "cpu-cluster"
    assert pipeline_job.properties["azureml.deploymentName"] == "blue"

    # children through run history, in graph order
    children = list(ml_client.jobs.list(parent_job_name=job.name))
    assert [c.display_name for c in children] == ["counted", "reported"]
    assert [status_of(c.status) for c in children] == ["Completed", "Completed"]
    assert status_of(ml_client.jobs.get(children[0].name).status) == "Completed"

    assert job.name in [j.name for j in ml_client.batch_endpoints.list_jobs(deployed)]
    assert job.name in [j.name for j in ml_client.jobs.list()]

    ml_client.jobs.stream(job.name)  # a finished job: prints the summary, raises nothing

    files, rows = sample_rows(emu)
    cfg = emu.ctx.config
    found = emu.ctx.store.get_blob(
        cfg.storage_account, cfg.datastore_container, f"azureml/{job.name}/report/report.txt"
    )
    assert found is not None
    assert found[0].decode() == f"report[quick] march:{files}:{rows}\n"


def downloaded(folder: Path) -> dict[str, bytes]:
    """``{relative path: bytes}`` of the files under ``folder``."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip


# azure-ai-ml 1.35's own download calls, deprecated in azure-storage-blob
@pytest.mark.filterwarnings("ignore:The use of a 'BlobProperties'", "ignore:content_as_bytes")
def test_download_of_named_default_and_all_outputs(
    ml_client: MLClient, emu: Emulator, deployed: str, tmp_path: Path
) -> None:
    job = ml_client.batch_endpoints.invoke(
        endpoint_name=deployed, deployment_name="blue", inputs=inputs("april", "full")
    )
    assert wait(ml_client, job.name) == "Completed"
    files, rows = sample_rows(emu)
    report = f"report[full] april:{files}:{rows}\n".encode()
    log_name = "artifacts/logs/azureml/executionlogs.txt"

    # a named output: List Blobs on the datastore with the output's prefix, then Get Blob
    ml_client.jobs.download(job.name, output_name="report", download_path=tmp_path / "named")
    assert downloaded(tmp_path / "named") == {"named-outputs/report/report.txt": report}

    # the default output: the job's logs in the artifact store (workspaceartifactstore)
    ml_client.jobs.download(job.name, download_path=tmp_path / "default")
    logs = downloaded(tmp_path / "default")
    assert list(logs) == [log_name]
    found = emu.ctx.store.get_blob(
        emu.ctx.config.storage_account,
        "azureml",
        f"ExperimentRun/dcid.{job.name}/logs/azureml/executionlogs.txt",
    )
    assert found is not None and found[0].startswith(logs[log_name])  # the log only grows
    assert b"counted" in logs[log_name] and b"reported" in logs[log_name]

    ml_client.jobs.download(job.name, all=True, download_path=tmp_path / "all")
    everything = downloaded(tmp_path / "all")
    assert sorted(everything) == [log_name, "named-outputs/report/report.txt"]
    assert everything["named-outputs/report/report.txt"] == report


def test_invoke_without_deployment_name_runs_the_default(
    ml_client: MLClient, deployed: str
) -> None:
    green = ml_client.batch_endpoints.invoke(
        endpoint_name=deployed, deployment_name="green", inputs=inputs("g")
    )
    # azure-ai-ml keeps the last deployment header in a class-level dict (v2-wire.md pitfall 4);
    # drop it so this invoke really goes without one.
    EndpointInvokeFields.DEFAULT_HEADER.pop(EndpointInvokeFields.MODEL_DEPLOYMENT, None)
    default = ml_client.batch_endpoints.invoke(endpoint_name=deployed, inputs=inputs("d"))

    assert ml_client.jobs.get(green.name).properties["azureml.deploymentName"] == "green"
    assert ml_client.jobs.get(default.name).properties["azureml.deploymentName"] == "blue"
    assert wait(ml_client, default.name) == "Completed"
    assert ml_client.jobs.get(default.name).inputs["mode"]._data == "full"


def test_failing_script_fails_the_job_with_its_stderr(
    ml_client: MLClient,
    emu: Emulator,
    deployed: str,
    http: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = ml_client.batch_endpoints.invoke(
        endpoint_name=deployed, deployment_name="blue", inputs=inputs("x", "explode")
    )
    with pytest.raises(JobException, match="report refuses mode explode"):
        ml_client.jobs.stream(job.name)
    assert "RunId: " + job.name in capsys.readouterr().out
    assert status_of(ml_client.jobs.get(job.name).status) == "Failed"

    failed = [
        c for c in ml_client.jobs.list(parent_job_name=job.name) if status_of(c.status) == "Failed"
    ]
    assert [c.display_name for c in failed] == ["reported"]
    cfg = emu.ctx.config
    details = http.get(
        f"{emu.base_url}/history/v1.0{cfg.arm_id}/runs/{failed[0].name}/details",
        headers={"Authorization": "Bearer t"},
    ).json()
    log = http.get(details["logFiles"]["user_logs/std_log.txt"])
    assert log.status_code == 200
    assert "report refuses mode explode" in log.text


def test_bad_invokes_get_the_service_errors(ml_client: MLClient, deployed: str) -> None:
    with pytest.raises(HttpResponseError, match="'colour'") as unknown:
        ml_client.batch_endpoints.invoke(
            endpoint_name=deployed,
            deployment_name="blue",
            inputs={**inputs("x"), "colour": Input(type="string", default="red")},
        )
    assert unknown.value.status_code == 400

    with pytest.raises(HttpResponseError, match="MLTable") as table:
        ml_client.batch_endpoints.invoke(
            endpoint_name=deployed,
            deployment_name="blue",
            inputs={**inputs("x"), "raw_data": Input(type="mltable", path=SALES)},
        )
    assert table.value.status_code == 400

    with pytest.raises(HttpResponseError, match="Required input 'label'"):
        ml_client.batch_endpoints.invoke(
            endpoint_name=deployed,
            deployment_name="blue",
            inputs={"raw_data": Input(type="uri_folder", path=SALES)},
        )

    with pytest.raises(ResourceNotFoundError):
        ml_client.jobs.get(unique("no-such-job-"))


def test_cancel(ml_client: MLClient, deployed: str) -> None:
    job = ml_client.batch_endpoints.invoke(
        endpoint_name=deployed, deployment_name="blue", inputs=inputs("c")
    )
    ml_client.jobs.begin_cancel(job.name).result()
    assert status_of(ml_client.jobs.get(job.name).status) in ("Canceled", "Completed")


def test_wire_contract_of_the_job_side(ml_client: MLClient, emu: Emulator, deployed: str) -> None:
    """Method, path template and api-version of every job-side request azure-ai-ml 1.35 makes,
    so an SDK upgrade that changes them fails here."""
    start = emu.log.last_seq
    job = ml_client.batch_endpoints.invoke(
        endpoint_name=deployed, deployment_name="blue", inputs=inputs("w")
    )
    wait(ml_client, job.name)
    children = list(ml_client.jobs.list(parent_job_name=job.name))
    ml_client.jobs.stream(job.name)
    list(ml_client.batch_endpoints.list_jobs(deployed))
    list(ml_client.jobs.list())
    ml_client.jobs.get(children[0].name)
    ml_client.jobs.begin_cancel(job.name).result()

    ws = emu.ctx.config.arm_id
    names = {job.name: "{job}", children[0].name: "{child}", deployed: "{ep}"}
    seen = set()
    for entry in emu.request_log(since=start):
        path = entry["path"].replace(ws, "{ws}")
        for value, placeholder in names.items():
            path = path.replace(value, placeholder)
        query = dict(pair.split("=", 1) for pair in entry["query"].split("&") if "=" in pair)
        if path.startswith(("/history/", "/mferp/", "/data/", "/batchEndpoints/", "{ws}/jobs")):
            seen.add((entry["method"], path, query.get("api-version")))

    assert seen == {
        ("POST", "/batchEndpoints/{ep}/jobs", None),
        ("GET", "{ws}/jobs/{job}", "2024-01-01-preview"),
        ("GET", "{ws}/jobs/{child}", "2024-01-01-preview"),
        ("GET", "{ws}/jobs", "2024-01-01-preview"),
        ("POST", "{ws}/jobs/{job}/cancel", "2023-04-01-preview"),
        ("GET", "{ws}/jobs/{job}", "2023-04-01-preview"),  # the cancel's Location poll
        ("GET", "/history/v1.0{ws}/runs/{child}", "v1.0"),
        ("GET", "/history/v1.0{ws}/runs/{job}/children", "v1.0"),
        ("GET", "/history/v1.0{ws}/runs/{job}/details", "v1.0"),
        ("GET", "/mferp/managementfrontend{ws}/batchEndpoints/{ep}/jobs", DATAPLANE),
    }


def test_list_jobs_follows_next_links(ml_client: MLClient, emu: Emulator, deployed: str) -> None:
    names = {
        ml_client.batch_endpoints.invoke(
            endpoint_name=deployed, deployment_name="blue", inputs=inputs(f"p{i}")
        ).name
        for i in range(3)
    }
    backend = backend_for(emu.ctx)
    backend.page_size = 1
    start = emu.log.last_seq
    try:
        listed = [j.name for j in ml_client.batch_endpoints.list_jobs(deployed)]
    finally:
        backend.page_size = 50
    assert set(listed) == names
    pages = emu.request_log(since=start, path="/mferp/managementfrontend/.*/jobs$")
    assert len(pages) == 3  # one job per page; the third page has no nextLink
    for name in names:
        wait(ml_client, name)


def test_malformed_invoke_is_a_400_and_the_next_request_is_served(
    emu: Emulator, deployed: str, http: requests.Session
) -> None:
    url = f"{emu.base_url}/batchEndpoints/{deployed}/jobs"
    auth = {"Authorization": "Bearer t", "Content-Type": "application/json"}
    for body in ("{not json", "[1, 2]", '{"properties": {"inputData": {"raw_data": 7}}}'):
        answer = http.post(url, data=body, headers=auth)
        assert answer.status_code == 400, body
        assert answer.json()["error"]["code"] == "UserError"
    missing = http.post(
        f"{emu.base_url}/batchEndpoints/nope-{deployed}/jobs", json={}, headers=auth
    )
    assert missing.status_code == 404
    assert http.get(f"{emu.base_url}/_emulator/health").status_code == 200


def test_invoke_with_a_local_folder_uploads_it_first(
    ml_client: MLClient, emu: Emulator, deployed: str, tmp_path: Path
) -> None:
    local = tmp_path / "local_sales"
    local.mkdir()
    (local / "one.csv").write_text("date,units\n2024-03-01,1\n2024-03-02,2\n")
    given = {**inputs("local", "full"), "raw_data": Input(type="uri_folder", path=str(local))}
    job = ml_client.batch_endpoints.invoke(
        endpoint_name=deployed, deployment_name="blue", inputs=given
    )
    assert wait(ml_client, job.name) == "Completed"
    uri = ml_client.jobs.get(job.name).inputs["raw_data"].path
    assert uri.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    cfg = emu.ctx.config
    found = emu.ctx.store.get_blob(
        cfg.storage_account, cfg.datastore_container, f"azureml/{job.name}/report/report.txt"
    )
    assert found is not None and found[0].decode() == "report[full] local:1:2\n"
