"""The test step: invoke each migrated deployment of the selection, optionally beside its v1
pipeline, and show how its job went.

Each selected pipeline whose ``deploy`` stage is done in the ledger gets a form of its
deployment's inputs (the plan's ``InvokeInput``: v1 name, v2 type, v1 default), prefilled with
v1's defaults: a checkbox for a boolean, whole and decimal number fields, text for the rest
(data inputs take ``azureml://datastores/<datastore>/paths/<path>``). "Test selected" runs
:func:`migrate_kit.test_deployments` with the values, by v1 name, as v1's
``ParameterAssignments`` took them; with "parity" ticked the v1 pipeline runs too and the
outputs are compared. Each row shows the job's status as it changes, then its duration, a link
to it in the studio and the parity result. ``session.migrated`` is bumped afterwards.

Only the values that differ from v1's defaults are sent as assignments, and pipelines are
tested in one call per distinct set of changed values: ``test_deployments`` wants every
assignment to name an input of every pipeline it tests, and selected pipelines rarely share
all their parameters.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from migrate_kit.engine import Progress
from migrate_kit.errors import ConfigurationError
from migrate_kit.panels._base import Panel
from migrate_kit.panels._live import (
    LiveLog,
    RowTable,
    current_plan,
    refresh_quietly,
    require_connection,
    start_bar,
)
from migrate_kit.verify.model import FAILED, PASSED, SKIPPED

if TYPE_CHECKING:
    from migrate_kit.convert.model import InvokeInput, PipelinePlan, Plan
    from migrate_kit.ledger import Ledger
    from migrate_kit.panels._session import Session
    from migrate_kit.verify import TestOutcome

__all__ = ["InputForm", "TestPanel"]

logger = logging.getLogger(__name__)

_COLUMNS = (
    ("pipeline", "Pipeline"),
    ("target", "Endpoint / deployment"),
    ("status", "Status"),
    ("job", "Job"),
    ("duration", "Duration"),
    ("studio", "Studio"),
    ("parity", "Parity"),
    ("detail", "Detail"),
)
_ENDED = (PASSED, FAILED, SKIPPED)
_TRUE, _FALSE = ("true",), ("false",)


@dataclass
class _Field:
    input: InvokeInput
    widget: widgets.ValueWidget
    initial: Any


class InputForm:
    """The inputs of one migrated pipeline's deployment as widgets, prefilled with v1's
    defaults. :attr:`fields` maps each v1 name to its widget (``.widget``)."""

    def __init__(self, pipeline: PipelinePlan) -> None:
        self.pipeline = pipeline
        self.key = (pipeline.pipeline_id, pipeline.invoke_inputs)
        self.fields = {i.v1_name: _field(i) for i in pipeline.invoke_inputs}
        target = (
            f"{pipeline.endpoint_name}/{pipeline.deployment.name if pipeline.deployment else ''}"
        )
        head = f"<b>{html.escape(pipeline.label)}</b> → {html.escape(target)}"
        rows: list[widgets.Widget] = [widgets.HTML(head)]
        rows += [f.widget for f in self.fields.values()]
        if not self.fields:
            rows.append(widgets.HTML("<i>No inputs: it runs as v1 published it.</i>"))
        self.widget = widgets.VBox(rows, layout=widgets.Layout(margin="0 0 8px 0"))

    def values(self) -> dict[str, Any]:
        """Every input's current value, by v1 name (an empty text is left out)."""
        return {
            name: f.widget.value
            for name, f in self.fields.items()
            if not (isinstance(f.widget.value, str) and not f.widget.value.strip())
        }

    def changed(self) -> dict[str, Any]:
        """The values that differ from what the form was prefilled with, by v1 name."""
        return {
            name: value
            for name, value in self.values().items()
            if value != self.fields[name].initial
        }


def _field(invoke: InvokeInput) -> _Field:
    """The widget of one input: its type decides which, v1's default fills it."""
    default = invoke.v1_default
    label = {"description": invoke.v1_name, "style": {"description_width": "initial"}}
    tip = f"{invoke.type} input {invoke.name!r}, v1 {invoke.v1_kind}"
    if default is not None:
        text = default.strip()
        if invoke.type == "boolean" and text.lower() in _TRUE + _FALSE:
            value = text.lower() in _TRUE
            return _Field(invoke, widgets.Checkbox(value=value, tooltip=tip, **label), value)
        if invoke.type == "integer":
            try:
                number = int(text)
            except ValueError:
                pass
            else:
                return _Field(invoke, widgets.IntText(value=number, tooltip=tip, **label), number)
        if invoke.type == "number":
            try:
                real = float(text)
            except ValueError:
                pass
            else:
                return _Field(invoke, widgets.FloatText(value=real, tooltip=tip, **label), real)
    placeholder = (
        "azureml://datastores/<datastore>/paths/<path>" if invoke.is_data else "no v1 default"
    )
    box = widgets.Text(value=default or "", placeholder=placeholder, tooltip=tip, **label)
    return _Field(invoke, box, default or "")


