"""The whole workbook in one widget: the six panels as the steps of a migration.

``Wizard()`` makes a :class:`~migrate_kit.panels.Session` (or takes one) and the panels connect,
inventory, plan, migrate, test and report over it, one tab each, with "Back" and "Next" below.
The tabs can be clicked in any order: the steps share the session, so each picks up what the
earlier ones left (a later step that needs something missing says which step gives it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from migrate_kit.panels._base import Panel
from migrate_kit.panels._session import Session
from migrate_kit.panels.connect import ConnectPanel
from migrate_kit.panels.inventory import InventoryPanel
from migrate_kit.panels.migrate import MigratePanel
from migrate_kit.panels.plan import PlanPanel
from migrate_kit.panels.report import ReportPanel
from migrate_kit.panels.verify import TestPanel

__all__ = ["STEPS", "Wizard"]

logger = logging.getLogger(__name__)

#: The steps, in order, by their name in ``Wizard.panels`` (each tab shows its panel's title).
STEPS = ("connect", "inventory", "plan", "migrate", "test", "report")


class Wizard:
    """The six panels as tabs over one session, with "Back" and "Next".

    ``connection_file`` (an emulator's) or ``config`` (a config.json) preselect the workspace in
    the connect step; ``work_dir`` is where the plan, the ledger and the reports go when no
    ``session`` is given. :attr:`panels` holds the panels by step name, :attr:`widget` is what
    a notebook displays (displaying the wizard itself works too).
    """

    def __init__(
        self,
        session: Session | None = None,
        *,
        connection_file: Path | str | None = None,
        config: Path | str | None = None,
        work_dir: Path | str = "migration",
    ) -> None:
        self.session = session if session is not None else Session(work_dir=work_dir)
        s = self.session
        self.panels: dict[str, Panel] = {
            "connect": ConnectPanel(s, config=config, connection_file=connection_file),
            "inventory": InventoryPanel(s),
            "plan": PlanPanel(s),
            "migrate": MigratePanel(s),
            "test": TestPanel(s),
            "report": ReportPanel(s),
        }
        self.tabs = widgets.Tab(
            children=[self.panels[name].widget for name in STEPS],
            titles=[self.panels[name].title for name in STEPS],
            selected_index=0,
        )
        self.back_button = widgets.Button(description="Back", icon="arrow-left")
        self.next_button = widgets.Button(description="Next", icon="arrow-right")
        self.back_button.on_click(lambda _b: self.back())
        self.next_button.on_click(lambda _b: self.next())
        self.tabs.observe(self._on_step, names="selected_index")
        self.widget = widgets.VBox([self.tabs, widgets.HBox([self.back_button, self.next_button])])
        self._on_step(None)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- navigation ------------------------------------------------------------------------

    @property
    def step(self) -> str:
        """The name of the step shown (``"connect"`` ... ``"report"``)."""
        return STEPS[self.tabs.selected_index or 0]

    def go(self, step: str | int) -> None:
        """Show ``step``: a step name or its position (0 = connect)."""
        if isinstance(step, str):
            if step not in STEPS:
                raise ValueError(f"No step {step!r}; the steps are {', '.join(STEPS)}.")
            step = STEPS.index(step)
        if not 0 <= step < len(STEPS):
            raise ValueError(f"No step {step}; steps run from 0 to {len(STEPS) - 1}.")
        self.tabs.selected_index = step

    def next(self) -> None:
        """The next step (the last one stays)."""
        self.go(min((self.tabs.selected_index or 0) + 1, len(STEPS) - 1))

    def back(self) -> None:
        """The previous step (the first one stays)."""
        self.go(max((self.tabs.selected_index or 0) - 1, 0))

    def _on_step(self, _change: Any) -> None:
        index = self.tabs.selected_index or 0
        self.back_button.disabled = index == 0
        self.next_button.disabled = index == len(STEPS) - 1
