"""Typed, immutable models of what a v1 workspace holds.

The v1 reader (``migrate_kit.v1.reader``) builds these from the wire; nothing here knows HTTP or
SDK v2. Every object is a frozen dataclass; mappings are read-only views. A model that could not
be read completely carries ``problems``: plain sentences saying what is wrong, so a table row can
show them instead of the whole read failing.
"""

from __future__ import annotations

import copyreg
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

__all__ = [
    "Argument",
    "ArgumentKind",
    "CodeSnapshot",
    "DataInput",
    "DataInputKind",
    "Edge",
    "EndpointVersion",
    "EntityStatus",
    "Graph",
    "GraphParameter",
    "ParameterType",
    "PipelineEndpoint",
    "Port",
    "PublishedPipeline",
    "Step",
    "frozen_map",
]


def frozen_map(items: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """Return a read-only copy of ``items`` (empty when ``None``)."""
    return MappingProxyType(dict(items or {}))


def _reduce_mapping_proxy(proxy: MappingProxyType[str, str]) -> tuple[Any, tuple[Any, ...]]:
    return frozen_map, (dict(proxy),)


# Models cross process boundaries (the reader's helper process, ``_worker.py``) as pickles;
# pickle cannot copy a read-only view by itself, so it is rebuilt from a plain dict.
copyreg.pickle(MappingProxyType, _reduce_mapping_proxy)


class EntityStatus(str, enum.Enum):
    """Status of a v1 published pipeline or pipeline endpoint (wire: name or 0/1/2)."""

    ACTIVE = "Active"
    DEPRECATED = "Deprecated"
    DISABLED = "Disabled"
    UNKNOWN = "Unknown"


class ParameterType(str, enum.Enum):
    """Type of a pipeline parameter (wire ``Parameter.Type``: 0 Int, 1 Double, 2 Bool, 3 String).

    The v1 SDK sends Python ``bool`` parameters as Int (``isinstance(True, int)``); the reader
    turns an Int parameter whose default is ``True``/``False`` back into ``BOOL``.
    """

    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STRING = "string"
    OTHER = "other"
    UNKNOWN = "unknown"  # not read: the inventory skips graph interfaces (see V1Reader)


class ArgumentKind(str, enum.Enum):
    """Kind of one structured argument token (wire ``ArgumentAssignment.ValueType``)."""

    LITERAL = "literal"
    INPUT = "input"
    OUTPUT = "output"
    PARAMETER = "parameter"


class DataInputKind(str, enum.Enum):
    """How a data node enters a v1 graph."""

    DATA_REFERENCE = "data_reference"  # DatasetId -> a DataSource entity
    DATAPATH_PARAMETER = "datapath_parameter"  # DataPathParameterName -> graph interface
    DATASET = "dataset"  # DataSetDefinition with a registered or saved dataset
    DATASET_PARAMETER = "dataset_parameter"  # DataSetDefinition.ParameterName


@dataclass(frozen=True)
class GraphParameter:
    """A scalar pipeline parameter declared in the graph interface."""

    name: str
    type: ParameterType
    default: str | None
    optional: bool = True


@dataclass(frozen=True)
class Argument:
    """One token of a step's command line, e.g. ``--lr`` (literal) or a parameter reference."""

    kind: ArgumentKind
    value: str


@dataclass(frozen=True)
class Port:
    """A module input or output port (hidden ``_run_after_*`` ports are dropped by the reader)."""

    name: str
    data_types: tuple[str, ...] = ()
    optional: bool = False
    datastore: str | None = None
    mode: str | None = None  # lower-case v1 bind mode: mount, download, upload, hdfs
    dataset_output: bool = False  # an OutputFileDatasetConfig output


@dataclass(frozen=True)
class CodeSnapshot:
    """Where a module's source code lives (content service snapshot id)."""

    snapshot_id: str
    storage_type: str | None = None


@dataclass(frozen=True)
class Step:
    """One module node of a v1 graph, merged with the module it points at."""

    node_id: str
    module_id: str
    name: str
    step_type: str  # v1 class name, e.g. "PythonScriptStep"; "" when unknown
    execution_type: str | None = None  # ModuleExecutionType, e.g. "escloud"
    module_type: str | None = None  # ModuleType, e.g. "BatchInferencing"
    script: str | None = None
    command: str | None = None
    arguments: tuple[Argument, ...] = ()
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    literal_parameters: Mapping[str, str] = field(default_factory=frozen_map)
    parameter_bindings: Mapping[str, str] = field(default_factory=frozen_map)  # module -> graph
    metadata_parameters: Mapping[str, str] = field(default_factory=frozen_map)
    compute: str | None = None
    runconfig: str | None = None  # raw JSON text of the v1 RunConfiguration
    snapshot: CodeSnapshot | None = None
    allow_reuse: bool = True
    description: str | None = None
    module_read: bool = True  # False when the step's module could not be read
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataInput:
    """A data node of a v1 graph: a data reference, a datastore path parameter or a dataset."""

    node_id: str
    kind: DataInputKind
    name: str
    datastore: str | None = None
    path: str | None = None
    parameter_name: str | None = None
    dataset_id: str | None = None
    dataset_version: str | None = None
    reference_type: str | None = None  # DataReference.Type name, e.g. "AzureBlob"
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Edge:
    """A connection from a node output port to a node input port or to a pipeline output."""

    source_node: str
    source_port: str
    dest_node: str | None = None
    dest_port: str | None = None
    graph_port_name: str | None = None  # set when the destination is a pipeline-level output


@dataclass(frozen=True)
class Graph:
    """The steps, data nodes, edges and parameters of one published pipeline."""

    id: str
    steps: tuple[Step, ...] = ()
    data_inputs: tuple[DataInput, ...] = ()
    edges: tuple[Edge, ...] = ()
    parameters: tuple[GraphParameter, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishedPipeline:
    """A v1 published pipeline (``PipelineEntity``), with its graph when it was read."""

    id: str
    name: str
    description: str | None = None
    version: str | None = None
    status: EntityStatus = EntityStatus.UNKNOWN
    graph_id: str | None = None
    url: str | None = None
    total_run_steps: int | None = None
    parameter_defaults: Mapping[str, str] = field(default_factory=frozen_map)
    continue_on_step_failure: bool | None = None
    created: datetime | None = None
    modified: datetime | None = None
    graph: Graph | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointVersion:
    """One version of a pipeline endpoint: a version label and the published pipeline it runs."""

    version: str
    pipeline_id: str


@dataclass(frozen=True)
class PipelineEndpoint:
    """A v1 pipeline endpoint (``PipelineEndpointEntity``) with its versions and default."""

    id: str
    name: str
    description: str | None = None
    status: EntityStatus = EntityStatus.UNKNOWN
    default_version: str | None = None
    versions: tuple[EndpointVersion, ...] = ()
    url: str | None = None
    created: datetime | None = None
    modified: datetime | None = None
    problems: tuple[str, ...] = ()
