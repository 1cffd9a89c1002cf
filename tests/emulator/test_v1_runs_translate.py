"""Translation of published v1 pipelines into runner specs: the sample workspace, no runner.

Each test reads one of the sample's published pipelines (seeded into the ``ctx`` store) and
checks the ``PipelineSpec`` that a submission would run: commands with parameters and
placeholders resolved, inputs, output paths and the steps that cannot run locally.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from migrate_kit.emulator import DEFAULT_SAMPLE
from migrate_kit.emulator.config import Context
from migrate_kit.emulator.pipelines import commands
from migrate_kit.emulator.pipelines.backend import PipelinesBackend
from migrate_kit.emulator.pipelines.base import PIPELINE
from migrate_kit.emulator.pipelines.parameters import resolve_parameters
from migrate_kit.emulator.pipelines.translate import build_spec
from migrate_kit.emulator.runner.model import DataRef, PipelineSpec, StepSpec
from migrate_kit.emulator.seed import seed


@pytest.fixture
def backend(ctx: Context) -> PipelinesBackend:
    seed(ctx.store, DEFAULT_SAMPLE, ctx.config)
    return PipelinesBackend(ctx)


def pipeline_id(backend: PipelinesBackend, name: str, version: str) -> str:
    for entity in backend.store.list(PIPELINE):
        if entity["Name"] == name and entity["Version"] == version:
            return str(entity["Id"])
    raise AssertionError(f"no published pipeline {name} {version} in the sample")


def spec_of(
    backend: PipelinesBackend, name: str, version: str, submission: dict[str, Any] | None = None
) -> PipelineSpec:
    source = backend._source(backend._require(PIPELINE, pipeline_id(backend, name, version), "P"))
    resolved, unknown = resolve_parameters(source, submission or {})
    assert unknown == []
    return build_spec(
        source,
        resolved,
        backend.ctx.config,
        run_id="run-1",
        experiment_name="exp",
        step_run_id=lambda node: f"step-{node}",
        continue_on_step_failure=False,
        blob_exists=backend._datastore_blob_exists,
    )


def by_name(spec: PipelineSpec) -> dict[str, StepSpec]:
    return {step.display_name: step for step in spec.steps}


def datastore(ctx: Context, path: str, kind: str = "uri_folder") -> DataRef:
    config = ctx.config
    return DataRef(config.storage_account, config.datastore_container, path, kind=kind)  # type: ignore[arg-type]


def test_script_steps_get_parameters_inputs_and_default_output_paths(
    backend: PipelinesBackend,
) -> None:
    submission = {
        "ParameterAssignments": {"region": "CH-GE", "smoothing": 0.5},
        "DataPathAssignments": {
            "prices_path": {
                "DataStoreName": "workspaceblobstore",
                "RelativePath": "retail/prices/prices_2024_03.csv",
            }
        },
    }
    spec = spec_of(backend, "daily_sales forecast", "1.4", submission)
    steps = by_name(spec)
    prep, prices, forecast = steps["prep_sales"], steps["prep_prices"], steps["forecast"]

    assert prep.command == (
        "python prep_sales.py --sales_dir ${{inputs.sales_raw}} --stores_dir ${{inputs.stores}} "
        "--region CH-GE --min_units 1 --output_dir ${{outputs.daily_sales}}"
    )
    assert forecast.command.endswith(
        "--horizon_days 14 --smoothing 0.5 --output_dir ${{outputs.forecast}}"
    )
    assert prep.inputs["sales_raw"].data == datastore(backend.ctx, "retail/sales")
    # A DataPath assignment naming one blob is a file input.
    [price_input] = prices.inputs.values()
    assert price_input.data == datastore(
        backend.ctx, "retail/prices/prices_2024_03.csv", "uri_file"
    )
    prep_node = prep.name
    assert forecast.inputs["daily_sales"].upstream == (prep_node, "daily_sales")
    assert prep.run_id == f"step-{prep_node}"
    assert prep.outputs["daily_sales"].destination == datastore(
        backend.ctx, f"azureml/step-{prep_node}/daily_sales"
    )
    assert prep.code is not None and str(prep.code).startswith("snapshot:")
    assert prep.environment_variables["AML_PARAMETER_region"] == "CH-GE"
    assert prep.environment_variables["FORECAST_TEAM"] == "retail-demand"
    assert (prep.compute, prep.environment, prep.cannot_run) == (
        "cpu-cluster",
        "retail-forecast-env",
        None,
    )
    assert spec.origin == "v1" and spec.display_name == "daily_sales forecast"


def test_defaults_apply_when_the_submission_assigns_nothing(backend: PipelinesBackend) -> None:
    steps = by_name(spec_of(backend, "weekly-demand-forecast", "2.0"))
    assert "--method seasonal_naive --window 14" in steps["weekly_forecast"].command
    assert "--region ALL --min_units 1" in steps["prep_sales"].command


def test_legacy_and_dataset_placeholders_are_resolved(backend: PipelinesBackend) -> None:
    spec = spec_of(
        backend,
        "price_elasticity_weekly_estimation_by_store",
        "2.0",
        {"ParameterAssignments": {"region": "CH-ZH"}},
    )
    steps = by_name(spec)
    prep, estimate = steps["prep_sales"], steps["estimate_elasticity"]
    # DatasetOutputConfig:<name> is the output; DatasetConsumptionConfig:<name> the input;
    # the literal $AML_PARAMETER_region gets the run's value, as the v1 runtime expands it.
    assert prep.command.endswith("--output_dir ${{outputs.clean_sales}}")
    assert estimate.command == (
        "python elasticity.py --sales_dir ${{inputs.clean_sales}} --prices_dir "
        "${{inputs.prices_raw}} --region CH-ZH --min_weeks 4 "
        "--output_dir ${{outputs.elasticity_report}}"
    )
    assert estimate.inputs["clean_sales"].upstream == (prep.name, "clean_sales")
    # OutputFileDatasetConfig: its destination with {run-id}, else dataset/{run-id}/{name}.
    report = estimate.outputs["elasticity_report"].destination
    assert report.path == f"retail/reports/elasticity/step-{estimate.name}"
    assert prep.outputs["clean_sales"].destination.path == f"dataset/step-{prep.name}/clean_sales"


def test_legacy_data_reference_and_parallel_run_step(backend: PipelinesBackend) -> None:
    steps = by_name(spec_of(backend, "store-batch-scoring", "1.0"))
    split, score = steps["split_by_store"], steps["score-stores"]
    assert split.command.endswith("--since 2024-03-01 --output_dir ${{outputs.store_files}}")
    assert score.command == "" and score.parallel is not None
    assert score.parallel.entry_script == "score_store.py"
    assert (score.parallel.input_name, score.parallel.output_name) == (
        "store_files",
        "store_scores",
    )
    assert (score.parallel.mini_batch_size, score.parallel.error_threshold) == (2, 1)
    assert score.parallel.output_action == "append_row"
    # Only the user's arguments reach the entry script; the driver's are taken out.
    assert score.parallel.program_arguments == "--horizon_days 7"
    assert score.inputs["store_files"].upstream == (split.name, "store_files")


def test_command_step_runs_its_command(backend: PipelinesBackend) -> None:
    steps = by_name(spec_of(backend, "inventory-replenishment", "1.2"))
    assert steps["replenish"].command == (
        "python replenish.py --forecast_dir ${{inputs.weekly_forecast}} --safety_factor 1.15 "
        "--pack_size 6 --output_dir ${{outputs.orders}}"
    )


@pytest.mark.parametrize(
    ("name", "version", "words"),
    [
        ("spark-feature-engineering", "3.1", "DatabricksStep cannot run in the local emulator"),
        ("sales-export-to-lake", "1.0", "DataTransferStep cannot run in the local emulator"),
    ],
)
def test_steps_of_other_services_cannot_run(
    backend: PipelinesBackend, name: str, version: str, words: str
) -> None:
    [step] = spec_of(backend, name, version).steps
    assert step.cannot_run is not None and words in step.cannot_run
    assert step.command == "" and step.parallel is None


def test_data_on_another_datastore_makes_the_step_fail_with_the_reason(
    backend: PipelinesBackend,
) -> None:
    moved = {"DataStoreName": "retail_lake", "RelativePath": "prices"}
    steps = by_name(
        spec_of(
            backend, "daily_sales forecast", "1.4", {"DataPathAssignments": {"prices_path": moved}}
        )
    )
    reason = steps["prep_prices"].cannot_run
    assert reason is not None and "datastore 'retail_lake'" in reason
    assert steps["prep_sales"].cannot_run is None


def test_unknown_assignment_names_are_listed(backend: PipelinesBackend) -> None:
    pipeline = backend._require(PIPELINE, pipeline_id(backend, "daily_sales forecast", "1.4"), "P")
    source = backend._source(pipeline)
    resolved, unknown = resolve_parameters(
        source,
        {
            "ParameterAssignments": {"regoin": "X", "region": "CH-VD"},
            "DataPathAssignments": {"nope": {"DataStoreName": "workspaceblobstore"}},
        },
    )
    assert unknown == ["ParameterAssignments.regoin", "DataPathAssignments.nope"]
    assert resolved.parameters["region"] == "CH-VD"


def test_render_quotes_literals_and_keeps_placeholders_in_place() -> None:
    tokens = commands.argument_tokens(
        [
            {"ValueType": "Literal", "Value": "--title"},
            {"ValueType": "Literal", "Value": "two words"},
            {"ValueType": "Literal", "Value": "--in=$AZUREML_DATAREFERENCE_raw"},
            {"ValueType": "Parameter", "Value": "note"},
            {
                "ValueType": "NestedList",
                "NestedArgumentList": [{"ValueType": "Output", "Value": "o"}],
            },
        ],
        None,
        [],
    )
    problems: list[str] = []
    line = commands.render(
        tokens,
        parameter={"note": "it's"}.__getitem__,
        inputs={"raw"},
        outputs={"o"},
        problems=problems,
    )
    assert line == "--title 'two words' --in=${{inputs.raw}} 'it'\"'\"'s' ${{outputs.o}}"
    assert problems == []
    # What the step's shell makes of it once the runner has put the paths in:
    filled = line.replace("${{inputs.raw}}", "/in/raw").replace("${{outputs.o}}", "/out/o")
    argv = subprocess.run(
        ["/bin/sh", "-c", f"printf '%s\\n' {filled}"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert argv == ["--title", "two words", "--in=/in/raw", "it's", "/out/o"]


def test_legacy_argument_string_is_split_into_tokens() -> None:
    tokens = commands.argument_tokens(None, "--x $AML_PARAMETER_a 'b c'", [])
    assert [t.value for t in tokens] == ["--x", "$AML_PARAMETER_a", "b c"]
    line = commands.render(
        tokens, parameter=lambda name: "v", inputs=set(), outputs=set(), problems=[]
    )
    assert line == "--x v 'b c'"
