"""``plan()`` over the sample workspace: selection, grouping by endpoint, names, the frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate_kit import Connection, Plan, V1Reader, plan
from migrate_kit.convert import PLAN_COLUMNS
from migrate_kit.emulator import Emulator
from migrate_kit.errors import ConfigurationError
from migrate_kit.inventory import BLOCKED


@pytest.mark.live
def test_every_published_pipeline_gets_a_plan_and_a_verdict(connection: Connection) -> None:
    reader = V1Reader(connection.v1_client())
    listed = {p.id for p in reader.published_pipelines(include_graphs=False)}
    result = plan(reader, all=True)
    assert {p.pipeline_id for p in result.pipelines} == listed
    frame = result.frame()
    assert list(frame.columns) == PLAN_COLUMNS
    assert set(frame["verdict"]) <= {"ready", "needs attention", "blocked"}
    for p in result.pipelines:
        assert p.deployable == (p.verdict != BLOCKED)


def test_endpoints_group_their_versions_and_mark_the_v1_default(sample_plan: Plan) -> None:
    by_name = {e.name: e for e in sample_plan.endpoints}
    weekly = by_name["weekly-demand-forecast"]
    assert [(p.pipeline_version, p.v1_endpoint_version) for p in weekly.pipelines] == [
        ("1.0", "0"),
        ("1.1", "1"),
        ("2.0", "2"),
    ]
    assert [d.name for d in weekly.deployments] == ["version-0", "version-1", "version-2"]
    assert weekly.default_deployment == "version-1"  # v1's default, not the latest

    assert by_name["price-elasticity"].default_deployment == "version-1"
    assert by_name["store-replenishment-endpoint"].v1_name == "store_replenishment endpoint"
    # Standalone pipelines whose names collide once mapped get distinct endpoints.
    daily = {
        p.pipeline_name: p.endpoint_name
        for p in sample_plan.pipelines
        if "daily" in p.pipeline_name
    }
    assert daily == {
        "daily-sales-forecast": "daily-sales-forecast",
        "daily_sales forecast": "daily-sales-forecast-1e339ac8",
    }
    assert len(sample_plan.endpoints) == 10  # 3 v1 endpoints, 7 standalone names


def test_the_frame_has_one_row_per_pipeline(sample_plan: Plan) -> None:
    frame = sample_plan.to_frame()
    assert list(frame.columns) == PLAN_COLUMNS
    assert len(frame) == 13
    verdicts = frame.set_index("pipeline_name")["verdict"].to_dict()
    assert verdicts["sales-export-to-lake"] == "blocked"
    assert verdicts["spark-feature-engineering"] == "blocked"
    assert verdicts["promo-uplift-legacy"] == "needs attention"
    assert (frame["verdict"] == "blocked").sum() == 2


def test_the_parallel_run_step_becomes_a_parallel_component(sample_plan: Plan) -> None:
    scoring = sample_plan.pipeline("store-batch-scoring")
    kinds = {c.step: c.kind for c in scoring.components}
    assert kinds == {"split_by_store": "command", "score-stores": "parallel"}
    parallel = next(c for c in scoring.components if c.kind == "parallel")
    assert parallel.spec["mini_batch_size"] == "2"
    assert parallel.spec["task"]["entry_script"] == "score_store.py"
    assert parallel.spec["task"]["append_row_to"] == "${{outputs.store_scores}}"


def test_the_plan_says_how_to_invoke_and_what_parity_compares(sample_plan: Plan) -> None:
    daily = sample_plan.pipeline("daily_sales forecast 1.4")
    assert [(i.v1_name, i.type, i.v1_default) for i in daily.invoke_inputs] == [
        ("region", "string", "ALL"),
        ("min_units", "integer", "1"),
        ("include_promos", "boolean", "True"),
        ("horizon_days", "integer", "14"),
        ("smoothing", "number", "0.3"),
        (
            "prices_path",
            "uri_folder",
            "azureml://datastores/workspaceblobstore/paths/retail/prices",
        ),
    ]
    [dropped] = [f for f in daily.findings if f.code == "data-default-dropped"]
    assert daily.invoke_inputs[-1].v1_default in dropped.message
    assert [(o.job, o.output, o.pipeline_output) for o in daily.output_links] == [
        ("prep_sales", "daily_sales", None),
        ("prep_prices", "weekly_prices", None),
        ("forecast", "forecast", "daily_forecast"),
    ]
    scoring = sample_plan.pipeline("store-batch-scoring")
    # The parallel step's node is renamed; its child job keeps the v1 step name.
    assert [(o.v1_step, o.job, o.v1_port) for o in scoring.output_links] == [
        ("split_by_store", "split_by_store", "store_files"),
        ("score-stores", "score_stores", "store_scores"),
    ]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("weekly-demand-forecast", {"weekly-demand-forecast"}),
        ("daily*", {"daily_sales forecast", "daily-sales-forecast"}),
        ("price-elasticity", {"price_elasticity_weekly_estimation_by_store"}),  # the endpoint
        ("store_replenishment endpoint", {"inventory-replenishment"}),
    ],
)
def test_selection_by_name_endpoint_and_glob(
    connection: Connection, pattern: str, expected: set[str]
) -> None:
    result = plan(connection, select=[pattern])
    assert {p.pipeline_name for p in result.pipelines} == expected
    assert result.problems == ()


def test_selection_by_id_and_names_independent_of_it(
    connection: Connection, sample_plan: Plan
) -> None:
    wanted = sample_plan.pipeline("daily_sales forecast 1.4")
    result = plan(connection, select=[wanted.pipeline_id, "no-such-pipeline"])
    (only,) = result.pipelines
    assert only.pipeline_id == wanted.pipeline_id
    assert only.endpoint_name == wanted.endpoint_name
    assert [c.name for c in only.components] == [c.name for c in wanted.components]
    assert [c.version for c in only.components] == [c.version for c in wanted.components]
    assert result.problems == ("'no-such-pipeline' matched no published pipeline",)


def test_nothing_selected_is_a_configuration_error(connection: Connection) -> None:
    with pytest.raises(ConfigurationError, match="--select"):
        plan(connection)
    with pytest.raises(ConfigurationError, match="'nothing\\*'"):
        plan(connection, select=["nothing*"])


def test_plan_writes_when_given_a_folder(connection: Connection, tmp_path: Path) -> None:
    result = plan(connection, select=["zurich*"], out=tmp_path)
    (p,) = result.pipelines
    folder = tmp_path / p.folder
    assert sorted(f.name for f in folder.iterdir()) == [
        "code",
        "components",
        "deployment.yml",
        "findings.md",
        "pipeline.yml",
    ]
    assert (tmp_path / p.endpoint_name / "endpoint.yml").is_file()


def test_a_snapshot_the_service_refuses_blocks_only_its_pipeline(
    emu: Emulator, connection: Connection, sample_plan: Plan
) -> None:
    scoring = sample_plan.pipeline("store-batch-scoring")
    snapshot = next(c.snapshot_id for c in scoring.components if c.kind == "parallel")
    assert snapshot is not None
    emu.inject_fault("POST", rf"/snapshots/{snapshot}/zip$", status=404, count=None)
    result = plan(connection, select=["store-batch-scoring", "zurich*"])
    blocked = result.pipeline("store-batch-scoring")
    (finding,) = [f for f in blocked.findings if f.code == "code-snapshot"]
    assert finding.step == "score-stores" and snapshot in finding.message
    assert not blocked.deployable
    assert result.pipeline("zurich_store_forecast").deployable


def test_a_cached_plan_is_the_same_and_a_second_one_reads_only_the_lists(
    emu: Emulator, connection: Connection, sample_plan: Plan, tmp_path: Path
) -> None:
    cache = tmp_path / "v1-cache.sqlite"
    first = plan(connection, all=True, cache=cache)
    seq = emu.log.last_seq
    second = plan(connection, all=True, cache=cache)
    sent = [r["path"] for r in emu.request_log() if r["seq"] > seq]
    selected = plan(connection, select=["weekly*"], cache=cache)

    assert first.frame().equals(sample_plan.frame())
    assert second.frame().equals(sample_plan.frame())
    assert [c.version for p in second.pipelines for c in p.components] == [
        c.version for p in sample_plan.pipelines for c in p.components
    ]
    assert len(sent) == 2, sent  # the endpoint list and the pipeline list
    assert {p.pipeline_version for p in selected.pipelines} == {"1.0", "1.1", "2.0"}
