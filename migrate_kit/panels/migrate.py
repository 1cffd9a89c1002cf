"""The migrate step: apply the plan of the selection to the workspace, with live progress.

"Migrate selected" plans the selection when the session has no plan of it yet (as the plan step
would), then runs :func:`migrate_kit.migrate` with the session's ledger. Each pipeline has a
row (endpoint, deployment, status, and the reason when it failed or is blocked) that the
engine's progress events fill in as each stage starts (``registering``, ``deploying``) and as
pipelines finish; a bar counts the finished ones, and the log shows the
``migrate_kit`` loggers' lines (retries, failures) while it runs. "Resume migration" migrates
the selection again: the ledger skips every stage already done, so only what failed or never
ran is sent (with nothing selected any more, it reruns the last plan). ``session.migrated`` is
bumped afterwards, which refreshes the report step.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import ipywidgets as widgets

from migrate_kit.engine import MigrationResult, Progress
from migrate_kit.panels._base import Panel
from migrate_kit.panels._live import (
    LiveLog,
    RowTable,
    current_plan,
    require_connection,
    start_bar,
)

if TYPE_CHECKING:
    from migrate_kit.convert.model import Plan
    from migrate_kit.panels._session import Session

__all__ = ["MigratePanel"]

logger = logging.getLogger(__name__)

_COLUMNS = (
    ("pipeline", "Pipeline"),
    ("endpoint", "Batch endpoint"),
    ("deployment", "Deployment"),
    ("status", "Status"),
    ("detail", "Detail"),
)


class MigratePanel(Panel):
    """Migrate the selected pipelines: "Migrate selected", "Resume migration", a row per
    pipeline, a progress bar and a live log.

    ``concurrency`` pipelines are migrated at once; ``writes_per_second`` paces ARM writes
    (see :func:`migrate_kit.migrate`). :attr:`result` is the last run's
    :class:`~migrate_kit.MigrationResult`; :attr:`table` ``.rows`` holds the rows by
    ``name version``.
    """

    title = "4. Migrate"

    def __init__(
        self,
        session: Session,
        *,
        concurrency: int = 4,
        writes_per_second: float | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.concurrency = concurrency
        self.writes_per_second = writes_per_second
        self.result: MigrationResult | None = None
        self._last_plan: Plan | None = None

        self.migrate_button = widgets.Button(
            description="Migrate selected", button_style="primary", icon="upload",
            tooltip="Register, deploy and set defaults in v2 for the selected pipelines",
        )  # fmt: skip
        self.resume_button = widgets.Button(
            description="Resume migration", icon="redo",
            tooltip="Run the last migration again; stages already done are skipped",
        )  # fmt: skip
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="0 / 0")
        self.table = RowTable(_COLUMNS)
        self.log = LiveLog()
        self.on_click(self.migrate_button, self.migrate)
        self.on_click(self.resume_button, self.resume)
        self.body.children = [
            widgets.HBox([self.migrate_button, self.resume_button]),
            self.progress,
            self.table.widget,
            widgets.HTML("<b>Log</b>"),
            self.log.widget,
        ]

    # -- actions ---------------------------------------------------------------------------

    def migrate(self) -> MigrationResult:
        """Migrate the session's selection (planned first when needed); what the button runs."""
        require_connection(self.session)
        return self._run(current_plan(self.session), resuming=False)

    def resume(self) -> MigrationResult:
        """Migrate the selection again (the last migration's plan when nothing is selected any
        more): the ledger makes it pick up where it stopped."""
        require_connection(self.session)
        if self.session.selected or self._last_plan is None:
            return self._run(current_plan(self.session), resuming=True)
        return self._run(self._last_plan, resuming=True)

    def _run(self, planned: Plan, *, resuming: bool) -> MigrationResult:
        from migrate_kit._streams import quiet_azure_ml
        from migrate_kit.engine import migrate
        from migrate_kit.ledger import Ledger

        connection = require_connection(self.session)
        quiet_azure_ml(0)
        self._last_plan = planned
        self._start(planned)
        self.log.write(
            ("Resuming" if resuming else "Migrating")
            + f" {len(planned.pipelines)} published pipelines into "
            + connection.workspace.describe()
        )
        with Ledger(self.session.ledger_path) as ledger, self.log.capture():
            result = migrate(
                planned,
                connection.ml_client,
                ledger,
                work_dir=self.session.plan_dir,
                workspace=connection.workspace.describe(),
                concurrency=self.concurrency,
                writes_per_second=self.writes_per_second,
                progress=self._on_progress,
                options={"select": list(self.session.selected), "from": "panel"},
            )
        self.result = result
        self._finish(result)
        self.session.migrated += 1
        return result

    # -- the live view ---------------------------------------------------------------------

    def _start(self, planned: Plan) -> None:
        self.log.clear()
        rows = {}
        for endpoint in planned.endpoints:
            for p in endpoint.pipelines:
                deployment = p.deployment.name if p.deployment and p.deployable else ""
                status = "running" if p.deployable else "blocked"
                rows[p.label] = {
                    "pipeline": p.label,
                    "endpoint": endpoint.name,
                    "deployment": deployment,
                    "status": status,
                    "detail": "",
                }
        self.table.reset(rows)
        start_bar(self.progress, len(rows))

    def _on_progress(self, event: Progress) -> None:
        """A pipeline's stage started, or the pipeline finished (any worker thread)."""
        self.progress.max = max(event.total, 1)
        self.progress.value = event.done
        self.progress.description = f"{event.done} / {event.total}"
        self.table.update(event.pipeline, status=event.status, detail=event.message)
        self.log.event(event)

    def _finish(self, result: MigrationResult) -> None:
        for o in result.outcomes:
            detail = f"{o.stage}: {o.error}" if o.error else f"{o.writes} writes"
            self.table.update(o.label, status=o.status, detail=detail)
        for endpoint, error in result.endpoint_errors.items():
            self.log.write(f"batch endpoint {endpoint}: {error}", level="ERROR")

        counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts().items()))
        summary = f"{len(result.outcomes)} published pipelines in {result.seconds:.1f} s: {counts}"
        self.progress.value = self.progress.max
        if result.ok:
            self.progress.bar_style = "success"
            self.info(f"Migrated. {summary}.")
        else:
            self.progress.bar_style = "danger"
            problems = len(result.failed) + len(result.endpoint_errors)
            self.fail(
                f"{problems} failed ({summary}); the reasons are in the table. Fix the cause and "
                "press 'Resume migration'."
            )
        self.log.write(summary)
