"""What every notebook of the workbook does first: open a session on the workspace its
parameters name, and turn its ``select`` parameter into a plan.

The notebooks share their parameters (``workspace``, ``connection_file``, ``config``,
``work_dir``, ``select``, ``names``); these two functions keep what they mean in one place, so
"Run All" in any notebook means the same thing, headless or not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate_kit.connection import connect
from migrate_kit.errors import ConfigurationError
from migrate_kit.panels._session import Session

if TYPE_CHECKING:
    from migrate_kit.convert import Plan

__all__ = ["SELECT_ALL", "SELECT_READY", "open_session", "plan_selection"]

logger = logging.getLogger(__name__)

#: ``select`` values: every pipeline the inventory calls ready; every published pipeline.
SELECT_READY, SELECT_ALL = "ready", "all"

_WORKSPACE_KEYS = ("subscription_id", "resource_group", "workspace_name")


def open_session(
    workspace: str | Mapping[str, str] = "emulator",
    *,
    connection_file: Path | str | None = None,
    config: Path | str | None = None,
    work_dir: Path | str = "migration",
) -> Session:
    """A :class:`Session` connected to the workspace the notebook parameters name.

    - ``connection_file`` given: that emulator (whatever ``workspace`` says);
    - ``workspace="emulator"``: an emulator started in this kernel, its state kept in
      ``<work_dir>/emulator``, so the next notebook finds what this one did;
    - ``workspace="config"``: the ``config.json`` at ``config`` (None: found upward);
    - ``workspace={"subscription_id": ..., "resource_group": ..., "workspace_name": ...}``.
    """
    if connection_file is not None or workspace == "emulator":
        if connection_file is None:
            from migrate_kit.panels.connect import start_local_emulator

            connection_file = start_local_emulator(Path(work_dir) / "emulator")
        connection = connect(connection_file=connection_file)
    elif workspace == "config":
        connection = connect(config=config)
    elif isinstance(workspace, Mapping):
        unknown = sorted(set(workspace) - set(_WORKSPACE_KEYS))
        if unknown:
            raise ConfigurationError(
                f"workspace has unknown keys {unknown}; give {', '.join(_WORKSPACE_KEYS)}"
            )
        missing = [k for k in _WORKSPACE_KEYS if not workspace.get(k)]
        if missing:
            raise ConfigurationError(f"workspace lacks {', '.join(missing)}")
        connection = connect(
            subscription_id=str(workspace["subscription_id"]),
            resource_group=str(workspace["resource_group"]),
            workspace_name=str(workspace["workspace_name"]),
        )
    else:
        raise ConfigurationError(
            f"workspace={workspace!r}: give 'emulator', 'config' or a dict with "
            f"{', '.join(_WORKSPACE_KEYS)}"
        )
    logger.info("Workbook session on %s, files in %s", connection.workspace.describe(), work_dir)
    return Session(work_dir=work_dir, connection=connection)


def plan_selection(
    session: Session,
    select: str | Sequence[str] = SELECT_READY,
    *,
    names: Mapping[str, str] | None = None,
    write: bool = False,
) -> Plan:
    """Plan what ``select`` names and keep it in ``session`` (``plan``, ``selected``, ``names``).

    ``select`` is ``"ready"`` (every pipeline the inventory calls ready), ``"all"``, or names,
    ids or globs as ``--select`` takes them (one string or a list). ``write=True`` also writes
    the plan's files to ``session.plan_dir``.
    """
    from migrate_kit.convert import plan
    from migrate_kit.inventory import READY, read_inventory

    connection = session.connection
    if connection is None:
        raise ConfigurationError("the session is not connected: open it with open_session()")
    chosen: dict[str, Any]
    if select == SELECT_READY:
        ready = [r.pipeline_id for r in read_inventory(connection) if r.verdict == READY]
        if not ready:
            raise ConfigurationError("no published pipeline of the workspace is ready to migrate")
        chosen = {"select": ready}
    elif select == SELECT_ALL:
        chosen = {"all": True}
    else:
        chosen = {"select": [select] if isinstance(select, str) else list(select)}
    overrides = dict(names or {})
    planned = plan(
        connection,
        names=overrides,
        out=session.plan_dir if write else None,
        cache=session.cache_path,
        **chosen,
    )
    session.names = overrides
    session.plan = planned
    session.selected = [p.pipeline_id for p in planned.pipelines]
    return planned
