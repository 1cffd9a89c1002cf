"""Backend tests of the v2 job side: invoke, job resources, run history, without HTTP.

A small builder puts a deployable two-step pipeline into the store the way the ARM family keeps
it (``arm.code`` with a ``codeUri`` of blobs, ``arm.component`` specs in the SDK's REST form,
``arm.batch_endpoint`` / ``arm.batch_deployment``). ``prep`` counts the data lines of the CSVs
of its ``raw`` folder and writes ``summary.txt`` with the ``label`` literal; ``report`` reads
it (an upstream edge) and writes ``report.txt`` to the pipeline's ``report`` output, or fails
with a message on stderr in mode ``explode``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.ai.ml._restclient.arm_ml_service.models import JobBase
from azure.ai.ml.entities import Job, PipelineJob

from migrate_kit.emulator.config import Context
from migrate_kit.emulator.jobs.backend import JobsBackend, backend_for
from migrate_kit.emulator.jobs.errors import (
    DeploymentNotFound,
    InvalidInvokeInput,
    JobNotFound,
    NoDeployment,
)
from migrate_kit.emulator.jobs.invoke_body import parse_invoke_body
from migrate_kit.emulator.jobs.translate import PipelineTranslator
from migrate_kit.emulator.runner.backend import Runner, runner_for

PREP = """\
import argparse, pathlib
p = argparse.ArgumentParser()
p.add_argument("--raw"); p.add_argument("--label"); p.add_argument("--out")
a = p.parse_args()
lines = sum(len(f.read_text().splitlines()) - 1 for f in sorted(pathlib.Path(a.raw).rglob("*.csv")))
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "summary.txt").write_text(f"{a.label}:{lines}\\n")
print("prep counted", lines)
"""

REPORT = """\
import argparse, pathlib, sys
p = argparse.ArgumentParser()
p.add_argument("--data"); p.add_argument("--mode"); p.add_argument("--out")
a = p.parse_args()
if a.mode == "explode":
    print("report cannot run in mode explode", file=sys.stderr)
    sys.exit(3)
