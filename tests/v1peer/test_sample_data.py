"""The sample workspace in ``data/``: its capture, hand-written entities and step scripts.

No v1 SDK needed: the committed capture and hand-written files are checked for consistency, and
every step script is run on the datastore CSVs with the product interpreter, the way the
emulator's runner will run them (inputs and outputs as folder arguments).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import harness
import pytest

DATA = harness.REPO / "data"
STEPS = DATA / "v1_project" / "steps"
RETAIL = DATA / "datastore" / "retail"

PUBLISHED = {
    ("daily_sales forecast", "1.4"),
    ("daily-sales-forecast", "0.9"),
    ("zurich_store_forecast", "1.0"),
    ("price_elasticity_weekly_estimation_by_store", "1.0"),
    ("price_elasticity_weekly_estimation_by_store", "2.0"),
    ("promo-uplift-legacy", "0.3"),
    ("inventory-replenishment", "1.2"),
    ("store-batch-scoring", "1.0"),
    ("weekly-demand-forecast", "1.0"),
    ("weekly-demand-forecast", "1.1"),
    ("weekly-demand-forecast", "2.0"),
}


@pytest.fixture(scope="module")
def capture() -> dict[str, Any]:
    state: dict[str, Any] = json.loads((DATA / "capture" / "state.json").read_text("utf-8"))
    return state


def _bodies(state: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item["body"] for item in state["entities"].get(kind, [])]


def test_workspace_json_holds_the_agreed_identity() -> None:
    workspace = json.loads((DATA / "workspace.json").read_text("utf-8"))
    assert workspace == {
        "subscription_id": "5f2c6a8e-1b3d-4c7e-9a0f-2d4b6c8e0a13",
        "resource_group": "rg-ml-migration-demo",
        "workspace_name": "mlw-contoso-forecast",
        "region": "westeurope",
        "tenant_id": "72f988bf-0000-4000-8000-00000000c0de",
        "workspace_id": "9b1d7e35-4c2a-4f8e-b6d0-3a5c7e9f1b24",
    }


def test_capture_holds_what_the_publish_script_publishes(capture: dict[str, Any]) -> None:
    pipelines = _bodies(capture, "pipelines.pipeline")
    assert {(p["Name"], p["Version"]) for p in pipelines} == PUBLISHED
    disabled = [p["Name"] for p in pipelines if p["EntityStatus"] == "Disabled"]
    assert disabled == ["promo-uplift-legacy"]

    by_id = {p["Id"]: p for p in pipelines}
    endpoints = {e["Name"]: e for e in _bodies(capture, "pipelines.endpoint")}
    weekly = endpoints["weekly-demand-forecast"]
    versions = {
        v["Version"]: by_id[v["PipelineId"]]["Version"] for v in weekly["PipelineVersionList"]
    }
    assert versions == {"0": "1.0", "1": "1.1", "2": "2.0"}
    assert weekly["DefaultVersion"] == "1"
    assert set(endpoints) == {
        "weekly-demand-forecast",
        "store_replenishment endpoint",
        "price-elasticity",
    }


def test_capture_references_resolve(capture: dict[str, Any]) -> None:
    keys = {kind: {i["key"] for i in items} for kind, items in capture["entities"].items()}
    for pipeline in _bodies(capture, "pipelines.pipeline"):
        assert pipeline["GraphId"] in keys["pipelines.graph"]
        assert pipeline["GraphId"] in keys["pipelines.graph_interface"]
    for graph in _bodies(capture, "pipelines.graph"):
        for node in graph["ModuleNodes"]:
            assert node["ModuleId"] in keys["pipelines.module"]
        for node in graph["DatasetNodes"]:
            assert (
                node.get("DatasetId") is None or node["DatasetId"] in keys["pipelines.data_source"]
            )
    for module in _bodies(capture, "pipelines.module"):
        snapshot = module["Data"]["DataLocation"]["StorageId"]
        assert snapshot in keys["content.snapshot"]


def test_capture_holds_only_what_the_sdk_produced(capture: dict[str, Any]) -> None:
    blobs = capture["blobs"]
    assert blobs, "the step snapshots should be in the capture"
    assert not [b for b in blobs if b["path"].endswith(".csv")]  # datastore files are seeded
    for blob in blobs:
        assert (DATA / "capture" / "blobs" / blob["sha256"]).is_file()
    assert "pipelines.data_type" not in capture["entities"]


def test_handwritten_entities_are_complete_pipelines() -> None:
    entities = [
        e
        for f in sorted((DATA / "handwritten").glob("*.json"))
        for e in json.loads(f.read_text("utf-8"))
    ]
    keys = {(e["kind"], e["key"]) for e in entities}
    pipelines = [e["body"] for e in entities if e["kind"] == "pipelines.pipeline"]
    assert {p["Name"] for p in pipelines} == {"sales-export-to-lake", "spark-feature-engineering"}

    step_types = set()
    for pipeline in pipelines:
        graph_id = pipeline["GraphId"]
        assert ("pipelines.graph_interface", graph_id) in keys
        graph = next(
            e["body"] for e in entities if e["key"] == graph_id and e["kind"].endswith("graph")
        )
        for node in graph["ModuleNodes"]:
            module = next(e["body"] for e in entities if e["key"] == node["ModuleId"])
            step_types.add(module["StepType"])
        for node in graph["DatasetNodes"]:
            assert ("pipelines.data_source", node["DatasetId"]) in keys
    assert step_types == {"DataTransferStep", "DatabricksStep"}


# -- step scripts ---------------------------------------------------------------------------


def _step(script: str, *args: str, env: dict[str, str] | None = None) -> None:
    folder, name = script.split("/")
    subprocess.run(
        [sys.executable, str(STEPS / folder / name), *args],
        check=True,
        capture_output=True,
        env=env,
    )


def _daily_forecast(out: Path, region: str, include_promos: str, horizon: str) -> str:
    """Run the three steps of ``daily_sales forecast``; return the forecast CSV text."""
    _step(
        "prep_sales/prep_sales.py",
        "--sales_dir",
        str(RETAIL / "sales"),
        "--stores_dir",
        str(RETAIL / "stores"),
        "--region",
        region,
        "--min_units",
        "1",
        "--output_dir",
        str(out / "sales"),
    )
    _step(
        "prep_prices/prep_prices.py",
        "--prices_dir",
        str(RETAIL / "prices"),
        "--include_promos",
        include_promos,
        "--output_dir",
        str(out / "prices"),
    )
    _step(
        "forecast/forecast.py",
        "--sales_dir",
        str(out / "sales"),
        "--prices_dir",
        str(out / "prices"),
        "--horizon_days",
        horizon,
        "--smoothing",
        "0.3",
        "--output_dir",
        str(out / "forecast"),
    )
    return (out / "forecast" / "forecast.csv").read_text("utf-8")


def test_daily_forecast_steps_are_deterministic_and_follow_parameters(tmp_path: Path) -> None:
    first = _daily_forecast(tmp_path / "a", "ALL", "True", "14")
    again = _daily_forecast(tmp_path / "b", "ALL", "True", "14")
    other = _daily_forecast(tmp_path / "c", "CH-ZH", "False", "3")

    assert first == again
    assert other != first
    assert len(first.splitlines()) == 1 + 30 * 14  # 5 stores x 6 products x 14 days
    assert len(other.splitlines()) == 1 + 12 * 3  # the 2 Zürich stores only


@pytest.mark.parametrize("method", ["moving_average", "seasonal_naive", "trend"])
def test_weekly_forecast_and_replenishment_run(tmp_path: Path, method: str) -> None:
    _step(
        "weekly_forecast/weekly_forecast.py",
        "--sales_dir",
        str(RETAIL / "sales"),
        "--method",
        method,
        "--window",
        "5",
        "--output_dir",
        str(tmp_path / "weekly"),
    )
    _step(
        "replenishment/replenish.py",
        "--forecast_dir",
        str(tmp_path / "weekly"),
        "--safety_factor",
        "1.2",
        "--pack_size",
        "6",
        "--output_dir",
        str(tmp_path / "orders"),
    )

    orders = (tmp_path / "orders" / "orders.csv").read_text("utf-8").splitlines()
    assert len(orders) == 31
    assert all(int(line.split(",")[2]) % 6 == 0 for line in orders[1:])


def test_elasticity_expands_the_legacy_parameter_placeholder(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "AML_PARAMETER_region": "CH-GE"}
    _step(
        "elasticity/elasticity.py",
        "--sales_dir",
        str(RETAIL / "sales"),
        "--prices_dir",
        str(RETAIL / "prices"),
        "--region",
        "$AML_PARAMETER_region",
        "--min_weeks",
        "3",
        "--output_dir",
        str(tmp_path),
        env=env,
    )

    rows = (tmp_path / "elasticity.csv").read_text("utf-8").splitlines()
    assert len(rows) == 7 and all(",CH-GE,4," in row for row in rows[1:])


def test_promo_uplift_runs(tmp_path: Path) -> None:
    _step(
        "promo_uplift/promo_uplift.py",
        "--sales_dir",
        str(RETAIL / "sales"),
        "--prices_dir",
        str(RETAIL / "prices"),
        "--min_uplift",
        "0.2",
        "--output_dir",
        str(tmp_path),
    )
    assert "strong" in (tmp_path / "promo_uplift.csv").read_text("utf-8")


def test_split_and_parallel_scoring_entry_script_run(tmp_path: Path) -> None:
    _step(
        "split_by_store/split_by_store.py",
        "--sales_dir",
        str(RETAIL / "sales"),
        "--since",
        "2024-03-10",
        "--output_dir",
        str(tmp_path / "stores"),
    )
    files = sorted(str(p) for p in (tmp_path / "stores").glob("store_*.csv"))
    assert len(files) == 5

    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); import score_store as s; "
        "s.init(); print(json.dumps(s.run(json.loads(sys.argv[2]))))"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-B",
            "-c",
            code,
            str(STEPS / "batch_scoring"),
            json.dumps(files),
            "--horizon_days",
            "14",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    lines = json.loads(result.stdout)
    assert [line.split(",")[0] for line in lines] == ["S01", "S02", "S03", "S04", "S05"]
