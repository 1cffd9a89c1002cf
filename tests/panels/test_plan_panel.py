"""The plan panel: plan the selection, findings, the generated files, renaming and replanning."""

from __future__ import annotations

import html
from collections.abc import Callable

from _fixtures import widget_texts

from migrate_kit.convert.files import dump_yaml
from migrate_kit.inventory import BLOCKED
from migrate_kit.panels import PlanPanel, Session


def _texts(panel: PlanPanel) -> str:
    return "\n".join(widget_texts(panel.widget))


def _plan(panel: PlanPanel) -> None:
    panel.plan_button.click()
    panel.wait()
    assert panel.error is None, panel.error


def test_nothing_selected_is_said_in_the_panel(inventory_session: Session) -> None:
    panel = PlanPanel(inventory_session)
    assert panel.selection_note.value == "0 published pipelines selected"
    panel.plan_button.click()
    panel.wait()
    assert panel.error == "Plan selected failed: Select published pipelines in the inventory first."
    assert inventory_session.plan is None
    assert "Traceback" not in _texts(panel)


def test_plans_the_selection_and_shows_findings_and_files(
    inventory_session: Session, pipeline_id: Callable[..., str]
) -> None:
    session = inventory_session
    weekly = pipeline_id("weekly-demand-forecast", "1.1")
    lake = pipeline_id("sales-export-to-lake")
    session.selected = [weekly, lake]
    panel = PlanPanel(session)
    assert panel.selection_note.value == "2 published pipelines selected"
    _plan(panel)

    plan = session.plan
    assert plan is not None
    assert {p.pipeline_id for p in plan.pipelines} == {weekly, lake}
    assert (session.plan_dir / "plan.md").is_file()
    assert "Planned 2 published pipelines" in panel.status.value
    assert "(1 blocked)" in panel.status.value

    summary = panel.summary.value
    assert "weekly-demand-forecast" in summary and "sales-export-to-lake" in summary
    assert f"<b>{BLOCKED}</b>" in summary
    assert panel.pipeline_choice.value == weekly  # the first deployable one
    findings = panel.findings.value
    assert "class='mk-blocking' style='color:#a4262c'" in findings
    assert "no-v2-equivalent" in findings or "no v2 equivalent" in findings

    # the YAML of the chosen pipeline and file, as written
    panel.pipeline_choice.value = weekly
    endpoint = next(e for e in plan.endpoints if any(p.pipeline_id == weekly for p in e.pipelines))
    pipeline = plan.pipeline(weekly)
    assert pipeline.deployment is not None
    deployment_file = f"{pipeline.folder}/deployment.yml"
    assert deployment_file in panel.file_choice.options
    assert f"{endpoint.name}/endpoint.yml" in panel.file_choice.options
    assert panel.file_choice.value.endswith("findings.md")
    panel.file_choice.value = deployment_file
    shown = html.unescape(panel.file_view.value)
    assert dump_yaml(pipeline.deployment.spec) in shown
    assert (session.plan_dir / deployment_file).read_text() in shown
    assert panel.endpoint_name.value == endpoint.name == "weekly-demand-forecast"
    assert panel.deployment_name.value == pipeline.deployment.name

    # a blocked pipeline has only its findings
    panel.pipeline_choice.value = lake
    assert [f.rsplit("/", 1)[-1] for f in panel.file_choice.options] == ["findings.md"]
    assert "no v2 equivalent" in html.unescape(panel.file_view.value)

    session.selected = [weekly]
    assert "The selection changed since this plan" in panel.selection_note.value


def test_apply_names_overrides_and_replans(
    inventory_session: Session, pipeline_id: Callable[..., str]
) -> None:
    session = inventory_session
    weekly = pipeline_id("weekly-demand-forecast", "2.0")
    zurich = pipeline_id("zurich_store_forecast")
    session.selected = [weekly, zurich]
    panel = PlanPanel(session)
    _plan(panel)
    before = session.plan
    assert before is not None
    old_folder = session.plan_dir / before.pipeline(weekly).folder
    assert old_folder.is_dir()

    panel.pipeline_choice.value = weekly
    component = panel.component_name.value
    panel.endpoint_name.value = "weekly-forecast-v2"
    panel.deployment_name.value = "latest"
    panel.component_name.value = "weekly_forecast_pipeline"
    panel.apply_button.click()
    panel.wait()
    assert panel.error is None, panel.error

    after = session.plan
    assert after is not None and after is not before
    renamed = after.pipeline(weekly)
    assert renamed.endpoint_name == "weekly-forecast-v2"
    assert renamed.deployment is not None and renamed.deployment.name == "latest"
    assert renamed.pipeline_component is not None
    assert renamed.pipeline_component.name == "weekly_forecast_pipeline"
    assert session.names == {
        "endpoint:weekly-demand-forecast": "weekly-forecast-v2",
        f"deployment:{weekly}": "latest",
        f"component:{component}": "weekly_forecast_pipeline",
    }
    assert (session.plan_dir / renamed.folder / "deployment.yml").is_file()
    assert not old_folder.exists()  # the old name's files are gone
    assert not (session.plan_dir / "weekly-demand-forecast").exists()
    assert panel.endpoint_name.value == "weekly-forecast-v2"  # the form shows the new names

    # renaming the renamed component again updates the same override
    panel.component_name.value = "weekly_forecast_v3"
    panel.apply_button.click()
    panel.wait()
    assert session.names[f"component:{component}"] == "weekly_forecast_v3"

    # an override for a pipeline no longer selected is kept, and left out of the plan
    session.selected = [zurich]
    _plan(panel)
    assert [p.pipeline_id for p in session.plan.pipelines] == [zurich]
    assert session.names["endpoint:weekly-demand-forecast"] == "weekly-forecast-v2"

    # an emptied field drops the override
    session.selected = [weekly, zurich]
    _plan(panel)
    panel.pipeline_choice.value = weekly
    assert panel.endpoint_name.value == "weekly-forecast-v2"
    panel.endpoint_name.value = ""
    panel.apply_button.click()
    panel.wait()
    assert panel.error is None, panel.error
    assert "endpoint:weekly-demand-forecast" not in session.names
    assert session.plan.pipeline(weekly).endpoint_name == "weekly-demand-forecast"


def test_an_invalid_name_keeps_the_last_good_plan(
    inventory_session: Session, pipeline_id: Callable[..., str]
) -> None:
    session = inventory_session
    session.selected = [pipeline_id("zurich_store_forecast")]
    panel = PlanPanel(session)
    _plan(panel)
    good = session.plan

    panel.endpoint_name.value = "Not a valid name!"
    panel.apply_button.click()
    panel.wait()
    assert panel.error is not None
    assert panel.error.startswith("Apply names failed: ")
    assert "Not a valid name!" in panel.error
    assert session.plan is good
    assert session.names == {}
    assert "Traceback" not in _texts(panel)


def test_apply_names_before_planning_says_what_to_do(inventory_session: Session) -> None:
    panel = PlanPanel(inventory_session)
    panel.apply_button.click()
    panel.wait()
    assert panel.error == (
        "Apply names failed: Plan the selection first; then choose a pipeline to rename."
    )