summary = (pathlib.Path(a.data) / "summary.txt").read_text().strip()
pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(a.out) / "report.txt").write_text(f"report[{a.mode}] {summary}\\n")
"""


def arm_id(ctx: Context, collection: str, name: str, version: str) -> str:
    return f"{ctx.config.arm_id}/{collection}/{name}/versions/{version}"


def put_code(ctx: Context, name: str, files: dict[str, str]) -> str:
    """Upload a code folder to the datastore and register it; returns its ARM id."""
    cfg = ctx.config
    folder = f"LocalUpload/{name}"
    for file_name, text in files.items():
        ctx.store.put_blob(
            cfg.storage_account, cfg.datastore_container, f"{folder}/{file_name}", text.encode()
        )
    code_id = arm_id(ctx, "codes", name, "1")
    uri = f"{ctx.base_url}/{cfg.storage_account}/{cfg.datastore_container}/{folder}"
    ctx.store.put(
        "arm.code",
        f"{name}/1",
        {"id": code_id, "name": "1", "properties": {"codeUri": uri}},
    )
    return code_id


def put_component(ctx: Context, name: str, spec: dict[str, Any]) -> str:
    component_id = arm_id(ctx, "components", name, "1")
    body = {"id": component_id, "name": "1", "properties": {"componentSpec": spec}}
    ctx.store.put("arm.component", f"{name}/1".lower(), body)
    return component_id


def put_pipeline(ctx: Context, prefix: str) -> str:
    """The two command components and the pipeline component; returns the pipeline's id."""
    prep_code = put_code(ctx, f"{prefix}-prep", {"prep.py": PREP})
    report_code = put_code(ctx, f"{prefix}-report", {"report.py": REPORT})
    prep = put_component(
        ctx,
        f"{prefix}_prep",
        {
            "name": f"{prefix}_prep",
            "version": "1",
            "type": "command",
            "command": "python prep.py --raw ${{inputs.raw}} --label ${{inputs.label}} "
            "--out ${{outputs.out}}",
            "code": "azureml:" + prep_code,
            "environment": "azureml:sklearn-env:1",
            "inputs": {"raw": {"type": "uri_folder"}, "label": {"type": "string"}},
            "outputs": {"out": {"type": "uri_folder"}},
        },
    )
    report = put_component(
        ctx,
        f"{prefix}_report",
        {
            "name": f"{prefix}_report",
            "version": "1",
            "type": "command",
            "command": "python report.py --data ${{inputs.data}} --mode ${{inputs.mode}} "
            "--out ${{outputs.out}}",
            "code": "azureml:" + report_code,
            "environment": "azureml:sklearn-env:1",
            "inputs": {"data": {"type": "uri_folder"}, "mode": {"type": "string"}},
            "outputs": {"out": {"type": "uri_folder"}},
        },
    )
    literal = "literal"
    return put_component(
        ctx,
        f"{prefix}_pipe",
        {
            "name": f"{prefix}_pipe",
            "version": "1",
            "type": "pipeline",
            "inputs": {
                "raw_data": {"type": "uri_folder"},
                "label": {"type": "string"},
                "mode": {"type": "string", "default": "full"},
            },
            "outputs": {"report": {"type": "uri_folder"}},
            "jobs": {
                "prep": {
                    "name": "prep",
                    "type": "command",
                    "componentId": prep,
                    "inputs": {
                        "raw": {"value": "${{parent.inputs.raw_data}}", "job_input_type": literal},
                        "label": {"value": "${{parent.inputs.label}}", "job_input_type": literal},
                    },
                    "_source": "REMOTE.WORKSPACE.COMPONENT",
                },
                "report": {
                    "name": "report",
                    "type": "command",
                    "componentId": report,
                    "inputs": {
                        "data": {
                            "value": "${{parent.jobs.prep.outputs.out}}",
                            "job_input_type": literal,
                        },
                        "mode": {"value": "${{parent.inputs.mode}}", "job_input_type": literal},
                    },
                    "outputs": {"out": {"value": "${{parent.outputs.report}}", "type": literal}},
                    "_source": "REMOTE.WORKSPACE.COMPONENT",
                },
            },
            "_source": "DSL",
        },
    )


def put_endpoint(
    ctx: Context,
    name: str,
    pipeline_id: str,
    *,
    deployment: str = "blue",
    default: bool = True,
    settings: dict[str, Any] | None = None,
) -> None:
    """A batch endpoint with one pipeline component deployment."""
    endpoint_id = f"{ctx.config.arm_id}/batchEndpoints/{name}"
    defaults = {"deploymentName": deployment} if default else {}
    ctx.store.put(
        "arm.batch_endpoint",
        name.lower(),
        {
            "id": endpoint_id,
            "name": name,
            "properties": {
                "scoringUri": f"{ctx.base_url}/batchEndpoints/{name}/jobs",
                "defaults": defaults,
                "provisioningState": "Succeeded",
            },
        },
    )
    ctx.store.put(
        "arm.batch_deployment",
        f"{name}/{deployment}".lower(),
        {
            "id": f"{endpoint_id}/deployments/{deployment}",
            "name": deployment,
            "properties": {
                "deploymentConfiguration": {
                    "deploymentConfigurationType": "PipelineComponent",
                    "componentId": {"referenceType": "Id", "assetId": pipeline_id},
                    "settings": settings
                    or {"default_compute": "cpu-cluster", "continue_on_step_failure": False},
                },
                "provisioningState": "Succeeded",
            },
        },
    )


def invoke_body(ctx: Context, **literals: Any) -> dict[str, Any]:
    """An invoke body as the SDK sends it: the sample sales folder and literals."""
    inputs: dict[str, Any] = {
        "raw_data": {
            "jobInputType": "UriFolder",
            "uri": "azureml://datastores/workspaceblobstore/paths/retail/sales/",
        }
    }
    for name, value in literals.items():
        inputs[name] = {"jobInputType": "Literal", "value": value}
    return {"properties": {"inputData": inputs}}


