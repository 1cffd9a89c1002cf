"""The plan panel: convert the selected pipelines, read the findings and the YAML, rename.

"Plan selected" runs :func:`migrate_kit.plan` on ``session.selected`` with ``session.names`` and
writes the plan's files under ``session.plan_dir``; the result goes to ``session.plan``. The
panel shows a summary table (one row per pipeline), every pipeline's findings coloured by
severity, and any file of one pipeline (its findings, the endpoint, pipeline, deployment and
component YAML), generated from the plan in memory, so it is exactly what was written.

The names form shows the chosen pipeline's v2 endpoint, deployment and pipeline component
names; "Apply names" turns the edits into overrides (``endpoint:<v1 name>``,
``deployment:<v1 pipeline id>``, ``component:<planned name>``) and plans again. An empty field
drops that override. The overrides are kept in ``session.names`` only when the new plan
succeeds, so an invalid name leaves the last good plan in place. An override the panel made
for an endpoint none of the selected pipelines belongs to is left out of the next plan (the
converter refuses overrides that match nothing), and used again when it is selected again.

The plan folder holds the current plan only: the folders of the previous plan that the new one
no longer has (renamed, or no longer selected) are removed from ``session.plan_dir`` (they hold
only what the plan wrote).
"""

from __future__ import annotations

import html
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from migrate_kit.convert import plan as make_plan
from migrate_kit.convert.files import dump_yaml, pipeline_texts
from migrate_kit.convert.findings import Severity
from migrate_kit.convert.model import PLAN_SUMMARY_COLUMNS
from migrate_kit.errors import ConfigurationError
from migrate_kit.inventory import BLOCKED
from migrate_kit.panels._base import VERDICT_COLOURS, Panel
from migrate_kit.panels._session import Session

if TYPE_CHECKING:
    from migrate_kit.convert import EndpointPlan, PipelinePlan, Plan

__all__ = ["SEVERITY_COLOURS", "PlanPanel"]

logger = logging.getLogger(__name__)

SEVERITY_COLOURS = {
    Severity.BLOCKING: "#a4262c",
    Severity.WARNING: "#8a5a00",
    Severity.INFO: "#5c5c5c",
}
SUMMARY_COLUMNS = PLAN_SUMMARY_COLUMNS


