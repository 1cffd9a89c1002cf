"""How v1 constructs map to v2 specs, on model objects built here (no server)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from convert_models import (
    data_reference,
    edge,
    literal,
    pipeline,
    ref,
    snapshots_for,
    step,
    two_steps,
)

from migrate_kit import Severity, build_plan
from migrate_kit.convert.environments import environment_from_runconfig
from migrate_kit.convert.mapping import convert_graph
from migrate_kit.convert.model import InvokeInput, OutputLink
from migrate_kit.errors import ConfigurationError
from migrate_kit.v1.models import (
    DataInput,
    DataInputKind,
    EndpointVersion,
    EntityStatus,
    GraphParameter,
    ParameterType,
    PipelineEndpoint,
    Port,
)


def test_parameters_become_typed_pipeline_inputs_with_their_defaults() -> None:
    parameters = [
        GraphParameter("n", ParameterType.INT, "14"),
        GraphParameter("rate", ParameterType.FLOAT, "0.3"),
        GraphParameter("promos", ParameterType.BOOL, "True"),
        GraphParameter("region", ParameterType.STRING, "CH-ZH"),
        GraphParameter("broken", ParameterType.INT, "many"),
    ]
    s = step("a", "n1", arguments=[ref("parameter", "n")], bindings={"n": "n"})
    conversion = convert_graph(pipeline("p", [s], parameters=parameters))
    assert conversion.inputs == {
        "n": {"type": "integer", "default": 14},
        "rate": {"type": "number", "default": 0.3},
        "promos": {"type": "boolean", "default": True},
        "region": {"type": "string", "default": "CH-ZH"},
        "broken": {"type": "integer"},
    }
    lossy = [f for f in conversion.findings if f.code == "lossy-mapping"]
    assert len(lossy) == 1 and "'many'" in lossy[0].message
    (converted,) = conversion.steps
    assert converted.spec["inputs"]["n"] == {"type": "integer"}
    assert converted.node["inputs"]["n"] == "${{parent.inputs.n}}"
    assert converted.spec["command"] == 'python a.py "${{inputs.n}}"'


def test_legacy_placeholders_and_dataset_tokens_become_placeholders() -> None:
    s = step(
        "a",
        "n1",
        inputs=["raw"],
        outputs=["report"],
        arguments=[
            literal("--region=$AML_PARAMETER_region"),
            literal("$AZUREML_DATAREFERENCE_raw"),
            literal("DatasetOutputConfig:report"),
            literal("it's"),
        ],
        bindings={"region": "region"},
    )
    p = pipeline(
        "p",
        [s],
        [edge("d1", "data", "n1", "raw")],
        [data_reference("raw", "d1")],
        [GraphParameter("region", ParameterType.STRING, "ALL")],
    )
    (converted,) = convert_graph(p).steps
    assert converted.spec["command"] == (
        'python a.py --region="${{inputs.region}}" "${{inputs.raw}}" "${{outputs.report}}" '
        "'it'\"'\"'s'"
    )


def test_a_data_reference_is_bound_to_its_datastore_path() -> None:
    s = step("a", "n1", inputs=["prices"])
    data = [data_reference("prices", "d1", "retail/prices/prices_2024_03.csv")]
    p = pipeline("p", [s], [edge("d1", "data", "n1", "prices")], data)
    (converted,) = convert_graph(p).steps
    assert converted.node["inputs"]["prices"] == {
        "type": "uri_file",
        "path": "azureml://datastores/workspaceblobstore/paths/retail/prices/prices_2024_03.csv",
    }
    assert converted.spec["inputs"]["prices"] == {"type": "uri_file", "mode": "ro_mount"}


def test_a_datapath_parameter_becomes_a_pipeline_input_and_warns_of_its_default() -> None:
    s = step("a", "n1", inputs=["workspaceblobstore_1234abcd"])
    data = [
        DataInput(
            "d1",
            DataInputKind.DATAPATH_PARAMETER,
            "prices_path",
            datastore="workspaceblobstore",
            path="retail/prices",
            parameter_name="prices_path",
        )
    ]
    p = pipeline("p", [s], [edge("d1", "data", "n1", "workspaceblobstore_1234abcd")], data)
    conversion = convert_graph(p)
    assert conversion.inputs == {"prices_path": {"type": "uri_folder"}}
    (converted,) = conversion.steps
    assert converted.node["inputs"] == {"prices_path": "${{parent.inputs.prices_path}}"}
    (finding,) = [f for f in conversion.findings if f.code == "data-default-dropped"]
    assert finding.severity is Severity.WARNING
    assert "azureml://datastores/workspaceblobstore/paths/retail/prices" in finding.message


@pytest.mark.parametrize(("mode", "severity"), [("mount", "warning"), ("direct", "blocking")])
def test_v1_datasets_name_the_dataset_and_what_to_register(mode: str, severity: str) -> None:
    s = step("a", "n1", inputs=["sales"], input_mode=mode)
    data = [
        DataInput("d1", DataInputKind.DATASET, "sales", dataset_id="ds-42", dataset_version="3")
    ]
    conversion = convert_graph(pipeline("p", [s], [edge("d1", "data", "n1", "sales")], data))
    (finding,) = [f for f in conversion.findings if f.code == "dataset-input"]
    assert finding.severity.value == severity
    assert "ds-42 version 3" in finding.message and "uri_folder" in finding.message
    if severity == "warning":
        assert conversion.inputs == {"sales": {"type": "uri_folder"}}
    else:
        assert "MLTable" in finding.message


def test_outputs_bind_downstream_and_to_pipeline_outputs() -> None:
    p = two_steps()
    p = replace(p, graph=replace(p.graph, edges=(*p.graph.edges, edge("n2", "model", None, None))))
    graph = p.graph
    assert graph is not None
    pipeline_output = replace(graph.edges[-1], graph_port_name="trained")
    p = replace(p, graph=replace(graph, edges=(*graph.edges[:-1], pipeline_output)))
    conversion = convert_graph(p)
    _, train = conversion.steps
    assert train.node["inputs"]["clean"] == "${{parent.jobs.prep.outputs.clean}}"
    assert train.node["outputs"] == {"model": "${{parent.outputs.trained}}"}
    assert conversion.outputs == {"trained": {"type": "uri_folder"}}


def test_step_params_and_environment_variables_go_on_the_node() -> None:
    s = step("a", "n1", literals={"Script": "a.py", "Target": "cpu", "threshold": "0.5"})
    (converted,) = convert_graph(pipeline("p", [s])).steps
    assert converted.node["environment_variables"] == {
        "TEAM": "retail",
        "AML_PARAMETER_threshold": "0.5",
    }
    assert "environment_variables" not in converted.spec


def test_a_parameter_used_only_from_the_environment_warns() -> None:
    s = step("a", "n1", bindings={"region": "region"})
    p = pipeline("p", [s], parameters=[GraphParameter("region", ParameterType.STRING, "ALL")])
    conversion = convert_graph(p)
    (finding,) = [f for f in conversion.findings if f.code == "parameter-environment"]
    assert "AML_PARAMETER_region" in finding.message
    assert conversion.steps[0].node["inputs"] == {"region": "${{parent.inputs.region}}"}


def test_command_step_and_allow_reuse() -> None:
    s = step(
        "replenish",
        "n1",
        step_type="CommandStep",
        script=None,
        command="python",
        arguments=[literal("replenish.py"), literal("--pack"), literal("6")],
        allow_reuse=False,
    )
    (converted,) = convert_graph(pipeline("p", [s])).steps
    assert converted.spec["command"] == "python replenish.py --pack 6"
    assert converted.spec["is_deterministic"] is False


def test_step_names_become_valid_node_names_and_keep_their_display_name() -> None:
    conversion = convert_graph(
        pipeline("p", [step("Score-Stores", "n1"), step("score_stores", "n2")])
    )
    assert [s.job_name for s in conversion.steps] == ["score_stores_2", "score_stores"]
    assert conversion.steps[0].node["display_name"] == "Score-Stores"
    assert "display_name" not in conversion.steps[1].node


def test_parallel_run_step_settings() -> None:
    meta = {
        "EntryScript": "score.py",
        "MiniBatchSize": 5,
        "ErrorThreshold": 10,
        "NodeCount": 2,
        "ProcessCountPerNode": 4,
        "OutputAction": "summary_only",
        "RunMaxTry": 2,
        "RunInvocationTimeout": 120,
        "LoggingLevel": "DEBUG",
    }
    s = step(
        "score",
        "n1",
        step_type="ParallelRunStep",
        script="driver/amlbi_main.py",
        inputs=["files"],
        outputs=["scores"],
        metadata={"BatchInferencingMetaData": json.dumps(meta)},
        arguments=[
            literal("--mini_batch_size"), literal("5"),
            literal("--output"), ref("output", "scores"),
            literal("--input_fds_0"), literal("files"),
            literal("--days"), literal("7"),
        ],
    )  # fmt: skip
    p = pipeline("p", [s, step("up", "n0", outputs=["o"])], [edge("n0", "o", "n1", "files")])
    converted = convert_graph(p).steps[0]
    assert converted.kind == "parallel"
    spec = converted.spec
    assert spec["input_data"] == "${{inputs.files}}"
    assert spec["mini_batch_size"] == "5"
    assert spec["error_threshold"] == 10
    assert spec["resources"] == {"instance_count": 2}
    assert spec["max_concurrency_per_instance"] == 4
    assert spec["retry_settings"] == {"max_retries": 2, "timeout": 120}
    assert spec["logging_level"] == "DEBUG"
    assert spec["task"]["entry_script"] == "score.py"
    assert spec["task"]["program_arguments"] == "--days 7"
    assert "append_row_to" not in spec["task"]  # summary_only


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"PartitionKeys": ["store"]}, "parallel-partition-keys"),
        ({}, "parallel-tabular"),
    ],
)
def test_parallel_run_step_settings_that_need_mltable_block(
    extra: dict[str, object], code: str
) -> None:
    meta = {"EntryScript": "score.py", "MiniBatchSize": "1MB", **extra}
    flag = "--input_fds_0" if extra else "--input_ds_0"
    s = step(
        "score", "n1", step_type="ParallelRunStep", inputs=["table"],
        metadata={"BatchInferencingMetaData": json.dumps(meta)},
        arguments=[literal(flag), literal("table")],
    )  # fmt: skip
    p = pipeline("p", [s, step("up", "n0", outputs=["o"])], [edge("n0", "o", "n1", "table")])
    conversion = convert_graph(p)
    assert [s.step.name for s in conversion.steps] == ["up"]
    assert code in {f.code for f in conversion.findings if f.severity is Severity.BLOCKING}


def test_environments_from_run_configurations() -> None:
    registered = json.dumps({"environment": {"name": "sklearn", "version": "3"}})
    assert environment_from_runconfig(registered).environment == "azureml:sklearn:3"

    curated = json.dumps({"environment": {"name": "AzureML-sklearn-1.5", "version": None}})
    plan = environment_from_runconfig(curated)
    assert plan.environment == "azureml:AzureML-sklearn-1.5@latest"
    assert [f.severity for f in plan.findings] == [Severity.WARNING]

    managed = json.dumps(
        {
            "environment": {
                "docker": {"baseImage": "my.acr/img:1"},
                "python": {"userManagedDependencies": True},
            }
        }
    )
    assert environment_from_runconfig(managed).environment == {"image": "my.acr/img:1"}

    for missing in (None, "{not json"):
        plan = environment_from_runconfig(missing, "s")
        assert plan.environment is None
        assert plan.findings[0].code == "no-environment"


def test_versions_are_deterministic_and_change_with_content() -> None:
    p = two_steps()
    first = build_plan([p], [], snapshots=snapshots_for(p)).pipeline(p.id)
    again = build_plan([p], [], snapshots=snapshots_for(p)).pipeline(p.id)
    assert [c.version for c in first.components] == [c.version for c in again.components]
    assert first.pipeline_component and again.pipeline_component
    assert first.pipeline_component.version == again.pipeline_component.version

    graph = p.graph
    assert graph is not None
    changed_step = replace(graph.steps[1], arguments=(*graph.steps[1].arguments, literal("--v2")))
    changed = replace(p, graph=replace(graph, steps=(graph.steps[0], changed_step)))
    other = build_plan([changed], [], snapshots=snapshots_for(changed)).pipeline(p.id)
    assert other.components[0].version == first.components[0].version
    assert other.components[1].version != first.components[1].version
    assert (
        other.pipeline_component
        and other.pipeline_component.version != first.pipeline_component.version
    )

    new_code = snapshots_for(p)
    new_code["snap-n1"] = snapshots_for(two_steps("x"))["snap-n2"]
    recoded = build_plan([p], [], snapshots=new_code).pipeline(p.id)
    assert recoded.components[0].version != first.components[0].version
    assert first.components[0].version.startswith("1.0-")


def test_endpoint_versions_become_deployments_with_the_v1_default() -> None:
    v1, v2 = (
        two_steps("fc", pipeline_id="p1", version="1.0"),
        two_steps("fc", pipeline_id="p2", version="2.0"),
    )
    endpoint = PipelineEndpoint(
        id="ep-1",
        name="Demand forecast",
        default_version="0",
        versions=(EndpointVersion("0", "p1"), EndpointVersion("1", "p2")),
    )
    result = build_plan([v1, v2], [endpoint], snapshots=snapshots_for(v1, v2))
    (planned,) = result.endpoints
    assert planned.name == "demand-forecast"
    assert [d.name for d in planned.deployments] == ["version-0", "version-1"]
    assert planned.default_deployment == "version-0"
    assert [p.deployment.is_default for p in planned.pipelines if p.deployment] == [True, False]
    assert planned.spec["tags"] == {"v1_endpoint_id": "ep-1", "v1_endpoint_name": "Demand forecast"}
    assert any(f.code == "renamed" for f in planned.pipelines[0].findings)


def test_continue_on_step_failure_is_always_explicit() -> None:
    for v1_value, expected in ((None, False), (False, False), (True, True)):
        p = two_steps(continue_on_step_failure=v1_value)
        planned = build_plan([p], [], snapshots=snapshots_for(p)).pipeline(p.id)
        assert planned.deployment is not None
        assert planned.deployment.settings == {
            "default_compute": "cpu-cluster",
            "continue_on_step_failure": expected,
        }


def test_a_disabled_pipeline_needs_attention() -> None:
    p = two_steps(status=EntityStatus.DISABLED)
    planned = build_plan([p], [], snapshots=snapshots_for(p)).pipeline(p.id)
    assert planned.verdict == "needs attention"
    assert planned.deployable


def test_names_can_be_overridden_and_are_validated() -> None:
    p = two_steps()
    snapshots = snapshots_for(p)
    names = {
        "endpoint:good": "forecast-v2",
        "deployment:id-good": "blue",
        "component:good__prep": "cleaning",
        "component:good": "good",  # the same name: allowed, and counts as used
    }
    planned = build_plan([p], [], snapshots=snapshots, names=names).pipeline(p.id)
    assert planned.endpoint_name == "forecast-v2"
    assert planned.deployment and planned.deployment.name == "blue"
    assert [c.name for c in planned.components] == ["cleaning", "good__train"]
    assert planned.folder == "forecast-v2/blue"

    with pytest.raises(ConfigurationError, match="'Blue'"):
        build_plan([p], [], snapshots=snapshots, names={"deployment:id-good": "Blue"})
    with pytest.raises(ConfigurationError, match="'endpoint:no-such-thing'"):
        build_plan([p], [], snapshots=snapshots, names={"endpoint:no-such-thing": "x"})


def test_names_do_not_depend_on_the_selection() -> None:
    a, b = two_steps("daily sales"), two_steps("daily-sales")
    listing = [a, b]
    alone = build_plan([b], [], listing=listing, snapshots=snapshots_for(b)).pipeline(b.id)
    both = build_plan(listing, [], snapshots=snapshots_for(a, b)).pipeline(b.id)
    assert alone.endpoint_name == both.endpoint_name
    assert [c.name for c in alone.components] == [c.name for c in both.components]


def test_ports_unknown_to_the_graph_keep_their_mode() -> None:
    s = step("a", "n1", inputs=["x"])
    s = replace(s, inputs=(Port("x", mode="hdfs"),))
    conversion = convert_graph(
        pipeline("p", [s, step("b", "n0", outputs=["o"])], [edge("n0", "o", "n1", "x")])
    )
    assert any(f.code == "lossy-mapping" and "hdfs" in f.message for f in conversion.findings)


def test_malformed_settings_are_findings_not_exceptions() -> None:
    meta = {"EntryScript": "score.py", "ErrorThreshold": "ten", "NodeCount": None}
    s = step(
        "score", "n1", step_type="ParallelRunStep", inputs=["files"],
        metadata={"BatchInferencingMetaData": json.dumps(meta)}, runconfig="[1, 2]",
    )  # fmt: skip
    p = pipeline("p", [s, step("up", "n0", outputs=["o"])], [edge("n0", "o", "n1", "files")])
    conversion = convert_graph(p)
    parallel = next(c for c in conversion.steps if c.kind == "parallel")
    assert "error_threshold" not in parallel.spec
    assert "environment" not in parallel.spec["task"]
    codes = {f.code for f in conversion.findings if f.step == "score"}
    assert {"parallel-settings", "no-environment"} <= codes


def test_an_unfed_optional_input_on_the_command_line_warns() -> None:
    s = step("a", "n1", arguments=[literal("--x"), ref("input", "x")])
    s = replace(s, inputs=(Port("x", optional=True),))
    conversion = convert_graph(pipeline("p", [s]))
    (finding,) = [f for f in conversion.findings if f.code == "optional-input"]
    assert "$[[--x ${{inputs.x}}]]" in finding.message
    assert conversion.steps[0].spec["inputs"]["x"]["optional"] is True


def test_overrides_that_make_names_collide_are_refused() -> None:
    a, b = two_steps("a"), two_steps("b")
    snapshots = snapshots_for(a, b)
    with pytest.raises(ConfigurationError, match="both become batch endpoint 'same'"):
        build_plan(
            [a, b], [], snapshots=snapshots, names={"endpoint:a": "same", "endpoint:b": "same"}
        )
    v1, v2 = two_steps("fc", pipeline_id="p1"), two_steps("fc", pipeline_id="p2", version="2.0")
    with pytest.raises(ConfigurationError, match="both get deployment 'blue'"):
        build_plan(
            [v1, v2],
            [],
            snapshots=snapshots_for(v1, v2),
            names={"deployment:p1": "blue", "deployment:p2": "blue"},
        )


def test_parameter_and_output_names_that_are_not_identifiers_are_renamed() -> None:
    s = step(
        "a", "n1", outputs=["out"], arguments=[ref("parameter", "max-rows")],
        bindings={"max-rows": "max-rows"},
    )  # fmt: skip
    p = pipeline(
        "p",
        [s],
        [edge("n1", "out", None, None)],
        parameters=[GraphParameter("max-rows", ParameterType.INT, "5")],
    )
    graph = p.graph
    assert graph is not None
    p = replace(
        p, graph=replace(graph, edges=(replace(graph.edges[0], graph_port_name="2nd out"),))
    )
    conversion = convert_graph(p)
    assert conversion.inputs == {"max_rows": {"type": "integer", "default": 5}}
    assert conversion.outputs == {"_2nd_out": {"type": "uri_folder"}}
    (converted,) = conversion.steps
    assert converted.node["inputs"] == {"max_rows": "${{parent.inputs.max_rows}}"}
    assert converted.node["outputs"] == {"out": "${{parent.outputs._2nd_out}}"}
    assert converted.spec["command"] == 'python a.py "${{inputs.max_rows}}"'
    renamed = [f.message for f in conversion.findings if f.code == "caller-renamed"]
    assert len(renamed) == 2 and all("callers must use" in m for m in renamed)


def test_invoke_inputs_say_where_each_pipeline_input_came_from_in_v1() -> None:
    s = step(
        "a", "n1", inputs=["workspaceblobstore_1234abcd", "sales"],
        arguments=[ref("parameter", "max-rows"), ref("parameter", "promos")],
        bindings={"max-rows": "max-rows", "promos": "promos"},
    )  # fmt: skip
    data = [
        DataInput(
            "d1", DataInputKind.DATAPATH_PARAMETER, "prices_path",
            datastore="workspaceblobstore", path="/retail/prices/", parameter_name="prices_path",
        ),
        DataInput("d2", DataInputKind.DATASET, "sales", dataset_id="ds-42"),
    ]  # fmt: skip
    edges = [
        edge("d1", "data", "n1", "workspaceblobstore_1234abcd"),
        edge("d2", "data", "n1", "sales"),
    ]
    parameters = [
        GraphParameter("max-rows", ParameterType.INT, "5"),
        GraphParameter("promos", ParameterType.BOOL, "True"),
    ]
    conversion = convert_graph(pipeline("p", [s], edges, data, parameters))
    assert conversion.invoke_inputs == (
        InvokeInput("max_rows", "max-rows", "integer", "5", "parameter"),  # renamed for v2
        InvokeInput("promos", "promos", "boolean", "True", "parameter"),
        InvokeInput(
            "prices_path",
            "prices_path",
            "uri_folder",
            "azureml://datastores/workspaceblobstore/paths/retail/prices",  # v2 cannot hold it
            "datapath",
        ),
        InvokeInput("sales", "sales", "uri_folder", None, "dataset"),  # no default v2 can use
    )
    assert [i.name for i in conversion.invoke_inputs] == list(conversion.inputs)
    assert [i.is_data for i in conversion.invoke_inputs] == [False, False, True, True]


def test_output_links_pair_each_v1_step_output_with_its_v2_output() -> None:
    p = two_steps()
    graph = p.graph
    assert graph is not None
    to_pipeline = replace(edge("n2", "model", None, None), graph_port_name="trained model")
    p = replace(p, graph=replace(graph, edges=(*graph.edges, to_pipeline)))
    plan = build_plan([p], [], snapshots=snapshots_for(p))
    (planned,) = plan.pipelines
    assert planned.output_links == (
        OutputLink("prep", "n1", "clean", "prep", "clean"),
        OutputLink("train", "n2", "model", "train", "model", "trained_model", "trained model"),
    )
