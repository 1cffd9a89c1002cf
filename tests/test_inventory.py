"""The inventory of a workspace, read over real HTTPS from the emulator (or Azure, when live).

Tests marked ``live`` assert only what holds for any workspace; the others check the sample
workspace of ``data/`` row by row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from migrate_kit import (
    BLOCKED,
    NEEDS_ATTENTION,
    READY,
    AuthenticationError,
    Connection,
    NotFoundError,
    ServiceUnavailableError,
    connect,
    inventory,
    is_valid_endpoint_name,
)
from migrate_kit.emulator import Emulator
from migrate_kit.inventory import COLUMNS


@pytest.fixture(scope="module")
def sample_inventory(connection: Connection) -> pd.DataFrame:
    return inventory(connection)


def _row(frame: pd.DataFrame, name: str, version: str | None = None) -> pd.Series:
    rows = frame[frame["pipeline_name"] == name]
    if version is not None:
        rows = rows[rows["version"] == version]
    assert len(rows) == 1, f"{name} {version}: {len(rows)} rows"
    return rows.iloc[0]


@pytest.mark.live
def test_every_row_is_complete_and_judged(sample_inventory: pd.DataFrame) -> None:
    assert list(sample_inventory.columns) == COLUMNS
    assert sample_inventory["pipeline_id"].is_unique
    assert set(sample_inventory["verdict"]) <= {READY, NEEDS_ATTENTION, BLOCKED}
    for _, row in sample_inventory.iterrows():
        assert is_valid_endpoint_name(row["v2_endpoint"])
        if row["verdict"] != READY:
            assert row["reasons"], row["pipeline_name"]


def test_sample_has_every_published_pipeline(sample_inventory: pd.DataFrame) -> None:
    assert len(sample_inventory) >= 10
    assert {"Active", "Disabled"} <= set(sample_inventory["status"])


def test_endpoint_versions_and_the_default_that_is_not_the_latest(
    sample_inventory: pd.DataFrame,
) -> None:
    rows = sample_inventory[sample_inventory["endpoint"] == "weekly-demand-forecast"]
    assert sorted(rows["endpoint_version"]) == ["0", "1", "2"]
    default = rows[rows["is_default"]]
    assert list(default["endpoint_version"]) == ["1"]
    assert set(sample_inventory["endpoint"].dropna()) >= {
        "weekly-demand-forecast",
        "price-elasticity",
        "store_replenishment endpoint",
    }


def test_steps_parameters_and_inputs_of_a_multi_step_pipeline(
    sample_inventory: pd.DataFrame,
) -> None:
    row = _row(sample_inventory, "daily_sales forecast")
    assert row["step_count"] == 3
    assert row["step_types"] == ["PythonScriptStep"]
    assert row["parameters"]["horizon_days"] == "14"
    assert row["parameters"]["include_promos"] == "True"
    assert row["parameter_types"] == {}  # types are read when a pipeline is planned
    assert any("workspaceblobstore" in text for text in row["data_inputs"])
    assert any("path parameter, default workspaceblobstore/" in t for t in row["data_inputs"])
    assert row["created"] is not None


def test_light_read_keeps_every_parameter_and_data_input(connection: Connection) -> None:
    """The inventory's read (no graph interfaces) sees what the full read of one pipeline sees."""
    from migrate_kit import ParameterType, V1Reader

    reader = V1Reader(connection.v1_client())
    light = {p.id: p for p in reader.published_pipelines(parameter_types=False)}
    for pipeline_id, quick in light.items():
        full = reader.published_pipeline(pipeline_id)
        assert quick.graph is not None and full.graph is not None
        assert quick.graph.steps == full.graph.steps
        assert quick.graph.data_inputs == full.graph.data_inputs, quick.name
        assert {p.name: p.default for p in quick.graph.parameters} == {
            p.name: p.default for p in full.graph.parameters
        }, quick.name
        assert all(p.type is ParameterType.UNKNOWN for p in quick.graph.parameters)


