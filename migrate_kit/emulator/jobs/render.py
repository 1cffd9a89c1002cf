"""How jobs and runs look on the wire: ARM job resources and run-history runs.

A pipeline job is kept in two places: the ``jobs.job`` entity (what was submitted, written once
by the invoke) and the runner's records (status, times, errors, logs; ``runner.run``). Every
read merges the two, so the status is always the runner's current one.

Shapes:

- ``job_resource``: ARM ``JobBase`` of a pipeline job (``properties.jobType: "Pipeline"``),
  with inputs and outputs in the *job* enum form (``{"jobInputType": "uri_folder", "uri"}``,
  ``{"jobInputType": "literal", "value": "<text>"}``; v2-wire.md §4g pitfall 5);
- ``child_stub``: what ``GET {ws}/jobs/<child>`` answers for a pipeline's child, a resource with
  ``"properties": null``: azure-ai-ml then reads the child from run history, as against Azure;
- ``history_run`` / ``run_details``: run history v1.0 ``Run`` and ``RunDetails`` (camelCase).
"""

from __future__ import annotations

import uuid
from typing import Any

from migrate_kit.emulator.config import EmulatorConfig
from migrate_kit.emulator.jobs.uris import long_datastore_uri, short_datastore_uri
from migrate_kit.emulator.runner.model import DataRef

__all__ = [
    "JOB_TYPE",
    "asset_id",
    "child_stub",
    "history_run",
    "job_resource",
    "parse_asset_id",
    "ref_of",
    "resolved_uri",
    "run_details",
]

JOB_TYPE = "Microsoft.MachineLearningServices/workspaces/jobs"
_ASSET_MARK = "_output_data_"
_NAMESPACE = uuid.UUID("6f1d3c2a-9b7e-4d5f-8a1c-2e3b4c5d6e7f")


def ref_of(stored: dict[str, Any]) -> DataRef:
    """A ``DataRef`` from its stored form ``{"account", "container", "path", "kind"}``."""
    if stored.get("kind") == "uri_file":
        return DataRef(stored["account"], stored["container"], stored["path"], "uri_file")
    return DataRef(stored["account"], stored["container"], stored["path"], "uri_folder")


def _job_input(value: dict[str, Any], config: EmulatorConfig) -> dict[str, Any]:
    if "data" in value:
        ref = ref_of(value["data"])
        return {
            "jobInputType": ref.kind,
            "uri": short_datastore_uri(ref, config),
            "mode": "ReadOnlyMount",
        }
    return {"jobInputType": "literal", "value": str(value.get("literal", ""))}


def _job_output(stored: dict[str, Any], config: EmulatorConfig) -> dict[str, Any]:
    ref = ref_of(stored)
    return {
        "jobOutputType": ref.kind,
        "uri": short_datastore_uri(ref, config),
        "mode": "ReadWriteMount",
    }


def job_resource(
    job: dict[str, Any], record: dict[str, Any] | None, config: EmulatorConfig
) -> dict[str, Any]:
    """The ARM resource of a pipeline job (``jobs.job`` entity merged with its run record)."""
    name = job["name"]
    settings = job.get("settings") or {}
    compute = settings.get("default_compute")
    compute_id = f"{config.arm_id}/computes/{compute}" if compute else None
    # No "&tid=": azure-ai-ml appends the tenant from the caller's token to the Studio endpoint
    # itself (JobOperations._append_tid_to_studio_url), so the service sends it without.
    studio = f"https://ml.azure.com/runs/{name}?wsid={config.arm_id}"
    return {
        "id": f"{config.arm_id}/jobs/{name}",
        "name": name,
        "type": JOB_TYPE,
        "systemData": {
            "createdAt": job["createdAt"],
            "createdBy": "emulator",
            "createdByType": "Application",
        },
        "properties": {
            "jobType": "Pipeline",
            "status": record["status"] if record else "NotStarted",
            "displayName": job.get("displayName") or name,
            "description": job.get("description"),
            "experimentName": job["experimentName"],
            "tags": job.get("tags") or {},
            "properties": job.get("properties") or {},
            "isArchived": False,
            "computeId": compute_id,
            "componentId": job.get("componentId"),
            "inputs": {n: _job_input(v, config) for n, v in (job.get("inputs") or {}).items()},
            "outputs": {n: _job_output(v, config) for n, v in (job.get("outputs") or {}).items()},
            "jobs": job.get("jobs") or {},
            "settings": {k: v for k, v in settings.items() if v is not None},
            "services": {
                "Studio": {"jobServiceType": "Studio", "endpoint": studio},
                "Tracking": {
                    "jobServiceType": "Tracking",
                    "endpoint": f"azureml://{config.region}.api.azureml.ms/mlflow/v1.0"
                    f"{config.arm_id}?",
                },
            },
            "sourceJobId": None,
        },
    }


