"""Parity: a v1 published pipeline's run and the run of its v2 migration give the same bytes.

For two sample pipelines, the v1 published pipeline is submitted through the v1 REST route
(``PipelineSubmit``, as the v1 SDK sends it) with non-default parameter values, and the same
pipeline, migrated by hand, is registered, deployed and invoked through the unmodified
azure-ai-ml ``MLClient`` with the same values. Every output file of every step is then read from
the emulator's blob store on both sides and compared byte for byte, file names included.

The migration is written out here as a user would write it until the converter does it:

- one command component per PythonScriptStep, its code the step folder of
  ``data/v1_project/steps`` and its command the v1 step's argument list with each data input
  as ``${{inputs.x}}``, each output as ``${{outputs.y}}`` and each parameter as an input;
- a ParallelRunStep becomes a parallel component (``parallel_run_function`` with
  ``RunFunction``) with the same entry script, mini-batch size, error threshold and
  ``append_row_to`` its output;
- the pipeline component wires the steps as the v1 graph does, and the v1 pipeline outputs
  become its outputs; v1 DataReferences and DataPath parameters become ``uri_folder`` inputs
  given as ``azureml://datastores/workspaceblobstore/paths/...``.

Where each output lives: a v1 step output at its ``DataLocation`` (``azureml/<step run
id>/<port>``); a v2 step output at Azure ML's default ``azureml/<child job name>/<output>/``, and
a pipeline output at the path the job resource gives for it.

The append_row file: a v1 ParallelRunStep names it ``parallel_run_step.txt`` in its output
folder unless ``append_row_file_name`` says otherwise; a v2 parallel job runs the same driver,
whose default is the same name (azure-ai-ml has no field for it), so the file names are compared
as they are. The emulator's driver runs the mini-batches in one process, in order; on Azure,
with several processes, the order of the appended rows is not fixed, and a comparison against a
real workspace would have to sort the lines first (``parallel_driver``'s ``Not emulated:``).

No ``from __future__ import annotations`` here: ``@dsl.pipeline`` reads its function's
annotations as objects.
"""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.ai.ml import Input, MLClient, Output, dsl
from azure.ai.ml.entities import (
    BatchEndpoint,
    CommandComponent,
    Environment,
    PipelineComponentBatchDeployment,
)
from azure.ai.ml.exceptions import JobException
from azure.ai.ml.parallel import RunFunction, parallel_run_function

from migrate_kit.emulator import DEFAULT_SAMPLE, Emulator

STEPS = DEFAULT_SAMPLE / "v1_project" / "steps"
DATASTORE = "azureml://datastores/workspaceblobstore/paths/"
TERMINAL_V2 = ("Completed", "Failed", "Canceled")
TERMINAL_V1 = ("Finished", "Failed", "Canceled")

#: Parameter values of both runs, none of them the pipeline's default.
DAILY_PARAMETERS: dict[str, Any] = {
    "region": "CH-GE",
    "min_units": 3,
    "include_promos": False,
    "horizon_days": 10,
    "smoothing": 0.5,
}
SCORING_PARAMETERS: dict[str, Any] = {"since": "2024-03-15", "horizon_days": 5}

Files = dict[str, bytes]


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def v1_text(value: Any) -> str:
    """A parameter value as the v1 SDK puts it in ``ParameterAssignments`` (``str()``)."""
    return str(value)


def files_under(emu: Emulator, account: str, container: str, folder: str) -> Files:
    """Every blob under ``folder``, by its path relative to the folder."""
    prefix = folder.strip("/") + "/"
    found: Files = {}
    for path in emu.ctx.store.list_blobs(account, container, prefix):
        blob = emu.ctx.store.get_blob(account, container, path)
        assert blob is not None, path
        found[path[len(prefix) :]] = blob[0]
    return found


def datastore_files(emu: Emulator, folder: str) -> Files:
    """``files_under`` in the workspace's default datastore."""
    cfg = emu.ctx.config
    return files_under(emu, cfg.storage_account, cfg.datastore_container, folder)


def first_difference(expected: bytes, got: bytes) -> str:
    """Where two files part: the first differing line of each (for assertion messages)."""
    ours, theirs = expected.splitlines(), got.splitlines()
    for number, (one, other) in enumerate(zip(ours, theirs, strict=False), start=1):
        if one != other:
            return f"line {number}: v1 {one!r}, v2 {other!r}"
    return f"v1 has {len(ours)} lines, v2 {len(theirs)} (line endings may differ)"


