"""The notebooks' shared first steps: ``open_session`` and ``plan_selection``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migrate_kit import READY, ConfigurationError, inventory
from migrate_kit.panels import Session, open_session, plan_selection


def test_a_connection_file_wins_and_the_work_dir_is_kept(
    connection_file: Path, tmp_path: Path
) -> None:
    session = open_session("config", connection_file=connection_file, work_dir=tmp_path / "w")

    assert session.connection is not None
    assert session.connection.workspace.workspace_name == "mlw-contoso-forecast"
    assert session.ledger_path == tmp_path / "w" / "ledger.sqlite"


@pytest.mark.parametrize(
    ("workspace", "message"),
    [
        ("azure", "give 'emulator', 'config' or a dict"),
        ({"subscription_id": "s", "resource_group": "r", "region": "x"}, "unknown keys ['region']"),
        ({"subscription_id": "s", "resource_group": "r"}, "lacks workspace_name"),
    ],
)
def test_bad_workspace_values_are_named(workspace: object, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        open_session(workspace, work_dir=tmp_path)  # type: ignore[arg-type]


def test_a_missing_config_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"nowhere\.json"):
        open_session("config", config=tmp_path / "nowhere.json", work_dir=tmp_path)


def test_ready_all_and_patterns_select_as_the_inventory_says(session: Session) -> None:
    assert session.connection is not None
    frame = inventory(session.connection)
    ready = set(frame.loc[frame["verdict"] == READY, "pipeline_id"])

    planned = plan_selection(session, "ready")
    assert set(session.selected) == ready == {p.pipeline_id for p in planned.pipelines}
    assert session.plan is planned
    assert not session.plan_dir.exists()  # write=False: nothing on disk

    plan_selection(session, "all")
    assert set(session.selected) == set(frame["pipeline_id"])

    names = {"endpoint:weekly-demand-forecast": "demand"}
    planned = plan_selection(session, "weekly*", names=names, write=True)
    assert {e.name for e in planned.endpoints} == {"demand"}
    assert session.names == names and session.plan_dir.is_dir()


def test_an_unconnected_session_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not connected"):
        plan_selection(Session(work_dir=tmp_path))
