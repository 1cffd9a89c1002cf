"""Unit tests of the pipelines backend: a real Store on a temporary SQLite file, no HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import v1_bodies  # tests/emulator is on sys.path (pytest's default "prepend" import mode)

from migrate_kit.emulator.config import Context
from migrate_kit.emulator.pipelines import wire
from migrate_kit.emulator.pipelines.backend import PipelinesBackend, backend_for
from migrate_kit.emulator.pipelines.errors import BadRequest, Conflict, NotFound


@pytest.fixture
def backend(ctx: Context) -> PipelinesBackend:
    return PipelinesBackend(ctx)


def publish(backend: PipelinesBackend) -> dict[str, Any]:
    """Publish the two-step demo pipeline as the SDK does; return the pipeline entity."""
    prep = backend.create_module(v1_bodies.module_creation("prep"))
    train = backend.create_module(v1_bodies.module_creation("train", storage_id="snap-train"))
    return backend.create_pipeline(v1_bodies.pipeline_creation(prep["Id"], train["Id"]))


# -- workspace and errors ----------------------------------------------------------------------


def test_workspace_check_accepts_any_case_and_names_the_wrong_workspace(
    backend: PipelinesBackend,
) -> None:
    config = backend.ctx.config
    backend.check_workspace(
        config.subscription_id.upper(), config.resource_group.upper(), config.workspace_name
    )
    with pytest.raises(NotFound) as caught:
        backend.check_workspace(config.subscription_id, config.resource_group, "other-ws")
    assert "other-ws" in caught.value.message
    assert config.workspace_name in caught.value.message


def test_error_body_has_the_data_plane_shape() -> None:
    error = NotFound("Pipeline with id 'x' was not found.")
    error.region = "westeurope"
    body = error.body()
    assert error.status == 404
    assert body["error"]["code"] == "UserError"
    assert body["error"]["innerError"] == {"code": "NotFoundError"}
    assert body["error"]["message"] == "Pipeline with id 'x' was not found."
    assert set(body["correlation"]) == {"operation", "request"}
    assert body["environment"] == body["location"] == "westeurope"
    assert body["time"]
    assert (BadRequest.status, Conflict.status) == (400, 409)


def test_backend_for_returns_one_backend_per_context(ctx: Context) -> None:
    assert backend_for(ctx) is backend_for(ctx)


# -- data types -------------------------------------------------------------------------------


def test_data_types_lists_the_eleven_defaults(backend: PipelinesBackend) -> None:
    types = backend.list_data_types()
    ids = {t["Id"] for t in types}
    assert len(types) == 11
    assert ids >= {"AnyFile", "AnyDirectory", "AzureMLDataset", "DBFSReference"}
    assert next(t for t in types if t["Id"] == "AnyDirectory")["IsDirectory"] is True


def test_create_data_type_adds_one_and_rejects_duplicates(backend: PipelinesBackend) -> None:
    body = {"Id": "CsvFile", "Name": "CsvFile", "Description": "csv", "IsDirectory": False,
            "ParentDataTypeIds": []}  # fmt: skip
    created = backend.create_data_type(body)
    assert created["Id"] == "CsvFile" and created["EntityStatus"] == "Active"
    assert len(backend.list_data_types()) == 12
    with pytest.raises(Conflict):
        backend.create_data_type(body)
    with pytest.raises(Conflict):
        backend.create_data_type({**body, "Id": "AnyFile"})
    with pytest.raises(BadRequest):
        backend.create_data_type({"Name": "no id"})


# -- modules ----------------------------------------------------------------------------------


def test_create_module_returns_bare_entity_and_get_returns_wrapper(
    backend: PipelinesBackend,
) -> None:
    created = backend.create_module(v1_bodies.module_creation("prep", storage_id="snap-1"))
    assert "Data" not in created
    assert created["UploadState"] == "Completed"
    assert created["DataLocation"] == {"StorageType": "Snapshot", "StorageId": "snap-1"}
    assert "StorageId" not in created

    module = backend.get_module(created["Id"])
    assert set(module) == {"Data", "Interface"}
    assert module["Data"]["Id"] == created["Id"]
    assert module["Data"]["StepType"] == "PythonScriptStep"
    ports = module["Interface"]["Ports"]
    assert ports["Inputs"] == [
        {"Name": "raw_input", "DataTypesIds": ["AzureMLDataset"], "IsOptional": False}
    ]
    assert [p["Name"] for p in ports["Outputs"]] == ["prepared", "_run_after_output"]
    target = module["Interface"]["Parameters"][0]
    assert target == {"Name": "Target", "IsOptional": False, "Type": "String"}
    assert module["Interface"]["MetadataParameters"][0]["Name"] == "TargetType"


def test_module_hash_lookup_finds_the_first_module_or_404(backend: PipelinesBackend) -> None:
    with pytest.raises(NotFound):
        backend.get_module_by_hash(v1_bodies.PREP_HASH)
    uploading = {"Id": "m-0", "Name": "prep", "IdentifierHash": v1_bodies.PREP_HASH,
                 "UploadState": "0"}  # fmt: skip
    backend.add_published_pipeline({}, {"ModuleNodes": []}, modules=[uploading])
    assert backend.get_module_by_hash(v1_bodies.PREP_HASH)["Data"]["UploadState"] == "Uploading"

    first = backend.create_module(v1_bodies.module_creation("prep"))
    backend.create_module(v1_bodies.module_creation("prep"))
    found = backend.get_module_by_hash(v1_bodies.PREP_HASH)
    assert found["Data"]["Id"] == first["Id"]
    assert wire.is_upload_completed(found["Data"]["UploadState"])


def test_module_interface_derivation_keeps_rules_and_pass_through() -> None:
    structured = {
        "Parameters": [
            {"Name": "mode", "ParameterType": "String", "IsOptional": True,
             "EnumValues": ["a", "b"], "Description": "the mode"},
            {"Name": "n", "ParameterType": "Int", "LowerBound": "1", "UpperBound": "9"},
        ],
        "Outputs": [{"Name": "o", "DataTypeId": "AnyFile", "PassThroughDataTypeInputName": "i"}],
    }  # fmt: skip
    interface = wire.module_interface(structured)
    mode, n = interface["Parameters"]
    assert mode["EnumRules"] == [{"ValidValues": ["a", "b"]}]
    assert mode["Documentation"] == "the mode"
    assert n["MinMaxRules"] == [{"Min": "1", "Max": "9"}]
    assert interface["Ports"]["Outputs"][0]["PassThroughInputName"] == "i"


def test_create_module_needs_a_name(backend: PipelinesBackend) -> None:
    with pytest.raises(BadRequest):
        backend.create_module({"Description": "nameless"})
    with pytest.raises(BadRequest):
        backend.create_module(["not", "an", "object"])


def test_concurrent_module_creation_gives_distinct_readable_modules(
    backend: PipelinesBackend,
) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []

    def create(i: int) -> None:
        try:
            body = v1_bodies.module_creation("prep", storage_id=f"snap-{i}")
            ids.append(backend.create_module(body)["Id"])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(ids)) == 16
    locations = {backend.get_module(i)["Data"]["DataLocation"]["StorageId"] for i in ids}
    assert locations == {f"snap-{i}" for i in range(16)}


# -- published pipelines ----------------------------------------------------------------------


def test_create_pipeline_fills_server_fields(backend: PipelinesBackend) -> None:
    pipeline = publish(backend)
    assert pipeline["Name"] == "demo-pipeline"
    assert pipeline["EntityStatus"] == "Active"
    assert pipeline["TotalRunSteps"] == 2
    assert pipeline["ParameterAssignments"] == {"learning_rate": "0.01"}
    assert pipeline["Id"] != pipeline["GraphId"]
    assert pipeline["Etag"] and pipeline["CreatedDate"] and pipeline["LastModifiedDate"]
    assert pipeline["Url"] == (
        f"https://127.0.0.1:4443/pipelines/v1.0/{backend.ctx.config.scope}"
        f"/PipelineRuns/PipelineSubmit/{pipeline['Id']}"
    )
    assert "Graph" not in pipeline and "GraphInterface" not in pipeline
    assert backend.get_pipeline(pipeline["Id"]) == pipeline


def test_graph_and_interface_are_stored_separately(backend: PipelinesBackend) -> None:
    pipeline = publish(backend)
    graph = backend.get_graph(pipeline["GraphId"])
    assert graph["Id"] == pipeline["GraphId"]
    assert graph["EntityStatus"] == "Active" and graph["CreatedDate"]
    assert [n["Id"] for n in graph["ModuleNodes"]] == ["e2d8b423", "ee8b045d"]
    assert len(graph["Edges"]) == 2 and len(graph["DatasetNodes"]) == 1
    interface = backend.get_graph_interface(pipeline["GraphId"])
    assert interface["Parameters"][0]["Type"] == "1"
    with pytest.raises(NotFound):
        backend.get_graph("missing")
    with pytest.raises(NotFound):
        backend.get_graph_interface("missing")


def test_enums_are_stored_as_received_and_served_numeric_or_named(
    backend: PipelinesBackend, ctx: Context
) -> None:
    prep = backend.create_module(v1_bodies.module_creation("prep"))
    train = backend.create_module(v1_bodies.module_creation("train"))
    body = v1_bodies.pipeline_creation(prep["Id"], train["Id"])
    train_params = body["Graph"]["ModuleNodes"][1]["ModuleParameters"]
    train_params[-1]["ValueType"] = "GraphParameterName"
    train_params[0]["ValueType"] = 0
    body["GraphInterface"]["Parameters"][0]["Type"] = "Double"
    pipeline = backend.create_pipeline(body)

    stored = ctx.store.get("pipelines.graph", pipeline["GraphId"])
    assert stored is not None
    assert stored["ModuleNodes"][1]["ModuleParameters"][-1]["ValueType"] == "GraphParameterName"
    served = backend.get_graph(pipeline["GraphId"])["ModuleNodes"][1]["ModuleParameters"]
    assert served[-1]["ValueType"] == "1"
    assert served[0]["ValueType"] == "0"
    assert backend.get_graph_interface(pipeline["GraphId"])["Parameters"][0]["Type"] == "1"
    again = ctx.store.get("pipelines.graph", pipeline["GraphId"])
    assert again == stored  # serving never rewrites what is stored

    ctx.store.put("pipelines.pipeline", pipeline["Id"], {**pipeline, "EntityStatus": 2})
    assert backend.get_pipeline(pipeline["Id"])["EntityStatus"] == "Disabled"


def test_parameter_assignments_cover_data_path_parameters() -> None:
    interface = {
        "Parameters": [{"Name": "flag", "DefaultValue": "True", "Type": "0"}],
        "DataPathParameters": [
            {"Name": "input_path",
             "DefaultValue": {"DataStoreName": "workspaceblobstore", "RelativePath": "raw/a.csv"}}
        ],
    }  # fmt: skip
    assigned = wire.parameter_assignments(interface, {"flag": False})
    assert assigned == {"flag": "False", "input_path": "workspaceblobstore/raw/a.csv"}


def test_create_pipeline_rejects_unknown_modules_and_data_sources(
    backend: PipelinesBackend,
) -> None:
    with pytest.raises(BadRequest, match="missing-module"):
        backend.create_pipeline(v1_bodies.pipeline_creation("missing-module", "x"))
    prep = backend.create_module(v1_bodies.module_creation("prep"))
    body = v1_bodies.pipeline_creation(prep["Id"], prep["Id"])
    body["Graph"]["DatasetNodes"] = [{"Id": "9e7a1b07", "DatasetId": "missing-source"}]
    with pytest.raises(BadRequest, match="missing-source"):
        backend.create_pipeline(body)
    with pytest.raises(BadRequest):
        backend.create_pipeline({"Name": "no graph"})


def test_list_pipelines_and_status_updates(backend: PipelinesBackend) -> None:
    first, second = publish(backend), publish(backend)
    backend.update_pipeline_status(second["Id"], "Disabled")
    assert [p["Id"] for p in backend.list_pipelines(active_only=True)] == [first["Id"]]
    assert len(backend.list_pipelines(active_only=False)) == 2
    assert backend.get_pipeline(second["Id"])["EntityStatus"] == "Disabled"

    backend.update_pipeline_status(second["Id"], "0")
    assert backend.get_pipeline(second["Id"])["EntityStatus"] == "Active"
    backend.update_pipeline_status(second["Id"], "deprecated")
    assert backend.get_pipeline(second["Id"])["EntityStatus"] == "Deprecated"
    with pytest.raises(BadRequest, match="Paused"):
        backend.update_pipeline_status(second["Id"], "Paused")
    with pytest.raises(NotFound):
        backend.update_pipeline_status("missing", "Active")
    with pytest.raises(NotFound):
        backend.get_pipeline("missing")


# -- data sources -----------------------------------------------------------------------------


def test_data_source_location_comes_from_datastore_and_path(backend: PipelinesBackend) -> None:
    created = backend.create_data_source(v1_bodies.data_source_creation())
    fetched = backend.get_data_source(created["Id"])
    assert fetched == created
    assert fetched["Name"] == "ref_in" and fetched["UploadState"] == "Completed"
    reference = fetched["DataLocation"]["DataReference"]
    assert reference == {
        "Type": "AzureBlob",
        "AzureBlobReference": {
            "RelativePath": "ref/path",
            "AmlDataStoreName": "workspaceblobstore",
        },
    }
    sql = backend.create_data_source(
        {"Name": "t", "DataStoreName": "sqlstore", "SqlTableName": "dbo.sales"}
    )
    sql_reference = sql["DataLocation"]["DataReference"]
    assert sql_reference["Type"] == "AzureSqlDatabase"
    assert sql_reference["AzureSqlDatabaseReference"]["TableName"] == "dbo.sales"
    with pytest.raises(NotFound):
        backend.get_data_source("missing")


# -- endpoints --------------------------------------------------------------------------------


def test_create_endpoint_starts_at_version_zero(backend: PipelinesBackend) -> None:
    pipeline = publish(backend)
    endpoint = backend.create_pipeline_endpoint(v1_bodies.endpoint_creation(pipeline["Id"]))
    assert endpoint["DefaultVersion"] == "0"
    assert endpoint["PipelineVersionList"] == [{"Version": "0", "PipelineId": pipeline["Id"]}]
    assert endpoint["Url"].endswith(f"/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint['Id']}")
    assert endpoint["SwaggerUrl"].endswith("/pipelines/swagger/pipelineendpointsubmit/swagger.json")
    assert backend.get_pipeline_endpoint_by_id(endpoint["Id"]) == endpoint
    assert backend.get_pipeline_endpoint_by_name("demo-endpoint") == endpoint

    with pytest.raises(Conflict, match="demo-endpoint"):
        backend.create_pipeline_endpoint(v1_bodies.endpoint_creation(pipeline["Id"]))
    with pytest.raises(BadRequest):
        backend.create_pipeline_endpoint(v1_bodies.endpoint_creation("missing", "other"))
    with pytest.raises(NotFound):
        backend.get_pipeline_endpoint_by_name("nope")
    with pytest.raises(BadRequest):
        backend.get_pipeline_endpoint_by_name(None)
    with pytest.raises(NotFound):
        backend.get_pipeline_endpoint_by_id("missing")


def test_update_endpoint_adds_a_version_and_sets_the_default(backend: PipelinesBackend) -> None:
    first, second = publish(backend), publish(backend)
    endpoint = backend.create_pipeline_endpoint(v1_bodies.endpoint_creation(first["Id"]))

    body = dict(endpoint)
    body["Id"] = "client-must-not-change-this"
    body["PipelineVersionList"] = [*endpoint["PipelineVersionList"],
                                   {"Version": "1", "PipelineId": second["Id"]}]  # fmt: skip
    body["DefaultVersion"] = "1"
    updated = backend.update_pipeline_endpoint(endpoint["Id"], body)
    assert updated["Id"] == endpoint["Id"]
    assert updated["DefaultVersion"] == "1"
    assert updated["CreatedDate"] == endpoint["CreatedDate"]
    assert updated["Etag"] != endpoint["Etag"]
    assert backend.get_pipeline_endpoint_by_id(endpoint["Id"])["DefaultVersion"] == "1"

    listed = backend.list_pipeline_endpoint_pipelines(endpoint["Id"], active_only=True)
    assert [p["Id"] for p in listed] == [first["Id"], second["Id"]]
    backend.update_pipeline_status(first["Id"], "Disabled")
    listed = backend.list_pipeline_endpoint_pipelines(endpoint["Id"], active_only=True)
    assert [p["Id"] for p in listed] == [second["Id"]]
    assert len(backend.list_pipeline_endpoint_pipelines(endpoint["Id"], active_only=False)) == 2


def test_update_endpoint_validates_versions_and_names(backend: PipelinesBackend) -> None:
    pipeline = publish(backend)
    endpoint = backend.create_pipeline_endpoint(v1_bodies.endpoint_creation(pipeline["Id"]))
    backend.create_pipeline_endpoint(v1_bodies.endpoint_creation(pipeline["Id"], "taken"))

    with pytest.raises(BadRequest, match="DefaultVersion"):
        backend.update_pipeline_endpoint(endpoint["Id"], {**endpoint, "DefaultVersion": "7"})
    missing = [{"Version": "0", "PipelineId": "missing"}]
    with pytest.raises(BadRequest, match="missing"):
        backend.update_pipeline_endpoint(
            endpoint["Id"], {**endpoint, "PipelineVersionList": missing}
        )
    twice = endpoint["PipelineVersionList"] * 2
    with pytest.raises(BadRequest, match="Duplicate"):
        backend.update_pipeline_endpoint(endpoint["Id"], {**endpoint, "PipelineVersionList": twice})
    with pytest.raises(Conflict):
        backend.update_pipeline_endpoint(endpoint["Id"], {**endpoint, "Name": "taken"})
    with pytest.raises(NotFound):
        backend.update_pipeline_endpoint("missing", endpoint)

    archived = backend.update_pipeline_endpoint(
        endpoint["Id"], {**endpoint, "Name": "a1b2c3", "EntityStatus": "Disabled"}
    )
    assert archived["Name"] == "a1b2c3" and archived["EntityStatus"] == "Disabled"


def test_list_endpoints_honours_active_only_and_batch_size(backend: PipelinesBackend) -> None:
    pipeline = publish(backend)
    endpoints = [
        backend.create_pipeline_endpoint(v1_bodies.endpoint_creation(pipeline["Id"], f"ep{i}"))
        for i in range(3)
    ]
    disabled = {**endpoints[0], "EntityStatus": "Disabled"}
    backend.update_pipeline_endpoint(endpoints[0]["Id"], disabled)

    assert [e["Name"] for e in backend.list_pipeline_endpoints(active_only=True)] == ["ep1", "ep2"]
    assert len(backend.list_pipeline_endpoints(active_only=False)) == 3
    assert len(backend.list_pipeline_endpoints(active_only=False, batch_size="2")) == 2
    backend.honour_batch_size = False
    assert len(backend.list_pipeline_endpoints(active_only=False, batch_size="2")) == 3
    with pytest.raises(BadRequest, match="BatchSize"):
        backend.list_pipeline_endpoints(active_only=False, batch_size="many")


# -- bulk path --------------------------------------------------------------------------------


def test_add_published_pipeline_is_readable_like_a_published_one(
    backend: PipelinesBackend,
) -> None:
    structured = v1_bodies.module_creation("train")["StructuredInterface"]
    module = {"Id": "m-1", "Name": "step", "UploadState": "1", "EntityStatus": "0",
              "StructuredInterface": structured}  # fmt: skip
    graph = {"ModuleNodes": [{"Id": "n1", "ModuleId": "m-1", "ModuleParameters": []}]}
    interface = {"Parameters": [{"Name": "learning_rate", "DefaultValue": "0.1", "Type": "1"}]}
    pipeline_id = backend.add_published_pipeline(
        {"Name": "synthetic"}, graph, interface, modules=[module]
    )

    pipeline = backend.get_pipeline(pipeline_id)
    assert pipeline["TotalRunSteps"] == 1
    assert pipeline["ParameterAssignments"] == {"learning_rate": "0.1"}
    assert backend.get_graph(pipeline["GraphId"])["ModuleNodes"][0]["ModuleId"] == "m-1"
    served = backend.get_module("m-1")
    assert served["Data"]["UploadState"] == "Completed"
    assert served["Data"]["EntityStatus"] == "Active"
    assert served["Interface"]["Ports"]["Inputs"][0]["Name"] == "prepared"

    endpoint_id = backend.add_pipeline_endpoint(
        {"Name": "bulk", "DefaultVersion": "0",
         "PipelineVersionList": [{"Version": "0", "PipelineId": pipeline_id}]}
    )  # fmt: skip
    assert backend.get_pipeline_endpoint_by_name("bulk")["Id"] == endpoint_id
