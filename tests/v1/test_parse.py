"""Wire JSON -> models: the reference's worked example, tolerant enums and malformed input."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from v1_samples import DATASET_NODE, GRAPH_ID, PIPELINE_ID, PREP_MODULE, PREP_NODE, TRAIN_NODE

from migrate_kit.v1._wire import parse_datetime
from migrate_kit.v1.models import (
    Argument,
    ArgumentKind,
    DataInputKind,
    Edge,
    EntityStatus,
    Graph,
    ParameterType,
    Step,
)
from migrate_kit.v1.parse import (
    Unavailable,
    data_source_ids,
    module_ids,
    parse_endpoint,
    parse_entity_status,
    parse_graph,
    parse_parameter_type,
    parse_pipeline,
)


def _graph(graph: Any, interface: Any, modules: Any, sources: Any = None) -> Graph:
    return parse_graph(graph, interface, modules, sources or {})


def _step(graph: Graph, node_id: str) -> Step:
    return next(s for s in graph.steps if s.node_id == node_id)


# -- the worked example (reference §7) ---------------------------------------------------------


def test_pipeline_entity(pipeline_body: dict[str, Any]) -> None:
    pipeline = parse_pipeline(pipeline_body)

    assert pipeline.id == PIPELINE_ID
    assert pipeline.name == "demo-pipeline"
    assert pipeline.version == "1.0"
    assert pipeline.status is EntityStatus.ACTIVE
    assert pipeline.graph_id == GRAPH_ID
    assert pipeline.total_run_steps == 2
    assert dict(pipeline.parameter_defaults) == {"learning_rate": "0.01"}
    assert pipeline.created == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert pipeline.problems == ()


def test_worked_example_graph(
    graph_body: dict[str, Any], interface_body: dict[str, Any], module_bodies: dict[str, Any]
) -> None:
    graph = _graph(graph_body, interface_body, module_bodies)

    assert graph.id == GRAPH_ID
    assert graph.problems == ()
    assert [p.name for p in graph.parameters] == ["learning_rate"]
    assert graph.parameters[0].type is ParameterType.FLOAT
    assert graph.parameters[0].default == "0.01"
    assert graph.edges[1] == Edge(PREP_NODE, "prepared", TRAIN_NODE, "prepared")


def test_worked_example_prep_step(
    graph_body: dict[str, Any], interface_body: dict[str, Any], module_bodies: dict[str, Any]
) -> None:
    prep = _step(_graph(graph_body, interface_body, module_bodies), PREP_NODE)

    assert prep.name == "prep"
    assert prep.module_id == PREP_MODULE
    assert prep.step_type == "PythonScriptStep"
    assert prep.execution_type == "escloud"
    assert prep.script == "prep.py"
    assert prep.command is None
    assert prep.compute == "cpu-cluster"
    assert prep.snapshot is not None and prep.snapshot.snapshot_id == "snap-prep"
    assert prep.arguments == (
        Argument(ArgumentKind.LITERAL, "--input"),
        Argument(ArgumentKind.LITERAL, "DatasetConsumptionConfig:raw_input"),
        Argument(ArgumentKind.LITERAL, "--out"),
        Argument(ArgumentKind.OUTPUT, "prepared"),
    )
    assert [p.name for p in prep.inputs] == ["raw_input"]
    assert prep.inputs[0].data_types == ("AzureMLDataset",)
    assert prep.inputs[0].mode == "mount"
    assert [p.name for p in prep.outputs] == ["prepared"]  # _run_after_output dropped
    assert prep.outputs[0].datastore == "workspaceblobstore"
    assert prep.metadata_parameters["TargetType"] == "mlc"
    assert "CondaDependencies" not in prep.literal_parameters  # valueless assignment
    assert json.loads(prep.runconfig or "")["environment"]["name"] == "my-env"
    assert prep.allow_reuse is True
    assert prep.problems == ()


def test_worked_example_train_step_binds_the_pipeline_parameter(
    graph_body: dict[str, Any], interface_body: dict[str, Any], module_bodies: dict[str, Any]
) -> None:
    train = _step(_graph(graph_body, interface_body, module_bodies), TRAIN_NODE)

    assert dict(train.parameter_bindings) == {"learning_rate": "learning_rate"}
    assert "learning_rate" not in train.literal_parameters
    assert train.arguments[-1] == Argument(ArgumentKind.PARAMETER, "learning_rate")
    assert train.arguments[1] == Argument(ArgumentKind.INPUT, "prepared")
    assert train.outputs == ()


def test_worked_example_dataset_node(
    graph_body: dict[str, Any], interface_body: dict[str, Any], module_bodies: dict[str, Any]
) -> None:
    (data,) = _graph(graph_body, interface_body, module_bodies).data_inputs

    assert data.node_id == DATASET_NODE
    assert data.kind is DataInputKind.DATASET
    assert data.name == "raw_input"  # the consuming port: as_named_input("raw_input")
    assert (data.dataset_id, data.dataset_version) == ("reg-ds-0001", "3")
    assert data.problems == ()


def test_data_reference_variant(
    graph_body: dict[str, Any], module_bodies: dict[str, Any], data_source_body: dict[str, Any]
) -> None:
    graph_body["DatasetNodes"] = [{"Id": "9e7a1b07", "DatasetId": "ds-ref-in"}]
    assert data_source_ids(graph_body) == ["ds-ref-in"]

    graph = _graph(graph_body, {}, module_bodies, {"ds-ref-in": data_source_body})

    (data,) = graph.data_inputs
    assert data.kind is DataInputKind.DATA_REFERENCE
    assert (data.name, data.datastore, data.path) == ("ref_in", "workspaceblobstore", "ref/path")
    assert data.reference_type == "AzureBlob"
    assert data.problems == ()


@pytest.mark.parametrize(
    ("type_value", "key", "location", "expected"),
    [
        (7, "DBFSReference", {"RelativePath": "dbfs/x"}, ("DBFS", "dbfs/x")),
        ("6", "AzureDataLakeGen2Reference", {"RelativePath": "p"}, ("AzureDataLakeGen2", "p")),
        (
            "azuresqldatabase",
            "AzureSqlDatabaseReference",
            {"TableName": "t"},
            ("AzureSqlDatabase", "t"),
        ),
        (None, "AzureFilesReference", {"RelativePath": "f"}, ("AzureFiles", "f")),
    ],
)
def test_data_reference_types(
    graph_body: dict[str, Any],
    type_value: Any,
    key: str,
    location: dict[str, Any],
    expected: tuple[str, str],
) -> None:
    graph_body["DatasetNodes"] = [{"Id": "n1", "DatasetId": "ds"}]
    source = {"Name": "s", "DataLocation": {"DataReference": {"Type": type_value, key: location}}}

    (data,) = _graph(graph_body, {}, {}, {"ds": source}).data_inputs

    assert (data.reference_type, data.path) == expected
    assert data.problems == ()


def test_datapath_parameter_takes_its_default_from_the_interface(
    graph_body: dict[str, Any],
) -> None:
    graph_body["DatasetNodes"] = [{"Id": "n1", "DataPathParameterName": "input_path"}]
    interface = {
        "DataPathParameters": [
            {
                "Name": "input_path",
                "DefaultValue": {"DataStoreName": "workspaceblobstore", "RelativePath": "in/x.csv"},
                "IsOptional": True,
                "DataTypeId": "AnyFile",
            }
        ]
    }

    (data,) = _graph(graph_body, interface, {}).data_inputs

    assert data.kind is DataInputKind.DATAPATH_PARAMETER
    assert (data.parameter_name, data.datastore, data.path) == (
        "input_path",
        "workspaceblobstore",
        "in/x.csv",
    )


def test_dataset_parameter_and_saved_dataset(graph_body: dict[str, Any]) -> None:
    graph_body["DatasetNodes"] = [
        {
            "Id": "n1",
            "DataSetDefinition": {
                "DataTypeShortName": "AzureMLDataset",
                "ParameterName": "ds_param",
            },
        },
        {"Id": "n2", "DataSetDefinition": {"Value": {"SavedDataSetReference": {"Id": "saved-1"}}}},
    ]
    interface = {
        "DataPathParameterList": [
            {
                "Name": "ds_param",
                "DefaultValue": {"DataSetReference": {"Id": "reg-9", "Version": "2"}},
            }
        ]
    }

    first, second = _graph(graph_body, interface, {}).data_inputs

    assert first.kind is DataInputKind.DATASET_PARAMETER
    assert (first.name, first.dataset_id, first.dataset_version) == ("ds_param", "reg-9", "2")
    assert second.kind is DataInputKind.DATASET
    assert second.dataset_id == "saved-1"


def test_pipeline_output_edge(graph_body: dict[str, Any]) -> None:
    graph_body["Edges"].append(
        {
            "SourceOutputPort": {"NodeId": PREP_NODE, "PortName": "prepared"},
            "DestinationInputPort": {"GraphPortName": "final_output"},
        }
    )

    edge = _graph(graph_body, {}, {}).edges[-1]

    assert edge == Edge(PREP_NODE, "prepared", None, None, graph_port_name="final_output")


# -- enums, dates and quirks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, EntityStatus.ACTIVE),
        ("1", EntityStatus.DEPRECATED),
        ("DISABLED", EntityStatus.DISABLED),
        ("active", EntityStatus.ACTIVE),
        (None, EntityStatus.UNKNOWN),
    ],
)
def test_entity_status_forms(value: Any, expected: EntityStatus) -> None:
    problems: list[str] = []
    assert parse_entity_status(value, problems) is expected
    assert problems == []


def test_unknown_entity_status_is_a_problem() -> None:
    pipeline = parse_pipeline({"Id": "p", "Name": "n", "EntityStatus": "Frozen"})

    assert pipeline.status is EntityStatus.UNKNOWN
    assert any("'Frozen'" in p for p in pipeline.problems)


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        ("0", "3", ParameterType.INT),
        (0, "True", ParameterType.BOOL),  # quirk Q1: bool sent as Int
        ("Int", "false", ParameterType.BOOL),
        (1, "0.5", ParameterType.FLOAT),
        ("double", None, ParameterType.FLOAT),
        ("2", "True", ParameterType.BOOL),
        ("String", "x", ParameterType.STRING),
        (4, None, ParameterType.OTHER),
    ],
)
def test_parameter_types(value: Any, default: str | None, expected: ParameterType) -> None:
    problems: list[str] = []
    assert parse_parameter_type(value, default, problems) is expected
    assert problems == []


def test_unknown_parameter_type_is_a_problem(graph_body: dict[str, Any]) -> None:
    interface = {"Parameters": [{"Name": "p", "DefaultValue": "1", "Type": "9"}]}

    graph = _graph(graph_body, interface, {})

    assert graph.parameters[0].type is ParameterType.OTHER
    assert any("'9'" in p for p in graph.problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00.000Z", datetime(2024, 1, 1, tzinfo=timezone.utc)),
        (
            "2024-05-06T07:08:09.1234567Z",
            datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc),
        ),
        ("2024-05-06T07:08:09+00:00", datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)),
        ("2024-05-06 07:08", datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc)),
        ("2024-05-06", datetime(2024, 5, 6, tzinfo=timezone.utc)),
        ("last tuesday", None),
        ("2024-13-01T00:00:00Z", None),
        (1704067200, None),
        (None, None),
    ],
)
def test_dates_are_parsed_tolerantly(text: Any, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


def test_endpoint_with_plain_string_dates_and_numeric_status() -> None:
    endpoint = parse_endpoint(
        {
            "Id": "ep-1",
            "Name": "scoring",
            "DefaultVersion": "1",
            "EntityStatus": 2,
            "PipelineVersionList": [
                {"Version": "0", "PipelineId": "p-0"},
                {"Version": "1", "PipelineId": "p-1"},
            ],
            "CreatedDate": "1/1/2024 10:00:00 AM",
            "LastModifiedDate": "2024-02-01T10:00:00.0000000Z",
        }
    )

    assert endpoint.status is EntityStatus.DISABLED
    assert [(v.version, v.pipeline_id) for v in endpoint.versions] == [("0", "p-0"), ("1", "p-1")]
    assert endpoint.default_version == "1"
    assert endpoint.created is None
    assert endpoint.modified == datetime(2024, 2, 1, 10, tzinfo=timezone.utc)
    assert endpoint.problems == ()


def test_endpoint_default_outside_the_versions_is_a_problem() -> None:
    endpoint = parse_endpoint(
        {"Id": "e", "Name": "n", "DefaultVersion": "5", "PipelineVersionList": [{"Version": "0"}]}
    )

    assert endpoint.versions == ()
    assert len(endpoint.problems) == 1  # the entry without PipelineId
    assert "PipelineId" in endpoint.problems[0]


def test_value_type_forms_for_bindings(
    graph_body: dict[str, Any], module_bodies: dict[str, Any]
) -> None:
    node = graph_body["ModuleNodes"][1]
    node["ModuleParameters"][-1]["ValueType"] = 1
    node["ModuleParameters"].append({"ValueType": "GraphParameterName", "Name": "x", "Value": "gx"})
    node["ModuleParameters"].append({"ValueType": "Literal", "Name": "y", "Value": "5"})
    node["ModuleParameters"].append({"ValueType": "42", "Name": "z", "Value": "?"})

    train = _step(_graph(graph_body, {}, module_bodies), TRAIN_NODE)

    assert dict(train.parameter_bindings) == {"learning_rate": "learning_rate", "x": "gx"}
    assert train.literal_parameters["y"] == "5"
    assert "z" not in train.literal_parameters
    assert any("'42'" in p and "'z'" in p for p in train.problems)


def test_databricks_parameter_binding() -> None:
    node = {
        "Id": "n1",
        "ModuleId": "m1",
        "ModuleParameters": [
            {"ValueType": "0", "Name": "python_script_name", "Value": "job.py"},
            {"ValueType": "1", "Name": "_AML_PARAMETER_str_param", "Value": "str_param"},
            {"ValueType": "0", "Name": "_AML_PARAMETER_other", "Value": "default"},
        ],
        "ModuleMetadataParameters": [{"ValueType": "0", "Name": "compute_name", "Value": "dbx"}],
    }
    module = {"Data": {"Id": "m1", "Name": "dbx_step", "StepType": "DatabricksStep",
                       "ModuleExecutionType": "databrickscloud"}}  # fmt: skip

    (step,) = _graph({"ModuleNodes": [node]}, {}, {"m1": module}).steps

    assert step.step_type == "DatabricksStep"
    assert step.compute == "dbx"
    assert dict(step.parameter_bindings) == {
        "_AML_PARAMETER_str_param": "str_param",
        "_AML_PARAMETER_other": "other",
    }
    assert dict(step.literal_parameters) == {"python_script_name": "job.py"}
    assert step.command is None


def test_argument_value_types_as_numbers_and_unknown(
    graph_body: dict[str, Any], module_bodies: dict[str, Any]
) -> None:
    module_bodies[PREP_MODULE]["Data"]["StructuredInterface"]["Arguments"] = [
        {"ValueType": 0, "Value": "--a"},
        {"ValueType": "1", "Value": "p"},
        {"ValueType": 2, "Value": "i"},
        {"ValueType": "3", "Value": "o"},
        {"ValueType": "Banana", "Value": "?"},
    ]

    prep = _step(_graph(graph_body, {}, module_bodies), PREP_NODE)

    assert [a.kind for a in prep.arguments] == [
        ArgumentKind.LITERAL,
        ArgumentKind.PARAMETER,
        ArgumentKind.INPUT,
        ArgumentKind.OUTPUT,
    ]
    assert any("'Banana'" in p for p in prep.problems)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (1, "mount"),
        ("2", "download"),
        ("Upload", "upload"),
        ("hdfs", "hdfs"),
        (0, None),
        ("Weird", "weird"),
    ],
)
def test_datastore_modes(
    graph_body: dict[str, Any], module_bodies: dict[str, Any], mode: Any, expected: str | None
) -> None:
    module_bodies[PREP_MODULE]["Data"]["StructuredInterface"]["Inputs"][0]["DataStoreMode"] = mode

    prep = _step(_graph(graph_body, {}, module_bodies), PREP_NODE)

    assert prep.inputs[0].mode == expected
    assert bool(prep.problems) is (mode == "Weird")


# -- step types -----------------------------------------------------------------------------------


def test_unknown_step_type_is_a_problem_not_an_exception(
    graph_body: dict[str, Any], module_bodies: dict[str, Any]
) -> None:
    module_bodies[PREP_MODULE]["Data"]["StepType"] = "QuantumStep"

    prep = _step(_graph(graph_body, {}, module_bodies), PREP_NODE)

    assert prep.step_type == ""
    assert any("'QuantumStep'" in p for p in prep.problems)


@pytest.mark.parametrize(
    ("execution", "node_params", "module_type", "runconfig", "expected"),
    [
        ("escloud", {"Script": "a.py"}, None, {}, "PythonScriptStep"),
        ("escloud", {"Command": "bash"}, None, {}, "CommandStep"),
        ("escloud", {"Script": "driver/amlbi_main.py"}, "BatchInferencing", {}, "ParallelRunStep"),
        (
            "escloud",
            {"Script": "a.py"},
            None,
            {"communicator": "IntelMpi", "target": "c"},
            "MpiStep",
        ),
        ("DataTransferCloud", {"Command": "DataCopy"}, None, {}, "DataTransferStep"),
        ("databrickscloud", {}, None, {}, "DatabricksStep"),
        ("AutoMLCloud", {}, None, {}, "AutoMLStep"),
    ],
)
def test_step_type_fallback_without_step_type(
    execution: str,
    node_params: dict[str, str],
    module_type: str | None,
    runconfig: dict[str, Any],
    expected: str,
) -> None:
    node: dict[str, Any] = {
        "Id": "n1",
        "ModuleId": "m1",
        "ModuleType": module_type,
        "ModuleParameters": [
            {"ValueType": "0", "Name": k, "Value": v} for k, v in node_params.items()
        ],
        "Runconfig": json.dumps(runconfig) if runconfig else None,
    }
    module = {"Data": {"Id": "m1", "Name": "s", "ModuleExecutionType": execution}}

    (step,) = _graph({"ModuleNodes": [node]}, {}, {"m1": module}).steps

    assert step.step_type == expected
    assert step.problems == ()
    if expected == "MpiStep":
        assert step.compute == "c"  # from the runconfig target
    if expected == "DataTransferStep":
        assert step.command is None


def test_missing_step_type_and_unknown_execution_type() -> None:
    module = {"Data": {"Id": "m1", "Name": "s", "ModuleExecutionType": "martiancloud"}}

    (step,) = _graph({"ModuleNodes": [{"Id": "n1", "ModuleId": "m1"}]}, {}, {"m1": module}).steps

    assert step.step_type == ""
    assert any("'martiancloud'" in p for p in step.problems)


def test_hdinsight_cloud_settings_kept_raw() -> None:
    node = {
        "Id": "n1",
        "ModuleId": "m1",
        "CloudSettings": {"HdiRunConfig": {"File": "wasb://x/y.py", "ComputeName": "hdi"}},
    }
    module = {"Data": {"Id": "m1", "Name": "hdi", "StepType": "_HDInsightStepBase",
                       "CloudSettings": "{'HdiRunConfig': ...}"}}  # fmt: skip

    (step,) = _graph({"ModuleNodes": [node]}, {}, {"m1": module}).steps

    assert step.step_type == "HDInsightStep"
    assert (
        json.loads(step.metadata_parameters["CloudSettings"])["HdiRunConfig"]["File"]
        == "wasb://x/y.py"
    )


def test_legacy_arguments_string_is_read_and_flagged(module_bodies: dict[str, Any]) -> None:
    module = module_bodies[PREP_MODULE]
    module["Data"]["StructuredInterface"]["Arguments"] = []
    node = {
        "Id": "n1",
        "ModuleId": PREP_MODULE,
        "ModuleParameters": [
            {
                "ValueType": "0",
                "Name": "Arguments",
                "Value": "--lr $AML_PARAMETER_lr --out $AZUREML_DATAREFERENCE_prepared",
            }
        ],
    }

    (step,) = _graph({"ModuleNodes": [node]}, {}, {PREP_MODULE: module}).steps

    assert step.arguments == (
        Argument(ArgumentKind.LITERAL, "--lr"),
        Argument(ArgumentKind.PARAMETER, "lr"),
        Argument(ArgumentKind.LITERAL, "--out"),
        Argument(ArgumentKind.OUTPUT, "prepared"),
    )
    assert any("legacy" in p for p in step.problems)


def test_runconfig_that_is_not_json_is_kept_as_text(graph_body: dict[str, Any]) -> None:
    graph_body["ModuleNodes"][0]["Runconfig"] = "RunConfiguration(script='x.py')"

    prep = _step(_graph(graph_body, {}, {}), PREP_NODE)

    assert prep.runconfig == "RunConfiguration(script='x.py')"
    assert any("Runconfig is not JSON" in p for p in prep.problems)


# -- missing and malformed entities ----------------------------------------------------------------


def test_missing_module_gives_a_step_with_a_problem(
    graph_body: dict[str, Any], module_bodies: dict[str, Any]
) -> None:
    module_bodies[PREP_MODULE] = Unavailable("404 NotFound")

    graph = _graph(graph_body, {}, module_bodies)

    prep = _step(graph, PREP_NODE)
    assert prep.name == PREP_NODE
    assert prep.script == "prep.py"  # the node still tells this
    assert prep.compute == "cpu-cluster"
    assert any("404 NotFound" in p for p in prep.problems)
    assert _step(graph, TRAIN_NODE).problems == ()


def test_unavailable_data_source_and_interface(graph_body: dict[str, Any]) -> None:
    graph_body["DatasetNodes"] = [{"Id": "n1", "DatasetId": "gone"}]

    graph = _graph(graph_body, Unavailable("boom"), {}, {"gone": Unavailable("404")})

    assert graph.parameters == ()
    assert any("interface" in p and "boom" in p for p in graph.problems)
    (data,) = graph.data_inputs
    assert data.kind is DataInputKind.DATA_REFERENCE
    assert any("'gone'" in p and "404" in p for p in data.problems)


@pytest.mark.parametrize("body", [None, [], "text", 42, {"ModuleNodes": "nope", "Edges": {}}])
def test_malformed_graph_bodies_never_raise(body: Any) -> None:
    graph = _graph(body, None, {})

    assert graph.steps == ()
    assert graph.edges == ()


def test_malformed_nodes_and_edges(graph_body: dict[str, Any]) -> None:
    graph_body["ModuleNodes"].append("not a node")
    graph_body["ModuleNodes"].append({"Id": "x", "ModuleParameters": [{"Value": "nameless"}, 7]})
    graph_body["DatasetNodes"].append({"Id": "empty"})
    graph_body["Edges"].append({"SourceOutputPort": {"NodeId": "a"}})

    graph = _graph(graph_body, {}, {})

    assert len(graph.steps) == 4
    assert any("no ModuleId" in p for p in graph.steps[3].problems)
    assert any("edge" in p for p in graph.problems)
    assert graph.data_inputs[-1].problems


@pytest.mark.parametrize("body", [None, "x", [1, 2]])
def test_malformed_pipeline_and_endpoint_bodies(body: Any) -> None:
    assert parse_pipeline(body).problems
    assert parse_endpoint(body).problems


def test_module_and_data_source_ids(graph_body: dict[str, Any]) -> None:
    graph_body["ModuleNodes"].append({"Id": "dup", "ModuleId": PREP_MODULE})

    assert module_ids(graph_body) == [PREP_MODULE, "d5f9c3a4-0000-4000-8000-000000000001"]
    assert module_ids("junk") == []
    assert data_source_ids(graph_body) == []


def test_whole_token_placeholders_in_structured_arguments(
    graph_body: dict[str, Any], module_bodies: dict[str, Any]
) -> None:
    module_bodies[PREP_MODULE]["Data"]["StructuredInterface"]["Arguments"] = [
        {"ValueType": "Literal", "Value": "--region"},
        {"ValueType": "Literal", "Value": "$AML_PARAMETER_region"},
        {"ValueType": "Literal", "Value": "$AZUREML_DATAREFERENCE_prepared"},
        {"ValueType": "Literal", "Value": "$AZUREML_DATAREFERENCE_raw_input"},
        {"ValueType": "Literal", "Value": "--x=$AML_PARAMETER_region"},
    ]

    prep = _step(_graph(graph_body, {}, module_bodies), PREP_NODE)

    assert prep.arguments == (
        Argument(ArgumentKind.LITERAL, "--region"),
        Argument(ArgumentKind.PARAMETER, "region"),
        Argument(ArgumentKind.OUTPUT, "prepared"),
        Argument(ArgumentKind.INPUT, "raw_input"),
        Argument(ArgumentKind.LITERAL, "--x=$AML_PARAMETER_region"),
    )
    assert prep.problems == (
        "argument '--x=$AML_PARAMETER_region' embeds a placeholder; it is kept as text",
    )