def child_stub(run_id: str, config: EmulatorConfig) -> dict[str, Any]:
    """The ARM answer for a run that is not a top-level job (``properties: null``)."""
    return {
        "id": f"{config.arm_id}/jobs/{run_id}",
        "name": run_id,
        "type": JOB_TYPE,
        "properties": None,
    }


def asset_id(run_id: str, output: str, config: EmulatorConfig) -> str:
    """The data asset id run history gives a run's output (resolved by ``parse_asset_id``)."""
    return (
        f"azureml://locations/{config.region}/workspaces/{config.workspace_id}/data/"
        f"azureml_{run_id}{_ASSET_MARK}{output}/versions/1"
    )


def parse_asset_id(value: str) -> tuple[str, str] | None:
    """``(run id, output name)`` of an ``asset_id``, or None."""
    _, sep, rest = value.partition("/data/azureml_")
    if not sep or not rest.endswith("/versions/1"):
        return None
    run_id, mark, output = rest.removesuffix("/versions/1").rpartition(_ASSET_MARK)
    return (run_id, output) if mark and run_id and output else None


def _uuid(text: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, text))


def _error(
    record: dict[str, Any], children: list[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """Run history's ``ErrorResponse``; a pipeline's lists its failed steps' errors as
    ``details`` (so ``jobs.stream`` shows what failed, stderr included)."""
    error = record.get("error")
    if not error:
        return None
    root: dict[str, Any] = {
        "code": error.get("code", "SystemError"),
        "message": error.get("message"),
    }
    details = [
        {
            "code": child["error"].get("code", "SystemError"),
            "message": child["error"].get("message"),
            "target": child.get("stepName") or child["runId"],
        }
        for child in children or []
        if child.get("status") == "Failed" and child.get("error")
    ]
    if details:
        root["details"] = details
    return {"error": root}


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items() if v is not None}


def history_run(
    record: dict[str, Any],
    config: EmulatorConfig,
    outputs: dict[str, Any] | None = None,
    children: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A run record as run history's ``Run``; ``outputs`` (stored ``DataRef`` forms) default
    to the record's own; ``children`` (a pipeline's step records) fill the error details."""
    run_id = record["runId"]
    is_step = record.get("parentRunId") is not None
    outputs = record.get("outputs") if outputs is None else outputs
    return {
        "runId": run_id,
        "runUuid": _uuid(run_id),
        "parentRunId": record.get("parentRunId"),
        "rootRunId": record.get("rootRunId") or run_id,
        "parentRunUuid": _uuid(record["parentRunId"]) if is_step else None,
        "rootRunUuid": _uuid(record.get("rootRunId") or run_id),
        "experimentId": _uuid(record.get("experimentName") or ""),
        "status": record.get("status"),
        "displayName": record.get("displayName"),
        "name": record.get("stepName") or record.get("displayName"),
        "description": None,
        "createdUtc": record.get("createdUtc"),
        "startTimeUtc": record.get("startTimeUtc"),
        "endTimeUtc": record.get("endTimeUtc"),
        "error": _error(record, children),
        "warnings": [],
        "hidden": False,
        "runType": "azureml.StepRun" if is_step else "azureml.PipelineRun",
        "target": record.get("compute"),
        "properties": {
            **_strings(record.get("properties")),
            "azureml.runsource": "azureml.StepRun" if is_step else "azureml.PipelineRun",
            "azureml.environment": str(record.get("environment") or ""),
            "azureml.environmentBuilt": "false",
        },
        "tags": _strings(record.get("tags")),
        "inputs": {},
        "outputs": {
            name: {"assetId": asset_id(run_id, name, config), "type": ref_of(stored).kind}
            for name, stored in (outputs or {}).items()
        },
    }


def run_details(
    record: dict[str, Any],
    log_files: dict[str, str],
    children: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run history's ``RunDetails``: status, error and the SAS URLs of the run's logs."""
    run_id = record["runId"]
    return {
        "runId": run_id,
        "runUuid": _uuid(run_id),
        "parentRunId": record.get("parentRunId"),
        "rootRunId": record.get("rootRunId") or run_id,
        "target": record.get("compute"),
        "status": record.get("status"),
        "createdTimeUtc": record.get("createdUtc"),
        "startTimeUtc": record.get("startTimeUtc"),
        "endTimeUtc": record.get("endTimeUtc"),
        "error": _error(record, children),
        "warnings": [],
        "tags": _strings(record.get("tags")),
        "properties": _strings(record.get("properties")),
        "logFiles": log_files,
    }


def resolved_uri(ref: DataRef, config: EmulatorConfig) -> dict[str, str]:
    """The data-plane answer for one output asset: its long-form datastore URI."""
    return {"uri": long_datastore_uri(ref, config), "type": ref.kind}
