"""The report step: the ledger as a table and a chart, its exports, and what callers change.

The table is :func:`migrate_kit.ledger_frame` of the session's ledger (one row per published
pipeline, cleaned and redacted as the exports are), the chart the report's status chart.
"Export CSV", "Export XLSX", "Export HTML" and "Export Markdown" write
``migration-report.<format>`` under ``session.report_dir`` (Markdown also writes the callers'
snippets as ``callers.md``) and show a link to each file. Per migrated endpoint, an accordion
holds the v1 call beside the v2 one and ready-to-run snippets. The panel refreshes when
``session.migrated`` changes and with "Refresh report".

Known shortcoming: a link's address is the file's path relative to the kernel's working folder,
which is where the notebook is when JupyterLab started the kernel; the absolute path is shown
beside it for the other cases.
"""

from __future__ import annotations

import functools
import html
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from migrate_kit.errors import ConfigurationError
from migrate_kit.panels._base import Panel
from migrate_kit.panels._live import refresh_quietly
from migrate_kit.redact import redact

if TYPE_CHECKING:
    import pandas as pd

    from migrate_kit.panels._session import Session
    from migrate_kit.snippets import EndpointCall, Snippets

__all__ = ["EXPORTS", "ReportPanel"]

logger = logging.getLogger(__name__)

#: Button label -> report format.
EXPORTS = {"CSV": "csv", "XLSX": "xlsx", "HTML": "html", "Markdown": "md"}
#: The report columns the table shows (the exports hold them all).
SHOWN_COLUMNS = (
    "pipeline_name",
    "v1_version",
    "v1_endpoint",
    "v2_endpoint",
    "deployment",
    "is_default",
    "status",
    "stage",
    "blocking_reason",
    "error",
    "job_status",
    "duration_s",
    "parity",
    "parity_diff",
)


class ReportPanel(Panel):
    """The migration report of the session's ledger: a table (:attr:`table`, an itables
    ``ITable``), a status chart, export buttons with links to what they wrote
    (:attr:`written`: format -> path) and the callers' snippets (:attr:`snippets`)."""

    title = "6. Report"

    def __init__(self, session: Session) -> None:
        from itables.widget import ITable

        super().__init__()
        self.session = session
        self.frame: pd.DataFrame | None = None
        self.calls: list[EndpointCall] = []
        self.written: dict[str, Path] = {}

        self.refresh_button = widgets.Button(description="Refresh report", icon="refresh")
        self.export_buttons = {
            fmt: widgets.Button(description=f"Export {label}", icon="download")
            for label, fmt in EXPORTS.items()
        }
        self.summary = widgets.HTML("")
        self.table = ITable(_empty_frame(), maxBytes=0, classes="display compact nowrap")
        self.links = widgets.HTML("")
        self.snippets = widgets.Accordion(children=[])
        self.snippets_note = widgets.HTML("")

        self.on_click(self.refresh_button, self.refresh)
        for fmt, button in self.export_buttons.items():
            self.on_click(button, functools.partial(self.export, fmt))
        self.body.children = [
            widgets.HBox([self.refresh_button, *self.export_buttons.values()]),
            self.summary,
            self.table,
            self.links,
            widgets.HTML("<b>What callers change</b>"),
            self.snippets_note,
            self.snippets,
        ]
        session.observe(self._on_migrated, names="migrated")
        refresh_quietly(self, self.refresh, "Refresh report")

    # -- actions -----------------------------------------------------------------------------

    def refresh(self) -> pd.DataFrame:
        """Read the ledger again and redraw the table, the chart and the snippets."""
        from migrate_kit.report import prepare_report

        if not self.session.ledger_path.exists():
            self.frame, self.calls = None, []
            self.table.update(_empty_frame())
            self.summary.value = (
                f"<i>No migration yet: there is no ledger at "
                f"{html.escape(str(self.session.ledger_path))}.</i>"
            )
            self._show_snippets()
            return _empty_frame()

        frame, calls = self._read()
        self.frame, self.calls = frame, calls
        shown = prepare_report(frame)[list(SHOWN_COLUMNS)]
        self.table.update(shown)
        self.summary.value = _summary_html(frame)
        self._show_snippets()
        return frame

    def export(self, fmt: str) -> Path:
        """Write the report in ``fmt`` (csv, xlsx, html, md) under ``session.report_dir`` and
        link it; Markdown also writes ``callers.md``. Returns the report's path."""
        from migrate_kit.report import export_report
        from migrate_kit.snippets import write_callers

        if not self.session.ledger_path.exists():
            raise ConfigurationError(
                f"Nothing to export yet: there is no ledger at {self.session.ledger_path}; "
                "migrate first."
            )
        frame, calls = self._read()
        folder = Path(self.session.report_dir)
        path = export_report(frame, folder / f"migration-report.{fmt}", fmt)
        self.written[fmt] = path
        if fmt == "md":
            self.written["callers"] = write_callers(calls, folder)
        self.links.value = _links_html(self.written)
        self.info(f"Wrote {path}.")
        return path

    def _read(self) -> tuple[pd.DataFrame, list[EndpointCall]]:
        from migrate_kit.ledger import Ledger
        from migrate_kit.report import ledger_frame
        from migrate_kit.snippets import endpoint_calls

        with Ledger(self.session.ledger_path) as ledger:
            return ledger_frame(ledger), endpoint_calls(ledger)

    def _on_migrated(self, _change: Mapping[str, Any]) -> None:
        refresh_quietly(self, self.refresh, "Refresh report")

    # -- snippets ----------------------------------------------------------------------------

    def _show_snippets(self) -> None:
        from migrate_kit.snippets import caller_snippets

        children, titles = [], []
        for call in self.calls:
            s = caller_snippets(call)
            children.append(widgets.HTML(_snippet_html(s)))
            titles.append(redact(f"{s.v1_endpoint} → {s.v2_endpoint}"))
        self.snippets.children = children
        self.snippets.titles = tuple(titles)
        self.snippets_note.value = (
            "" if children else "<i>No endpoint is migrated yet, so no caller has to change.</i>"
        )


