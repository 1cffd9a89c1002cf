"""V1Reader over real HTTPS against the emulator: complete models, caching, per-row problems."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
from v1_samples import (
    DATA_SOURCE,
    GRAPH,
    GRAPH_ID,
    INTERFACE,
    PIPELINE,
    PIPELINE_ID,
    PREP,
    PREP_MODULE,
    PREP_NODE,
    TRAIN_MODULE,
)

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.pipelines.backend import backend_for
from migrate_kit.errors import NotFoundError
from migrate_kit.v1.client import PipelinesClient
from migrate_kit.v1.models import DataInputKind, EntityStatus, ParameterType, PublishedPipeline
from migrate_kit.v1.reader import V1Reader


def _add_pipelines(emu: Emulator, count: int, **changes: Any) -> list[str]:
    """Add ``count`` copies of the worked example (own ids and graphs, shared modules)."""
    backend = backend_for(emu.ctx)
    ids = []
    for i in range(count):
        pipeline = {**copy.deepcopy(PIPELINE), "Id": f"pp-{i}", "Name": f"copy-{i}", **changes}
        graph = {**copy.deepcopy(GRAPH), "Id": f"graph-{i}"}
        ids.append(backend.add_published_pipeline(pipeline, graph, copy.deepcopy(INTERFACE)))
    return ids


def _by_id(pipelines: list[PublishedPipeline]) -> dict[str, PublishedPipeline]:
    return {p.id: p for p in pipelines}


def _gets(emu: Emulator) -> Counter[str]:
    return Counter(r["path"].rsplit("/workspaces/", 1)[-1] for r in emu.request_log())


def test_worked_example_end_to_end(client: PipelinesClient, workspace: Emulator) -> None:
    (pipeline,) = V1Reader(client).published_pipelines()

    assert pipeline.id == PIPELINE_ID
    assert pipeline.status is EntityStatus.ACTIVE
    assert pipeline.problems == ()
    graph = pipeline.graph
    assert graph is not None and graph.id == GRAPH_ID and graph.problems == ()
    assert [s.name for s in graph.steps] == ["prep", "train"]
    assert {s.step_type for s in graph.steps} == {"PythonScriptStep"}
    assert all(s.problems == () and s.compute == "cpu-cluster" for s in graph.steps)
    assert [(p.name, p.type) for p in graph.parameters] == [("learning_rate", ParameterType.FLOAT)]
    assert graph.data_inputs[0].kind is DataInputKind.DATASET
    assert len(graph.edges) == 2


def test_without_graphs_only_the_list_is_read(client: PipelinesClient, workspace: Emulator) -> None:
    (pipeline,) = V1Reader(client).published_pipelines(include_graphs=False)

    assert pipeline.graph is None
    assert [r["path"].rsplit("/", 1)[-1] for r in workspace.request_log()][-1] == "Pipelines"


def test_disabled_pipelines_are_listed_by_default(
    client: PipelinesClient, workspace: Emulator
) -> None:
    _add_pipelines(workspace, 1, EntityStatus="Disabled")
    reader = V1Reader(client)

    everything = _by_id(reader.published_pipelines(include_graphs=False))
    active = _by_id(reader.published_pipelines(include_graphs=False, active_only=True))

    assert everything["pp-0"].status is EntityStatus.DISABLED
    assert set(everything) == {PIPELINE_ID, "pp-0"}
    assert set(active) == {PIPELINE_ID}


def test_each_module_is_read_once(client: PipelinesClient, workspace: Emulator) -> None:
    _add_pipelines(workspace, 12)
    workspace.clear_request_log()

    pipelines = V1Reader(client, max_workers=6).published_pipelines()

    assert len(pipelines) == 13
    assert all(p.graph is not None and len(p.graph.steps) == 2 for p in pipelines)
    gets = _gets(workspace)
    assert gets[f"mlw-contoso-forecast/Modules/{PREP_MODULE}"] == 1
    assert gets[f"mlw-contoso-forecast/Modules/{TRAIN_MODULE}"] == 1
    assert sum(n for path, n in gets.items() if "/Graphs/" in path) == 26  # graph + interface


def test_a_failing_graph_spoils_only_its_own_pipeline(
    client: PipelinesClient, workspace: Emulator
) -> None:
    _add_pipelines(workspace, 3)
    workspace.inject_fault(method="GET", path=r"/Graphs/graph-1$", status=500, count=None)

    pipelines = _by_id(V1Reader(client).published_pipelines())

    broken = pipelines["pp-1"]
    assert broken.graph is None
    assert len(broken.problems) == 1
    assert "its graph could not be read" in broken.problems[0]
    assert "500" in broken.problems[0]
    for other in ("pp-0", "pp-2", PIPELINE_ID):
        assert pipelines[other].problems == ()
        assert pipelines[other].graph is not None


def test_malformed_graph_json_is_a_per_row_problem(
    client: PipelinesClient, workspace: Emulator
) -> None:
    _add_pipelines(workspace, 2)
    workspace.inject_fault(method="GET", path=r"/Graphs/graph-0$", status=200, malformed=True)

    pipelines = _by_id(V1Reader(client).published_pipelines())

    assert pipelines["pp-0"].graph is None
    assert "not valid JSON" in pipelines["pp-0"].problems[0]
    assert pipelines["pp-1"].graph is not None and pipelines["pp-1"].problems == ()


def test_missing_module_marks_the_step(client: PipelinesClient, workspace: Emulator) -> None:
    graph = copy.deepcopy(GRAPH)
    graph["Id"] = "graph-missing-module"
    graph["ModuleNodes"][0]["ModuleId"] = "module-that-does-not-exist"
    backend_for(workspace.ctx).add_published_pipeline(
        {**copy.deepcopy(PIPELINE), "Id": "pp-x"}, graph, copy.deepcopy(INTERFACE)
    )

    pipelines = _by_id(V1Reader(client).published_pipelines())

    steps = {s.node_id: s for s in pipelines["pp-x"].graph.steps}  # type: ignore[union-attr]
    assert any("could not be read" in p and "404" in p for p in steps[PREP_NODE].problems)
    assert steps[PREP_NODE].script == "prep.py"
    assert all(not s.problems for n, s in steps.items() if n != PREP_NODE)
    assert pipelines[PIPELINE_ID].graph.steps[0].problems == ()  # type: ignore[union-attr]


def test_data_sources_are_read_once_and_failures_stay_local(
    client: PipelinesClient, workspace: Emulator
) -> None:
    backend = backend_for(workspace.ctx)
    for i, source_id in enumerate(["ds-ref-in", "ds-ref-in", "ds-gone"]):
        graph = copy.deepcopy(GRAPH)
        graph["Id"] = f"graph-ref-{i}"
        graph["DatasetNodes"] = [{"Id": "9e7a1b07", "DatasetId": source_id}]
        backend.add_published_pipeline(
            {**copy.deepcopy(PIPELINE), "Id": f"pp-ref-{i}"},
            graph,
            copy.deepcopy(INTERFACE),
            data_sources=[DATA_SOURCE] if i == 0 else [],
        )
    workspace.clear_request_log()

    pipelines = _by_id(V1Reader(client).published_pipelines())

    (good,) = pipelines["pp-ref-1"].graph.data_inputs  # type: ignore[union-attr]
    assert (good.kind, good.datastore, good.path) == (
        DataInputKind.DATA_REFERENCE,
        "workspaceblobstore",
        "ref/path",
    )
    (gone,) = pipelines["pp-ref-2"].graph.data_inputs  # type: ignore[union-attr]
    assert any("'ds-gone'" in p for p in gone.problems)
    assert pipelines["pp-ref-2"].problems == ()
    assert _gets(workspace)["mlw-contoso-forecast/DataSources/ds-ref-in"] == 1


def test_interface_failure_is_a_graph_problem(client: PipelinesClient, workspace: Emulator) -> None:
    workspace.inject_fault(method="GET", path=r"/Interface$", status=404)

    (pipeline,) = V1Reader(client).published_pipelines()

    assert pipeline.graph is not None
    assert pipeline.graph.parameters == ()
    assert any("interface could not be read" in p for p in pipeline.graph.problems)
    assert len(pipeline.graph.steps) == 2


def test_interface_is_skipped_without_parameters(
    client: PipelinesClient, workspace: Emulator
) -> None:
    graph = copy.deepcopy(GRAPH)
    graph["Id"] = "graph-no-params"
    graph["ModuleNodes"][1]["ModuleParameters"].pop()  # the learning_rate binding
    backend_for(workspace.ctx).add_published_pipeline(
        {**copy.deepcopy(PIPELINE), "Id": "pp-np", "ParameterAssignments": {}}, graph, {}
    )
    workspace.clear_request_log()

    pipelines = _by_id(V1Reader(client).published_pipelines())

    assert pipelines["pp-np"].graph is not None
    assert pipelines["pp-np"].graph.parameters == ()
    interface_calls = [p for p in _gets(workspace) if p.endswith("/Interface")]
    assert interface_calls == [f"mlw-contoso-forecast/Graphs/{GRAPH_ID}/Interface"]


def test_endpoints_with_versions_and_default(client: PipelinesClient, workspace: Emulator) -> None:
    backend = backend_for(workspace.ctx)
    backend.add_pipeline_endpoint(
        {
            "Name": "scoring",
            "DefaultVersion": "1",
            "EntityStatus": "Active",
            "PipelineVersionList": [
                {"Version": "0", "PipelineId": PIPELINE_ID},
                {"Version": "1", "PipelineId": "pp-later"},
            ],
        }
    )
    backend.add_pipeline_endpoint({"Name": "old", "EntityStatus": "Disabled"})
    reader = V1Reader(client)

    endpoints = {e.name: e for e in reader.endpoints()}

    scoring = endpoints["scoring"]
    assert scoring.default_version == "1"
    assert [(v.version, v.pipeline_id) for v in scoring.versions] == [
        ("0", PIPELINE_ID),
        ("1", "pp-later"),
    ]
    assert endpoints["old"].status is EntityStatus.DISABLED
    assert [e.name for e in reader.endpoints(active_only=True)] == ["scoring"]


def test_single_pipeline(client: PipelinesClient, workspace: Emulator) -> None:
    reader = V1Reader(client)

    pipeline = reader.published_pipeline(PIPELINE_ID)

    assert pipeline.graph is not None and len(pipeline.graph.steps) == 2
    with pytest.raises(NotFoundError, match="published pipeline 'nope'"):
        reader.published_pipeline("nope")


def test_many_pipelines_concurrently(client: PipelinesClient, workspace: Emulator) -> None:
    modules = []
    backend = backend_for(workspace.ctx)
    for i in range(120):
        graph = copy.deepcopy(GRAPH)
        graph["Id"] = f"graph-many-{i}"
        module_id = f"module-many-{i % 10}"
        graph["ModuleNodes"][0]["ModuleId"] = module_id
        if i < 10:
            modules = [{**copy.deepcopy(PREP), "Data": {**PREP["Data"], "Id": module_id}}]
        backend.add_published_pipeline(
            {**copy.deepcopy(PIPELINE), "Id": f"pp-many-{i}"},
            graph,
            copy.deepcopy(INTERFACE),
            modules if i < 10 else [],
        )
    workspace.clear_request_log()

    pipelines = V1Reader(client, max_workers=16).published_pipelines()

    assert len(pipelines) == 121
    assert all(p.graph is not None and not p.problems for p in pipelines)
    assert all(not s.problems for p in pipelines for s in p.graph.steps)  # type: ignore[union-attr]
    module_gets = [p for p in _gets(workspace) if "/Modules/" in p]
    assert len(module_gets) == 12  # 10 shared prep modules + the worked example's two
    assert max(_gets(workspace).values()) == 1
