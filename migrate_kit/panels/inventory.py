"""The inventory panel: every v1 published pipeline in a table; tick rows to select them.

The table is an itables ``ITable`` of a compact frame (name, version, status, v1 endpoint, v2
endpoint, step count, step types, verdict, id): one DataTables table, no widget per row, so a
workspace of thousands of pipelines shows at once. ``ITable.selected_rows`` are positions in
the frame shown (:attr:`InventoryPanel.shown`); the panel maps them to pipeline ids both ways,
and ``session.selected`` (ids, in inventory order) is the truth. The filters rebuild the shown
frame and keep the selection by id: a selected pipeline that a filter hides stays selected, and
the panel says how many are hidden.

The detail view shows one selected pipeline (the last one ticked, or the one chosen) from its
inventory row: steps, parameters, data inputs, verdict and reasons. "Show steps and edges"
reads its graph (:meth:`V1Reader.published_pipeline`) and adds each step's ports and the edges
between steps.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import ipywidgets as widgets
from itables.widget import ITable

from migrate_kit.convert.plan import selects
from migrate_kit.errors import ConfigurationError
from migrate_kit.inventory import BLOCKED, NEEDS_ATTENTION, READY, inventory
from migrate_kit.panels._base import VERDICT_COLOURS, Panel
from migrate_kit.panels._session import Session

if TYPE_CHECKING:
    import pandas as pd

    from migrate_kit.v1.models import PublishedPipeline
    from migrate_kit.v1.reader import V1Reader

__all__ = ["TABLE_COLUMNS", "InventoryPanel", "table_frame"]

logger = logging.getLogger(__name__)

#: The columns of the table, in order.
TABLE_COLUMNS = [
    "name",
    "version",
    "status",
    "v1 endpoint",
    "v2 endpoint",
    "steps",
    "step types",
    "verdict",
    "id",
]
_ALL = ""  # the filters' "no filter" value
_NO_ENDPOINT = "\x00none"  # the endpoint filter's "no v1 endpoint" value
_TABLE_OPTIONS: dict[str, Any] = {
    "select": {"style": "multi"},
    "maxBytes": 0,  # never downsample: every row must be shown and selectable
    "deferRender": True,  # DataTables builds only the rows of the page shown
    "pageLength": 15,
    "lengthMenu": [15, 50, 200, 1000],
    "classes": "display nowrap compact",
    "scrollX": True,  # a wide table scrolls inside the panel
}


def table_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The compact frame the table shows for an inventory frame (same row order, columns
    :data:`TABLE_COLUMNS`, plain text and numbers only)."""
    import pandas as pd

    def text(column: str) -> pd.Series:
        return frame[column].fillna("").astype(str)

    endpoint = text("endpoint")
    version = text("endpoint_version")
    default = frame["is_default"].fillna(False).astype(bool)
    v1_endpoint = endpoint.where(endpoint == "", endpoint + " v" + version)
    v1_endpoint = v1_endpoint.where(~default, v1_endpoint + " (default)")
    steps = pd.to_numeric(frame["step_count"], errors="coerce").astype("Int64")
    shown = pd.DataFrame(
        {
            "name": text("pipeline_name"),
            "version": text("version"),
            "status": text("status"),
            "v1 endpoint": v1_endpoint,
            "v2 endpoint": text("v2_endpoint"),
            "steps": steps,
            "step types": frame["step_types"].map(_join),
            "verdict": text("verdict"),
            "id": text("pipeline_id"),
        },
        columns=TABLE_COLUMNS,
    )
    result: pd.DataFrame = shown.reset_index(drop=True)
    return result


