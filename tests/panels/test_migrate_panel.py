"""The migrate panel against the emulator: "Migrate selected" plans and migrates the selection
with live rows, bar and log; one pipeline's failure shows its reason in its row (redacted, no
traceback) and "Resume migration" finishes it; a missing connection or selection is a message.

A private emulator (module scope, reset before each test) keeps the writes out of the session's
workspace.
"""

from __future__ import annotations

import pytest
from _fixtures import BLOCKED, DAILY, WEEKLY, ids_of, session, widget_texts

from migrate_kit import Ledger
from migrate_kit.emulator import Emulator
from migrate_kit.panels._session import Session
from migrate_kit.panels.migrate import MigratePanel

__all__ = ["session"]  # the fixture, imported so that pytest finds it here


def test_migrate_selected_plans_and_migrates_with_live_rows_and_log(
    private_emu: Emulator, session: Session
) -> None:
    assert session.connection is not None
    session.selected = ids_of(session.connection, DAILY, WEEKLY, BLOCKED)
    panel = MigratePanel(session, concurrency=2)
    seen: list[int] = []
    panel.progress.observe(lambda change: seen.append(change["new"]), names="value")

    panel.migrate_button.click()
    panel.wait(120)

    assert panel.error is None, panel.status.value
    assert "Migrated. 3 published pipelines" in panel.status.value
    rows = panel.table.rows
    assert [rows[label]["status"] for label in (DAILY, WEEKLY, BLOCKED)] == [
        "migrated",
        "migrated",
        "blocked",
    ]
    assert rows[WEEKLY]["endpoint"] == "weekly-demand-forecast"
    assert rows[WEEKLY]["deployment"] == "version-1"
    assert rows[BLOCKED]["deployment"] == "" and rows[BLOCKED]["detail"].startswith("plan: ")
    assert (panel.progress.value, panel.progress.max, panel.progress.bar_style) == (3, 3, "success")
    assert seen[:3] == [1, 2, 3]  # moved once per finished pipeline, from the progress events
    assert f"{DAILY}: migrated" in panel.log.text
    assert ">weekly-demand-forecast 1.1<" in panel.table.widget.value

    # The session has the plan of the selection and the count that refreshes the report.
    assert session.plan is not None and len(session.plan.pipelines) == 3
    assert session.migrated == 1
    with Ledger(session.ledger_path) as ledger:
        [daily_id] = ids_of(session.connection, DAILY)
        deploy = ledger.stage(daily_id, "deploy")
        assert deploy is not None and deploy.done

    # The plan is reused while it matches the selection; a second run writes nothing.
    planned = session.plan
    panel.migrate_button.click()
    panel.wait(60)
    assert session.plan is planned and session.migrated == 2
    statuses = {label: row["status"] for label, row in panel.table.rows.items()}
    assert statuses == {DAILY: "unchanged", WEEKLY: "unchanged", BLOCKED: "blocked"}


def test_a_failing_deployment_shows_its_reason_and_resume_finishes_it(
    private_emu: Emulator, session: Session
) -> None:
    assert session.connection is not None
    session.selected = ids_of(session.connection, DAILY, WEEKLY)
    secret = "https://store.blob.core.windows.net/c/x?sv=2024-01-01&sig=TOPSECRETSIGNATURE"
    private_emu.inject_fault(
        method="PUT",
        path="/batchEndpoints/daily-sales-forecast/deployments/",
        status=400,
        count=None,
        body={"error": {"code": "BadArgument", "message": f"compute is busy, see {secret}"}},
    )
    panel = MigratePanel(session)

    panel.migrate_button.click()
    panel.wait(120)

    assert panel.error is not None and "1 failed" in panel.error
    assert "press 'Resume migration'" in panel.error
    row = panel.table.rows[DAILY]
    assert row["status"] == "failed"
    assert row["detail"].startswith("deploy: ") and "compute is busy" in row["detail"]
    assert panel.table.rows[WEEKLY]["status"] == "migrated"
    assert panel.progress.bar_style == "danger"
    assert "deploy failed" in panel.log.text  # the engine's warning, routed into the panel
    shown = "\n".join(widget_texts(panel.widget))
    assert "TOPSECRETSIGNATURE" not in shown and "sig=&lt;redacted&gt;" in shown
    assert "Traceback" not in shown

    private_emu.clear_faults()
    panel.resume_button.click()
    panel.wait(120)

    assert panel.error is None, panel.status.value
    assert panel.table.rows[DAILY]["status"] == "migrated"
    assert panel.table.rows[WEEKLY]["status"] == "unchanged"  # done before: nothing sent
    assert session.migrated == 2


@pytest.mark.parametrize(
    ("connected", "message"),
    [
        (False, "Migrate selected failed: Not connected: connect to a workspace"),
        (True, "Migrate selected failed: Nothing is selected: tick one or more"),
    ],
)
def test_without_a_connection_or_a_selection_the_panel_says_what_to_do(
    session: Session, connected: bool, message: str
) -> None:
    if not connected:
        session.connection = None
    panel = MigratePanel(session)

    panel.migrate_button.click()
    panel.wait(30)

    assert panel.error is not None and panel.error.startswith(message), panel.error
    assert 'class="mk-error"' in panel.status.value and "Traceback" not in panel.status.value
    assert not panel.migrate_button.disabled and session.migrated == 0
    assert not session.ledger_path.exists()
