"""Notebook panels: ipywidgets front-ends of each migration stage, sharing one :class:`Session`.

::

    session = open_session("emulator", work_dir="migration")   # what the notebooks do first
    Wizard(session)                      # every stage, one after the other
    ConnectPanel(session)                # or the stages one by one
    InventoryPanel(session); PlanPanel(session); MigratePanel(session)
    TestPanel(session); ReportPanel(session)

The panels load on first use (``from migrate_kit.panels import PlanPanel`` imports only what
that panel needs).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from migrate_kit.panels._base import Panel
from migrate_kit.panels._session import Session

if TYPE_CHECKING:
    from migrate_kit.panels.connect import ConnectPanel, start_local_emulator
    from migrate_kit.panels.inventory import InventoryPanel
    from migrate_kit.panels.migrate import MigratePanel
    from migrate_kit.panels.plan import PlanPanel
    from migrate_kit.panels.report import ReportPanel
    from migrate_kit.panels.verify import TestPanel
    from migrate_kit.panels.wizard import Wizard
    from migrate_kit.panels.workbook import open_session, plan_selection

__all__ = [
    "ConnectPanel",
    "InventoryPanel",
    "MigratePanel",
    "Panel",
    "PlanPanel",
    "ReportPanel",
    "Session",
    "TestPanel",
    "Wizard",
    "open_session",
    "plan_selection",
    "start_local_emulator",
]

_LAZY = {
    "ConnectPanel": "connect",
    "start_local_emulator": "connect",
    "InventoryPanel": "inventory",
    "PlanPanel": "plan",
    "MigratePanel": "migrate",
    "TestPanel": "verify",
    "ReportPanel": "report",
    "Wizard": "wizard",
    "open_session": "workbook",
    "plan_selection": "workbook",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