class PlanPanel(Panel):
    """Plan the selection, show what the plan says and writes, and rename its targets."""

    title = "3. Plan"

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        # override key -> the v1 endpoint (or standalone pipeline) name it was made for
        self._override_groups: dict[str, str] = {}
        self._files: dict[str, str] = {}  # the chosen pipeline's files, by path

        self.plan_button = widgets.Button(
            description="Plan selected",
            button_style="primary",
            icon="list",
            layout=widgets.Layout(width="auto"),
        )
        self.selection_note = widgets.HTML(value="")
        self.summary = widgets.HTML(value="")
        self.findings = widgets.HTML(value="")
        wide = widgets.Layout(width="40em")
        self.pipeline_choice = widgets.Dropdown(options=[], description="Pipeline", layout=wide)
        self.file_choice = widgets.Dropdown(options=[], description="File", layout=wide)
        self.file_view = widgets.HTML(value="")
        label_style = {"description_width": "12em"}
        self.endpoint_name = widgets.Text(description="v2 endpoint", layout=wide, style=label_style)
        self.deployment_name = widgets.Text(
            description="Deployment", layout=wide, style=label_style
        )
        self.component_name = widgets.Text(
            description="Pipeline component", layout=wide, style=label_style
        )
        self.apply_button = widgets.Button(
            description="Apply names", icon="pencil", layout=widgets.Layout(width="auto")
        )

        self.body.children = [
            widgets.HBox([self.plan_button, self.selection_note]),
            self.summary,
            self.findings,
            self.pipeline_choice,
            widgets.HTML("<b>Target names</b> (empty: the planned name)"),
            self.endpoint_name,
            self.deployment_name,
            self.component_name,
            widgets.HBox([self.apply_button]),
            self.file_choice,
            self.file_view,
        ]
        self.on_click(self.plan_button, self.plan_selected)
        self.on_click(self.apply_button, self.apply_names)
        self.pipeline_choice.observe(lambda _c: self._show_pipeline(), names="value")
        self.file_choice.observe(lambda _c: self._show_file(), names="value")
        session.observe(self._on_plan, names="plan")
        session.observe(lambda _c: self._note_selection(), names="selected")
        self._render(session.plan)

    # -- actions ---------------------------------------------------------------------------

    def plan_selected(self) -> Plan:
        """Plan ``session.selected`` with ``session.names``; sets ``session.plan``."""
        result = self._replan(dict(self.session.names))
        self.session.plan = result
        self._report(result)
        return result

    def apply_names(self) -> Plan:
        """Turn the names form into overrides of the chosen pipeline and plan again."""
        current = self._chosen()
        if current is None:
            raise ConfigurationError("Plan the selection first; then choose a pipeline to rename.")
        endpoint, pipeline = current
        names = dict(self.session.names)
        group = endpoint.v1_name
        self._override(names, f"endpoint:{group}", endpoint.name, self.endpoint_name.value, group)
        deployment = pipeline.deployment.name if pipeline.deployment else None
        self._override(
            names, f"deployment:{pipeline.pipeline_id}", deployment, self.deployment_name.value
        )
        component = pipeline.pipeline_component.name if pipeline.pipeline_component else None
        if component is not None:
            key = next(
                (k for k, v in names.items() if k.startswith("component:") and v == component),
                f"component:{component}",
            )
            self._override(names, key, component, self.component_name.value, group)
        result = self._replan(names)
        self.session.names = names
        self.session.plan = result
        self._report(result)
        return result

    # -- planning --------------------------------------------------------------------------

    def _replan(self, names: dict[str, str]) -> Plan:
        connection = self.session.connection
        if connection is None:
            raise ConfigurationError("Connect to a workspace first (the Connect panel).")
        selected = list(self.session.selected)
        if not selected:
            raise ConfigurationError("Select published pipelines in the inventory first.")
        out = Path(self.session.plan_dir)
        previous: Plan | None = self.session.plan
        result = make_plan(
            connection, select=selected, names=self._relevant(names), out=out,
            cache=self.session.cache_path,
        )  # fmt: skip
        if previous is not None:
            _remove_stale_folders(previous, result, out)
        return result

    def _override(
        self,
        names: dict[str, str],
        key: str,
        planned: str | None,
        value: str,
        group: str | None = None,
    ) -> None:
        value = value.strip()
        if not value:
            names.pop(key, None)
        elif value != planned:
            names[key] = value
            if group is not None:
                self._override_groups[key] = group

    def _relevant(self, names: dict[str, str]) -> dict[str, str]:
        """The overrides that can match the selection (see the module docstring)."""
        frame = self.session.inventory
        if frame is None:
            return names
        selected = set(self.session.selected)
        groups: set[str] = set()
        for row in frame[frame["pipeline_id"].isin(selected)].to_dict("records"):
            endpoint = row.get("endpoint")
            has_endpoint = isinstance(endpoint, str) and endpoint != ""
            groups.add(str(endpoint) if has_endpoint else str(row["pipeline_name"]))
            for other in row.get("other_endpoints") or ():
                groups.add(str(other).rsplit(" v", 1)[0])
        kept = {}
        for key, value in names.items():
            kind, _, target = key.partition(":")
            if kind == "deployment" and target in self._ids(frame) and target not in selected:
                continue
            group = self._override_groups.get(key)
            if group is not None and group not in groups:
                continue
            kept[key] = value
        return kept

    @staticmethod
    def _ids(frame: Any) -> set[str]:
        return set(frame["pipeline_id"].astype(str))

    def _report(self, result: Plan) -> None:
        pipelines = result.pipelines
        blocked = sum(1 for p in pipelines if p.verdict == BLOCKED)
        text = f"Planned {len(pipelines)} published pipelines into {self.session.plan_dir}"
        text += f" ({blocked} blocked)." if blocked else "."
        if result.problems:
            self.fail(text + " " + "; ".join(result.problems))
        else:
            self.info(text)

    # -- rendering -------------------------------------------------------------------------

    def _on_plan(self, change: dict[str, Any]) -> None:
        self._render(change["new"])

    def _render(self, result: Plan | None) -> None:
        self._note_selection()
        if result is None:
            self.summary.value = self.findings.value = self.file_view.value = ""
            self.pipeline_choice.options = []
            self.file_choice.options = []
            for field in (self.endpoint_name, self.deployment_name, self.component_name):
                field.value = ""
            return
        self.summary.value = summary_html(result)
        self.findings.value = findings_html(result)
        options = [
            (
                f"{p.label} → {e.name}/{p.deployment.name if p.deployment else '(not deployable)'}",
                p.pipeline_id,
            )
            for e in result.endpoints
            for p in e.pipelines
        ]
        current = self.pipeline_choice.value
        self.pipeline_choice.options = options
        ids = [pid for _, pid in options]
        deployable = [p.pipeline_id for p in result.pipelines if p.deployable]
        first = (deployable or ids)[0] if ids else None
        self.pipeline_choice.value = current if current in ids else first
        self._show_pipeline()

    def _note_selection(self) -> None:
        result: Plan | None = self.session.plan
        selected = set(self.session.selected)
        if result is not None and {p.pipeline_id for p in result.pipelines} != selected:
            self.selection_note.value = (
                '<span style="color:#8a5a00">The selection changed since this plan; '
                "click 'Plan selected' again.</span>"
            )
        else:
            count = len(selected)
            self.selection_note.value = f"{count} published pipeline{'s' * (count != 1)} selected"

    def _chosen(self) -> tuple[EndpointPlan, PipelinePlan] | None:
        result: Plan | None = self.session.plan
        pipeline_id = self.pipeline_choice.value
        if result is None or not pipeline_id:
            return None
        for endpoint in result.endpoints:
            for pipeline in endpoint.pipelines:
                if pipeline.pipeline_id == pipeline_id:
                    return endpoint, pipeline
        return None

    def _show_pipeline(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            self._files = {}
            self.file_choice.options = []
            self._show_file()
            return
        endpoint, pipeline = chosen
        self.endpoint_name.value = endpoint.name
        self.deployment_name.value = pipeline.deployment.name if pipeline.deployment else ""
        component = pipeline.pipeline_component
        self.component_name.value = component.name if component else ""
        self._files = pipeline_files(endpoint, pipeline)
        files = list(self._files)
        current = self.file_choice.value
        self.file_choice.options = files
        self.file_choice.value = current if current in files else files[0]
        self._show_file()

    def _show_file(self) -> None:
        name = self.file_choice.value
        if not name or name not in self._files:
            self.file_view.value = ""
            return
        text = self._files[name]
        self.file_view.value = (
            "<pre style='max-height:30em;overflow:auto;border:1px solid #ddd;padding:4px'>"
            f"{html.escape(text)}</pre>"
        )


def pipeline_files(endpoint: EndpointPlan, pipeline: PipelinePlan) -> dict[str, str]:
    """The files the plan writes for one pipeline, by path relative to the plan folder (the
    findings first, then its endpoint's), as :func:`write_plan` writes them."""
    texts = pipeline_texts(pipeline, endpoint)
    files = {f"{pipeline.folder}/{name}": text for name, text in texts[:1]}
    if pipeline.deployable and endpoint.deployments:
        files[f"{endpoint.name}/{endpoint.yaml_path}"] = dump_yaml(endpoint.spec)
    files.update((f"{pipeline.folder}/{name}", text) for name, text in texts[1:])
    return files


def summary_html(result: Plan) -> str:
    """The plan's summary table (one row per pipeline), verdicts coloured."""
    e = html.escape
    frame = result.frame()
    pad = "padding:2px 10px 2px 0"
    head = "".join(
        f"<th style='text-align:left;{pad}'>{e(c.replace('_', ' '))}</th>" for c in SUMMARY_COLUMNS
    )
    rows = []
    for row in frame[SUMMARY_COLUMNS].to_dict("records"):
        cells = []
        for column in SUMMARY_COLUMNS:
            value = row[column]
            text = "" if value is None or value != value else str(value)
            if column == "verdict":
                colour = VERDICT_COLOURS.get(text, "#000")
                cells.append(f"<td style='color:{colour};{pad}'><b>{e(text)}</b></td>")
            else:
                cells.append(f"<td style='{pad}'>{e(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    problems = "".join(
        f"<div style='color:{SEVERITY_COLOURS[Severity.BLOCKING]}'>{e(p)}</div>"
        for p in result.problems
    )
    return (
        f"{problems}<table class='mk-plan-summary'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def findings_html(result: Plan) -> str:
    """Every pipeline's findings (and its endpoint's), coloured by severity; a pipeline with a
    blocking finding or a warning is shown open."""
    e = html.escape
    parts = ["<div class='mk-findings'><b>Findings</b>"]
    for endpoint in result.endpoints:
        for pipeline in endpoint.pipelines:
            findings = [*endpoint.findings, *pipeline.findings]
            worst = max((f.severity.rank for f in findings), default=0)
            colour = VERDICT_COLOURS.get(pipeline.verdict, "#000")
            counts = ", ".join(
                f"{pipeline.count(s)} {s.value}"
                for s in (Severity.BLOCKING, Severity.WARNING, Severity.INFO)
                if pipeline.count(s)
            )
            summary = (
                f"{e(pipeline.label)} → "
                f"{e(endpoint.name)}: <b style='color:{colour}'>{e(pipeline.verdict)}</b>"
                + (f" ({e(counts)})" if counts else "")
            )
            items = "".join(
                f"<li class='mk-{f.severity.value}' style='color:{SEVERITY_COLOURS[f.severity]}'>"
                f"{e(f.describe())}</li>"
                for f in sorted(findings, key=lambda f: -f.severity.rank)
            )
            is_open = " open" if worst >= Severity.WARNING.rank else ""
            parts.append(
                f"<details{is_open}><summary>{summary}</summary>"
                f"<ul>{items or '<li>No findings.</li>'}</ul></details>"
            )
    parts.append("</div>")
    return "".join(parts)


def _remove_stale_folders(previous: Plan, current: Plan, out: Path) -> None:
    """Remove the pipeline folders (and then-empty endpoint folders) of ``previous`` that
    ``current`` does not have: a rename moved them."""
    keep = {p.folder for p in current.pipelines}
    keep_endpoints = {e.name for e in current.endpoints}
    root = out.resolve()
    for pipeline in previous.pipelines:
        if pipeline.folder in keep:
            continue
        folder = (out / pipeline.folder).resolve()
        if folder.is_relative_to(root) and folder != root and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            logger.info("Removed %s: the new plan no longer has it", folder)
    for endpoint in previous.endpoints:
        folder = out / endpoint.name
        if endpoint.name in keep_endpoints or not folder.is_dir():
            continue
        (folder / endpoint.yaml_path).unlink(missing_ok=True)
        if not any(folder.iterdir()):
            folder.rmdir()