def test_databricks_and_data_transfer_rows_are_blocked_with_the_reason(
    sample_inventory: pd.DataFrame,
) -> None:
    for name, step_type in [
        ("spark-feature-engineering", "DatabricksStep"),
        ("sales-export-to-lake", "DataTransferStep"),
    ]:
        row = _row(sample_inventory, name)
        assert row["verdict"] == BLOCKED
        assert any(step_type in r and "no v2 equivalent" in r for r in row["reasons"])


def test_disabled_pipeline_needs_attention(sample_inventory: pd.DataFrame) -> None:
    row = _row(sample_inventory, "promo-uplift-legacy")
    assert row["status"] == "Disabled"
    assert row["verdict"] == NEEDS_ATTENTION
    assert any("disabled" in r for r in row["reasons"])


def test_names_invalid_in_v2_are_mapped_and_collisions_flagged(
    sample_inventory: pd.DataFrame,
) -> None:
    clashing = [
        _row(sample_inventory, "daily_sales forecast"),
        _row(sample_inventory, "daily-sales-forecast"),
    ]
    assert clashing[0]["v2_endpoint"] != clashing[1]["v2_endpoint"]
    for row in clashing:
        assert any("same v2 endpoint name" in r for r in row["reasons"])
    long_name = _row(sample_inventory, "price_elasticity_weekly_estimation_by_store", "2.0")
    assert long_name["v2_endpoint"] == "price-elasticity"  # an endpoint member takes its name
    spaced = sample_inventory[sample_inventory["endpoint"] == "store_replenishment endpoint"]
    assert any("not a valid v2 endpoint name" in n for n in spaced.iloc[0]["notes"])


def test_non_ascii_description_survives(sample_inventory: pd.DataFrame) -> None:
    assert "Prévisions des ventes – magasins Zürich" in set(sample_inventory["description"])


def test_malformed_graph_marks_only_that_row(emu: Emulator, connection: Connection) -> None:
    graph_id = next(
        p["GraphId"]
        for p in emu.ctx.store.list("pipelines.pipeline")
        if p["Name"] == "store-batch-scoring"
    )
    emu.inject_fault("GET", rf"/Graphs/{graph_id}$", status=200, malformed=True, count=None)
    frame = inventory(connection)
    broken = _row(frame, "store-batch-scoring")
    assert broken["verdict"] == BLOCKED
    assert any("graph" in r for r in broken["reasons"])
    others = frame[frame["pipeline_name"] != "store-batch-scoring"]
    assert all(others["step_count"] > 0)


def test_missing_module_marks_the_step(emu: Emulator, connection: Connection) -> None:
    emu.inject_fault("GET", r"/Modules/[^/]+$", status=404, count=1)
    frame = inventory(connection)
    assert len(frame) >= 10
    assert (frame["verdict"] == BLOCKED).sum() >= 3  # the 2 blocked ones + the broken module


def test_refused_token_is_one_clear_error(emu: Emulator, connection: Connection) -> None:
    emu.inject_fault("GET", r"/Pipelines$", status=401, count=None)
    with pytest.raises(AuthenticationError) as caught:
        inventory(connection)
    message = str(caught.value)
    assert connection.workspace.workspace_name in message
    assert "\n" not in message


def test_wrong_workspace_names_it(connection_file: Path) -> None:
    wrong = connect(connection_file=connection_file, workspace_name="no-such-workspace")
    with pytest.raises(NotFoundError) as caught:
        inventory(wrong)
    assert "no-such-workspace" in str(caught.value)


def test_unreachable_service_is_one_clear_error(connection_file: Path) -> None:
    unreachable = connect(connection_file=connection_file)
    unreachable.arm_url = "https://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(ServiceUnavailableError) as caught:
        inventory(unreachable)
    assert "127.0.0.1:9" in str(caught.value)
