"""The inventory panel: the table, the selection both ways, filters, details, errors."""

from __future__ import annotations

import html
import time
from collections.abc import Callable

import pandas as pd
import pytest
from _fixtures import widget_texts

from migrate_kit.emulator import Emulator
from migrate_kit.errors import ConfigurationError
from migrate_kit.inventory import BLOCKED, READY
from migrate_kit.panels import InventoryPanel, Session
from migrate_kit.panels.inventory import TABLE_COLUMNS


def _shown_at(panel: InventoryPanel, positions: list[int]) -> list[str]:
    return [panel.table.df.iloc[i]["id"] for i in positions]


def _texts(panel: InventoryPanel) -> str:
    return "\n".join(widget_texts(panel.widget))


def test_reads_the_inventory_when_connected(session: Session) -> None:
    panel = InventoryPanel(session)  # connected, nothing read yet: it reads in the background
    panel.wait()
    assert panel.error is None, panel.error
    assert session.inventory is not None
    total = len(session.inventory)
    assert panel.shown_label.value == f"{total} published pipelines"
    assert list(panel.table.df.columns) == TABLE_COLUMNS
    assert len(panel.table.df) == total
    assert panel.selected_label.value == "0 selected"
    weekly = panel.table.df[panel.table.df["v1 endpoint"] == "weekly-demand-forecast v1 (default)"]
    assert list(weekly["version"]) == ["1.1"]


def test_ticked_rows_are_the_session_selection(inventory_session: Session) -> None:
    session = inventory_session
    panel = InventoryPanel(session)
    panel.table.set_state({"selected_rows": [5, 2]})

    assert panel.selected_label.value == "2 selected"
    inventory = session.inventory
    assert inventory is not None
    ids = list(inventory["pipeline_id"])
    assert session.selected == [ids[2], ids[5]]  # in inventory order
    # the details follow the pipeline ticked last (the browser appends it)
    assert panel.detail_choice.value == ids[2] or panel.detail_choice.value == ids[5]
    name = inventory.iloc[[2, 5]]["pipeline_name"]
    assert any(html.escape(n) in panel.detail.value for n in name)

    panel.table.set_state({"selected_rows": [5, 2, 7]})
    assert panel.detail_choice.value == ids[7]
    assert html.escape(str(inventory.iloc[7]["pipeline_name"])) in panel.detail.value

    session.selected = [ids[0]]  # code sets the selection: the table follows
    assert panel.table.selected_rows == [0]
    assert panel.selected_label.value == "1 selected"


def test_filters_rebuild_the_table_and_keep_the_selection_by_id(
    inventory_session: Session, pipeline_id: Callable[..., str]
) -> None:
    session = inventory_session
    frame = session.inventory
    assert frame is not None
    panel = InventoryPanel(session)
    ready = pipeline_id("zurich_store_forecast")
    blocked = pipeline_id("sales-export-to-lake")
    panel.select([ready, blocked])

    panel.verdict_filter.value = READY
    shown = panel.table.df
    assert set(shown["verdict"]) == {READY}
    assert len(shown) == (frame["verdict"] == READY).sum()
    assert _shown_at(panel, panel.table.selected_rows) == [ready]
    assert session.selected == sorted([ready, blocked], key=list(frame["pipeline_id"]).index)
    assert panel.selected_label.value == "2 selected"
    assert "1 hidden by the filters" in panel.hidden_label.value

    # ticking in the filtered table maps positions of the filtered frame
    weekly = pipeline_id("weekly-demand-forecast", "2.0")
    position = list(shown["id"]).index(weekly)
    panel.table.set_state({"selected_rows": [*panel.table.selected_rows, position]})
    assert set(session.selected) == {ready, blocked, weekly}
    assert panel.selected_label.value == "3 selected"

    panel.verdict_filter.value = ""
    assert len(panel.table.df) == len(frame)
    assert set(_shown_at(panel, panel.table.selected_rows)) == {ready, blocked, weekly}
    assert panel.hidden_label.value == ""


def test_status_endpoint_step_type_and_text_filters(inventory_session: Session) -> None:
    frame = inventory_session.inventory
    assert frame is not None
    panel = InventoryPanel(inventory_session)
    assert ("Disabled", "Disabled") in panel.status_filter.options

    panel.status_filter.value = "Disabled"
    assert list(panel.table.df["name"]) == ["promo-uplift-legacy"]
    panel.status_filter.value = ""

    panel.step_type_filter.value = "DatabricksStep"
    assert list(panel.table.df["name"]) == ["spark-feature-engineering"]
    panel.step_type_filter.value = ""

    panel.endpoint_filter.value = "weekly-demand-forecast"
    assert list(panel.table.df["version"]) == ["1.0", "1.1", "2.0"]
    assert panel.shown_label.value == f"3 of {len(frame)} published pipelines shown"
    panel.endpoint_filter.value = next(v for _, v in panel.endpoint_filter.options if "\x00" in v)
    assert panel.table.df["v1 endpoint"].eq("").all()
    panel.endpoint_filter.value = ""

    panel.search.value = "data factory"  # a reason's words, in any case
    assert list(panel.table.df["name"]) == ["sales-export-to-lake"]
    panel.search.value = "no such pipeline"
    assert panel.table.df.empty
    assert panel.shown_label.value == f"0 of {len(frame)} published pipelines shown"


