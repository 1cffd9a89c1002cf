"""One pipeline's test: invoke the deployment, run v1 beside it for parity, wait, record.

``Tester.pipeline`` does it for one planned pipeline and records the ``test`` (and ``parity``)
stage in the ledger; ``verify.test_deployments`` runs it on a thread pool.

Waiting polls ``jobs.get`` (v2) and ``GET /PipelineRuns/{id}`` (v1), every half second at first
and then less often, up to ``poll_s``; a progress event goes out on every status change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING, Any

from migrate_kit.convert.findings import Severity
from migrate_kit.convert.model import EndpointPlan, PipelinePlan
from migrate_kit.engine import Progress
from migrate_kit.errors import describe
from migrate_kit.ledger import Ledger
from migrate_kit.redact import redact
from migrate_kit.v1.runs import RUN_TERMINAL, run_status, step_status
from migrate_kit.verify.model import (
    ERROR,
    FAILED,
    MATCH,
    MISMATCH,
    PASSED,
    SKIPPED,
    ParityResult,
    TestOutcome,
)
from migrate_kit.verify.outputs import OutputReader, compare_outputs
from migrate_kit.verify.values import Values

if TYPE_CHECKING:
    from migrate_kit.v1.client import PipelinesClient

__all__ = ["Tester"]

logger = logging.getLogger(__name__)

V2_TERMINAL = frozenset({"Completed", "Failed", "Canceled"})
#: Differences kept in the ledger's detail (the outcome has them all).
MAX_DIFFERENCES = 20
_POLL_ERRORS = 5  # status reads that may fail in a row before the wait gives up
_ERROR_LENGTH = 500

# azure-ai-ml (1.35) keeps the invoke headers in a class-level dict,
# ``EndpointInvokeFields.DEFAULT_HEADER``, and every invoke writes its deployment name into it:
# two invokes at once, even through two MLClients, can send each other's deployment. So invokes
# run one at a time, and each names its deployment (an invoke without one would send whatever
# the previous one left there; v2-wire.md pitfall 4).
_INVOKE_LOCK = threading.Lock()


class Tester:
    """One ``test_deployments`` call: clients, ledger, settings and the progress count."""

    def __init__(
        self,
        ml_client: Any,
        v1_client: PipelinesClient | None,
        ledger: Ledger,
        migration_id: str,
        *,
        total: int,
        timeout_s: float,
        poll_s: float,
        experiment_name: str,
        work_dir: Path | None,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self._client_source = ml_client
        self._local = threading.local()
        self.v1 = v1_client  # None: no parity
        self.ledger = ledger
        self.migration_id = migration_id
        self.total = total
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.experiment = experiment_name
        self.work_dir = work_dir
        self.progress = progress
        self._lock = threading.Lock()
        self._done = 0

    @property
    def ml(self) -> Any:
        """This thread's MLClient (one per worker thread when a factory was given)."""
        if not callable(self._client_source):
            return self._client_source
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._client_source()
        return client

    def pipeline(
        self,
        endpoint: EndpointPlan,
        pipeline: PipelinePlan,
        values: tuple[Values, Values | None] | str | None,
    ) -> TestOutcome:
        """Test ``pipeline`` with ``values`` (or fail it with the reason it has none); never
        raises for what happens to the pipeline's runs."""
        subject = pipeline.pipeline_id
        outcome = TestOutcome(
            subject,
            pipeline.pipeline_name,
            pipeline.pipeline_version,
            endpoint.name,
            pipeline.deployment.name if pipeline.deployment else None,
            SKIPPED,
        )
        reason = self._skip_reason(pipeline)
        if reason is not None:
            for stage in ("test", "parity") if self.v1 is not None else ("test",):
                self.ledger.skipped(self.migration_id, subject, stage, reason)
            return self._report(replace(outcome, error=reason))

        self.ledger.begin(self.migration_id, subject, "test")
        if self.v1 is not None:
            self.ledger.begin(self.migration_id, subject, "parity")
        if not isinstance(values, tuple):
            return self._finish(replace(outcome, status=FAILED, error=values or "no values"))
        try:
            outcome = self._run(pipeline, outcome, *values)
        except Exception as exc:  # one pipeline's failure never stops the others
            logger.warning("Testing %s failed", outcome.label, exc_info=True)
            outcome = replace(outcome, status=FAILED, error=describe(exc))
        return self._finish(outcome)

    def _run(
        self,
        pipeline: PipelinePlan,
        outcome: TestOutcome,
        v2_values: Values,
        v1_values: Values | None,
    ) -> TestOutcome:
        outcome = replace(outcome, inputs=v2_values.shown)
        deadline = time.monotonic() + self.timeout_s
        try:
            job_name = self._invoke(pipeline, v2_values)
        except Exception as exc:
            return replace(outcome, status=FAILED, error=f"invoke failed: {describe(exc)}")

        # v1 runs beside the v2 job: both are waited for only after both started.
        v1_run = self._submit(pipeline, v1_values, job_name) if v1_values is not None else None
        outcome = self._wait_job(outcome, job_name, deadline)
        if v1_run is not None:
            outcome = replace(outcome, parity=self._parity(pipeline, outcome, v1_run, deadline))
        return outcome

    def _skip_reason(self, pipeline: PipelinePlan) -> str | None:
        if not pipeline.deployable:
            blocking = [f.message for f in pipeline.findings if f.severity is Severity.BLOCKING]
            return "blocked in the plan: " + ("; ".join(blocking) or "no deployment")
        deploy = self.ledger.stage(pipeline.pipeline_id, "deploy")
        if deploy is None or not deploy.done:
            state = f"its deploy stage is {deploy.status}" if deploy else "it was never deployed"
            return f"not deployed ({state}); run the migration first"
        return None

    # -- v2 --------------------------------------------------------------------------------------

    def _invoke(self, pipeline: PipelinePlan, values: Values) -> str:
        deployment = pipeline.deployment
        assert deployment is not None
        with _INVOKE_LOCK:
            job = self.ml.batch_endpoints.invoke(
                endpoint_name=deployment.endpoint_name,
                deployment_name=deployment.name,
                inputs=dict(values.v2),
                experiment_name=self.experiment,
            )
        logger.info("Invoked %s/%s: job %s", deployment.endpoint_name, deployment.name, job.name)
        return str(job.name)

    def _wait_job(self, outcome: TestOutcome, job_name: str, deadline: float) -> TestOutcome:
        started = time.monotonic()
        seen: list[Any] = []

        def poll() -> str:
            seen[:] = [self.ml.jobs.get(job_name)]
            return status_text(seen[0].status)

        try:
            status = self._wait(outcome, f"v2 job {job_name}", poll, V2_TERMINAL, deadline)
        except Exception as exc:
            error = f"its status could not be read: {describe(exc)}"
            return replace(outcome, job_name=job_name, status=FAILED, error=error)
        job = seen[0] if seen else None
        outcome = replace(
            outcome,
            job_name=job_name,
            job_status=status,
            duration_s=round(time.monotonic() - started, 1),
            studio_url=getattr(job, "studio_url", None),
            logs=logs_location(job, job_name),
        )
        if status == "Completed":
            return replace(outcome, status=PASSED)
        if status in V2_TERMINAL:
            error = self._job_error(job_name) or f"the job ended {status}"
        else:
            error = f"the job was still {status or 'not started'} after {self.timeout_s:.0f} s"
        return replace(outcome, status=FAILED, error=error)

    def _job_error(self, job_name: str) -> str | None:
        """What failed: each failed step with its error, else the job's own error."""
        try:
            children = list(self.ml.jobs.list(parent_job_name=job_name))
        except Exception as exc:
            logger.warning("Could not list the steps of job %s: %s", job_name, describe(exc))
            children = []
        reasons = [
            f"step {c.display_name or c.name}: {self._run_error(c.name) or 'failed'}"
            for c in children
            if status_text(c.status) == "Failed"
        ]
        return "; ".join(reasons) or self._run_error(job_name)

    def _run_error(self, run_id: str) -> str | None:
        # azure-ai-ml 1.35 has no public way to read a job's error: the job resource holds
        # none, and ``jobs.stream`` prints the run to stdout before raising with its error.
        # Run history has it; this is the client ``jobs.stream`` itself reads it with.
        try:
            error = self.ml.jobs._runs_operations.get_run_details(run_id).error.error
        except Exception as exc:  # another SDK version, or a run that has no error
            logger.debug("No error details for run %s: %s", run_id, exc)
            return None
        message = getattr(error, "message", None)
        return redact(" ".join(str(message).split()))[:_ERROR_LENGTH] if message else None

    # -- v1 and parity ---------------------------------------------------------------------------

    def _submit(self, pipeline: PipelinePlan, values: Values, job_name: str) -> str | Exception:
        """Start v1's run of ``pipeline`` (the endpoint version it was, if any): the run id,
        or the exception that refused it."""
        assert self.v1 is not None
        tags = {"migrate_kit": "parity", "v2_job": job_name}
        try:
            if pipeline.v1_endpoint_id:
                return self.v1.submit_endpoint(
                    pipeline.v1_endpoint_id,
                    pipeline.v1_endpoint_version,
                    self.experiment,
                    values.v1_parameters,
                    values.v1_data_paths,
                    tags=tags,
                )
            return self.v1.submit_pipeline(
                pipeline.pipeline_id,
                self.experiment,
                values.v1_parameters,
                values.v1_data_paths,
                tags=tags,
            )
        except Exception as exc:
            return exc

    def _parity(
        self, pipeline: PipelinePlan, outcome: TestOutcome, v1_run: str | Exception, deadline: float
    ) -> ParityResult:
        if isinstance(v1_run, Exception):
            return ParityResult(ERROR, error=f"the v1 run was refused: {describe(v1_run)}")
        v1 = self.v1
        assert v1 is not None
        try:
            status = self._wait(
                outcome, f"v1 run {v1_run}", lambda: run_status(v1.get_run(v1_run))[0],
                RUN_TERMINAL, deadline,
            )  # fmt: skip
        except Exception as exc:
            error = f"the v1 run's status could not be read: {describe(exc)}"
            return ParityResult(ERROR, v1_run, error=error)
        if status != "Finished" or outcome.status != PASSED:
            v1_side = f"the v1 run {status or 'not started'}"
            if status in ("Failed", "Canceled"):
                v1_side += f" ({self._v1_error(pipeline, v1_run) or 'no reason given'})"
            error = f"nothing to compare: the v2 job {outcome.job_status}, {v1_side}"
            return ParityResult(ERROR, v1_run, status, error=error)
        try:
            return self._compare(pipeline, outcome, v1_run)
        except Exception as exc:
            logger.warning("Comparing the runs of %s failed", outcome.label, exc_info=True)
            return ParityResult(ERROR, v1_run, status, error=f"comparing: {describe(exc)}")

    def _v1_error(self, pipeline: PipelinePlan, run_id: str) -> str | None:
        """Each failed step of a v1 run with its status detail."""
        assert self.v1 is not None
        try:
            statuses = self.v1.get_node_statuses(run_id)
        except Exception as exc:
            return describe(exc)
        steps = {c.node_id: c.step for c in pipeline.components}
        reasons = []
        for node, task in statuses.items():
            code, detail = step_status(task)
            if code == "Failed":
                text = " ".join(str(detail or "failed").split())
                reasons.append(f"step {steps.get(node, node)}: {text}")
        return redact("; ".join(reasons))[:_ERROR_LENGTH] or None

    def _compare(self, pipeline: PipelinePlan, outcome: TestOutcome, run_id: str) -> ParityResult:
        assert self.v1 is not None and outcome.job_name is not None
        links = pipeline.output_links
        with ExitStack() as cleanup:
            reader = cleanup.enter_context(OutputReader(self.ml, self.v1))
            if self.work_dir is None:
                root = Path(cleanup.enter_context(TemporaryDirectory(prefix="migrate-kit-")))
            else:  # kept, one folder per v2 job: never stale
                root = self.work_dir / pipeline.folder / "parity" / outcome.job_name
            v2 = reader.v2_outputs(outcome.job_name, links, root / "v2")
            v1 = reader.v1_outputs(run_id, links, root / "v1")
            differences, outputs, files = compare_outputs(links, v1, v2)
        result = MISMATCH if differences else MATCH
        return ParityResult(result, run_id, "Finished", outputs, files, tuple(differences))

    # -- waiting, records, progress --------------------------------------------------------------

    def _wait(
        self,
        outcome: TestOutcome,
        what: str,
        poll: Callable[[], str],
        terminal: frozenset[str],
        deadline: float,
    ) -> str:
        """Poll until a terminal status or the deadline, reporting each change; the last status.

        A few failed reads in a row are tolerated (each client has retried each read already).
        """
        delay, status, errors = 0.5, "", 0
        while True:
            try:
                current = poll()
                errors = 0
            except Exception as exc:
                errors += 1
                if errors >= _POLL_ERRORS:
                    raise
                logger.warning("Reading the status of %s failed: %s", what, describe(exc))
                current = status
            if current != status:
                status = current
                self._event(Progress(self._done, self.total, outcome.label, status, what))
            now = time.monotonic()
            if status in terminal or now >= deadline:
                return status
            time.sleep(min(delay, deadline - now))
            delay = min(delay * 2, self.poll_s)

    def _finish(self, outcome: TestOutcome) -> TestOutcome:
        """Record the ``test`` (and ``parity``) stage of a tested pipeline, then report it."""
        subject, stage_of = outcome.pipeline_id, self.migration_id
        detail = {
            "job_name": outcome.job_name,
            "status": outcome.job_status,
            "duration_s": outcome.duration_s,
            "logs": outcome.logs,
            "studio_url": outcome.studio_url,
            "endpoint": outcome.endpoint,
            "deployment": outcome.deployment,
            "experiment": self.experiment,
            "inputs": dict(outcome.inputs),
        }
        if outcome.status == PASSED:
            self.ledger.done(stage_of, subject, "test", detail=detail)
        else:
            self.ledger.failed(stage_of, subject, "test", outcome.error or "", detail=detail)

        parity = outcome.parity
        if self.v1 is not None and parity is None:
            self.ledger.skipped(stage_of, subject, "parity", f"not compared: {outcome.error}")
        elif parity is not None:
            result = {
                "result": parity.result,
                "job_name": outcome.job_name,
                "v1_run_id": parity.v1_run_id,
                "v1_status": parity.v1_status,
                "outputs": parity.outputs,
                "files": parity.files,
                "differences": list(parity.differences[:MAX_DIFFERENCES]),
            }
            if parity.match:
                self.ledger.done(stage_of, subject, "parity", detail=result)
            else:
                error = parity.error or summary(parity.differences)
                self.ledger.failed(stage_of, subject, "parity", error, detail=result)
        return self._report(outcome)

    def _report(self, outcome: TestOutcome) -> TestOutcome:
        with self._lock:
            self._done += 1
            done = self._done
        message = outcome.error or ""
        if outcome.parity is not None:
            found = outcome.parity.error or summary(outcome.parity.differences)
            message = f"parity {outcome.parity.result}" + (f": {found}" if found else "")
        self._event(Progress(done, self.total, outcome.label, outcome.status, message))
        return outcome

    def _event(self, event: Progress) -> None:
        if self.progress is not None:
            self.progress(event)


def status_text(value: Any) -> str:
    """A job status as text (azure-ai-ml gives pipeline jobs a str enum, children plain text)."""
    return str(getattr(value, "value", value))


def logs_location(job: Any, job_name: str) -> str:
    """Where the job's logs are: its ``default`` output, or where ``jobs.download`` looks for
    it when the job lists none (the artifact store's ``ExperimentRun/dcid.<job>/``)."""
    default = (getattr(job, "outputs", None) or {}).get("default")
    path = getattr(default, "path", None)
    if path:
        return str(path)
    return f"azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.{job_name}/"


def summary(differences: tuple[str, ...]) -> str:
    """The first differences on one line ("" when there are none)."""
    if not differences:
        return ""
    more = len(differences) - 3
    return (
        "outputs differ: " + "; ".join(differences[:3]) + (f" (+{more} more)" if more > 0 else "")
    )
