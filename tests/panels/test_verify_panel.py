"""The test panel against the emulator: a form per migrated, selected pipeline prefilled with v1's
defaults (by input type), "Test selected" running real jobs with the form's values (and v1
beside them with parity), the rows filled from the outcomes; a failing job's reason and a
selection with nothing migrated shown in the panel, without a traceback.

A private emulator (module scope, reset before each test); each test migrates what it tests.
"""

from __future__ import annotations

import ipywidgets as widgets
import pytest
from _fixtures import DAILY, WEEKLY, ids_of, migrated, session, widget_texts

from migrate_kit import Ledger
from migrate_kit.emulator import Emulator
from migrate_kit.panels._session import Session
from migrate_kit.panels.verify import TestPanel

__all__ = ["session"]  # the fixture, imported so that pytest finds it here

DAILY_14 = "daily_sales forecast 1.4"  # every input type: string, integer, boolean, number, data

# azure-ai-ml 1.35's jobs.download makes calls that azure-storage-blob has deprecated.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The use of a 'BlobProperties'", "ignore:content_as_bytes"
)


def test_forms_are_generated_from_the_inputs_and_prefilled_with_v1_defaults(
    private_emu: Emulator, session: Session
) -> None:
    migrated(session, DAILY_14, plan_also=(WEEKLY,))  # WEEKLY is planned, never migrated
    panel = TestPanel(session, poll_s=0.5)

    [daily_id] = ids_of(session.connection, DAILY_14)  # type: ignore[arg-type]
    assert list(panel.forms) == [daily_id]
    fields = {name: f.widget for name, f in panel.forms[daily_id].fields.items()}
    expected = {
        "region": (widgets.Text, "ALL"),
        "min_units": (widgets.IntText, 1),
        "include_promos": (widgets.Checkbox, True),
        "horizon_days": (widgets.IntText, 14),
        "smoothing": (widgets.FloatText, 0.3),
        "prices_path": (
            widgets.Text,
            "azureml://datastores/workspaceblobstore/paths/retail/prices",
        ),
    }
    assert {n: (type(w), w.value) for n, w in fields.items()} == expected
    assert all(w.description == name for name, w in fields.items())
    assert panel.forms[daily_id].changed() == {}
    assert "Not migrated yet, so not tested: weekly-demand-forecast 1.1." in panel.note.value

    # A change of selection rebuilds the forms; a form keeps what was typed into it.
    fields["horizon_days"].value = 3
    session.selected = [daily_id]
    assert panel.forms[daily_id].changed() == {"horizon_days": 3}
    assert panel.note.value == "" and panel.error is None


def test_test_selected_runs_the_jobs_with_the_form_values_and_parity(
    private_emu: Emulator, session: Session
) -> None:
    migrated(session, DAILY, WEEKLY)
    panel = TestPanel(session, poll_s=0.5)
    daily_id, weekly_id = ids_of(session.connection, DAILY, WEEKLY)  # type: ignore[arg-type]
    weekly = panel.forms[weekly_id].fields
    weekly["method"].widget.value = "trend"
    weekly["window"].widget.value = 3
    panel.parity.value = True

    panel.test_button.click()
    panel.wait(180)

    assert panel.error is None, panel.status.value
    assert "2 tested: 2 passed, 0 failed" in panel.status.value
    for label in (DAILY, WEEKLY):
        row = panel.table.rows[label]
        assert row["status"] == "passed", row
        assert row["job"].endswith(" Completed") and row["duration"].endswith(" s")
        assert row["parity"].startswith("match (1 outputs")
        assert row["studio"].startswith("https://")
    assert 'target="_blank">open in studio</a>' in panel.table.widget.value
    assert (panel.progress.value, panel.progress.max, panel.progress.bar_style) == (2, 2, "success")
    assert "v2 job batchjob-" in panel.log.text  # live statuses of the runs
    assert session.migrated == 1

    # Each pipeline ran with its own form's values: changed ones as assignments, v1's defaults
    # for the rest.
    with Ledger(session.ledger_path) as ledger:
        tested = {pid: ledger.stage(pid, "test") for pid in (daily_id, weekly_id)}
        parity = ledger.stage(weekly_id, "parity")
    assert tested[weekly_id] is not None and tested[weekly_id].detail["inputs"] == {
        "method": "trend",
        "window": "3",
    }
    assert tested[daily_id] is not None and tested[daily_id].detail["inputs"] == {"window": "7"}
    assert parity is not None and parity.done and parity.detail["result"] == "match"


def test_a_failing_job_shows_its_reason_without_a_traceback(
    private_emu: Emulator, session: Session
) -> None:
    migrated(session, WEEKLY)
    panel = TestPanel(session, poll_s=0.5)
    [weekly_id] = ids_of(session.connection, WEEKLY)  # type: ignore[arg-type]
    panel.forms[weekly_id].fields["method"].widget.value = "bogus"  # the script rejects it

    panel.test_button.click()
    panel.wait(120)

    assert panel.error == "1 tested: 0 passed, 1 failed; see the rows for why."
    row = panel.table.rows[WEEKLY]
    assert row["status"] == "failed" and row["job"].endswith(" Failed")
    assert "weekly_forecast" in row["detail"]  # the failed step, named
    assert panel.progress.bar_style == "danger"
    shown = "\n".join(widget_texts(panel.widget))
    assert "Traceback" not in shown


def test_with_nothing_migrated_test_selected_says_to_migrate_first(
    private_emu: Emulator, session: Session
) -> None:
    assert session.connection is not None
    session.selected = ids_of(session.connection, WEEKLY)
    panel = TestPanel(session, poll_s=0.5)

    panel.test_button.click()
    panel.wait(60)

    assert panel.error is not None
    assert panel.error.startswith(
        "Test selected failed: None of the selected pipelines is migrated yet"
    ), panel.error
    assert session.plan is not None  # planned on the way, as the plan step would
    assert "Not migrated yet, so not tested: weekly-demand-forecast 1.1." in panel.note.value
    assert session.migrated == 0 and panel.forms == {}
