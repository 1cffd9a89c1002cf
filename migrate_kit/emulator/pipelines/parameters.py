"""Parameter values of a v1 run: the published pipeline's, overridden by the submission's.

``ParameterAssignments`` of the pipeline hold the graph interface defaults (``wire.
parameter_assignments``); a submission may override scalar parameters (``ParameterAssignments``,
values stringified as the SDK does), DataPath parameters (``DataPathAssignments``, or a
``"<datastore>/<path>"`` string in ``ParameterAssignments``) and dataset parameters
(``DataSetDefinitionValueAssignments``). Names the pipeline does not declare are collected for
the caller, which refuses the submission.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PipelineSource", "Resolved", "resolve_parameters"]


@dataclass(frozen=True)
class PipelineSource:
    """What a published pipeline is made of, read from the store by the caller."""

    pipeline: Mapping[str, Any]
    graph: Mapping[str, Any]
    interface: Mapping[str, Any]
    #: Module id -> the served ``{"Data", "Interface"}`` wrapper.
    modules: Mapping[str, Mapping[str, Any]]
    #: Data source id -> DataSourceEntity.
    data_sources: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Resolved:
    """The values a run uses: scalar parameters, DataPath parameters, dataset parameters."""

    parameters: Mapping[str, str]
    #: Name -> ``(datastore, relative path)``.
    data_paths: Mapping[str, tuple[str, str]]
    datasets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def resolve_parameters(
    source: PipelineSource, submission: Mapping[str, Any]
) -> tuple[Resolved, list[str]]:
    """Merge the submission's assignments over the pipeline's; also list unknown names.

    The caller turns the unknown names into the service's 400 answer.
    """
    parameters = {
        str(k): str(v) for k, v in (source.pipeline.get("ParameterAssignments") or {}).items()
    }
    data_paths: dict[str, tuple[str, str]] = {}
    for item in source.interface.get("DataPathParameters") or []:
        default = item.get("DefaultValue") or {}
        data_paths[str(item.get("Name"))] = (
            str(default.get("DataStoreName") or ""),
            str(default.get("RelativePath") or ""),
        )
        parameters.pop(str(item.get("Name")), None)  # its string form is not a scalar value
    datasets = {
        str(item.get("Name")): item.get("DefaultValue") or {}
        for item in source.interface.get("DataPathParameterList") or []
    }
    datasets.update(source.pipeline.get("DataSetDefinitionValueAssignments") or {})
    scalar_names = {str(p.get("Name")) for p in source.interface.get("Parameters") or []}

    unknown: list[str] = []
    for name, value in (submission.get("ParameterAssignments") or {}).items():
        if name in scalar_names:
            parameters[name] = _text(value)
        elif name in data_paths:  # a DataPath given as "<datastore>/<path>" text
            store, _, path = str(value).partition("/")
            data_paths[name] = (store, path)
        else:
            unknown.append(f"ParameterAssignments.{name}")
    for name, value in (submission.get("DataPathAssignments") or {}).items():
        if name not in data_paths or not isinstance(value, dict):
            unknown.append(f"DataPathAssignments.{name}")
            continue
        data_paths[name] = (
            str(value.get("DataStoreName") or data_paths[name][0]),
            str(value.get("RelativePath") or ""),
        )
    for name, value in (submission.get("DataSetDefinitionValueAssignments") or {}).items():
        if name not in datasets:
            unknown.append(f"DataSetDefinitionValueAssignments.{name}")
        datasets[name] = value or {}
    return Resolved(parameters, data_paths, datasets), unknown


def _text(value: Any) -> str:
    """A parameter value as the SDK stringifies it (Python ``str``; JSON true -> ``True``)."""
    if isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else json.dumps(value)