def assert_same_outputs(v1: dict[str, Files], v2: dict[str, Files]) -> None:
    """The same outputs, with the same file names, each file the same bytes."""
    assert sorted(v2) == sorted(v1), "the runs have different outputs"
    for output, files in v1.items():
        assert files, f"output {output!r} of the v1 run has no files"
        assert sorted(v2[output]) == sorted(files), f"file names of output {output!r} differ"
        for name, data in files.items():
            assert v2[output][name] == data, (
                f"{output}/{name}: {first_difference(data, v2[output][name])}"
            )


# -- the v1 side -------------------------------------------------------------------------------


class PipelinesService:
    """The v1 pipelines service of the session emulator, called as the v1 SDK calls it."""

    def __init__(self, emu: Emulator, http: requests.Session) -> None:
        self.emu = emu
        self.http = http
        self.base = f"{emu.base_url}/pipelines/v1.0/{emu.ctx.config.scope}"

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        headers = {"Authorization": "Bearer test-token"}
        if body is not None:
            kwargs["json"] = body
            headers["Content-Type"] = "application/json-patch+json; charset=utf-8"
        response = self.http.request(
            method, self.base + path, headers=headers, timeout=30, **kwargs
        )
        assert response.status_code == 200, response.text
        return response.json() if response.content else None

    def pipeline_id(self, name: str, version: str) -> str:
        pipelines = self.ok("GET", "/Pipelines", params={"activeOnly": "false"})
        [found] = [p for p in pipelines if (p["Name"], p["Version"]) == (name, version)]
        return str(found["Id"])

    def run(
        self,
        name: str,
        version: str,
        parameters: dict[str, Any],
        data_paths: dict[str, str] | None = None,
        timeout: float = 180,
    ) -> str:
        """Submit the published pipeline with these values and wait for it; the run id."""
        body = {
            "ExperimentName": "parity-v1",
            "Description": "parity",
            "RunSource": "SDK",
            "RunType": "SDK",
            "ParameterAssignments": {k: v1_text(v) for k, v in parameters.items()},
            "DataPathAssignments": {
                k: {"DataStoreName": "workspaceblobstore", "RelativePath": path}
                for k, path in (data_paths or {}).items()
            },
            "DataSetDefinitionValueAssignments": {},
            "Properties": {},
        }
        pipeline_id = self.pipeline_id(name, version)
        run_id = str(self.ok("POST", f"/PipelineRuns/PipelineSubmit/{pipeline_id}", body)["Id"])
        deadline = time.monotonic() + timeout
        while True:
            status = self.ok("GET", f"/PipelineRuns/{run_id}")["Status"]
            if status["StatusCode"] in TERMINAL_V1 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert status["StatusCode"] == "Finished", status
        return run_id

    def step_outputs(self, run_id: str) -> dict[str, Files]:
        """Every output port of every step of the run (port names are unique in the sample's
        pipelines) -> its files."""
        nodes = self.ok("POST", f"/PipelineRuns/{run_id}/Graph/AllNodes/Status", [])
        found: dict[str, Files] = {}
        for node in nodes:
            for port, output in self.ok("POST", f"/PipelineRuns/{run_id}/Outputs", [node]).items():
                assert port not in found, port
                found[port] = self.files(output)
        return found

    def parallel_settings(self, name: str, version: str, step: str) -> dict[str, Any]:
        """The ``BatchInferencingMetaData`` of the ParallelRunStep ``step`` (reference §5.1)."""
        pipeline = self.ok("GET", f"/Pipelines/{self.pipeline_id(name, version)}")
        graph = self.ok("GET", f"/Graphs/{pipeline['GraphId']}")
        for node in graph["ModuleNodes"]:
            for item in node.get("ModuleMetadataParameters") or []:
                if item["Name"] == "BatchInferencingMetaData" and item.get("Value"):
                    settings: dict[str, Any] = json.loads(item["Value"])
                    if settings.get("Name") == step:
                        return settings
        raise AssertionError(f"no ParallelRunStep {step!r} in {name} {version}")

    def pipeline_output(self, run_id: str, name: str) -> Files:
        return self.files(self.ok("GET", f"/PipelineRuns/{run_id}/PipelineRunOutputs/{name}"))

    def files(self, output: dict[str, Any]) -> Files:
        reference = output["DataLocation"]["DataReference"]["AzureBlobReference"]
        return files_under(
            self.emu, reference["Account"], reference["Container"], reference["RelativePath"]
        )