def put_sales(ctx: Context) -> None:
    """Two small CSV files where the sample keeps its sales data (5 data lines in all)."""
    cfg = ctx.config
    for name, rows in (("a.csv", 3), ("b.csv", 2)):
        text = "date,units\n" + "".join(f"2024-03-0{i},1\n" for i in range(rows))
        ctx.store.put_blob(
            cfg.storage_account, cfg.datastore_container, f"retail/sales/{name}", text.encode()
        )


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def runner(ctx: Context) -> Iterator[Runner]:
    run = runner_for(ctx)
    yield run
    run.close()


@pytest.fixture
def jobs(ctx: Context, runner: Runner) -> JobsBackend:
    put_sales(ctx)
    put_endpoint(ctx, "ep-one", put_pipeline(ctx, "t"))
    return backend_for(ctx)


def blob_text(ctx: Context, path: str) -> str:
    found = ctx.store.get_blob(ctx.config.storage_account, ctx.config.datastore_container, path)
    assert found is not None, f"no blob {path}"
    return found[0].decode()


# -- invoke and the job resource ---------------------------------------------------------------


def test_invoke_runs_both_steps_and_writes_the_pipeline_output(
    ctx: Context, jobs: JobsBackend, runner: Runner
) -> None:
    job = jobs.invoke("ep-one", "blue", invoke_body(ctx, label="march", mode="quick"))
    name = job["name"]
    assert job["properties"]["jobType"] == "Pipeline"
    assert job["properties"]["status"] in ("NotStarted", "Queued", "Running")

    assert runner.wait(name, timeout=60)["status"] == "Completed"
    assert blob_text(ctx, f"azureml/{name}/report/report.txt") == "report[quick] march:5\n"

    children = runner.children(name)
    assert [c["stepName"] for c in children] == ["prep", "report"]
    prep_id = children[0]["runId"]
    assert blob_text(ctx, f"azureml/{prep_id}/out/summary.txt") == "march:5\n"
    assert children[1]["inputs"]["data"] == {"upstream": {"step": "prep", "output": "out"}}


def test_job_resource_uses_the_job_enum_form_and_parses_in_the_sdk(
    ctx: Context, jobs: JobsBackend, runner: Runner
) -> None:
    name = jobs.invoke("ep-one", None, invoke_body(ctx, label="x", mode="m"))["name"]
    runner.wait(name)
    resource = jobs.get_job(name)
    props = resource["properties"]

    assert props["status"] == "Completed"
    assert props["inputs"]["label"] == {"jobInputType": "literal", "value": "x"}
    assert props["inputs"]["raw_data"]["jobInputType"] == "uri_folder"
    assert props["inputs"]["raw_data"]["uri"] == (
        "azureml://datastores/workspaceblobstore/paths/retail/sales/"
    )
    assert props["outputs"]["report"]["uri"].endswith(f"paths/azureml/{name}/report/")
    assert props["settings"] == {
        "continue_on_step_failure": False,
        "default_compute": "cpu-cluster",
    }
    assert props["experimentName"] == "ep-one"

    parsed = Job._from_rest_object(JobBase(resource))
    assert isinstance(parsed, PipelineJob)
    assert parsed.status == "Completed"
    assert parsed.inputs["label"]._data == "x"
    assert parsed.settings.default_compute == "cpu-cluster"


def test_literal_values_keep_their_json_type_as_text(ctx: Context, jobs: JobsBackend) -> None:
    name = jobs.invoke("ep-one", None, invoke_body(ctx, label=0.5, mode=True))["name"]
    props = jobs.get_job(name)["properties"]
    assert props["inputs"]["label"]["value"] == "0.5"
    assert props["inputs"]["mode"]["value"] == "True"


def test_default_of_a_pipeline_input_is_used(ctx: Context, jobs: JobsBackend) -> None:
    name = jobs.invoke("ep-one", None, invoke_body(ctx, label="x"))["name"]
    assert jobs.get_job(name)["properties"]["inputs"]["mode"]["value"] == "full"


