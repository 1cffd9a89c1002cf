"""Run records in the store: one per pipeline and per step (shape in the package docstring).

Every status change goes through ``Records.set_status`` under one lock, so a record is never
written from two threads at once and a terminal status is final: a worker that finishes a step
after the step was canceled cannot turn it back into Completed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from migrate_kit.emulator.content import blobs
from migrate_kit.emulator.runner.execute import LOG_CONTAINER, log_blob_path
from migrate_kit.emulator.runner.graph import Graph
from migrate_kit.emulator.runner.model import (
    TERMINAL_STATUSES,
    DataRef,
    PipelineSpec,
    RunStatus,
    StepInput,
    StepSpec,
)
from migrate_kit.emulator.state import Store

__all__ = [
    "EXECUTION_LOG",
    "KIND",
    "ExecutionLog",
    "Records",
    "pipeline_record",
    "ref_json",
    "step_record",
]

logger = logging.getLogger(__name__)

#: Store kind of run records.
KIND = "runner.run"
#: The log name of a pipeline's own log (Azure ML keeps one per pipeline job under this name).
EXECUTION_LOG = "logs/azureml/executionlogs.txt"


def ref_json(ref: DataRef) -> dict[str, str]:
    """A ``DataRef`` as stored in records: ``{"account", "container", "path", "kind"}``."""
    return {key: str(value) for key, value in asdict(ref).items()}


def _input_json(given: StepInput) -> dict[str, Any]:
    if given.literal is not None:
        return {"literal": given.literal}
    if given.data is not None:
        return {"data": ref_json(given.data)}
    if given.upstream is not None:
        return {"upstream": {"step": given.upstream[0], "output": given.upstream[1]}}
    return {}  # an optional input left empty


def _base(spec: PipelineSpec, run_id: str, now: str) -> dict[str, Any]:
    return {
        "runId": run_id,
        "parentRunId": None,
        "rootRunId": spec.run_id,
        "experimentName": spec.experiment_name,
        "displayName": spec.display_name or run_id,
        "stepName": None,
        "origin": spec.origin,
        "jobType": "pipeline",
        "status": "NotStarted",
        "statusHistory": [{"status": "NotStarted", "time": now}],
        "createdUtc": now,
        "startTimeUtc": None,
        "endTimeUtc": None,
        "error": None,
        "inputs": {},
        "outputs": {},
        "logs": {},
        "environment": None,
        "environmentBuilt": False,
        "compute": spec.default_compute,
        "properties": dict(spec.properties),
        "tags": dict(spec.tags),
    }


def pipeline_record(graph: Graph, step_ids: dict[str, str], now: str) -> dict[str, Any]:
    """The parent run's record, status NotStarted."""
    spec = graph.spec
    record = _base(spec, spec.run_id, now)
    record["children"] = [step_ids[name] for name in graph.order]
    record["settings"] = {
        "continueOnStepFailure": spec.continue_on_step_failure,
        "defaultCompute": spec.default_compute,
    }
    return record


def step_record(spec: PipelineSpec, step: StepSpec, run_id: str, now: str) -> dict[str, Any]:
    """A child run's record, status NotStarted."""
    record = _base(spec, run_id, now)
    record.update(
        {
            "parentRunId": spec.run_id,
            "displayName": step.display_name or step.name,
            "stepName": step.name,
            "jobType": "parallel" if step.parallel is not None else "command",
            "inputs": {name: _input_json(given) for name, given in step.inputs.items()},
            "outputs": {name: ref_json(out.destination) for name, out in step.outputs.items()},
            "environment": step.environment,
            "compute": step.compute or spec.default_compute,
            "properties": dict(step.properties),
            "tags": {},
        }
    )
    return record


class Records:
    """Reads and status changes of run records, safe from any thread."""

    def __init__(self, store: Store, now: Callable[[], str]) -> None:
        self.store = store
        self.now = now
        self.lock = threading.RLock()

    def get(self, run_id: str) -> dict[str, Any] | None:
        return self.store.get(KIND, run_id)

    def require(self, run_id: str) -> dict[str, Any]:
        record = self.get(run_id)
        if record is None:
            raise KeyError(f"No run {run_id!r} in this workspace.")
        return record

    def create(self, records: list[dict[str, Any]]) -> None:
        """Store new records together; ``ValueError`` if a run id is taken."""
        with self.lock, self.store.transaction():
            for record in records:
                if self.get(record["runId"]) is not None:
                    raise ValueError(
                        f"Run id {record['runId']!r} is already used by another run; "
                        "submit with a new id."
                    )
                self.store.put(KIND, record["runId"], record)

    def set_status(
        self, run_id: str, status: RunStatus, error: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        """Move a run to ``status`` (start and end times follow); a terminal run stays as is.

        A record that is gone (the workspace was reset under a running job) is left gone.
        """
        with self.lock:
            record = self.get(run_id)
            if record is None:
                logger.debug("Run %s has no record any more; status %s dropped", run_id, status)
                return None
            if record["status"] in TERMINAL_STATUSES or record["status"] == status:
                return record
            now = self.now()
            record["status"] = status
            record["statusHistory"].append({"status": status, "time": now})
            if status == "Running" and record["startTimeUtc"] is None:
                record["startTimeUtc"] = now
            if status in TERMINAL_STATUSES:
                record["endTimeUtc"] = now
                record["error"] = error
            self.store.put(KIND, run_id, record)
            logger.debug("Run %s is %s", run_id, status)
            return record

    def update(self, run_id: str, **fields: Any) -> None:
        """Set top-level fields of a record (logs, outputs, ...), status untouched."""
        with self.lock:
            record = self.get(run_id)
            if record is None:
                return
            record.update(fields)
            self.store.put(KIND, run_id, record)

    def fail_unfinished(self, message: str) -> int:
        """Mark every non-terminal run Failed (its process is gone); returns how many."""
        count = 0
        with self.lock:
            for record in self.store.list(KIND):
                if record.get("status") not in TERMINAL_STATUSES:
                    error = {"code": "SystemError", "message": message}
                    self.set_status(record["runId"], "Failed", error)
                    count += 1
        if count:
            logger.warning("Marked %d runs left unfinished by an earlier emulator Failed", count)
        return count


class ExecutionLog:
    """A pipeline's own log: one line per step event, rewritten as a blob after each line.

    The lines follow the spirit of Azure ML's ``executionlogs.txt`` (which step started, which
    ended how), not its exact wording; ``jobs stream`` of a pipeline job shows them.
    """

    def __init__(self, store: Store, account: str, run_id: str) -> None:
        self.store = store
        self.location = {
            "account": account,
            "container": LOG_CONTAINER,
            "path": log_blob_path(run_id, EXECUTION_LOG),
        }
        self._lines: list[str] = []

    def add(self, text: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        self._lines.append(f"[{stamp}] {text}\n")
        data = "".join(self._lines).encode()
        props = blobs.new_properties({"content-type": "text/plain; charset=utf-8"})
        where = self.location
        self.store.put_blob(where["account"], where["container"], where["path"], data, props)
