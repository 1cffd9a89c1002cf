"""The data nodes of a v1 graph, in their three forms (reference §6).

- ``DatasetId``: a ``DataReference`` whose location is in a DataSource entity (quirk Q6: the
  id names a DataSource, not a dataset);
- ``DataPathParameterName``: a datastore path pipeline parameter, default in the interface;
- ``DataSetDefinition``: a registered or saved dataset, or a dataset pipeline parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrate_kit.v1._wire import Unavailable, as_list, as_map, as_text, enum_table, lookup_enum
from migrate_kit.v1.models import DataInput, DataInputKind, Edge

__all__ = ["parse_data_input"]

# DataReference.Type -> (name, key of the matching *Reference object in DataLocation.DataReference)
_REFERENCE_TYPE = enum_table(
    (("AzureBlob", "AzureBlobReference"), "1", ("AzureBlob",)),
    (("AzureDataLake", "AzureDataLakeReference"), "2", ("AzureDataLake",)),
    (("AzureFiles", "AzureFilesReference"), "3", ("AzureFiles",)),
    (("AzureSqlDatabase", "AzureSqlDatabaseReference"), "4", ("AzureSqlDatabase",)),
    (("AzurePostgresDatabase", "AzurePostgresDatabaseReference"), "5", ("AzurePostgresDatabase",)),
    (
        ("AzureDataLakeGen2", "AzureDataLakeGen2Reference"),
        "6",
        ("AzureDataLakeGen2", "AzureDataLakeGen2Reference"),
    ),
    (("DBFS", "DBFSReference"), "7", ("DBFS",)),
    (("AzureMySqlDatabase", "AzureMySqlDatabaseReference"), "8", ("AzureMySqlDatabase",)),
)


def parse_data_input(
    node: Mapping[str, Any],
    interface: Mapping[str, Any],
    data_sources: Mapping[str, Mapping[str, Any] | Unavailable],
    edges: tuple[Edge, ...],
) -> DataInput:
    """Read one dataset node in whichever of its three forms it comes (reference §6)."""
    node_id = as_text(node.get("Id")) or ""
    consumer_port = next(
        (e.dest_port for e in edges if e.source_node == node_id and e.dest_port), None
    )
    source_id = as_text(node.get("DatasetId"))
    parameter = as_text(node.get("DataPathParameterName"))
    definition = node.get("DataSetDefinition")

    if source_id:
        return _data_reference(node_id, source_id, data_sources.get(source_id))
    if parameter:
        return _datapath_parameter(node_id, parameter, interface)
    if isinstance(definition, Mapping):
        return _dataset(node_id, definition, interface, consumer_port)
    return DataInput(
        node_id=node_id,
        kind=DataInputKind.DATASET,
        name=consumer_port or node_id,
        problems=(
            "the data node has none of DatasetId, DataPathParameterName or DataSetDefinition",
        ),
    )


def _data_reference(
    node_id: str, source_id: str, source: Mapping[str, Any] | Unavailable | None
) -> DataInput:
    """A ``DataReference`` input: location from the ``DataSourceEntity`` it points at."""
    if not isinstance(source, Mapping):
        reason = source.reason if isinstance(source, Unavailable) else "it was not fetched"
        return DataInput(
            node_id=node_id,
            kind=DataInputKind.DATA_REFERENCE,
            name=source_id,
            problems=(f"data source {source_id!r} could not be read: {reason}",),
        )

    problems: list[str] = []
    reference = as_map(as_map(source.get("DataLocation")).get("DataReference"))
    found = lookup_enum(reference.get("Type"), _REFERENCE_TYPE, "DataReference.Type", problems)
    if found is not None:
        type_name: str | None = found[0]
        key = found[1]
    else:  # no or unknown Type: use whichever *Reference object is present
        key = next((k for k in reference if k.endswith("Reference")), "")
        type_name = key.removesuffix("Reference") or None
    location = as_map(reference.get(key)) if key else {}
    path = next(
        (
            as_text(location.get(k))
            for k in ("RelativePath", "TableName", "SqlQuery", "StoredProcedureName")
            if location.get(k)
        ),
        None,
    )
    if not location:
        problems.append(f"data source {source_id!r} has no readable DataLocation")
    return DataInput(
        node_id=node_id,
        kind=DataInputKind.DATA_REFERENCE,
        name=as_text(source.get("Name")) or source_id,
        datastore=as_text(location.get("AmlDataStoreName")),
        path=path,
        reference_type=type_name,
        problems=tuple(problems),
    )


def _datapath_parameter(node_id: str, name: str, interface: Mapping[str, Any]) -> DataInput:
    """A ``DataPath`` pipeline parameter: its default comes from ``DataPathParameters``."""
    declared = _named(interface.get("DataPathParameters"), name)
    default = as_map(declared.get("DefaultValue")) if declared else {}
    problems = () if declared else (f"data path parameter {name!r} is not in the interface",)
    return DataInput(
        node_id=node_id,
        kind=DataInputKind.DATAPATH_PARAMETER,
        name=name,
        datastore=as_text(default.get("DataStoreName")),
        path=as_text(default.get("RelativePath")),
        parameter_name=name,
        problems=problems,
    )


def _dataset(
    node_id: str,
    definition: Mapping[str, Any],
    interface: Mapping[str, Any],
    consumer_port: str | None,
) -> DataInput:
    """A ``DataSetDefinition``: a registered/saved dataset, or a dataset pipeline parameter."""
    parameter = as_text(definition.get("ParameterName"))
    problems: list[str] = []
    value = as_map(definition.get("Value"))
    if parameter:
        declared = _named(interface.get("DataPathParameterList"), parameter)
        if declared is None:
            problems.append(f"dataset parameter {parameter!r} is not in the interface")
        value = as_map((declared or {}).get("DefaultValue")) or value

    registered = as_map(value.get("DataSetReference"))
    saved = as_map(value.get("SavedDataSetReference"))
    literal = as_map(value.get("LiteralValue"))
    if not (registered or saved or literal or parameter):
        problems.append("the dataset node names no dataset")
    return DataInput(
        node_id=node_id,
        kind=DataInputKind.DATASET_PARAMETER if parameter else DataInputKind.DATASET,
        name=parameter or consumer_port or as_text(registered.get("Name")) or node_id,
        datastore=as_text(literal.get("DataStoreName")),
        path=as_text(literal.get("RelativePath")),
        parameter_name=parameter,
        dataset_id=as_text(registered.get("Id") or saved.get("Id")),
        dataset_version=as_text(registered.get("Version")),
        problems=tuple(problems),
    )


def _named(items: Any, name: str) -> Mapping[str, Any] | None:
    """Return the entry of a list of objects whose ``Name`` is ``name``."""
    for item in as_list(items):
        entry = as_map(item)
        if as_text(entry.get("Name")) == name:
            return entry
    return None
