"""Pure functions from v1 pipelines-service JSON (already decoded) to ``migrate_kit.v1.models``.

Nothing here does I/O or raises on odd input. Enums are accepted as int, numeric string or name
in any case (reference §1); a value that is present but unknown, a missing module or data
source, and any other gap become a sentence in the ``problems`` of the affected model, so one bad
entity never hides the others.

Entry points: ``parse_pipeline``, ``parse_endpoint``, ``parse_graph`` (with the module and data
source bodies the reader fetched: see ``module_ids`` and ``data_source_ids``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrate_kit.v1._data import parse_data_input
from migrate_kit.v1._steps import parse_step
from migrate_kit.v1._wire import (
    Unavailable,
    as_bool,
    as_int,
    as_list,
    as_map,
    as_text,
    enum_table,
    lookup_enum,
    parse_datetime,
)
from migrate_kit.v1.models import (
    Edge,
    EndpointVersion,
    EntityStatus,
    Graph,
    GraphParameter,
    ParameterType,
    PipelineEndpoint,
    PublishedPipeline,
    Step,
    frozen_map,
)

__all__ = [
    "Unavailable",
    "data_source_ids",
    "module_ids",
    "parse_endpoint",
    "parse_entity_status",
    "parse_graph",
    "parse_parameter_type",
    "parse_pipeline",
    "uses_parameters",
]


_STATUS = enum_table(
    (EntityStatus.ACTIVE, "0", ("Active",)),
    (EntityStatus.DEPRECATED, "1", ("Deprecated",)),
    (EntityStatus.DISABLED, "2", ("Disabled",)),
)

_PARAMETER_TYPE = enum_table(
    (ParameterType.INT, "0", ("Int", "Integer")),
    (ParameterType.FLOAT, "1", ("Double", "Float")),
    (ParameterType.BOOL, "2", ("Bool", "Boolean")),
    (ParameterType.STRING, "3", ("String",)),
    (ParameterType.OTHER, "4", ("Undefined",)),
)


def parse_entity_status(value: Any, problems: list[str]) -> EntityStatus:
    """Read ``EntityStatus`` (0/1/2 or a name); missing or unknown gives ``UNKNOWN``."""
    return lookup_enum(value, _STATUS, "EntityStatus", problems) or EntityStatus.UNKNOWN


def parse_parameter_type(value: Any, default: str | None, problems: list[str]) -> ParameterType:
    """Read a graph ``Parameter.Type``; an Int whose default is True/False is a bool (quirk Q1)."""
    found = lookup_enum(value, _PARAMETER_TYPE, "parameter Type", problems)
    if found is None:
        return ParameterType.OTHER
    if found is ParameterType.INT and (default or "").strip().lower() in ("true", "false"):
        return ParameterType.BOOL
    return found


def parse_pipeline(wire: Any, graph: Graph | None = None) -> PublishedPipeline:
    """Build a ``PublishedPipeline`` from a ``PipelineEntity`` body (and its graph, if read)."""
    if not isinstance(wire, Mapping):
        return PublishedPipeline(
            id="", name="", problems=(f"expected a pipeline object, got {as_text(wire)!r}",)
        )
    problems: list[str] = []
    pipeline_id = as_text(wire.get("Id")) or ""
    if not pipeline_id:
        problems.append("the pipeline has no Id")
    defaults = {
        str(key): as_text(value) or ""
        for key, value in as_map(wire.get("ParameterAssignments")).items()
    }
    return PublishedPipeline(
        id=pipeline_id,
        name=as_text(wire.get("Name")) or "",
        description=as_text(wire.get("Description")),
        version=as_text(wire.get("Version")),
        status=parse_entity_status(wire.get("EntityStatus"), problems),
        graph_id=as_text(wire.get("GraphId")),
        url=as_text(wire.get("Url")),
        total_run_steps=as_int(wire.get("TotalRunSteps")),
        parameter_defaults=frozen_map(defaults),
        continue_on_step_failure=as_bool(wire.get("ContinueRunOnStepFailure")),
        created=parse_datetime(wire.get("CreatedDate")),
        modified=parse_datetime(wire.get("LastModifiedDate")),
        graph=graph,
        problems=tuple(problems),
    )


def parse_endpoint(wire: Any) -> PipelineEndpoint:
    """Build a ``PipelineEndpoint`` from a ``PipelineEndpointEntity`` body."""
    if not isinstance(wire, Mapping):
        return PipelineEndpoint(
            id="", name="", problems=(f"expected an endpoint object, got {as_text(wire)!r}",)
        )
    problems: list[str] = []
    versions: list[EndpointVersion] = []
    for item in as_list(wire.get("PipelineVersionList")):
        entry = as_map(item)
        version = as_text(entry.get("Version"))
        pipeline_id = as_text(entry.get("PipelineId"))
        if version is None or not pipeline_id:
            problems.append(f"endpoint version entry {as_text(item)} lacks Version or PipelineId")
            continue
        versions.append(EndpointVersion(version=version, pipeline_id=pipeline_id))

    default = as_text(wire.get("DefaultVersion"))
    if default is not None and versions and default not in {v.version for v in versions}:
        problems.append(f"the default version {default!r} is not in the version list")
    return PipelineEndpoint(
        id=as_text(wire.get("Id")) or "",
        name=as_text(wire.get("Name")) or "",
        description=as_text(wire.get("Description")),
        status=parse_entity_status(wire.get("EntityStatus"), problems),
        default_version=default,
        versions=tuple(versions),
        url=as_text(wire.get("Url")),
        created=parse_datetime(wire.get("CreatedDate")),
        modified=parse_datetime(wire.get("LastModifiedDate")),
        problems=tuple(problems),
    )


def module_ids(graph: Any) -> list[str]:
    """Return the distinct ``ModuleId`` values of a graph body, in node order."""
    ids = (as_text(as_map(node).get("ModuleId")) for node in _nodes(graph, "ModuleNodes"))
    return list(dict.fromkeys(i for i in ids if i))


def data_source_ids(graph: Any) -> list[str]:
    """Return the distinct ``DatasetId`` values (DataSource ids, quirk Q6) of a graph body."""
    ids = (as_text(as_map(node).get("DatasetId")) for node in _nodes(graph, "DatasetNodes"))
    return list(dict.fromkeys(i for i in ids if i))


def uses_parameters(graph: Any) -> bool:
    """Whether any node of a graph body refers to a pipeline parameter.

    True for a node parameter bound to a graph parameter (``ValueType`` 1 or its name, or a
    Databricks ``_AML_PARAMETER_`` parameter) and for a data node that is a data path or
    dataset parameter. The reader skips the graph interface call when this is False and the
    pipeline lists no parameter defaults either: the interface could then only declare unused
    parameters, and skipping it saves one call per pipeline.
    """
    for node in _nodes(graph, "ModuleNodes"):
        for item in as_list(as_map(node).get("ModuleParameters")):
            entry = as_map(item)
            value_type = str(entry.get("ValueType", "")).strip().lower()
            name = as_text(entry.get("Name")) or ""
            if value_type in ("1", "graphparametername") or name.startswith("_AML_PARAMETER_"):
                return True
    for node in _nodes(graph, "DatasetNodes"):
        entry = as_map(node)
        definition = as_map(entry.get("DataSetDefinition"))
        if entry.get("DataPathParameterName") or definition.get("ParameterName"):
            return True
    return False


def parse_graph(
    graph: Any,
    interface: Any,
    modules: Mapping[str, Mapping[str, Any] | Unavailable],
    data_sources: Mapping[str, Mapping[str, Any] | Unavailable],
) -> Graph:
    """Assemble a ``Graph`` from a graph body, its interface and the fetched modules/data sources.

    ``interface`` may be ``None`` (or an ``Unavailable``) when it could not be read: parameters
    are then missing and the graph says so. A module or data source missing from the mappings,
    or given as ``Unavailable``, becomes a problem on its step or data input.
    """
    body = as_map(graph)
    problems: list[str] = []
    if not isinstance(graph, Mapping):
        problems.append(f"expected a graph object, got {as_text(graph)!r}")
    if isinstance(interface, Unavailable):
        problems.append(f"the graph interface could not be read: {interface.reason}")
    iface = as_map(interface)

    edges = _edges(body.get("Edges"), problems)
    steps = tuple(_step(as_map(node), modules) for node in _nodes(body, "ModuleNodes"))
    data_inputs = tuple(
        parse_data_input(as_map(node), iface, data_sources, edges)
        for node in _nodes(body, "DatasetNodes")
    )
    return Graph(
        id=as_text(body.get("Id")) or "",
        steps=steps,
        data_inputs=data_inputs,
        edges=edges,
        parameters=_parameters(iface.get("Parameters"), problems),
        problems=tuple(problems),
    )


def _nodes(graph: Any, key: str) -> list[Any]:
    """Return the node list ``key`` of a graph body (empty when absent or malformed)."""
    return as_list(as_map(graph).get(key))


def _step(node: Mapping[str, Any], modules: Mapping[str, Mapping[str, Any] | Unavailable]) -> Step:
    """Parse one module node with its module, or with the reason the module is missing."""
    module_id = as_text(node.get("ModuleId")) or ""
    module = modules.get(module_id)
    if isinstance(module, Unavailable):
        return parse_step(node, None, module.reason)
    if module is None:
        reason = "the node has no ModuleId" if not module_id else "it was not fetched"
        return parse_step(node, None, reason)
    return parse_step(node, module, "")


def _parameters(items: Any, problems: list[str]) -> tuple[GraphParameter, ...]:
    """Read the scalar pipeline parameters of a graph interface."""
    parameters: list[GraphParameter] = []
    for item in as_list(items):
        entry = as_map(item)
        name = as_text(entry.get("Name"))
        if not name:
            problems.append(f"a graph parameter has no name: {as_text(item)}")
            continue
        default = as_text(entry.get("DefaultValue"))
        parameters.append(
            GraphParameter(
                name=name,
                type=parse_parameter_type(entry.get("Type"), default, problems),
                default=default,
                optional=bool(as_bool(entry.get("IsOptional"), True)),
            )
        )
    return tuple(parameters)


def _edges(items: Any, problems: list[str]) -> tuple[Edge, ...]:
    """Read graph edges; a destination with only ``GraphPortName`` is a pipeline-level output.

    Edges between hidden ``_run_after_*`` ports are kept: they are the only trace of a
    ``run_after()`` ordering, even though the ports themselves are not listed on the steps.
    """
    edges: list[Edge] = []
    for item in as_list(items):
        entry = as_map(item)
        source = as_map(entry.get("SourceOutputPort"))
        dest = as_map(entry.get("DestinationInputPort"))
        source_node = as_text(source.get("NodeId"))
        source_port = as_text(source.get("PortName"))
        dest_node = as_text(dest.get("NodeId"))
        graph_port = as_text(dest.get("GraphPortName"))
        if not source_node or not source_port or not (dest_node or graph_port):
            problems.append(f"edge {as_text(item)} lacks a source or a destination; skipped")
            continue
        edges.append(
            Edge(
                source_node=source_node,
                source_port=source_port,
                dest_node=dest_node,
                dest_port=as_text(dest.get("PortName")),
                graph_port_name=graph_port,
            )
        )
    return tuple(edges)