@pytest.fixture
def v1(emu: Emulator, http: requests.Session) -> PipelinesService:
    return PipelinesService(emu, http)


# -- the v2 side -------------------------------------------------------------------------------


def command_component(
    ml_client: MLClient,
    env: str,
    folder: str,
    command: str,
    inputs: dict[str, str],
    outputs: tuple[str, ...],
) -> Any:
    """A registered command component running ``command`` in the v1 step folder ``folder``."""
    return ml_client.components.create_or_update(
        CommandComponent(
            name=unique(f"parity_{folder}_"),
            version="1",
            command=command,
            code=str(STEPS / folder),
            environment=env,
            inputs={name: Input(type=kind) for name, kind in inputs.items()},
            outputs={name: Output(type="uri_folder") for name in outputs},
        )
    )


def environment(ml_client: MLClient) -> str:
    """The team's environment, as the migration would register it (never built locally)."""
    env = ml_client.environments.create_or_update(
        Environment(name=unique("parity_env_"), version="1", image="python:3.11-slim")
    )
    return str(env.id)


def deploy(ml_client: MLClient, pipeline: Any) -> str:
    """Register the pipeline component, deploy it as the default of a new batch endpoint;
    the endpoint's name."""
    pipeline.version = "1"
    registered = ml_client.components.create_or_update(pipeline)
    endpoint_name = unique("parity-ep-")
    ml_client.batch_endpoints.begin_create_or_update(
        BatchEndpoint(name=endpoint_name, description="migrated from v1")
    ).result()
    ml_client.batch_deployments.begin_create_or_update(
        PipelineComponentBatchDeployment(
            name="migrated",
            endpoint_name=endpoint_name,
            component=registered,
            settings={"default_compute": "cpu-cluster", "continue_on_step_failure": False},
        )
    ).result()
    endpoint = ml_client.batch_endpoints.get(endpoint_name)
    endpoint.defaults.deployment_name = "migrated"
    ml_client.batch_endpoints.begin_create_or_update(endpoint).result()
    return endpoint_name


def literal(value: Any) -> Input:
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string"}
    return Input(type=kinds[type(value)], default=value)


def folder_input(path: str) -> Input:
    return Input(type="uri_folder", path=DATASTORE + path.strip("/") + "/")


def status_of(value: object) -> str:
    """A job status as text (the SDK gives pipeline jobs a str enum, children plain text)."""
    return str(getattr(value, "value", value))


def invoke_and_wait(
    ml_client: MLClient, endpoint: str, inputs: dict[str, Input], timeout: float = 180
) -> str:
    job = ml_client.batch_endpoints.invoke(
        endpoint_name=endpoint, deployment_name="migrated", inputs=inputs
    )
    deadline = time.monotonic() + timeout
    while True:
        status = status_of(ml_client.jobs.get(job.name).status)
        if status in TERMINAL_V2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert status == "Completed", status
    return str(job.name)


def v2_step_outputs(
    ml_client: MLClient, emu: Emulator, job_name: str, outputs: dict[str, tuple[str, ...]]
) -> dict[str, Files]:
    """Output -> files for the ``outputs`` of each step (by display name) of a finished job,
    outputs that are not pipeline outputs: they sit at Azure ML's default place for a step
    output, ``azureml/<child job name>/<output>/``."""
    children = {c.display_name: c.name for c in ml_client.jobs.list(parent_job_name=job_name)}
    assert set(outputs) <= set(children), children
    return {
        output: datastore_files(emu, f"azureml/{children[step]}/{output}")
        for step, names in outputs.items()
        for output in names
    }


def v2_pipeline_outputs(ml_client: MLClient, emu: Emulator, job_name: str) -> dict[str, Files]:
    """Pipeline output -> files of a finished job, from the paths its job resource gives."""
    found: dict[str, Files] = {}
    for name, output in ml_client.jobs.get(job_name).outputs.items():
        path = str(output.path)
        assert path.startswith(DATASTORE), path
        found[name] = datastore_files(emu, path[len(DATASTORE) :])
    return found