def test_invoke_honours_job_name_experiment_and_output_data(
    ctx: Context, jobs: JobsBackend, runner: Runner
) -> None:
    body = invoke_body(ctx, label="y")
    body["properties"]["name"] = "named-job-1"
    body["properties"]["properties"] = {"experimentName": "exp-x"}
    body["properties"]["outputData"] = {
        "report": {
            "jobOutputType": "UriFolder",
            "uri": "azureml://datastores/workspaceblobstore/paths/custom/out/",
        }
    }
    job = jobs.invoke("ep-one", "blue", body)
    assert job["name"] == "named-job-1"
    assert job["properties"]["experimentName"] == "exp-x"
    runner.wait("named-job-1")
    assert blob_text(ctx, "custom/out/report.txt") == "report[full] y:5\n"

    with pytest.raises(InvalidInvokeInput, match="already exists"):
        jobs.invoke("ep-one", "blue", body)


def test_deployment_settings_reach_the_runner(ctx: Context, runner: Runner) -> None:
    put_sales(ctx)
    settings = {"default_compute": "gpu-cluster", "continue_on_step_failure": "True"}
    put_endpoint(ctx, "ep-set", put_pipeline(ctx, "s"), settings=settings)
    name = backend_for(ctx).invoke("ep-set", None, invoke_body(ctx, label="z"))["name"]
    record = runner.get(name)
    assert record is not None
    assert record["settings"] == {"continueOnStepFailure": True, "defaultCompute": "gpu-cluster"}


# -- bad invokes -------------------------------------------------------------------------------


def test_unknown_input_name_is_a_400(ctx: Context, jobs: JobsBackend) -> None:
    with pytest.raises(InvalidInvokeInput, match="'colour'") as caught:
        jobs.invoke("ep-one", "blue", invoke_body(ctx, label="x", colour="red"))
    assert caught.value.status == 400
    assert caught.value.body()["error"]["code"] == "UserError"


@pytest.mark.parametrize("kind", ["MLTable", "CustomModel", "MLFlowModel"])
def test_model_and_table_inputs_are_refused(ctx: Context, jobs: JobsBackend, kind: str) -> None:
    body = invoke_body(ctx, label="x")
    body["properties"]["inputData"]["raw_data"] = {"jobInputType": kind, "uri": "azureml:m:1"}
    with pytest.raises(InvalidInvokeInput, match=kind):
        jobs.invoke("ep-one", "blue", body)


def test_missing_required_input_is_a_400(ctx: Context, jobs: JobsBackend) -> None:
    with pytest.raises(InvalidInvokeInput, match="Required input 'label'"):
        jobs.invoke("ep-one", "blue", invoke_body(ctx))


def test_literal_for_a_data_input_and_foreign_datastore_are_refused(
    ctx: Context, jobs: JobsBackend
) -> None:
    body = invoke_body(ctx, label="x")
    body["properties"]["inputData"]["raw_data"] = {"jobInputType": "Literal", "value": "a"}
    with pytest.raises(InvalidInvokeInput, match="declared uri_folder"):
        jobs.invoke("ep-one", "blue", body)
    body["properties"]["inputData"]["raw_data"] = {
        "jobInputType": "UriFolder",
        "uri": "azureml://datastores/otherstore/paths/x/",
    }
    with pytest.raises(InvalidInvokeInput, match="otherstore"):
        jobs.invoke("ep-one", "blue", body)


@pytest.mark.parametrize("body", [[], {"properties": 3}, {"properties": {"inputData": 5}}])
def test_malformed_bodies_are_400s(jobs: JobsBackend, body: Any) -> None:
    with pytest.raises(InvalidInvokeInput):
        jobs.invoke("ep-one", "blue", body)


def test_unknown_deployment_and_missing_default(ctx: Context, jobs: JobsBackend) -> None:
    with pytest.raises(DeploymentNotFound):
        jobs.invoke("ep-one", "green", invoke_body(ctx, label="x"))
    put_endpoint(ctx, "ep-nodef", put_pipeline(ctx, "n"), default=False)
    with pytest.raises(NoDeployment):
        jobs.invoke("ep-nodef", None, invoke_body(ctx, label="x"))
    assert jobs.invoke("ep-nodef", "blue", invoke_body(ctx, label="x"))["name"]


# -- failures, children, run history -----------------------------------------------------------