class InventoryPanel(Panel):
    """The inventory table, its filters, the selection and one pipeline's details.

    Writes ``session.inventory`` ("Refresh inventory", or on connecting) and
    ``session.selected``; follows both when other code sets them.
    """

    title = "2. Inventory"

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.shown: pd.DataFrame = table_frame(_empty_inventory())
        self.shown_ids: list[str] = []
        self._positions: dict[str, int] = {}  # id -> position in the shown frame
        self._order: dict[str, int] = {}  # id -> position in the inventory
        self._rows: dict[str, dict[str, Any]] = {}  # id -> inventory row
        self._search_text: list[str] = []  # per inventory row, lower case
        self._display_all: pd.DataFrame | None = None  # the table frame of every row
        self._syncing = False
        self._last: str | None = None  # the pipeline ticked last
        self._graphs: dict[str, PublishedPipeline] = {}
        self._reader: tuple[int, V1Reader] | None = None

        small = widgets.Layout(width="15em")
        self.status_filter = widgets.Dropdown(options=[("All statuses", _ALL)], layout=small)
        self.endpoint_filter = widgets.Dropdown(
            options=[("All v1 endpoints", _ALL)], layout=widgets.Layout(width="18em")
        )
        self.verdict_filter = widgets.Dropdown(options=[("All verdicts", _ALL)], layout=small)
        self.step_type_filter = widgets.Dropdown(options=[("All step types", _ALL)], layout=small)
        self.search = widgets.Text(
            placeholder="search names, ids, reasons",
            continuous_update=False,
            layout=widgets.Layout(width="18em"),
        )
        self.filters = [
            self.status_filter,
            self.endpoint_filter,
            self.verdict_filter,
            self.step_type_filter,
            self.search,
        ]
        self.table = ITable(self.shown, **_TABLE_OPTIONS)
        self.selected_label = widgets.Label(value="0 selected")
        self.hidden_label = widgets.HTML(value="")
        self.shown_label = widgets.HTML(value="")
        self.refresh_button = widgets.Button(
            description="Refresh inventory", icon="refresh", layout=widgets.Layout(width="auto")
        )
        self.select_shown_button = widgets.Button(
            description="Select all shown", layout=widgets.Layout(width="auto")
        )
        self.clear_button = widgets.Button(
            description="Clear selection", layout=widgets.Layout(width="auto")
        )
        self.detail_choice = widgets.Dropdown(
            options=[], description="Details of", layout=widgets.Layout(width="32em")
        )
        self.graph_button = widgets.Button(
            description="Show steps and edges", icon="sitemap", layout=widgets.Layout(width="auto")
        )
        self.detail = widgets.HTML(value="")

        self.body.children = [
            widgets.HBox([self.refresh_button, self.shown_label]),
            widgets.HBox(self.filters),
            self.table,
            widgets.HBox(
                [
                    self.selected_label,
                    self.hidden_label,
                    self.select_shown_button,
                    self.clear_button,
                ]
            ),
            widgets.HBox([self.detail_choice, self.graph_button]),
            self.detail,
        ]

        for control in self.filters:
            control.observe(self._on_filter, names="value")
        self.table.observe(self._on_table_selection, names="selected_rows")
        self.detail_choice.observe(self._on_detail_choice, names="value")
        session.observe(self._on_inventory, names="inventory")
        session.observe(self._on_selected, names="selected")
        session.observe(self._on_connection, names="connection")
        self.on_click(self.refresh_button, self.refresh)
        self.on_click(self.graph_button, self.show_graph, what="Read the pipeline's graph")
        # Instant actions: through the wrapper too, but in the caller's thread.
        self._buttons += [self.select_shown_button, self.clear_button]
        self.select_shown_button.on_click(
            lambda _b: self.run(self.select_shown, what="Select all shown", background=False)
        )
        self.clear_button.on_click(
            lambda _b: self.run(self.clear_selection, what="Clear selection", background=False)
        )

        if session.inventory is not None:
            self._load(session.inventory)
        elif session.connection is not None:
            self.run(self.refresh, what="Refresh inventory")

    # -- actions ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the inventory of the connected workspace into ``session.inventory``."""
        connection = self.session.connection
        if connection is None:
            raise ConfigurationError("Connect to a workspace first (the Connect panel).")
        frame = inventory(connection)
        self._graphs.clear()
        self.session.inventory = frame
        self.info(f"Read {len(frame)} published pipelines of {connection.workspace.describe()}.")

    def show_graph(self) -> None:
        """Read the detail pipeline's graph and show its steps' ports and edges."""
        pipeline_id = self.detail_choice.value
        if not pipeline_id:
            raise ConfigurationError("Select a pipeline first; its details show here.")
        if pipeline_id not in self._graphs:
            self._graphs[pipeline_id] = self._v1_reader().published_pipeline(pipeline_id)
        self._render_detail()

    def select(self, ids_or_names: str | Iterable[str]) -> list[str]:
        """Select the pipelines that ids or names match (replacing the selection).

        A pattern matches a pipeline whose id equals it, or whose name, ``name version`` or v1
        endpoint name matches it as a shell-style glob (``daily*``), as ``migrate-kit plan
        --select`` does. Raises :class:`~migrate_kit.errors.ConfigurationError` when one
        matches nothing (the selection is then left as it was). Returns the ids selected.
        """
        patterns = [ids_or_names] if isinstance(ids_or_names, str) else list(ids_or_names)
        chosen: set[str] = set()
        unmatched = []
        for pattern in patterns:
            hits = {pid for pid, row in self._rows.items() if _matches(row, pattern)}
            if not hits:
                unmatched.append(pattern)
            chosen |= hits
        if unmatched:
            raise ConfigurationError(
                f"{', '.join(repr(p) for p in unmatched)} matched no published pipeline in the "
                "inventory."
            )
        self._set_selected(chosen, last=next(reversed(self._ordered(chosen)), None))
        return list(self.session.selected)

    def select_ready(self) -> list[str]:
        """Select every pipeline whose verdict is ``ready`` (filters aside); returns the ids."""
        ready = {pid for pid, row in self._rows.items() if row["verdict"] == READY}
        self._set_selected(ready)
        return list(self.session.selected)

    def select_shown(self) -> None:
        """Add every row the filters show to the selection."""
        self._set_selected(set(self.session.selected) | set(self.shown_ids))

    def clear_selection(self) -> None:
        self._set_selected(set())

    # -- building the table ----------------------------------------------------------------

    def _load(self, frame: pd.DataFrame | None) -> None:
        """Take a new inventory frame: rows, filter choices, the table; keep the selection."""
        if frame is None:
            frame = _empty_inventory()
        records = cast("list[dict[str, Any]]", frame.to_dict("records"))
        ids = [str(r["pipeline_id"]) for r in records]
        self._rows = dict(zip(ids, records, strict=True))
        self._order = {pid: i for i, pid in enumerate(ids)}
        self._display_all = display = table_frame(frame)
        cells = display.astype(str).to_numpy().tolist()
        self._search_text = [
            " ".join(
                [*row_cells, str(r.get("description") or ""), *map(str, r.get("reasons") or ())]
            ).lower()
            for row_cells, r in zip(cells, records, strict=True)
        ]
        self._syncing = True
        try:
            self._set_options(
                self.status_filter, "All statuses", sorted(display["status"].unique())
            )
            endpoints = sorted({str(r["endpoint"]) for r in records if _present(r["endpoint"])})
            self._set_options(
                self.endpoint_filter,
                "All v1 endpoints",
                [("(no v1 endpoint)", _NO_ENDPOINT), *((e, e) for e in endpoints)],
            )
            verdicts = [v for v in (READY, NEEDS_ATTENTION, BLOCKED) if v in self._rows_verdicts()]
            self._set_options(self.verdict_filter, "All verdicts", verdicts)
            step_types = sorted({t for r in records for t in (r["step_types"] or ())})
            self._set_options(self.step_type_filter, "All step types", step_types)
        finally:
            self._syncing = False
        present = [pid for pid in self.session.selected if pid in self._rows]
        if present != list(self.session.selected):
            self.session.selected = present  # the observer rebuilds the table
        self._apply_filters()

    def _rows_verdicts(self) -> set[str]:
        return {str(r["verdict"]) for r in self._rows.values()}

    def _set_options(self, dropdown: Any, everything: str, values: Sequence[Any]) -> None:
        options = [(everything, _ALL)]
        options += [v if isinstance(v, tuple) else (str(v), str(v)) for v in values]
        current = dropdown.value
        dropdown.options = options
        dropdown.value = current if current in {value for _, value in options} else _ALL

    def _apply_filters(self) -> None:
        """Rebuild the shown frame from the filters; the selection follows by id."""
        display = self._display_all
        if display is None:
            return
        mask = [True] * len(display)
        status, endpoint = self.status_filter.value, self.endpoint_filter.value
        verdict, step_type = self.verdict_filter.value, self.step_type_filter.value
        words = self.search.value.strip().lower().split()
        rows = list(self._rows.values())
        for i, row in enumerate(rows):
            if (
                (status and str(row["status"]) != status)
                or (endpoint == _NO_ENDPOINT and _present(row["endpoint"]))
                or (endpoint not in (_ALL, _NO_ENDPOINT) and row["endpoint"] != endpoint)
                or (verdict and row["verdict"] != verdict)
                or (step_type and step_type not in (row["step_types"] or ()))
                or (words and not all(w in self._search_text[i] for w in words))
            ):
                mask[i] = False
        self.shown = display[mask].reset_index(drop=True)
        self.shown_ids = self.shown["id"].tolist()
        self._positions = {pid: i for i, pid in enumerate(self.shown_ids)}
        total = len(display)
        self.shown_label.value = (
            f"{len(self.shown)} of {total} published pipelines shown"
            if len(self.shown) != total
            else f"{total} published pipelines"
        )
        self._syncing = True
        try:
            self.table.update(self.shown, selected_rows=self._shown_positions(), **_TABLE_OPTIONS)
        finally:
            self._syncing = False
        self._show_selection()

    def _shown_positions(self) -> list[int]:
        return [self._positions[pid] for pid in self.session.selected if pid in self._positions]

    # -- selection -------------------------------------------------------------------------

    def _set_selected(self, ids: set[str], *, last: str | None = None) -> None:
        ordered = self._ordered(ids)
        if last is not None:
            self._last = last
        if ordered != list(self.session.selected):
            self.session.selected = ordered
        else:
            self._show_selection()

    def _ordered(self, ids: Iterable[str]) -> list[str]:
        return sorted((pid for pid in set(ids) if pid in self._order), key=self._order.__getitem__)

    def _on_table_selection(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        rows = [i for i in change["new"] if 0 <= i < len(self.shown_ids)]
        ticked = [self.shown_ids[i] for i in rows]
        before = set(self.session.selected)
        hidden = {pid for pid in before if pid not in self._positions}
        added = [pid for pid in ticked if pid not in before]
        self._set_selected(hidden | set(ticked), last=added[-1] if added else None)

    def _on_selected(self, change: dict[str, Any]) -> None:
        positions = self._shown_positions()
        if sorted(positions) != sorted(self.table.selected_rows):
            self._syncing = True
            try:
                self.table.selected_rows = positions
            finally:
                self._syncing = False
        self._show_selection()

    def _show_selection(self) -> None:
        selected = list(self.session.selected)
        self.selected_label.value = f"{len(selected)} selected"
        hidden = sum(1 for pid in selected if pid not in self._positions)
        self.hidden_label.value = (
            f'<span style="color:#8a5a00">({hidden} hidden by the filters)</span>' if hidden else ""
        )
        if self._last not in selected:
            self._last = selected[-1] if selected else None
        options = [(self._label(pid), pid) for pid in selected]
        self._syncing = True
        try:
            if list(self.detail_choice.options) != options:
                self.detail_choice.options = options
            self.detail_choice.value = self._last
        finally:
            self._syncing = False
        self._render_detail()

    def _label(self, pid: str) -> str:
        row = self._rows.get(pid, {})
        version = f" {row['version']}" if _present(row.get("version")) else ""
        return f"{row.get('pipeline_name', pid)}{version}"

    # -- observers -------------------------------------------------------------------------

    def _on_filter(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self._apply_filters()

    def _on_inventory(self, change: dict[str, Any]) -> None:
        self._load(change["new"])

    def _on_connection(self, change: dict[str, Any]) -> None:
        self._reader = None
        self._graphs.clear()
        if change["new"] is not None:
            self.run(self.refresh, what="Refresh inventory")

    # -- detail ----------------------------------------------------------------------------

    def _v1_reader(self) -> V1Reader:
        from migrate_kit.v1.reader import V1Reader

        connection = self.session.connection
        if connection is None:
            raise ConfigurationError("Connect to a workspace first (the Connect panel).")
        if self._reader is None or self._reader[0] != id(connection):
            self._reader = (id(connection), V1Reader(connection.v1_client()))
        return self._reader[1]

    def _on_detail_choice(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self._last = change["new"]
            self._render_detail()

    def _render_detail(self) -> None:
        pipeline_id = self.detail_choice.value
        row = self._rows.get(pipeline_id) if pipeline_id else None
        self.graph_button.disabled = row is None
        if row is None:
            self.detail.value = (
                '<i style="color:#5c5c5c">Tick a row to see the pipeline\'s details.</i>'
            )
            return
        self.detail.value = detail_html(row, self._graphs.get(pipeline_id))


def detail_html(row: dict[str, Any], pipeline: PublishedPipeline | None = None) -> str:
    """One pipeline's details from its inventory row, plus its graph's ports and edges when
    ``pipeline`` (read with :meth:`V1Reader.published_pipeline`) is given."""
    e = html.escape
    colour = VERDICT_COLOURS.get(str(row["verdict"]), "#000")
    parts = [
        f"<div class='mk-detail'><b>{e(str(row['pipeline_name']))}</b> "
        f"{e(str(row['version'] or ''))} <code>{e(str(row['pipeline_id']))}</code> "
        f"({e(str(row['status']))})<br>"
    ]
    if _present(row.get("description")):
        parts.append(f"<i>{e(str(row['description']))}</i><br>")
    if _present(row.get("endpoint")):
        default = ", the default version" if row.get("is_default") else ""
        parts.append(
            f"v1 endpoint <b>{e(str(row['endpoint']))}</b> version "
            f"{e(str(row['endpoint_version']))}{default}<br>"
        )
    parts.append(f"v2 batch endpoint <b>{e(str(row['v2_endpoint']))}</b><br>")
    parts.append(
        f"Verdict: <b style='color:{colour}'>{e(str(row['verdict']))}</b>"
        + _list(row.get("reasons") or (), colour)
    )
    if row.get("notes"):
        parts.append("Notes:" + _list(row["notes"], "#5c5c5c"))

    types = row.get("parameter_types") or {}
    parameters = row.get("parameters") or {}
    if parameters:
        items = [
            f"{e(str(name))} = {e('' if value is None else str(value))}"
            + (f" <i>({e(str(types[name]))})</i>" if name in types else "")
            for name, value in parameters.items()
        ]
        parts.append("Parameters:<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
    if row.get("data_inputs"):
        parts.append("Data inputs:" + _list(row["data_inputs"]))

    graph = pipeline.graph if pipeline is not None else None
    if graph is None:
        if row.get("steps"):
            parts.append("Steps:" + _list(row["steps"]))
        if pipeline is not None:
            parts.append("<i>The graph could not be read.</i>")
    else:
        names = {s.node_id: s.name for s in graph.steps}
        names.update({d.node_id: d.name for d in graph.data_inputs})
        steps = []
        for step in graph.steps:
            ins = ", ".join(p.name for p in step.inputs) or "none"
            outs = ", ".join(p.name for p in step.outputs) or "none"
            where = step.script or step.command or ""
            steps.append(
                f"<b>{e(step.name)}</b> ({e(step.step_type or 'unknown type')})"
                + (f" <code>{e(where)}</code>" if where else "")
                + (f" on {e(step.compute)}" if step.compute else "")
                + f"<br>inputs: {e(ins)}; outputs: {e(outs)}"
            )
        parts.append("Steps:<ul>" + "".join(f"<li>{s}</li>" for s in steps) + "</ul>")
        edges = [
            f"{names.get(edge.source_node, edge.source_node)}.{edge.source_port} → "
            + (
                f"{names.get(edge.dest_node, edge.dest_node)}.{edge.dest_port}"
                if edge.dest_node
                else f"pipeline output {edge.graph_port_name or edge.source_port}"
            )
            for edge in graph.edges
        ]
        parts.append("Edges:" + (_list(edges) if edges else " none<br>"))
    if _present(row.get("url")):
        parts.append(f"REST URL: <code>{e(str(row['url']))}</code>")
    parts.append("</div>")
    return "".join(parts)


def _list(items: Iterable[Any], colour: str | None = None) -> str:
    style = f" style='color:{colour}'" if colour else ""
    body = "".join(f"<li{style}>{html.escape(str(item))}</li>" for item in items)
    return f"<ul>{body}</ul>" if body else "<br>"


def _matches(row: dict[str, Any], pattern: str) -> bool:
    endpoints = [str(row["endpoint"])] if _present(row["endpoint"]) else []
    return selects(
        pattern, str(row["pipeline_id"]), str(row["pipeline_name"]), row["version"], endpoints
    )


def _present(value: Any) -> bool:
    """Whether a cell holds a value (not None, NaN or empty)."""
    return value is not None and value == value and value != ""


def _join(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if not _present(value) else str(value)


def _empty_inventory() -> pd.DataFrame:
    from migrate_kit.inventory import to_frame

    return to_frame([])