# -- daily_sales forecast 1.4 ------------------------------------------------------------------


def migrate_daily_sales(ml_client: MLClient) -> str:
    """``daily_sales forecast`` 1.4 by hand: three command components, a fan-in pipeline."""
    env = environment(ml_client)
    prep_sales_step = command_component(
        ml_client, env, "prep_sales",
        "python prep_sales.py --sales_dir ${{inputs.sales_dir}} "
        "--stores_dir ${{inputs.stores_dir}} --region ${{inputs.region}} "
        "--min_units ${{inputs.min_units}} --output_dir ${{outputs.daily_sales}}",
        {"sales_dir": "uri_folder", "stores_dir": "uri_folder", "region": "string",
         "min_units": "integer"},
        ("daily_sales",),
    )  # fmt: skip
    prep_prices_step = command_component(
        ml_client, env, "prep_prices",
        "python prep_prices.py --prices_dir ${{inputs.prices_dir}} "
        "--include_promos ${{inputs.include_promos}} --output_dir ${{outputs.weekly_prices}}",
        {"prices_dir": "uri_folder", "include_promos": "boolean"},
        ("weekly_prices",),
    )  # fmt: skip
    forecast_step = command_component(
        ml_client, env, "forecast",
        "python forecast.py --sales_dir ${{inputs.sales_dir}} "
        "--prices_dir ${{inputs.prices_dir}} --horizon_days ${{inputs.horizon_days}} "
        "--smoothing ${{inputs.smoothing}} --output_dir ${{outputs.forecast}}",
        {"sales_dir": "uri_folder", "prices_dir": "uri_folder", "horizon_days": "integer",
         "smoothing": "number"},
        ("forecast",),
    )  # fmt: skip

    @dsl.pipeline(name=unique("parity_daily_sales_forecast_"))
    def daily_sales_forecast(
        sales_raw: Input(type="uri_folder"),  # type: ignore[valid-type]
        stores: Input(type="uri_folder"),  # type: ignore[valid-type]
        prices_path: Input(type="uri_folder"),  # type: ignore[valid-type]
        region: str = "ALL",
        min_units: int = 1,
        include_promos: bool = True,
        horizon_days: int = 14,
        smoothing: float = 0.3,
    ):
        prep_sales = prep_sales_step(
            sales_dir=sales_raw, stores_dir=stores, region=region, min_units=min_units
        )
        prep_prices = prep_prices_step(prices_dir=prices_path, include_promos=include_promos)
        forecast = forecast_step(
            sales_dir=prep_sales.outputs.daily_sales,
            prices_dir=prep_prices.outputs.weekly_prices,
            horizon_days=horizon_days,
            smoothing=smoothing,
        )
        return {"daily_forecast": forecast.outputs.forecast}

    return deploy(ml_client, daily_sales_forecast._pipeline_builder.build())


def test_daily_sales_forecast_v1_and_v2_outputs_are_byte_identical(
    ml_client: MLClient, emu: Emulator, v1: PipelinesService
) -> None:
    v1_run = v1.run(
        "daily_sales forecast", "1.4", DAILY_PARAMETERS, {"prices_path": "retail/prices"}
    )
    v1_steps = v1.step_outputs(v1_run)
    v1_pipeline = {"daily_forecast": v1.pipeline_output(v1_run, "daily_forecast")}

    endpoint = migrate_daily_sales(ml_client)
    job = invoke_and_wait(
        ml_client,
        endpoint,
        {
            "sales_raw": folder_input("retail/sales"),
            "stores": folder_input("retail/stores"),
            "prices_path": folder_input("retail/prices"),
            **{name: literal(value) for name, value in DAILY_PARAMETERS.items()},
        },
    )
    v2_steps = v2_step_outputs(
        ml_client, emu, job, {"prep_sales": ("daily_sales",), "prep_prices": ("weekly_prices",)}
    )
    v2_pipeline = v2_pipeline_outputs(ml_client, emu, job)
    v2_steps["forecast"] = v2_pipeline["daily_forecast"]  # the pipeline output is its file

    assert sorted(v1_steps) == ["daily_sales", "forecast", "weekly_prices"]
    assert {port: sorted(files) for port, files in v1_steps.items()} == {
        "daily_sales": ["daily_sales.csv"],
        "forecast": ["forecast.csv"],
        "weekly_prices": ["weekly_prices.csv"],
    }
    assert v1_pipeline["daily_forecast"] == v1_steps["forecast"]
    assert_same_outputs(v1_steps, v2_steps)
    assert_same_outputs(v1_pipeline, v2_pipeline)

    # The values reached the scripts: only Geneva stores, ten days of forecast per series.
    sales = v1_steps["daily_sales"]["daily_sales.csv"].decode().splitlines()
    stores = (DEFAULT_SAMPLE / "datastore/retail/stores/stores.csv").read_text().splitlines()
    geneva = {line.split(",")[0] for line in stores[1:] if ",CH-GE," in line}
    assert geneva and {line.split(",")[1] for line in sales[1:]} == geneva
    forecast = v1_steps["forecast"]["forecast.csv"].decode().splitlines()
    dates = {line.split(",")[2] for line in forecast[1:]}
    assert len(dates) == DAILY_PARAMETERS["horizon_days"]