def test_select_by_name_and_select_ready(inventory_session: Session) -> None:
    frame = inventory_session.inventory
    assert frame is not None
    panel = InventoryPanel(inventory_session)

    ids = panel.select(["weekly-demand-forecast 1.*", "zurich*"])
    assert [frame.set_index("pipeline_id").loc[i, "version"] for i in ids] == ["1.0", "1.1", "1.0"]
    assert panel.selected_label.value == "3 selected"
    assert sorted(_shown_at(panel, panel.table.selected_rows)) == sorted(ids)

    with pytest.raises(ConfigurationError, match="'nothing-like-this' matched no"):
        panel.select(["zurich*", "nothing-like-this"])
    assert inventory_session.selected == ids  # left as it was

    ready = panel.select_ready()
    assert set(ready) == set(frame.loc[frame["verdict"] == READY, "pipeline_id"])
    panel.clear_button.click()
    assert inventory_session.selected == []
    assert panel.selected_label.value == "0 selected"
    panel.select_shown_button.click()
    assert len(inventory_session.selected) == len(frame)


def test_refresh_keeps_the_selection_by_id(inventory_session: Session) -> None:
    panel = InventoryPanel(inventory_session)
    ids = panel.select("price-elasticity")
    panel.refresh_button.click()
    panel.wait()
    assert panel.error is None, panel.error
    assert inventory_session.selected == ids
    assert sorted(_shown_at(panel, panel.table.selected_rows)) == sorted(ids)
    assert "Read 13 published pipelines" in panel.status.value


def test_steps_and_edges_come_from_the_pipeline_graph(inventory_session: Session) -> None:
    frame = inventory_session.inventory
    assert frame is not None
    panel = InventoryPanel(inventory_session)
    panel.select("daily_sales forecast")
    assert "Edges:" not in panel.detail.value
    assert "horizon_days = 14" in panel.detail.value  # from the inventory row at once

    panel.graph_button.click()
    panel.wait()
    assert panel.error is None, panel.error
    detail = html.unescape(panel.detail.value)
    assert "Edges:" in detail
    assert " → " in detail
    assert "PythonScriptStep" in detail


def test_a_blocked_pipeline_shows_why(inventory_session: Session) -> None:
    panel = InventoryPanel(inventory_session)
    panel.select("spark-feature-engineering")
    assert f">{BLOCKED}</b>" in panel.detail.value
    assert "no v2 equivalent" in panel.detail.value


def test_errors_show_in_the_panel(session: Session, emu: Emulator) -> None:
    emu.inject_fault("GET", r"/Pipelines$", status=401, count=None)
    panel = InventoryPanel(session)
    panel.wait()
    assert panel.error is not None
    assert panel.error.startswith("Refresh inventory failed: ")
    assert 'class="mk-error"' in panel.status.value
    assert "Traceback" not in _texts(panel)

    session.connection = None
    panel.refresh_button.click()
    panel.wait()
    assert (
        panel.error == "Refresh inventory failed: Connect to a workspace first (the Connect panel)."
    )


def _big_inventory(sample: pd.DataFrame, rows: int) -> pd.DataFrame:
    copies = -(-rows // len(sample))
    big = pd.concat([sample] * copies, ignore_index=True).iloc[:rows].copy()
    big["pipeline_id"] = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(rows)]
    big["pipeline_name"] = big["pipeline_name"] + "-" + (big.index // len(sample)).astype(str)
    return big


def test_five_thousand_rows_show_fast(session: Session, sample_inventory: pd.DataFrame) -> None:
    big = _big_inventory(sample_inventory, 5000)
    session.inventory = big
    started = time.perf_counter()
    panel = InventoryPanel(session)
    built = time.perf_counter() - started
    assert len(panel.table.df) == 5000
    assert "data_json" in panel.table._dt_args  # every row is sent (no downsampling)
    assert built < 1.5, f"building the panel took {built:.2f} s"

    started = time.perf_counter()
    panel.table.set_state({"selected_rows": [4999, 3]})
    panel.verdict_filter.value = BLOCKED
    panel.verdict_filter.value = ""
    took = time.perf_counter() - started
    assert session.selected == [big.iloc[3]["pipeline_id"], big.iloc[4999]["pipeline_id"]]
    assert sorted(panel.table.selected_rows) == [3, 4999]
    assert took < 1.5, f"selecting and filtering took {took:.2f} s"
