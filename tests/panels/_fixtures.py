"""What the migrate, test, report and wizard panel tests share (imported by name: tests/panels is
on sys.path in pytest's "prepend" import mode).

- ``session``: a :class:`Session` connected to the test module's private emulator (reset to the
  sample before each test), with its work folder under ``tmp_path``;
- ``ids_of(connection, "name version", ...)``: v1 published pipeline ids, read from the
  inventory;
- ``migrated(session, "name version", ...)``: those pipelines selected, planned and migrated
  with the engine (as the plan and migrate steps would), the plan stored in the session;
- ``widget_texts(widget)``: every text a widget tree shows, for "no secret, no traceback" checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import pytest

from migrate_kit import Connection, Ledger, inventory, migrate, plan
from migrate_kit.convert.model import Plan
from migrate_kit.panels._session import Session

#: Small sample pipelines: one step each, so their jobs run in a second.
DAILY = "daily-sales-forecast 0.9"  # input: window (integer, 7)
WEEKLY = "weekly-demand-forecast 1.1"  # inputs: method (string), window (integer)
BLOCKED = "sales-export-to-lake 1.0"  # blocked in the plan

_ids: dict[str, str] = {}


@pytest.fixture
def session(private_conn: Connection, tmp_path: Path) -> Session:
    return Session(work_dir=tmp_path / "migration", connection=private_conn)


def ids_of(connection: Connection, *labels: str) -> list[str]:
    """The v1 ids of the published pipelines named ``name version`` (the sample's ids do not
    change when the emulator is reset, so they are read once)."""
    if not all(label in _ids for label in labels):
        frame = inventory(connection)
        for pid, name, version in zip(
            frame["pipeline_id"], frame["pipeline_name"], frame["version"], strict=True
        ):
            _ids[f"{name} {version}"] = str(pid)
    return [_ids[label] for label in labels]


def migrated(session: Session, *labels: str, plan_also: tuple[str, ...] = ()) -> Plan:
    """Select ``labels`` and ``plan_also``, plan them all, migrate ``labels`` only."""
    connection = session.connection
    assert connection is not None
    ids = ids_of(connection, *labels)
    planned = plan(connection, select=ids, out=session.plan_dir)
    with Ledger(session.ledger_path) as ledger:
        result = migrate(planned, connection.ml_client, ledger, work_dir=session.plan_dir)
    assert result.ok, result.failed
    if plan_also:
        ids += ids_of(connection, *plan_also)
        planned = plan(connection, select=ids, out=session.plan_dir)
    with session.hold_trait_notifications():
        session.selected = ids
        session.plan = planned
    return planned


def widget_texts(widget: widgets.Widget) -> Iterator[str]:
    """Every string (and dict, as text) in the state of ``widget`` and the widgets it holds."""
    seen: set[int] = set()
    stack = [widget]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for name in current.keys:
            value = getattr(current, name, None)
            values = value if isinstance(value, (list, tuple)) else [value]
            for item in values:
                if isinstance(item, widgets.Widget):
                    stack.append(item)
                elif isinstance(item, str):
                    yield item
                elif isinstance(item, dict):
                    yield str(item)
