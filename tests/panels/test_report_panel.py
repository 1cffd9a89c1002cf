"""The report panel over a real ledger (pipelines migrated into the emulator): table, status
chart and callers' snippets, refreshed when a migration ends; the four exports written under
the report folder and linked; exporting before any migration is a message, not a traceback.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest
from _fixtures import BLOCKED, DAILY, WEEKLY, ids_of, migrated, session, widget_texts

from migrate_kit import Ledger
from migrate_kit.convert.model import Plan
from migrate_kit.emulator import Emulator
from migrate_kit.panels._session import Session
from migrate_kit.panels.report import ReportPanel

__all__ = ["session"]  # the fixture, imported so that pytest finds it here


def record_callers(session: Session, planned: Plan) -> None:
    """Add to each pipeline's ``plan`` record what ``snippets.endpoint_calls`` reads and the
    engine does not record yet (its ``plan_detail`` lacks them): the URL v1 callers used and
    the deployment's inputs."""
    with Ledger(session.ledger_path) as ledger:
        run = ledger.start("plan", "")
        for endpoint in planned.endpoints:
            for p in endpoint.pipelines:
                record = ledger.stage(p.pipeline_id, "plan")
                if record is None or not record.done:
                    continue
                v1_url = endpoint.v1_url if endpoint.v1_endpoint_id else p.v1_url
                inputs = [asdict(i) for i in p.invoke_inputs]
                detail = {**record.detail, "v1_url": v1_url, "inputs": inputs}
                ledger.done(run, p.pipeline_id, "plan", detail=detail)
        ledger.finish(run, "succeeded")


def test_before_any_migration_the_report_is_empty_and_export_says_why(
    session: Session,
) -> None:
    panel = ReportPanel(session)
    assert "No migration yet: there is no ledger" in panel.summary.value
    assert panel.table.df is not None and panel.table.df.empty
    assert "no caller has to change" in panel.snippets_note.value

    panel.export_buttons["csv"].click()
    panel.wait(30)

    assert panel.error is not None
    assert panel.error.startswith("Export CSV failed: Nothing to export yet: there is no ledger")
    assert "Traceback" not in panel.status.value
    assert not Path(session.report_dir).exists() and not session.ledger_path.exists()


def test_the_report_follows_the_ledger_and_exports_every_format(
    private_emu: Emulator,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # the links are relative to the kernel's working folder
    panel = ReportPanel(session)
    planned = migrated(session, DAILY, WEEKLY, BLOCKED)  # the blocked one is recorded as blocked
    assert session.connection is not None
    record_callers(session, planned)
    assert panel.summary.value.startswith("<i>No migration yet")  # until a step says so
    session.migrated += 1  # what the migrate and test steps do when they end

    # Table, summary and chart.
    frame = panel.table.df
    assert isinstance(frame, pd.DataFrame)
    labels = frame["pipeline_name"] + " " + frame["v1_version"]
    statuses = dict(zip(labels, frame["status"], strict=True))
    assert statuses == {DAILY: "migrated", WEEKLY: "migrated", BLOCKED: "blocked"}
    assert "3 published pipelines: 2 migrated, 1 blocked" in panel.summary.value
    assert 'data-status="migrated" data-count="2"' in panel.summary.value
    assert panel.error is None

    # One accordion entry per migrated endpoint, v1 call beside v2 call.
    assert sorted(panel.snippets.titles) == [
        "daily-sales-forecast → daily-sales-forecast",
        "weekly-demand-forecast → weekly-demand-forecast",
    ]
    first = panel.snippets.children[0].value
    assert "v1 URL" in first and "batch_endpoints.invoke" in first and "az ml" in first

    # The four exports, each linked by a relative address with its absolute path beside it.
    for fmt, button in panel.export_buttons.items():
        button.click()
        panel.wait(60)
        assert panel.error is None, panel.status.value
        written = Path(session.report_dir) / f"migration-report.{fmt}"
        assert written.is_file() and panel.written[fmt] == written
        relative = os.path.relpath(written.resolve(), tmp_path)
        assert f'<a href="{relative}" target="_blank">migration-report.{fmt}</a>' in (
            panel.links.value
        )
        assert f"<code>{written.resolve()}</code>" in panel.links.value
    assert [b.description for b in panel.export_buttons.values()] == [
        "Export CSV",
        "Export XLSX",
        "Export HTML",
        "Export Markdown",
    ]
    callers = (Path(session.report_dir) / "callers.md").read_text(encoding="utf-8")
    assert callers.startswith("## Caller changes") and "weekly-demand-forecast" in callers
    csv = pd.read_csv(Path(session.report_dir) / "migration-report.csv")
    assert sorted(csv["status"]) == ["blocked", "migrated", "migrated"]
    assert "Traceback" not in "\n".join(widget_texts(panel.widget))

    # "Refresh report" reads the ledger again (here: a later run failed one pipeline).
    [daily_id] = ids_of(session.connection, DAILY)
    with Ledger(session.ledger_path) as ledger:
        run = ledger.start("migrate", "")
        ledger.failed(run, daily_id, "deploy", "compute is busy")
        ledger.finish(run, "failed")
    panel.refresh_button.click()
    panel.wait(30)
    frame = panel.table.df
    assert isinstance(frame, pd.DataFrame)
    failed = frame[frame["status"] == "failed"]
    assert list(failed["pipeline_name"]) == ["daily-sales-forecast"]
    assert list(failed["error"]) == ["compute is busy"]
