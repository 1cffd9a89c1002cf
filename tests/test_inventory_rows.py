"""Inventory rows from v1 models: verdicts, reasons, endpoint links (no network)."""

from __future__ import annotations

from migrate_kit.inventory import (
    BLOCKED,
    NEEDS_ATTENTION,
    READY,
    frame_for_output,
    inventory_rows,
    to_frame,
)
from migrate_kit.v1.models import (
    CodeSnapshot,
    DataInput,
    DataInputKind,
    EndpointVersion,
    EntityStatus,
    Graph,
    GraphParameter,
    ParameterType,
    PipelineEndpoint,
    PublishedPipeline,
    Step,
)


def _step(name: str, step_type: str = "PythonScriptStep", **kw: object) -> Step:
    return Step(
        node_id=name[:8],
        module_id=f"m-{name}",
        name=name,
        step_type=step_type,
        snapshot=CodeSnapshot("snap-1"),
        **kw,  # type: ignore[arg-type]
    )


def _pipeline(pid: str, name: str, *steps: Step, **kw: object) -> PublishedPipeline:
    graph = Graph(
        id=f"g-{pid}",
        steps=steps,
        parameters=(GraphParameter("lr", ParameterType.FLOAT, "0.1"),),
    )
    return PublishedPipeline(
        id=pid,
        name=name,
        status=kw.pop("status", EntityStatus.ACTIVE),
        graph=graph,
        **kw,  # type: ignore[arg-type]
    )


def test_plain_python_pipeline_is_ready() -> None:
    (row,) = inventory_rows([_pipeline("p1", "prep-and-train", _step("prep"))], [])
    assert row.verdict == READY
    assert row.reasons == []
    assert row.step_types == ["PythonScriptStep"]
    assert row.parameters == {"lr": "0.1"}
    assert row.parameter_types == {"lr": "float"}
    assert row.endpoint is None
    assert row.v2_endpoint == "prep-and-train"


def test_databricks_step_blocks_with_the_reason() -> None:
    pipeline = _pipeline("p1", "x", _step("prep"), _step("spark", "DatabricksStep"))
    (row,) = inventory_rows([pipeline], [])
    assert row.verdict == BLOCKED
    assert any("DatabricksStep" in r and "no v2 equivalent" in r for r in row.reasons)


def test_unknown_step_type_and_disabled_need_attention() -> None:
    pipeline = _pipeline("p1", "x", _step("odd", "FancyStep"), status=EntityStatus.DISABLED)
    (row,) = inventory_rows([pipeline], [])
    assert row.verdict == NEEDS_ATTENTION
    assert any("unknown v1 step type" in r for r in row.reasons)
    assert any("disabled" in r for r in row.reasons)


def test_missing_graph_blocks_but_other_rows_stay_complete() -> None:
    broken = PublishedPipeline(id="p2", name="broken", problems=("graph g-2 could not be read",))
    rows = inventory_rows([_pipeline("p1", "fine", _step("a")), broken], [])
    by_id = {r.pipeline_id: r for r in rows}
    assert by_id["p1"].verdict == READY
    assert by_id["p2"].verdict == BLOCKED
    assert "graph g-2 could not be read" in by_id["p2"].reasons


def test_endpoint_versions_and_default() -> None:
    pipelines = [_pipeline(f"p{i}", "forecast", _step("s")) for i in range(3)]
    endpoint = PipelineEndpoint(
        id="e1",
        name="store_forecast",
        default_version="1",
        versions=tuple(EndpointVersion(str(i), f"p{i}") for i in range(3)),
        status=EntityStatus.ACTIVE,
    )
    rows = inventory_rows(pipelines, [endpoint])
    assert [(r.endpoint_version, r.is_default) for r in rows] == [
        ("0", False),
        ("1", True),
        ("2", False),
    ]
    assert {r.v2_endpoint for r in rows} == {"store-forecast"}
    assert any("not a valid v2 endpoint name" in n for n in rows[0].notes)
    assert rows[0].verdict == READY


def test_colliding_endpoint_names_need_attention() -> None:
    pipelines = [_pipeline("p1", "a", _step("s")), _pipeline("p2", "b", _step("s"))]
    endpoints = [
        PipelineEndpoint(id="e1", name="daily_sales", versions=(EndpointVersion("0", "p1"),)),
        PipelineEndpoint(id="e2", name="daily-sales", versions=(EndpointVersion("0", "p2"),)),
    ]
    rows = inventory_rows(pipelines, endpoints)
    assert len({r.v2_endpoint for r in rows}) == 2
    assert all(r.verdict == NEEDS_ATTENTION for r in rows)
    assert all(any("same v2 endpoint name" in reason for reason in r.reasons) for r in rows)


def test_dataset_input_needs_attention_and_is_described() -> None:
    pipeline = PublishedPipeline(
        id="p1",
        name="x",
        status=EntityStatus.ACTIVE,
        graph=Graph(
            id="g",
            steps=(_step("s"),),
            data_inputs=(
                DataInput(
                    "n1", DataInputKind.DATASET, "raw", dataset_id="ds1", dataset_version="3"
                ),
                DataInput(
                    "n2", DataInputKind.DATA_REFERENCE, "ref", datastore="wsb", path="sales/x.csv"
                ),
            ),
        ),
    )
    (row,) = inventory_rows([pipeline], [])
    assert row.verdict == NEEDS_ATTENTION
    assert row.data_inputs == ["raw (dataset ds1 v3)", "ref (data reference wsb/sales/x.csv)"]


def test_frame_has_fixed_columns_and_flattens_for_output() -> None:
    empty = to_frame([])
    assert "verdict" in empty.columns and len(empty) == 0
    frame = to_frame(inventory_rows([_pipeline("p1", "x", _step("a"), _step("b"))], []))
    flat = frame_for_output(frame)
    assert flat.loc[0, "steps"] == "a; b"
    assert flat.loc[0, "parameters"] == "lr=0.1"