def test_failing_step_fails_the_job_with_its_stderr(
    ctx: Context, jobs: JobsBackend, runner: Runner
) -> None:
    name = jobs.invoke("ep-one", None, invoke_body(ctx, label="x", mode="explode"))["name"]
    assert runner.wait(name)["status"] == "Failed"
    assert jobs.get_job(name)["properties"]["status"] == "Failed"

    report = runner.children(name)[1]
    assert report["status"] == "Failed"
    assert "report cannot run in mode explode" in runner.read_log(report["runId"])
    details = jobs.get_run_details(report["runId"])
    assert details["error"]["error"]["code"]
    assert "user_logs/std_log.txt" in details["logFiles"]

    parent_details = jobs.get_run_details(name)
    (detail,) = parent_details["error"]["error"]["details"]
    assert detail["target"] == "report"
    assert "report cannot run in mode explode" in detail["message"]
    log_url = parent_details["logFiles"]["logs/azureml/executionlogs.txt"]
    assert log_url.startswith(f"{ctx.base_url}/{ctx.config.storage_account}/azureml/")
    assert "sig=" in log_url
    execution_log = ctx.store.get_blob(
        ctx.config.storage_account,
        "azureml",
        f"ExperimentRun/dcid.{name}/logs/azureml/executionlogs.txt",
    )
    assert execution_log is not None
    assert f"Step report (run id {report['runId']}) is Failed.".encode() in execution_log[0]
    assert b"report cannot run in mode explode" in execution_log[0]


def test_children_are_stubs_in_arm_and_runs_in_history(
    ctx: Context, jobs: JobsBackend, runner: Runner
) -> None:
    name = jobs.invoke("ep-one", None, invoke_body(ctx, label="x"))["name"]
    runner.wait(name)
    children = jobs.list_children(name, None)["value"]
    assert [c["name"] for c in children] == ["prep", "report"]
    assert {c["parentRunId"] for c in children} == {name}
    assert jobs.list_children(name, 1)["value"] == children[:1]

    child_id = children[0]["runId"]
    assert jobs.get_job(child_id)["properties"] is None
    run = jobs.get_run(child_id)
    assert run["status"] == "Completed"
    assert run["outputs"]["out"]["type"] == "uri_folder"

    with pytest.raises(JobNotFound):
        jobs.get_job("no-such-job")


def test_run_data_and_resolved_uris_lead_to_the_output(
    ctx: Context, jobs: JobsBackend, runner: Runner
) -> None:
    name = jobs.invoke("ep-one", None, invoke_body(ctx, label="x"))["name"]
    runner.wait(name)
    metadata = jobs.get_run_data({"runId": name})["runMetadata"]
    asset = metadata["outputs"]["report"]["assetId"]
    resolved = jobs.resolve_data_uris({"values": [asset, "azureml://nothing"]})["values"]
    assert list(resolved) == [asset]
    assert resolved[asset]["uri"].endswith(
        f"/datastores/workspaceblobstore/paths/azureml/{name}/report/"
    )


def test_endpoint_job_list_pages_newest_first(ctx: Context, jobs: JobsBackend) -> None:
    names = [jobs.invoke("ep-one", None, invoke_body(ctx, label="x"))["name"] for _ in range(3)]
    jobs.page_size = 2
    url = "https://h/mferp/x/batchEndpoints/ep-one/jobs?api-version=2020-09-01-dataplanepreview"
    first = jobs.list_endpoint_jobs("ep-one", 0, url)
    assert [j["name"] for j in first["value"]] == names[::-1][:2]
    assert "%24skipToken=2" in first["nextLink"]
    assert "api-version=2020-09-01-dataplanepreview" in first["nextLink"]
    second = jobs.list_endpoint_jobs("ep-one", 2, first["nextLink"])
    assert [j["name"] for j in second["value"]] == [names[0]]
    assert second["nextLink"] is None
    assert len(jobs.list_jobs("ActiveOnly", 0, url)["value"]) == 2
    assert jobs.list_jobs("ArchivedOnly", 0, url)["value"] == []


