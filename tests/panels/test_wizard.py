"""The wizard: six steps over one session, "Back" and "Next", button names unique across the
whole workbook, and a migration driven through every step as a person would, against the
emulator (a private one: the flow writes to the v2 side).
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import pytest
from _fixtures import DAILY, WEEKLY, widget_texts

from migrate_kit.emulator import Emulator
from migrate_kit.panels import (
    ConnectPanel,
    InventoryPanel,
    MigratePanel,
    PlanPanel,
    ReportPanel,
    Session,
    TestPanel,
    Wizard,
)


def buttons(widget: widgets.Widget) -> list[widgets.Button]:
    found, stack = [], [widget]
    while stack:
        current = stack.pop()
        if isinstance(current, widgets.Button):
            found.append(current)
        stack.extend(getattr(current, "children", ()))
    return found


def test_six_steps_with_back_and_next(connection_file: Path, tmp_path: Path) -> None:
    wizard = Wizard(connection_file=connection_file, work_dir=tmp_path / "migration")

    kinds = {name: type(panel) for name, panel in wizard.panels.items()}
    assert kinds == {
        "connect": ConnectPanel,
        "inventory": InventoryPanel,
        "plan": PlanPanel,
        "migrate": MigratePanel,
        "test": TestPanel,
        "report": ReportPanel,
    }
    assert all(panel.session is wizard.session for panel in wizard.panels.values())  # type: ignore[attr-defined]
    assert wizard.session.work_dir == tmp_path / "migration"
    assert wizard.tabs.titles == (
        "1. Connect",
        "2. Inventory",
        "3. Plan",
        "4. Migrate",
        "5. Test",
        "6. Report",
    )
    assert wizard.session.connection is None  # nothing happens before "Connect"

    assert (wizard.step, wizard.back_button.disabled) == ("connect", True)
    for expected in ("inventory", "plan", "migrate", "test", "report"):
        wizard.next_button.click()
        assert wizard.step == expected
    assert wizard.next_button.disabled
    wizard.back_button.click()
    assert wizard.step == "test" and not wizard.next_button.disabled
    wizard.go("connect")
    assert wizard.back_button.disabled
    with pytest.raises(ValueError, match="the steps are connect, inventory"):
        wizard.go("deploy")

    # Browser tests find buttons by their names: each is unique in the whole workbook.
    names = [b.description for b in buttons(wizard.widget)]
    assert len(names) == len(set(names)), sorted(names)
    assert {"Back", "Next", "Migrate selected", "Resume migration", "Test selected"} <= set(names)
    assert {f"Export {f}" for f in ("CSV", "XLSX", "HTML", "Markdown")} <= set(names)


def test_a_migration_through_every_step(private_emu: Emulator, tmp_path: Path) -> None:
    session = Session(work_dir=tmp_path / "migration")
    wizard = Wizard(session, connection_file=private_emu.connection_file)
    connect, inventory = wizard.panels["connect"], wizard.panels["inventory"]
    assert isinstance(connect, ConnectPanel) and isinstance(inventory, InventoryPanel)

    connect.connect_button.click()
    connect.wait(60)
    assert session.connection is not None, connect.status.value
    inventory.wait(60)  # connecting reads the inventory
    assert session.inventory is not None and len(session.inventory) == 13

    wizard.next()
    inventory.select([DAILY, WEEKLY])
    assert inventory.selected_label.value == "2 selected"
    for step, button in (
        ("plan", "plan_button"),
        ("migrate", "migrate_button"),
        ("test", "test_button"),
    ):
        wizard.next()
        panel = wizard.panels[step]
        if isinstance(panel, TestPanel):
            panel.poll_s = 0.5
            assert len(panel.forms) == 2  # migrated just before
        getattr(panel, button).click()
        panel.wait(180)
        assert panel.error is None, (step, panel.status.value)

    migrate = wizard.panels["migrate"]
    assert isinstance(migrate, MigratePanel) and migrate.result is not None
    assert migrate.result.counts() == {"migrated": 2}
    test = wizard.panels["test"]
    assert isinstance(test, TestPanel)
    assert [o.status for o in test.outcomes] == ["passed", "passed"]

    wizard.next()
    report = wizard.panels["report"]
    assert isinstance(report, ReportPanel)
    report.wait(30)
    assert "2 published pipelines: 2 tested" in report.summary.value
    report.export_buttons["html"].click()
    report.wait(30)
    assert report.written["html"].is_file()
    assert session.migrated == 2  # the migrate and the test step each bumped it
    assert not any("Traceback" in text for text in widget_texts(wizard.widget))
