"""The runner: pipelines of steps run in the background on a bounded pool of worker threads.

``submit`` checks the spec (``graph.check_spec``), stores the run records (NotStarted) and
queues the steps whose inputs are ready. Each worker thread takes a queued step, marks it
Running and executes it (``execute.StepRun``: a subprocess in a scratch folder). When a step
ends, its pipeline decides what comes next, under the runner's lock:

- Completed: steps whose upstream steps are now all Completed are queued;
- Failed, ``continue_on_step_failure=False``: every other unfinished step is Canceled (running
  ones are killed) and the pipeline ends Failed;
- Failed, ``continue_on_step_failure=True``: the steps that consume its outputs, directly or
  not, are Canceled; independent branches go on; the pipeline ends Failed once nothing runs.

A pipeline ends Completed when every step Completed, Failed when any step failed, and Canceled
after ``cancel``. Its error then reads as Azure ML's: "Pipeline has failed child jobs. Failed
nodes: /<step>. ...". The pool (``ctx.job_workers`` threads, default 2) is shared by every
pipeline of the workspace, so steps of two jobs wait for each other as on one compute cluster.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrate_kit.emulator.config import Context
from migrate_kit.emulator.runner.execute import LOG_CONTAINER, StepOutcome, StepRun
from migrate_kit.emulator.runner.graph import Graph, check_spec
from migrate_kit.emulator.runner.model import (
    TERMINAL_STATUSES,
    DataRef,
    PipelineSpec,
    RunStatus,
)
from migrate_kit.emulator.runner.process import StepControl
from migrate_kit.emulator.runner.records import (
    EXECUTION_LOG,
    ExecutionLog,
    Records,
    pipeline_record,
    step_record,
)

__all__ = [
    "DEFAULT_STEP_TIMEOUT_S",
    "LOG_CONTAINER",
    "STOPPED_MESSAGE",
    "Runner",
    "existing_runner",
    "runner_for",
]

logger = logging.getLogger(__name__)

#: How long a step may run unless its ``StepSpec.timeout`` says otherwise.
DEFAULT_STEP_TIMEOUT_S = 3600.0
#: The error of runs an earlier emulator process left unfinished.
STOPPED_MESSAGE = "The emulator stopped while this job ran; submit it again."
_CANCEL_WAIT_S = 10.0

_registry: weakref.WeakKeyDictionary[Context, Runner] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def runner_for(ctx: Context) -> Runner:
    """The one runner of ``ctx``, made on first use (which fails leftover runs, see Runner)."""
    with _registry_lock:
        runner = _registry.get(ctx)
        if runner is None or runner.closed:
            runner = _registry[ctx] = Runner(ctx)
        return runner


def existing_runner(ctx: Context) -> Runner | None:
    """The runner of ``ctx`` if one was made (lets ``Emulator.stop`` close it without making
    one)."""
    with _registry_lock:
        return _registry.get(ctx)


class _Job:
    """A pipeline being run: its graph, its steps' run ids, statuses and controls."""

    def __init__(self, graph: Graph, step_ids: dict[str, str], log: ExecutionLog) -> None:
        self.graph = graph
        self.log = log
        self.run_id = graph.spec.run_id
        self.step_ids = step_ids
        self.status: dict[str, RunStatus] = dict.fromkeys(graph.order, "NotStarted")
        self.controls = {name: StepControl() for name in graph.order}
        self.active: set[str] = set()  # steps a worker is executing right now
        self.canceled = False
        self.done = threading.Event()

    def unfinished(self) -> list[str]:
        return [n for n in self.graph.order if self.status[n] not in TERMINAL_STATUSES]