class TestPanel(Panel):
    """Test the migrated deployments of the selection: input forms, "Test selected", a
    "parity" checkbox, a row per pipeline and a live log.

    ``concurrency``, ``timeout_s`` and ``poll_s`` go to :func:`migrate_kit.test_deployments`.
    :attr:`forms` maps v1 pipeline ids to their :class:`InputForm`; :attr:`outcomes` holds the
    last run's outcomes; :attr:`table` ``.rows`` the rows by ``name version``.
    """

    __test__ = False  # a panel, not a test class: pytest must not collect it
    title = "5. Test"

    def __init__(
        self,
        session: Session,
        *,
        concurrency: int = 4,
        timeout_s: float = 3600.0,
        poll_s: float = 10.0,
    ) -> None:
        super().__init__()
        self.session = session
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.forms: dict[str, InputForm] = {}
        self.outcomes: list[TestOutcome] = []
        self._ended = 0
        self._lock = threading.Lock()

        self.test_button = widgets.Button(
            description="Test selected", button_style="primary", icon="play",
            tooltip="Invoke each migrated deployment with these values and wait for its job",
        )  # fmt: skip
        self.parity = widgets.Checkbox(
            value=False, description="parity: also run v1 and compare the outputs",
            style={"description_width": "initial"},
        )  # fmt: skip
        self.forms_box = widgets.VBox([])
        self.note = widgets.HTML("")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="0 / 0")
        self.table = RowTable(_COLUMNS, links=("studio",), link_text="open in studio")
        self.log = LiveLog()
        self.on_click(self.test_button, self.test)
        self.body.children = [
            self.note,
            self.forms_box,
            widgets.HBox([self.test_button, self.parity]),
            self.progress,
            self.table.widget,
            widgets.HTML("<b>Log</b>"),
            self.log.widget,
        ]
        session.observe(self._on_session, names=["plan", "selected", "migrated"])
        refresh_quietly(self, self.refresh_forms, "Read the migrated pipelines")

    # -- forms -------------------------------------------------------------------------------

    def refresh_forms(self) -> None:
        """One form per selected pipeline of the session's plan that the ledger has deployed;
        a form whose pipeline's inputs did not change keeps what was typed in it."""
        planned: Plan | None = self.session.plan
        selected = set(self.session.selected)
        pipelines = [p for p in planned.pipelines if p.pipeline_id in selected] if planned else []
        deployed = self._deployed({p.pipeline_id for p in pipelines})
        forms = {}
        for p in pipelines:
            if p.pipeline_id not in deployed:
                continue
            form = self.forms.get(p.pipeline_id)
            if form is None or form.key != (p.pipeline_id, p.invoke_inputs):
                form = InputForm(p)
            forms[p.pipeline_id] = form
        self.forms = forms
        self.forms_box.children = [f.widget for f in forms.values()]

        waiting = [p.label for p in pipelines if p.pipeline_id not in deployed]
        if not pipelines:
            note = "Select and plan pipelines, then migrate them, to test them here."
        elif waiting:
            note = f"Not migrated yet, so not tested: {', '.join(waiting)}."
        else:
            note = ""
        self.note.value = f"<i>{html.escape(note)}</i>" if note else ""

    def _deployed(self, ids: set[str]) -> set[str]:
        from migrate_kit.ledger import Ledger

        if not ids or not self.session.ledger_path.exists():
            return set()
        with Ledger(self.session.ledger_path) as ledger:
            return {i for i in ids if (s := ledger.stage(i, "deploy")) is not None and s.done}

    def _on_session(self, _change: Mapping[str, Any]) -> None:
        refresh_quietly(self, self.refresh_forms, "Read the migrated pipelines")

    # -- the action --------------------------------------------------------------------------

    def test(self) -> list[TestOutcome]:
        """Test the forms' pipelines with their values; what "Test selected" runs."""
        from migrate_kit._streams import quiet_azure_ml
        from migrate_kit.ledger import Ledger

        connection = require_connection(self.session)
        planned = current_plan(self.session)
        self.refresh_forms()
        if not self.forms:
            raise ConfigurationError(
                "None of the selected pipelines is migrated yet: migrate them in the Migrate "
                "step first."
            )
        quiet_azure_ml(0)
        parity = bool(self.parity.value)
        groups: dict[tuple[tuple[str, Any], ...], list[str]] = {}
        for pid, form in self.forms.items():
            groups.setdefault(tuple(sorted(form.changed().items())), []).append(pid)
        self._start(planned)

        v1_client = connection.v1_client() if parity else None
        with Ledger(self.session.ledger_path) as ledger, self.log.capture():

            def run(group: tuple[tuple[tuple[str, Any], ...], list[str]]) -> list[TestOutcome]:
                return self._test_group(planned, ledger, group[1], dict(group[0]), v1_client)

            with ThreadPoolExecutor(min(len(groups), 4), thread_name_prefix="panel-test") as pool:
                results = list(pool.map(run, groups.items()))
        order = {p.pipeline_id: n for n, p in enumerate(planned.pipelines)}
        outcomes = sorted((o for r in results for o in r), key=lambda o: order[o.pipeline_id])
        self.outcomes = outcomes
        self._finish(outcomes)
        self.session.migrated += 1
        return outcomes

    def _test_group(
        self,
        planned: Plan,
        ledger: Ledger,
        ids: list[str],
        assignments: dict[str, Any],
        v1_client: Any,
    ) -> list[TestOutcome]:
        from migrate_kit.verify import test_deployments

        connection = require_connection(self.session)
        if assignments:
            shown = ", ".join(f"{k}={v!r}" for k, v in assignments.items())
            self.log.write(f"Testing {len(ids)} with {shown}")
        outcomes: list[TestOutcome] = test_deployments(
            planned,
            connection.ml_client,
            ledger,
            select=ids,
            assignments=assignments,
            parity=v1_client is not None,
            v1_client=v1_client,
            concurrency=self.concurrency,
            timeout_s=self.timeout_s,
            poll_s=self.poll_s,
            work_dir=self.session.work_dir / "tests",
            workspace=connection.workspace.describe(),
            progress=self._on_progress,
        )
        return outcomes

    # -- the live view -----------------------------------------------------------------------

    def _start(self, planned: Plan) -> None:
        self.log.clear()
        self._ended = 0
        rows = {}
        for p in planned.pipelines:
            if p.pipeline_id in self.forms:
                target = f"{p.endpoint_name}/{p.deployment.name if p.deployment else ''}"
                rows[p.label] = {"pipeline": p.label, "target": target, "status": "queued"}
        self.table.reset(rows)
        start_bar(self.progress, len(rows))

    def _on_progress(self, event: Progress) -> None:
        """A run's status changed (the message says which run: ``v2 job <name>``, ``v1 run
        <id>``), or a pipeline ended (any worker thread)."""
        if event.status in _ENDED:
            with self._lock:
                self._ended += 1
                ended = self._ended
            self.progress.value = ended
            self.progress.description = f"{ended} / {self.progress.max}"
        self.table.update(event.pipeline, status=event.status, detail=event.message)
        self.log.event(event)

    def _finish(self, outcomes: list[TestOutcome]) -> None:
        for o in outcomes:
            parity = o.parity
            found = ""
            if parity is not None:
                found = parity.result
                if parity.error or parity.differences:
                    found += ": " + (parity.error or "; ".join(parity.differences[:3]))
                elif parity.match:
                    found += f" ({parity.outputs} outputs, {parity.files} files)"
            self.table.update(
                o.label,
                status=o.status,
                job=f"{o.job_name or ''} {o.job_status or ''}".strip(),
                duration=f"{o.duration_s:.1f} s" if o.duration_s is not None else "",
                studio=o.studio_url or "",
                parity=found,
                detail=o.error or "",
            )

        passed = sum(o.ok for o in outcomes)
        failed = [o for o in outcomes if not o.ok and o.status != "skipped"]
        skipped = sum(o.status == "skipped" for o in outcomes)
        summary = f"{len(outcomes)} tested: {passed} passed, {len(failed)} failed"
        summary += f", {skipped} skipped" if skipped else ""
        self.progress.value = self.progress.max
        self.log.write(summary)
        if failed:
            self.progress.bar_style = "danger"
            self.fail(f"{summary}; see the rows for why.")
        else:
            self.progress.bar_style = "success"
            self.info(f"{summary}.")