def test_cancel_ends_a_running_job(ctx: Context, jobs: JobsBackend, runner: Runner) -> None:
    put_code(ctx, "t-prep", {"prep.py": "import time\ntime.sleep(30)\n"})
    name = jobs.invoke("ep-one", None, invoke_body(ctx, label="x"))["name"]
    jobs.cancel_job(name)
    assert runner.wait(name, timeout=20)["status"] == "Canceled"
    with pytest.raises(JobNotFound):
        jobs.cancel_job("nope")


# -- translation details -----------------------------------------------------------------------


def test_translation_of_parallel_inline_optional_and_unsupported_steps(ctx: Context) -> None:
    code = put_code(ctx, "tr-code", {"score.py": "def init(): pass\n"})
    parallel = put_component(
        ctx,
        "tr_par",
        {
            "type": "parallel",
            "inputs": {"data": {"type": "uri_folder"}, "k": {"type": "integer", "default": "3"}},
            "outputs": {"scored": {"type": "uri_folder"}},
            "input_data": "${{inputs.data}}",
            "mini_batch_size": "2",
            "error_threshold": 0,
            "task": {
                "type": "run_function",
                "code": "azureml:" + code,
                "entry_script": "score.py",
                "program_arguments": "--k ${{inputs.k}}",
                "append_row_to": "${{outputs.scored}}",
            },
        },
    )
    inline = {
        "type": "command",
        "command": "echo ${{inputs.greeting}} $[[--x ${{inputs.x}}]]",
        "inputs": {"greeting": {"type": "string"}, "x": {"type": "string", "optional": True}},
    }
    pipeline = {
        "type": "pipeline",
        "inputs": {"d": {"type": "uri_folder"}, "who": {"type": "string"}},
        "outputs": {"o": {"type": "uri_folder"}},
        "jobs": {
            "score": {
                "type": "parallel",
                "componentId": parallel,
                "mini_batch_size": 5,
                "task": {"entry_script": "score.py", "append_row_file_name": "rows.csv"},
                "inputs": {"data": {"value": "${{parent.inputs.d}}", "job_input_type": "literal"}},
                "outputs": {"scored": {"value": "${{parent.outputs.o}}", "type": "literal"}},
            },
            "hello": {
                "type": "command",
                "componentSpec": inline,
                "inputs": {"greeting": {"value": "hi ${{parent.inputs.who}}!"}},
            },
            "fixed": {
                "type": "command",
                "componentSpec": {**inline, "inputs": {"greeting": {"type": "uri_file"}}},
                "inputs": {
                    "greeting": {
                        "job_input_type": "uri_file",
                        "uri": "azureml://datastores/workspaceblobstore/paths/a/b.txt",
                    }
                },
            },
            "spark": {"type": "spark", "componentSpec": {"type": "spark"}},
        },
    }
    body = invoke_body(ctx, who="ann")
    body["properties"]["inputData"]["d"] = body["properties"]["inputData"].pop("raw_data")
    request = parse_invoke_body(body, ctx.config)
    plan = PipelineTranslator(ctx.store, ctx.config, ctx.new_id).plan(
        "tr-job", pipeline, request, experiment_name="e", settings={}
    )
    steps = {step.name: step for step in plan.spec.steps}

    score = steps["score"]
    assert score.parallel is not None
    assert score.parallel.input_name == "data"
    assert score.parallel.output_name == "scored"
    assert score.parallel.mini_batch_size == 5
    assert score.parallel.error_threshold == 0
    assert score.parallel.append_row_file_name == "rows.csv"
    assert score.code is not None and score.code.path == "LocalUpload/tr-code"
    assert score.inputs["k"].literal == "3"
    assert score.outputs["scored"].destination.path == "azureml/tr-job/o"

    hello = steps["hello"]
    assert hello.inputs["greeting"].literal == "hi ann!"
    assert hello.inputs["x"].optional and hello.inputs["x"].literal is None
    fixed = steps["fixed"].inputs["greeting"].data
    assert fixed is not None and (fixed.path, fixed.kind) == ("a/b.txt", "uri_file")
    assert steps["spark"].cannot_run and "spark" in steps["spark"].cannot_run
    assert len({step.run_id for step in plan.spec.steps}) == 4