class Runner:
    """Runs the pipelines of one workspace; every method is safe to call from any thread.

    Made by ``runner_for``; when made, runs that an earlier emulator process left NotStarted,
    Queued or Running are marked Failed (their processes are gone).

    Not emulated: environments: every step runs in the emulator's own Python (``python`` on
    PATH); the declared environment is only recorded (``environmentBuilt: false``).
    Not emulated: computes: ``compute`` / ``default_compute`` are recorded; all steps share one
    pool of ``ctx.job_workers`` workers on this machine.
    Not emulated: output reuse (every step runs each time), retries, and the mount / download
    modes of inputs (inputs are always copied into the scratch folder before the step starts).
    Not emulated: canceling one step alone: canceling any run of a pipeline cancels the
    pipeline; there is no CancelRequested status (cancel waits until the processes are gone).
    Not emulated: Azure ML's other environment variables (run tokens, service endpoints,
    AZUREML_DATAREFERENCE_*) and the runtime's own logs (only user_logs/ are kept; a pipeline's
    executionlogs.txt has a line per step event, not Azure ML's wording).
    Not emulated: parallel steps on several nodes and processes: one driver process runs every
    mini-batch in order (see ``parallel_driver`` for what else differs).
    Not emulated: parallel steps over tabular inputs: only files are split into mini-batches;
    run_invocation_timeout, run_max_try and mini_batch_error_threshold are ignored.
    Not emulated: skipped steps: Azure ML never creates the child runs of steps that cannot run
    after a failure or a cancel; here every step has a record from the start, which ends
    Canceled (straight from NotStarted or Queued).
    Not emulated: changing ``ctx.job_workers`` after the runner was made (the pool keeps its
    size until the runner is closed).
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.records = Records(ctx.store, ctx.now_iso)
        self.step_timeout = DEFAULT_STEP_TIMEOUT_S
        self.closed = False
        self._lock = self.records.lock  # one lock for records and job state: no lock order
        self._jobs: dict[str, _Job] = {}  # unfinished pipelines by run id
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self.records.fail_unfinished(STOPPED_MESSAGE)
        self._workers = [
            threading.Thread(target=self._work, name=f"runner-{i}", daemon=True)
            for i in range(max(1, ctx.job_workers))
        ]
        for worker in self._workers:
            worker.start()

    # -- the contract ------------------------------------------------------------------------

    def submit(self, spec: PipelineSpec) -> dict[str, Any]:
        """Store the pipeline's and its steps' records (NotStarted), start it in the background
        and return the pipeline's record; ``ValueError`` for a bad spec or a used run id."""
        if self.closed:
            raise RuntimeError("The runner is closed; the emulator is stopping.")
        graph = check_spec(spec)
        step_ids = {s.name: s.run_id or self.ctx.new_id() for s in spec.steps}
        now = self.ctx.now_iso()
        parent = pipeline_record(graph, step_ids, now)
        children = [step_record(spec, graph.steps[n], step_ids[n], now) for n in graph.order]
        log = ExecutionLog(self.ctx.store, self.ctx.config.storage_account, spec.run_id)
        parent["logs"] = {EXECUTION_LOG: log.location}
        job = _Job(graph, step_ids, log)
        with self._lock:
            self.records.create([parent, *children])
            log.add(f"Pipeline {spec.run_id} submitted: {len(children)} steps ({graph.order}).")
            self._jobs[job.run_id] = job
            self.records.set_status(job.run_id, "Queued")
            self._advance(job)
        logger.info("Submitted pipeline %s (%d steps)", job.run_id, len(children))
        return parent

    def get(self, run_id: str) -> dict[str, Any] | None:
        """A run's record (pipeline or step), or None."""
        return self.records.get(run_id)

    def children(self, run_id: str) -> list[dict[str, Any]]:
        """The step records of a pipeline, in graph order (empty for a step or unknown id)."""
        record = self.records.get(run_id)
        ids = (record or {}).get("children") or []
        return [child for child in map(self.records.get, ids) if child is not None]

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Cancel the pipeline of ``run_id`` (itself or one of its steps) and return the
        pipeline's record; a finished run is returned unchanged. ``KeyError`` if unknown."""
        record = self.records.require(run_id)
        root = record.get("rootRunId") or run_id
        with self._lock:
            job = self._jobs.get(root)
            if job is None:
                return self.records.require(root)
            job.canceled = True
            for name in job.unfinished():
                self._stop_step(job, name)
            self._finish_if_done(job)
        job.done.wait(_CANCEL_WAIT_S)
        logger.info("Canceled pipeline %s", root)
        return self.records.require(root)

    def wait(self, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """The run's record once it is Completed, Failed or Canceled; ``TimeoutError`` if it
        is not after ``timeout`` seconds, ``KeyError`` if unknown."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.records.require(run_id)
            if record["status"] in TERMINAL_STATUSES:
                return record
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Run {run_id} is still {record['status']} after {timeout:g} seconds."
                )
            time.sleep(0.05)

    def read_log(self, run_id: str, name: str = "user_logs/std_log.txt") -> str:
        """A log of a run as text: the stored blob, or while the step runs, the live file.
        Empty when the run has no such log (yet); ``KeyError`` for an unknown run."""
        record = self.records.require(run_id)
        where = (record.get("logs") or {}).get(name)
        if where is not None:
            found = self.ctx.store.get_blob(where["account"], where["container"], where["path"])
            return found[0].decode("utf-8", errors="replace") if found else ""
        live = self._scratch() / run_id / "logs" / name.removeprefix("user_logs/")
        if name.startswith("user_logs/") and live.is_file():
            return live.read_bytes().decode("utf-8", errors="replace")
        return ""

    def close(self) -> None:
        """Cancel what runs (processes are killed) and stop the workers. Safe to call twice."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            jobs = list(self._jobs.values())
            for job in jobs:
                job.canceled = True
                for name in job.unfinished():
                    self._stop_step(job, name)
                self._finish_if_done(job)
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=_CANCEL_WAIT_S)
        logger.debug("Runner closed (%d unfinished pipelines canceled)", len(jobs))

    # -- scheduling (all under self._lock) ---------------------------------------------------

    def _advance(self, job: _Job) -> None:
        """Queue every step whose upstream steps all Completed; cancel those that can't run."""
        for name in job.graph.order:
            if job.status[name] != "NotStarted":
                continue
            upstream = [job.status[u] for u in job.graph.upstream[name]]
            if any(status in ("Failed", "Canceled") for status in upstream):
                self._set(job, name, "Canceled")
            elif all(status == "Completed" for status in upstream):
                self._set(job, name, "Queued")
                self._queue.put(functools.partial(self._run_step, job, name))
        self._finish_if_done(job)

    def _set(
        self, job: _Job, name: str, status: RunStatus, error: dict[str, str] | None = None
    ) -> None:
        job.status[name] = status
        self.records.set_status(job.step_ids[name], status, error)
        if status != "Queued":
            job.log.add(f"Step {name} (run id {job.step_ids[name]}) is {status}.")
        if error:
            job.log.add(f"    Error of {name}: {error['message']}")

    def _stop_step(self, job: _Job, name: str) -> None:
        """Cancel one unfinished step: not started or queued, or running (killed)."""
        self._set(job, name, "Canceled")
        job.controls[name].cancel()

    def _after_step(self, job: _Job, name: str, outcome: StepOutcome) -> None:
        job.active.discard(name)
        if outcome.logs:
            self.records.update(job.step_ids[name], logs=outcome.logs)
        if job.status[name] not in TERMINAL_STATUSES:
            self._set(job, name, outcome.status, outcome.error)
        if job.status[name] == "Failed" and not job.graph.spec.continue_on_step_failure:
            for other in job.unfinished():
                self._stop_step(job, other)
        if not job.canceled:
            self._advance(job)
        self._finish_if_done(job)

    def _finish_if_done(self, job: _Job) -> None:
        """End the pipeline once every step is final and no worker still holds one."""
        if job.unfinished() or job.active or job.done.is_set():
            return
        failed = [n for n in job.graph.order if job.status[n] == "Failed"]
        status: RunStatus = "Completed"
        error = None
        if failed:
            nodes = ", ".join(f"/{n}" for n in failed)
            status, error = (
                "Failed",
                {
                    "code": "UserError",
                    "message": f"Pipeline has failed child jobs. Failed nodes: {nodes}. For more "
                    "details and logs, please go to the job detail page and check the child jobs.",
                },
            )
        elif job.canceled:
            status = "Canceled"
        self.records.set_status(job.run_id, status, error)
        job.log.add(f"Pipeline {job.run_id} ended {status}.")
        if error:
            job.log.add(f"    Error: {error['message']}")
        self._jobs.pop(job.run_id, None)
        job.done.set()
        logger.info("Pipeline %s ended %s", job.run_id, status)

    # -- workers -----------------------------------------------------------------------------

    def _work(self) -> None:
        while (task := self._queue.get()) is not None:
            try:
                task()
            except Exception:  # a bug of ours: keep the worker alive, the step fails below
                logger.exception("Runner worker failed")

    def _run_step(self, job: _Job, name: str) -> None:
        with self._lock:
            if job.status[name] != "Queued" or self.closed:
                return
            job.active.add(name)
            self._set(job, name, "Running")
            self.records.set_status(job.run_id, "Running")
        try:
            outcome = self._step_run(job, name).execute()
        except Exception as exc:  # a bug of ours; the step must still end
            logger.exception("Step %s of pipeline %s crashed the runner", name, job.run_id)
            outcome = StepOutcome("Failed", {"code": "SystemError", "message": str(exc)})
        with self._lock:
            self._after_step(job, name, outcome)

    def _step_run(self, job: _Job, name: str) -> StepRun:
        spec = job.graph.spec
        sources: dict[tuple[str, str], DataRef] = {
            (step.name, out_name): out.destination
            for step in spec.steps
            for out_name, out in step.outputs.items()
        }
        run_id = job.step_ids[name]
        return StepRun(
            self.ctx,
            spec,
            job.graph.steps[name],
            run_id,
            folder=self._scratch() / run_id,
            sources=sources,
            control=job.controls[name],
            timeout=self.step_timeout,
        )

    def _scratch(self) -> Path:
        return self.ctx.scratch_dir or Path(self.ctx.store.path).parent / "jobs"