# -- rendering ---------------------------------------------------------------------------------


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    empty: pd.DataFrame = pd.DataFrame(
        {name: pd.Series([], dtype=object) for name in SHOWN_COLUMNS}
    )
    return empty


def _summary_html(frame: pd.DataFrame) -> str:
    from migrate_kit._report_render import status_chart
    from migrate_kit.report import status_counts, summary_by_status

    line = f"{len(frame)} published pipelines: {status_counts(frame) or 'none'}"
    chart = status_chart(summary_by_status(frame))
    return f'<p class="mk-summary">{html.escape(line)}</p>{chart}'


def _links_html(written: Mapping[str, Path]) -> str:
    items = []
    for path in written.values():
        absolute = path.resolve()
        try:
            href = Path(os.path.relpath(absolute, Path.cwd())).as_posix()
        except ValueError:  # another drive (Windows): only a file URL reaches it
            href = absolute.as_uri()
        items.append(
            f'<li><a href="{html.escape(href)}" target="_blank">{html.escape(path.name)}</a> '
            f"<code>{html.escape(str(absolute))}</code></li>"
        )
    return f'<ul class="mk-exports">{"".join(items)}</ul>'


def _snippet_html(s: Snippets) -> str:
    """One endpoint's call, v1 beside v2, and its three snippets; all redacted and escaped."""

    def esc(text: object) -> str:
        return html.escape(redact(str(text)))

    deployment = (
        f"header <code>azureml-model-deployment: {esc(s.deployment)}</code>"
        if s.deployment
        else "the endpoint's default"
    )
    parts = [
        "<table>",
        f"<tr><th>v1 URL</th><td><code>{esc(s.v1_url)}</code></td></tr>",
        f"<tr><th>v2 URL</th><td><code>{esc(s.v2_url)}</code></td></tr>",
        f"<tr><th>Token scope</th><td><code>{esc(s.token_scope)}</code></td></tr>",
        f"<tr><th>Deployment</th><td>{deployment}</td></tr>",
        "</table>",
    ]
    for title, code in (
        ("Python, requests", s.python_requests),
        ("Python, MLClient", s.python_mlclient),
        ("Azure CLI", s.az_cli),
    ):
        parts.append(f"<p><b>{html.escape(title)}</b></p><pre>{esc(code)}</pre>")
    parts += [f"<p>Check: {esc(note)}</p>" for note in s.notes]
    return "\n".join(parts)
