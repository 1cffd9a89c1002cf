"""The inventory: every v1 published pipeline of a workspace, one row each, with a verdict.

:func:`inventory` reads the workspace through the v1 reader and returns a pandas DataFrame;
:func:`inventory_rows` is the pure part (models in, rows out) that the DataFrame is built from.

Verdicts:

- ``ready``: every step has a v2 counterpart that migrate_kit converts without help.
- ``needs attention``: convertible, but a person should look first (a disabled pipeline, a step
  type that maps to a special v2 job, an input kind batch endpoints refuse, a name clash, or
  something the reader could not make sense of). ``reasons`` says what.
- ``blocked``: cannot be converted as it is (a step with no v2 equivalent, or a graph or module
  that could not be read). ``reasons`` says why and what to do instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from migrate_kit.naming import assign_endpoint_names, endpoint_name, is_valid_endpoint_name
from migrate_kit.v1.models import (
    DataInput,
    DataInputKind,
    EntityStatus,
    ParameterType,
    PipelineEndpoint,
    PublishedPipeline,
)

if TYPE_CHECKING:
    import pandas as pd

    from migrate_kit.connection import Connection
    from migrate_kit.v1.reader import V1Reader

__all__ = [
    "BLOCKED",
    "NEEDS_ATTENTION",
    "READY",
    "InventoryRow",
    "inventory",
    "inventory_rows",
    "read_inventory",
    "rows_to_json",
]

logger = logging.getLogger(__name__)

READY = "ready"
NEEDS_ATTENTION = "needs attention"
BLOCKED = "blocked"

# Step types with no v2 counterpart (Microsoft's step mapping lists none for them).
NO_V2_EQUIVALENT = {
    "DataTransferStep": "copy the data with an Azure Data Factory or Fabric pipeline instead",
    "DatabricksStep": "run the notebook or script as a Databricks job, or port it to a command "
    "step",
    "AdlaStep": "Data Lake Analytics is retired; port the U-SQL script to a Spark step",
    "AzureBatchStep": "port the executable to a command step on a compute cluster",
    "KustoStep": "run the query from a command step with the Kusto client",
    "HDInsightStep": "port the Spark job to a spark component on serverless Spark",
}

# Step types that convert, but to a v2 job kind a person should check.
NEEDS_REVIEW = {
    "ParallelRunStep": "becomes a parallel component; tabular inputs need MLTable, which batch "
    "endpoints do not accept as inputs",
    "HyperDriveStep": "becomes a sweep node; check the search space and primary metric",
    "AutoMLStep": "becomes an automl node; check the task settings",
    "SynapseSparkStep": "becomes a spark component; it needs a Spark compute",
    "EstimatorStep": "its estimator environment must be rebuilt as a v2 environment",
    "MpiStep": "its MPI settings become the command component's distribution",
    "RScriptStep": "becomes a command component running Rscript; check the R environment",
    "ModuleStep": "its module version becomes a command component; check the module's interface",
}

CONVERTIBLE = {"PythonScriptStep", "CommandStep"}


@dataclass
class InventoryRow:
    """One published pipeline, as shown in the inventory table."""

    pipeline_id: str
    pipeline_name: str
    description: str | None
    version: str | None
    status: str
    endpoint: str | None
    endpoint_id: str | None
    endpoint_version: str | None
    is_default: bool
    other_endpoints: list[str]
    v2_endpoint: str
    step_count: int | None
    step_types: list[str]
    steps: list[str]
    parameters: dict[str, str | None]
    parameter_types: dict[str, str]
    data_inputs: list[str]
    created: datetime | None
    modified: datetime | None
    verdict: str
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    url: str | None = None


COLUMNS = [f for f in InventoryRow.__dataclass_fields__]


def inventory(
    source: Connection | V1Reader | None = None,
    *,
    active_only: bool = False,
    max_workers: int = 32,
) -> pd.DataFrame:
    """Read every v1 published pipeline and pipeline endpoint into a DataFrame.

    ``source`` is a :class:`~migrate_kit.connection.Connection`, a ready
    :class:`~migrate_kit.v1.reader.V1Reader`, or ``None`` to resolve the workspace like the
    command line does (config.json found upward, or ``MIGRATE_KIT_CONNECTION_FILE``).
    ``active_only`` leaves out disabled pipelines and endpoints. The columns are the fields of
    :class:`InventoryRow`; one row per published pipeline, sorted by endpoint, then name.
    """
    return to_frame(read_inventory(source, active_only=active_only, max_workers=max_workers))


def read_inventory(
    source: Connection | V1Reader | None = None,
    *,
    active_only: bool = False,
    max_workers: int = 32,
) -> list[InventoryRow]:
    """:func:`inventory` as a list of :class:`InventoryRow` (no pandas involved)."""
    from migrate_kit.connection import Connection, connect
    from migrate_kit.v1.reader import V1Reader

    if source is None:
        source = connect()
    if isinstance(source, Connection):
        client = source.v1_client(max_workers=max_workers)
        reader = V1Reader(client, max_workers=max_workers)
    else:
        reader = source

    endpoints = reader.endpoints(active_only=active_only)
    # Parameter types live in each graph's interface, one request per pipeline; the inventory
    # shows parameters with their defaults (from the pipeline entity) and leaves the types to
    # the plan, which reads each selected pipeline in full.
    pipelines = reader.published_pipelines(active_only=active_only, parameter_types=False)
    logger.info("Read %d published pipelines, %d endpoints", len(pipelines), len(endpoints))
    return inventory_rows(pipelines, endpoints)


def rows_to_json(rows: Iterable[InventoryRow]) -> str:
    """The rows as a JSON array of objects with every field (dates in ISO 8601)."""
    import orjson

    return orjson.dumps(list(rows), option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def to_frame(rows: Iterable[InventoryRow]) -> pd.DataFrame:
    """Build the inventory DataFrame (fixed columns, also when there are no rows)."""
    import pandas as pd

    frame: pd.DataFrame = pd.DataFrame([asdict(row) for row in rows], columns=COLUMNS)
    return frame


def inventory_rows(
    pipelines: Sequence[PublishedPipeline], endpoints: Sequence[PipelineEndpoint]
) -> list[InventoryRow]:
    """Rows for ``pipelines``, linked to the ``endpoints`` whose versions run them."""
    memberships = _memberships(endpoints)
    names = [ep.name for ep in endpoints]
    names += [p.name for p in pipelines if p.id not in memberships]
    v2_names = assign_endpoint_names(names)
    clashes = _clashes(v2_names)

    rows = [_row(p, memberships.get(p.id, []), v2_names, clashes) for p in pipelines]
    rows.sort(
        key=lambda r: (r.endpoint or r.pipeline_name, r.endpoint_version or "", r.version or "")
    )
    return rows


_Membership = tuple[PipelineEndpoint, str]


def _memberships(endpoints: Sequence[PipelineEndpoint]) -> dict[str, list[_Membership]]:
    found: dict[str, list[_Membership]] = {}
    for endpoint in endpoints:
        for version in endpoint.versions:
            found.setdefault(version.pipeline_id, []).append((endpoint, version.version))
    return found


def _clashes(v2_names: dict[str, str]) -> dict[str, list[str]]:
    """For each v1 name, the other v1 names whose plain mapping is the same v2 name."""
    by_plain: dict[str, list[str]] = {}
    for v1_name in v2_names:
        by_plain.setdefault(endpoint_name(v1_name), []).append(v1_name)
    return {
        name: [other for other in group if other != name]
        for group in by_plain.values()
        if len(group) > 1
        for name in group
    }


def _row(
    pipeline: PublishedPipeline,
    memberships: list[_Membership],
    v2_names: dict[str, str],
    clashes: dict[str, list[str]],
) -> InventoryRow:
    endpoint, endpoint_version = memberships[0] if memberships else (None, None)
    v1_name = endpoint.name if endpoint else pipeline.name
    graph = pipeline.graph
    steps = graph.steps if graph else ()
    parameters = graph.parameters if graph else ()
    defaults: dict[str, str | None] = {p.name: p.default for p in parameters}
    for name, value in pipeline.parameter_defaults.items():
        defaults.setdefault(name, value)

    row = InventoryRow(
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.name,
        description=pipeline.description,
        version=pipeline.version,
        status=pipeline.status.value,
        endpoint=endpoint.name if endpoint else None,
        endpoint_id=endpoint.id if endpoint else None,
        endpoint_version=endpoint_version,
        is_default=bool(endpoint and endpoint.default_version == endpoint_version),
        other_endpoints=[f"{ep.name} v{ver}" for ep, ver in memberships[1:]],
        v2_endpoint=v2_names[v1_name],
        step_count=len(steps) if graph else pipeline.total_run_steps,
        step_types=sorted({s.step_type or "unknown" for s in steps}),
        steps=[s.name for s in steps],
        parameters=defaults,
        parameter_types={
            p.name: p.type.value for p in parameters if p.type is not ParameterType.UNKNOWN
        },
        data_inputs=[_describe_input(d) for d in (graph.data_inputs if graph else ())],
        created=pipeline.created,
        modified=pipeline.modified,
        verdict=READY,
        url=pipeline.url,
    )
    _judge(row, pipeline, endpoint, clashes.get(v1_name, []))
    return row


def _judge(
    row: InventoryRow,
    pipeline: PublishedPipeline,
    endpoint: PipelineEndpoint | None,
    clash_with: list[str],
) -> None:
    """Set the verdict, reasons and notes of ``row``."""
    blocked: list[str] = []
    attention: list[str] = []
    graph = pipeline.graph

    if graph is None:
        blocked.append("the pipeline graph could not be read, so its steps are unknown")
    attention.extend(pipeline.problems)
    if graph is not None:
        attention.extend(graph.problems)
        for step in graph.steps:
            label = f"step '{step.name}' ({step.step_type or 'unknown type'})"
            if step.step_type in NO_V2_EQUIVALENT:
                blocked.append(f"{label} has no v2 equivalent: {NO_V2_EQUIVALENT[step.step_type]}")
            elif step.step_type in NEEDS_REVIEW:
                attention.append(f"{label} {NEEDS_REVIEW[step.step_type]}")
            elif step.step_type not in CONVERTIBLE:
                attention.append(f"{label}: unknown v1 step type; check it by hand")
            if not step.module_read:
                blocked.extend(f"{label}: {problem}" for problem in step.problems)
            else:
                attention.extend(f"{label}: {problem}" for problem in step.problems)
            if step.snapshot is None and step.step_type in CONVERTIBLE:
                attention.append(f"{label} has no code snapshot; its source must be supplied")
        for data in graph.data_inputs:
            if data.kind in (DataInputKind.DATASET, DataInputKind.DATASET_PARAMETER):
                attention.append(
                    f"input '{data.name}' is a v1 dataset; batch endpoints take uri_folder or "
                    "uri_file inputs, so point it at the dataset's files"
                )
            attention.extend(f"input '{data.name}': {problem}" for problem in data.problems)

    if pipeline.status is EntityStatus.DISABLED:
        attention.append("the pipeline is disabled in v1; migrate it only if it is still needed")
    if endpoint is not None and endpoint.status is EntityStatus.DISABLED:
        attention.append(f"endpoint '{endpoint.name}' is disabled in v1")
    if endpoint is not None:
        attention.extend(f"endpoint '{endpoint.name}': {problem}" for problem in endpoint.problems)

    v1_name = endpoint.name if endpoint else pipeline.name
    if clash_with:
        others = ", ".join(f"'{name}'" for name in clash_with)
        attention.append(
            f"'{v1_name}' and {others} map to the same v2 endpoint name; this one becomes "
            f"'{row.v2_endpoint}', confirm the names callers will use"
        )
    elif not is_valid_endpoint_name(v1_name):
        row.notes.append(
            f"'{v1_name}' is not a valid v2 endpoint name; it becomes '{row.v2_endpoint}'"
        )

    row.reasons = _unique(blocked + attention)
    row.verdict = BLOCKED if blocked else NEEDS_ATTENTION if attention else READY


def _describe_input(data: DataInput) -> str:
    where = "/".join(part for part in (data.datastore, data.path) if part)
    if data.kind is DataInputKind.DATAPATH_PARAMETER:
        return f"{data.name} (datastore path parameter, default {where or 'none'})"
    if data.kind is DataInputKind.DATA_REFERENCE:
        return f"{data.name} (data reference {where})" if where else f"{data.name} (data reference)"
    dataset = data.dataset_id or data.parameter_name or "?"
    version = f" v{data.dataset_version}" if data.dataset_version else ""
    return f"{data.name} (dataset {dataset}{version})"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def frame_for_output(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with list and dict cells flattened to text, for CSV and terminal tables."""
    flat: pd.DataFrame = frame.copy()
    for column in flat.columns:
        flat[column] = flat[column].map(_flatten)
    return flat


def _flatten(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k}={'' if v is None else v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value
