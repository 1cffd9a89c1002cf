"""What a v1 pipeline run's answers mean: run and step statuses, and where a step output is.

``PipelinesClient`` returns the service's JSON as it is (``get_run``, ``get_node_statuses``,
``get_node_outputs``); these functions read the parts migrate_kit needs, the way the v1 SDK
reads them (reference §1 enum encoding, §3.8): status codes come as names or as numbers, in
JSON numbers or numeric strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RUN_TERMINAL",
    "OutputLocation",
    "output_location",
    "run_status",
    "step_status",
]

# PipelineRunStatusCode and TaskStatusCode, by their numbers (reference §1).
_RUN_CODES = ("NotStarted", "Running", "Failed", "Finished", "Canceled")
_TASK_CODES = (
    "NotStarted",
    "Queued",
    "Running",
    "Failed",
    "Finished",
    "Canceled",
    "PartiallyExecuted",
    "Bypassed",
)
#: Run statuses after which nothing changes.
RUN_TERMINAL = frozenset({"Finished", "Failed", "Canceled"})


def _status(code: Any, names: tuple[str, ...]) -> str:
    text = str(code).strip() if code is not None else ""
    if text.isdigit() and int(text) < len(names):
        return names[int(text)]
    return text or names[0]


def run_status(run: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(status, detail)`` of a ``PipelineRunEntity``: ``NotStarted`` when it has no status."""
    status = run.get("Status") or {}
    return _status(status.get("StatusCode"), _RUN_CODES), status.get("StatusDetail") or None


def step_status(task: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(status, detail)`` of a step's ``TaskStatus``."""
    return _status(task.get("StatusCode"), _TASK_CODES), task.get("StatusDetail") or None


@dataclass(frozen=True)
class OutputLocation:
    """Where a step output's files are: a folder of a workspace datastore, or of a storage
    container (``account``, ``container``) when the service names no datastore."""

    path: str  # relative to the datastore's (container's) root, no leading or trailing "/"
    datastore: str | None = None
    account: str | None = None
    container: str | None = None
    uri: str | None = None


def output_location(output: Mapping[str, Any]) -> OutputLocation | None:
    """The location of a ``NodeOutput`` (its ``DataLocation.DataReference``), or None.

    The v1 client model puts the reference under a key named after its type
    (``AzureBlobReference``, ``AzureDataLakeGen2Reference``, ...), each with ``RelativePath``
    and ``AmlDataStoreName``. Which fields the live service fills for a step output is
    unconfirmed (reference §15): the datastore name is used when given, the storage account
    and container otherwise.
    """
    location = output.get("DataLocation") or {}
    reference = location.get("DataReference") or {}
    for key, value in reference.items():
        if not key.endswith("Reference") or not isinstance(value, Mapping):
            continue
        path = value.get("RelativePath")
        if path is None:
            continue
        return OutputLocation(
            path=str(path).strip("/"),
            datastore=value.get("AmlDataStoreName") or None,
            account=value.get("Account") or None,
            container=value.get("Container") or value.get("FileSystemName") or None,
            uri=value.get("Uri") or location.get("Uri") or None,
        )
    return None
