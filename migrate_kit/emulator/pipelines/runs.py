"""Pipeline runs of the v1 pipelines service (reference §2.1 #4, #12, #18–#27, §3.7, §3.8).

A submission translates the published pipeline's graph into a ``PipelineSpec``
(``translate.py``) and hands it to the emulator's runner, which runs the steps in the
background and keeps one run record per pipeline and step (store kind ``runner.run``). The
service keeps its own ``PipelineRunEntity`` (kind ``pipelines.run``) with what was submitted;
statuses, outputs and logs are read from the runner's records whenever they are asked for, so
they are never stale.

Status codes are sent as names (``Finished``, ``Running``, ...), which the v1 SDK reader
accepts as well as the numbers; the live service's encoding is unconfirmed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from migrate_kit.emulator.pipelines import wire
from migrate_kit.emulator.pipelines.base import (
    DATA_SOURCE,
    GRAPH,
    INTERFACE,
    MODULE,
    PIPELINE,
    BackendBase,
    json_object,
)
from migrate_kit.emulator.pipelines.endpoints import ENDPOINT
from migrate_kit.emulator.pipelines.errors import BadRequest, NotFound
from migrate_kit.emulator.pipelines.parameters import PipelineSource, resolve_parameters
from migrate_kit.emulator.pipelines.translate import build_spec
from migrate_kit.emulator.runner.backend import Runner, runner_for

__all__ = ["RUN", "RunOperations"]

logger = logging.getLogger(__name__)

RUN = "pipelines.run"

# Runner status -> PipelineRunStatusCode (NotStarted, Running, Failed, Finished, Canceled).
_PIPELINE_STATUS = {
    "NotStarted": "NotStarted",
    "Queued": "NotStarted",
    "Running": "Running",
    "Completed": "Finished",
    "Failed": "Failed",
    "Canceled": "Canceled",
}
# Runner status -> TaskStatusCode (NotStarted, Queued, Running, Failed, Finished, Canceled, ...).
_TASK_STATUS = {**_PIPELINE_STATUS, "Queued": "Queued"}
# Shareable log kinds -> the runner's log names.
_LOGS = {
    "joblog": "user_logs/std_log.txt",
    "stdout": "user_logs/stdout.txt",
    "stderr": "user_logs/stderr.txt",
}
# Experiment names: letters, digits, '-' and '_', starting with a letter or digit (v1 rule).
_EXPERIMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")


class RunOperations(BackendBase):
    """``/PipelineRuns`` routes; mixed into ``PipelinesBackend``."""

    @property
    def runner(self) -> Runner:
        return runner_for(self.ctx)

    # -- submission ----------------------------------------------------------------------

    def submit_pipeline(
        self, pipeline_id: str, body: Any, *, parent_run_id: str | None = None
    ) -> dict[str, Any]:
        """``POST /PipelineRuns/PipelineSubmit/{pipelineId}`` with a ``PipelineSubmissionInfo``.

        404 for an unknown pipeline, 400 for a disabled one, a bad experiment name or a
        parameter the pipeline does not declare. Answers the new ``PipelineRunEntity``.
        """
        submission = json_object(body, "PipelineSubmissionInfo")
        pipeline = self._require(PIPELINE, pipeline_id, "Pipeline")
        status = wire.status_name(pipeline.get("EntityStatus"))
        if status != "Active":
            raise BadRequest(
                f"Pipeline '{pipeline_id}' ({pipeline.get('Name')} {pipeline.get('Version')}) "
                f"is {status}; only Active pipelines can be submitted. Enable it first.",
                target="pipelineId",
            )
        return self._submit(pipeline, submission, parent_run_id=parent_run_id, endpoint=None)

    def submit_pipeline_endpoint(
        self,
        endpoint_id: str,
        body: Any,
        *,
        version: str | None = None,
        parent_run_id: str | None = None,
    ) -> dict[str, Any]:
        """``POST /PipelineRuns/PipelineEndpointSubmit/Id/{id}[/{version}]``.

        Without a version the endpoint's ``DefaultVersion`` runs. 404 for an unknown endpoint
        or version, 400 for a disabled endpoint or pipeline.
        """
        submission = json_object(body, "PipelineSubmissionInfo")
        endpoint = self._require(ENDPOINT, endpoint_id, "PipelineEndpoint")
        if not self._is_active(endpoint):
            raise BadRequest(
                f"PipelineEndpoint '{endpoint.get('Name')}' ({endpoint_id}) is disabled; "
                "enable it before submitting.",
                target="pipelineEndpointId",
            )
        wanted = str(version) if version not in (None, "") else str(endpoint.get("DefaultVersion"))
        versions = {
            str(v.get("Version")): str(v.get("PipelineId"))
            for v in endpoint.get("PipelineVersionList") or []
            if isinstance(v, dict)
        }
        if wanted not in versions:
            raise NotFound(
                f"PipelineEndpoint '{endpoint.get('Name')}' has no version '{wanted}' "
                f"(versions: {sorted(versions)}).",
                target="pipelineVersion",
            )
        pipeline = self.submit_target(versions[wanted])
        return self._submit(
            pipeline,
            submission,
            parent_run_id=parent_run_id,
            endpoint={"Id": endpoint_id, "Name": endpoint.get("Name"), "Version": wanted},
        )

    def submit_target(self, pipeline_id: str) -> dict[str, Any]:
        """The active published pipeline behind an endpoint version (400 when disabled)."""
        pipeline = self._require(PIPELINE, pipeline_id, "Pipeline")
        if not self._is_active(pipeline):
            raise BadRequest(
                f"Pipeline '{pipeline_id}' behind this endpoint version is disabled.",
                target="pipelineVersion",
            )
        return pipeline

    def _submit(
        self,
        pipeline: Mapping[str, Any],
        submission: Mapping[str, Any],
        *,
        parent_run_id: str | None,
        endpoint: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        experiment = submission.get("ExperimentName")
        if not isinstance(experiment, str) or not _EXPERIMENT.fullmatch(experiment):
            raise BadRequest(
                f"ExperimentName {experiment!r} is invalid: give 1 to 255 letters, digits, '-' "
                "or '_', starting with a letter or digit.",
                target="ExperimentName",
            )
        source = self._source(pipeline)
        resolved, unknown = resolve_parameters(source, submission)
        if unknown:
            declared = sorted(source.pipeline.get("ParameterAssignments") or {})
            raise BadRequest(
                f"The submission assigns {', '.join(unknown)}, which pipeline "
                f"'{pipeline.get('Name')}' does not declare (parameters: {declared}).",
                target="ParameterAssignments",
            )

        run_id = self.ctx.new_id()
        continue_on_failure = submission.get("ContinueRunOnStepFailure")
        if continue_on_failure is None:
            continue_on_failure = bool(pipeline.get("ContinueRunOnStepFailure"))
        tags = {str(k): str(v) for k, v in (_tags(submission) or {}).items()}
        spec = build_spec(
            source,
            resolved,
            self.ctx.config,
            run_id=run_id,
            experiment_name=experiment,
            step_run_id=lambda node_id: self.ctx.new_id(),
            continue_on_step_failure=bool(continue_on_failure),
            tags=tags,
            blob_exists=self._datastore_blob_exists,
        )
        entity = self._run_entity(pipeline, submission, resolved.parameters, run_id, tags)
        if endpoint is not None:
            entity["Properties"]["azureml.pipelineEndpointId"] = str(endpoint["Id"])
            entity["Properties"]["azureml.pipelineEndpointVersion"] = str(endpoint["Version"])
        if parent_run_id:
            entity["Properties"]["azureml.parentRunId"] = parent_run_id

        self.store.put(RUN, run_id, entity)
        try:
            self.runner.submit(spec)
        except ValueError as error:
            self.store.delete(RUN, run_id)
            raise BadRequest(f"The pipeline cannot be run: {error}") from None
        logger.info("Submitted pipeline %s as run %s", pipeline.get("Id"), run_id)
        return self._serve_run(entity)

    def _source(self, pipeline: Mapping[str, Any]) -> PipelineSource:
        """The graph, interface, modules and data sources of a published pipeline."""
        graph_id = str(pipeline.get("GraphId"))
        graph = self._require(GRAPH, graph_id, "Graph")
        modules: dict[str, Mapping[str, Any]] = {}
        for node in graph.get("ModuleNodes") or []:
            module_id = str(node.get("ModuleId"))
            stored = self.store.get(MODULE, module_id)
            if stored is not None:
                modules[module_id] = wire.serve_module(stored)
        sources: dict[str, Mapping[str, Any]] = {}
        for node in graph.get("DatasetNodes") or []:
            source_id = node.get("DatasetId")
            found = self.store.get(DATA_SOURCE, str(source_id)) if source_id else None
            if found is not None:
                sources[str(source_id)] = found
        interface = self.store.get(INTERFACE, graph_id) or {}
        return PipelineSource(pipeline, graph, interface, modules, sources)

    def _datastore_blob_exists(self, path: str) -> bool:
        config = self.ctx.config
        return (
            self.store.get_blob(config.storage_account, config.datastore_container, path)
            is not None
        )

    def _run_entity(
        self,
        pipeline: Mapping[str, Any],
        submission: Mapping[str, Any],
        parameters: Mapping[str, str],
        run_id: str,
        tags: Mapping[str, str],
    ) -> dict[str, Any]:
        """The stored ``PipelineRunEntity`` (``Status`` is added when served)."""
        entity: dict[str, Any] = {
            "Id": run_id,
            "Description": submission.get("Description") or submission.get("ExperimentName"),
            "PipelineId": pipeline.get("Id"),
            "GraphId": pipeline.get("GraphId"),
            "ScheduleId": submission.get("ScheduleId"),
            "IsSubmitted": True,
            "HasWarnings": False,
            "UploadState": "Completed",
            "ParameterAssignments": dict(parameters),
            "DataPathAssignments": submission.get("DataPathAssignments") or {},
            "DataSetDefinitionValueAssignments": (
                submission.get("DataSetDefinitionValueAssignments") or {}
            ),
            "RunHistoryExperimentName": submission.get("ExperimentName"),
            "RunSource": submission.get("RunSource") or "API",
            "RunType": submission.get("RunType") or "HTTP",
            "TotalRunSteps": len(
                self._require(GRAPH, str(pipeline.get("GraphId")), "Graph").get("ModuleNodes") or []
            ),
            "tags": dict(tags),
            "Properties": {str(k): str(v) for k, v in (submission.get("Properties") or {}).items()},
            "EntityStatus": "Active",
        }
        self._stamp(entity, created=True)
        return entity

    # -- reads ---------------------------------------------------------------------------

    def get_pipeline_run(self, run_id: str) -> dict[str, Any]:
        """``GET /PipelineRuns/{id}``: the entity with ``Status`` from the runner's record."""
        return self._serve_run(self._require(RUN, run_id, "PipelineRun"))

    def list_pipeline_runs(self, pipeline_id: str) -> list[dict[str, Any]]:
        """``GET /PipelineRuns/Pipeline/{pipelineId}``: the runs of a published pipeline."""
        self._require(PIPELINE, pipeline_id, "Pipeline")
        runs = self.store.find(RUN, "PipelineId", pipeline_id)
        return [self._serve_run(run) for run in runs]

    def _serve_run(self, entity: Mapping[str, Any]) -> dict[str, Any]:
        served = dict(entity)
        record = self.runner.get(str(entity["Id"])) or {}
        code = _PIPELINE_STATUS.get(str(record.get("status")), "NotStarted")
        error = record.get("error") or {}
        served["Status"] = {
            "StatusCode": code,
            "StatusDetail": error.get("message") if error else None,
            "CreationTime": record.get("createdUtc") or entity.get("CreatedDate"),
            "EndTime": record.get("endTimeUtc"),
        }
        served["HasErrors"] = code == "Failed"
        return served


def _tags(submission: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The submission's tags: the SDK sends ``tags``, Microsoft's docs show ``Tags``."""
    tags = submission.get("tags") or submission.get("Tags")
    return tags if isinstance(tags, dict) else None