# -- store-batch-scoring 1.0 -------------------------------------------------------------------


def migrate_store_batch_scoring(ml_client: MLClient, v1_settings: dict[str, Any]) -> str:
    """``store-batch-scoring`` 1.0 by hand: a command component, then a parallel component
    with the ParallelRunStep's settings ``v1_settings`` (its ``BatchInferencingMetaData``:
    entry script, mini-batch size, error threshold, nodes and processes; append_row)."""
    assert v1_settings["OutputAction"] == "append_row"
    assert "AppendRowFileName" not in v1_settings  # the default name on both sides
    env = environment(ml_client)
    split_step = command_component(
        ml_client, env, "split_by_store",
        "python split_by_store.py --sales_dir ${{inputs.sales_dir}} --since ${{inputs.since}} "
        "--output_dir ${{outputs.store_files}}",
        {"sales_dir": "uri_folder", "since": "string"},
        ("store_files",),
    )  # fmt: skip
    score_step = parallel_run_function(
        name=unique("parity_score_stores_"),
        version="1",
        inputs={
            "store_files": Input(type="uri_folder"),
            "horizon_days": Input(type="integer"),
        },
        outputs={"store_scores": Output(type="uri_folder")},
        input_data="${{inputs.store_files}}",
        mini_batch_size=str(v1_settings["MiniBatchSize"]),
        error_threshold=int(v1_settings["ErrorThreshold"]),
        instance_count=int(v1_settings["NodeCount"]),
        max_concurrency_per_instance=int(v1_settings["ProcessCountPerNode"]),
        task=RunFunction(
            code=str(STEPS / "batch_scoring"),
            entry_script=str(v1_settings["EntryScript"]),
            program_arguments="--horizon_days ${{inputs.horizon_days}}",
            environment=env,
            append_row_to="${{outputs.store_scores}}",
        ),
    )

    @dsl.pipeline(name=unique("parity_store_batch_scoring_"))
    def store_batch_scoring(
        sales_raw: Input(type="uri_folder"),  # type: ignore[valid-type]
        since: str = "2024-03-01",
        horizon_days: int = 7,
    ):
        split_by_store = split_step(sales_dir=sales_raw, since=since)
        score_stores = score_step(
            store_files=split_by_store.outputs.store_files, horizon_days=horizon_days
        )
        return {"store_scores": score_stores.outputs.store_scores}

    return deploy(ml_client, store_batch_scoring._pipeline_builder.build())


