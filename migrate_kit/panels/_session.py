"""The state the panels of one workbook share: the connection, the inventory, the selection,
the plan and where the migration's files live.

A :class:`Session` is a traitlets object, so a panel observes what another one changes (the
inventory panel sets :attr:`Session.selected`, the plan panel observes it). Everything it holds
is also on disk where it matters (the ledger, the plan's files), so a restarted kernel loses
nothing that a rerun cannot rebuild.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import traitlets

from migrate_kit.v1.cache import CACHE_FILE

__all__ = ["Session"]


class Session(traitlets.HasTraits):
    """Shared state of a workbook's panels.

    - ``connection``: a :class:`~migrate_kit.connection.Connection`, or None until connected.
    - ``inventory``: the inventory DataFrame (:func:`migrate_kit.inventory`), or None.
    - ``selected``: v1 published pipeline ids the user ticked, in inventory order.
    - ``plan``: the :class:`~migrate_kit.convert.Plan` of the selection, or None.
    - ``names``: target-name overrides for :func:`migrate_kit.plan` (its ``names`` argument).
    - ``work_dir``: where the plan's files, the ledger and the reports go.
    - ``migrated``: bumped after each migrate or test run, so the report panel refreshes.
    """

    connection = traitlets.Any(None, allow_none=True)
    inventory = traitlets.Any(None, allow_none=True)
    selected = traitlets.List(traitlets.Unicode())
    plan = traitlets.Any(None, allow_none=True)
    names = traitlets.Dict()
    work_dir = traitlets.Any(Path("migration"))
    migrated = traitlets.Int(0)

    def __init__(self, work_dir: Path | str = "migration", **kwargs: Any) -> None:
        super().__init__(work_dir=Path(work_dir), **kwargs)

    @property
    def ledger_path(self) -> Path:
        """The migration ledger (as the command line's default: ``<work_dir>/ledger.sqlite``)."""
        return Path(self.work_dir) / "ledger.sqlite"

    @property
    def cache_path(self) -> Path:
        """The cache of immutable v1 entities (``<work_dir>/v1-cache.sqlite``), as the command
        line keeps it beside the ledger: plans after the first read only what is new."""
        return Path(self.work_dir) / CACHE_FILE

    @property
    def plan_dir(self) -> Path:
        """Where the plan's YAML and code folders are written (``<work_dir>/plan``)."""
        return Path(self.work_dir) / "plan"

    @property
    def report_dir(self) -> Path:
        return Path(self.work_dir) / "report"