def test_store_batch_scoring_parallel_outputs_are_byte_identical(
    ml_client: MLClient, emu: Emulator, v1: PipelinesService
) -> None:
    v1_run = v1.run("store-batch-scoring", "1.0", SCORING_PARAMETERS)
    v1_steps = v1.step_outputs(v1_run)

    settings = v1.parallel_settings("store-batch-scoring", "1.0", "score-stores")
    assert (settings["MiniBatchSize"], settings["ErrorThreshold"]) == (2, 1)
    endpoint = migrate_store_batch_scoring(ml_client, settings)
    job = invoke_and_wait(
        ml_client,
        endpoint,
        {
            "sales_raw": folder_input("retail/sales"),
            **{name: literal(value) for name, value in SCORING_PARAMETERS.items()},
        },
    )
    v2_steps = v2_step_outputs(ml_client, emu, job, {"split_by_store": ("store_files",)})
    v2_pipeline = v2_pipeline_outputs(ml_client, emu, job)
    v2_steps["store_scores"] = v2_pipeline["store_scores"]

    assert sorted(v1_steps) == ["store_files", "store_scores"]
    assert sorted(v1_steps["store_scores"]) == ["parallel_run_step.txt"]
    assert len(v1_steps["store_files"]) == 5  # one file per store: three mini-batches of 2
    assert_same_outputs(v1_steps, v2_steps)

    # The values reached the scripts: rows from the 15th on, five days of forecast.
    rows = v1_steps["store_scores"]["parallel_run_step.txt"].decode().splitlines()
    assert len(rows) == 5
    for line in rows:
        _, last_week, forecast = line.split(",")
        assert float(forecast) == pytest.approx(float(last_week) / 7 * 5, abs=0.06)
    for text in v1_steps["store_files"].values():
        assert min(line[:10] for line in text.decode().splitlines()[1:]) == "2024-03-15"


# -- the parallel driver through MLClient --------------------------------------------------------

#: An entry script that shows what the driver does: each row names the file, the size of its
#: mini-batch and how many times ``init`` ran; a file reading "bad" fails (no row), a file
#: reading "boom" makes ``run`` raise, which fails its whole mini-batch.
SCORE = """\
import pathlib

INITS = 0


def init():
    global INITS
    INITS += 1


def run(mini_batch):
    rows = []
    for item in sorted(mini_batch):
        path = pathlib.Path(item)
        text = path.read_text().strip()
        if text == "boom":
            raise RuntimeError("cannot score " + path.name)
        if text != "bad":
            rows.append(f"{path.name},{text},batch={len(mini_batch)},init={INITS}")
    return rows
"""


def test_parallel_component_honours_mini_batches_and_the_error_threshold(
    ml_client: MLClient, emu: Emulator, tmp_path: Path
) -> None:
    code = tmp_path / "score"
    code.mkdir()
    (code / "score.py").write_text(SCORE)
    score_step = parallel_run_function(
        name=unique("parity_threshold_"),
        version="1",
        inputs={"files": Input(type="uri_folder")},
        outputs={"rows": Output(type="uri_folder")},
        input_data="${{inputs.files}}",
        mini_batch_size="2",
        error_threshold=1,
        task=RunFunction(
            code=str(code),
            entry_script="score.py",
            environment=environment(ml_client),
            append_row_to="${{outputs.rows}}",
        ),
    )

    @dsl.pipeline(name=unique("parity_threshold_pipeline_"))
    def scoring(files: Input(type="uri_folder")):  # type: ignore[valid-type]
        score = score_step(files=files)
        return {"rows": score.outputs.rows}

    endpoint = deploy(ml_client, scoring._pipeline_builder.build())

    def folder(name: str, texts: list[str]) -> Input:
        path = tmp_path / name
        path.mkdir()
        for letter, text in zip("abcde", texts, strict=False):
            (path / f"{letter}.txt").write_text(text)
        return Input(type="uri_folder", path=str(path))

    # One failed item is within the threshold of 1: the job completes without its row.
    good = invoke_and_wait(
        ml_client, endpoint, {"files": folder("one_bad", ["1", "2", "bad", "4", "5"])}
    )
    assert v2_pipeline_outputs(ml_client, emu, good) == {
        "rows": {
            "parallel_run_step.txt": b"a.txt,1,batch=2,init=1\nb.txt,2,batch=2,init=1\n"
            b"d.txt,4,batch=2,init=1\ne.txt,5,batch=1,init=1\n"
        }
    }

    # A mini-batch whose run() raises loses both its items: more than the threshold.
    job = ml_client.batch_endpoints.invoke(
        endpoint_name=endpoint,
        deployment_name="migrated",
        inputs={"files": folder("boom", ["1", "2", "3", "boom", "5"])},
    )
    with pytest.raises(JobException, match="more than the error threshold of 1"):
        ml_client.jobs.stream(job.name)
    assert status_of(ml_client.jobs.get(job.name).status) == "Failed"
