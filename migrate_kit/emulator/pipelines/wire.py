"""Pure functions that shape v1 pipelines entities: server-derived fields and enum encodings.

Enum rule (reference §1): requests are stored as received; responses use the numeric form where
the v1 SDK reader depends on it (``ParameterAssignment.ValueType``, graph interface
``Parameter.Type``) and the enum name elsewhere (``EntityStatus``, ``UploadState``,
``DataReference.Type``). Which form the live service sends is unconfirmed, so readers must accept
both; the emulator picks the form the SDK reader handles best.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEFAULT_DATA_TYPES",
    "data_reference_type",
    "data_source_location",
    "is_upload_completed",
    "module_interface",
    "parameter_assignments",
    "serve_data_source",
    "serve_graph",
    "serve_interface",
    "serve_module",
    "status_name",
]

# The data types the SDK creates when GET /DataTypes lacks them (reference §2.1 #28, §10).
# Descriptions are ours; the SDK never reads them.
_FILE_TYPES = (
    ("AnyFile", "Any file"),
    ("AzureBlobReference", "Reference to Azure Blob storage"),
    ("AzureDataLakeReference", "Reference to Azure Data Lake storage"),
    ("AzureFilesReference", "Reference to Azure Files storage"),
    ("AzureSqlDatabaseReference", "Reference to an Azure SQL database"),
    ("AzurePostgresDatabaseReference", "Reference to an Azure PostgreSQL database"),
    ("AzureDataLakeGen2Reference", "Reference to Azure Data Lake Gen2 storage"),
    ("AzureMLDataset", "Azure ML dataset"),
    ("AzureMySqlDatabaseReference", "Reference to an Azure MySQL database"),
    ("DBFSReference", "Reference to the Databricks file system"),
)
DEFAULT_DATA_TYPES: tuple[dict[str, Any], ...] = (
    *(
        {"Id": i, "Name": i, "Description": d, "IsDirectory": False, "ParentDataTypeIds": []}
        for i, d in _FILE_TYPES
    ),
    {
        "Id": "AnyDirectory",
        "Name": "AnyDirectory",
        "Description": "Any directory",
        "IsDirectory": True,
        "ParentDataTypeIds": [],
    },
)

_ENTITY_STATUS = {"0": "Active", "1": "Deprecated", "2": "Disabled"}
_UPLOAD_STATE = {"0": "Uploading", "1": "Completed", "2": "Canceled", "3": "Failed"}
_VALUE_TYPE = {"Literal": "0", "GraphParameterName": "1", "Concatenate": "2", "Input": "3"}
_PARAMETER_TYPE = {"Int": "0", "Double": "1", "Bool": "2", "String": "3", "Undefined": "4"}
_DATA_REFERENCE_TYPE = {
    "0": "None",
    "1": "AzureBlob",
    "2": "AzureDataLake",
    "3": "AzureFiles",
    "4": "AzureSqlDatabase",
    "5": "AzurePostgresDatabase",
    "6": "AzureDataLakeGen2Reference",  # sic: the name the v1 SDK reader accepts
    "7": "DBFS",
    "8": "AzureMySqlDatabase",
}


def _by_name(value: Any, names: dict[str, str]) -> Any:
    """Map a numeric enum value (int or numeric string) to its name; keep anything else."""
    return names.get(str(value), value) if value is not None else None


def _by_number(value: Any, numbers: dict[str, str]) -> Any:
    """Map an enum name to its numeric string; numbers become strings; keep anything else."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return numbers.get(str(value), value)


def status_name(value: Any) -> Any:
    """``EntityStatus`` as a name: ``0``/``"0"`` → ``"Active"`` and so on; names unchanged."""
    return _by_name(value, _ENTITY_STATUS)


def data_reference_type(value: Any) -> Any:
    """``DataReference.Type`` as a name: ``1``/``"1"`` → ``"AzureBlob"`` and so on."""
    return _by_name(value, _DATA_REFERENCE_TYPE)


def is_upload_completed(value: Any) -> bool:
    """Whether an ``UploadState`` means usable (the SDK accepts ``"Completed"`` or ``"1"``)."""
    return str(value) in ("1", "Completed")


def _same(old: Any, new: Any) -> bool:
    """Whether a served value encodes exactly like the stored one (``0 == "0"`` is not enough)."""
    return new is old or (type(new) is type(old) and new == old)


def _serve_assignment(item: Any) -> Any:
    """One ParameterAssignment with numeric ``ValueType``; ``item`` itself when already so."""
    if not isinstance(item, dict):
        return item
    changes: dict[str, Any] = {}
    if "ValueType" in item:
        value_type = _by_number(item["ValueType"], _VALUE_TYPE)
        if not _same(item["ValueType"], value_type):
            changes["ValueType"] = value_type
    if "AssignmentsToConcatenate" in item:
        parts = _serve_assignments(item["AssignmentsToConcatenate"])
        if parts is not item["AssignmentsToConcatenate"]:
            changes["AssignmentsToConcatenate"] = parts
    return {**item, **changes} if changes else item


def _serve_assignments(assignments: Any) -> Any:
    """A ParameterAssignment list with numeric ``ValueType`` (recursively).

    Items that need no change are shared, and the list itself is returned when none does:
    serving a graph that is stored in its served form then copies (almost) nothing.
    """
    if not isinstance(assignments, list):
        return assignments
    served: list[Any] | None = None
    for index, item in enumerate(assignments):
        if type(item) is dict and "AssignmentsToConcatenate" not in item:
            # The common case, inlined (graphs hold ~100 assignments): nothing to change.
            value_type = item.get("ValueType")
            if value_type is None or (type(value_type) is str and value_type not in _VALUE_TYPE):
                continue
        new = _serve_assignment(item)
        if new is not item:
            if served is None:
                served = list(assignments)
            served[index] = new
    return assignments if served is None else served


def _serve_node(node: Any) -> Any:
    """A module node with its parameter assignments served; ``node`` itself when unchanged."""
    if not isinstance(node, dict):
        return node
    changes = {}
    for key in ("ModuleParameters", "ModuleMetadataParameters"):
        if key in node:
            served = _serve_assignments(node[key])
            if served is not node[key]:
                changes[key] = served
    return {**node, **changes} if changes else node


def serve_graph(graph: dict[str, Any]) -> dict[str, Any]:
    """The stored graph as served: numeric ``ValueType`` on node parameters, status by name.

    Serving functions never modify their input; unchanged nested values are shared with it.
    """
    served = dict(graph)
    served["EntityStatus"] = status_name(served.get("EntityStatus"))
    if "ModuleNodes" in served:
        nodes = served["ModuleNodes"]
        new_nodes = [_serve_node(node) for node in nodes or []]
        # A list whose nodes all stay is shared; anything else (None, ...) is served as a list.
        if not isinstance(nodes, list) or any(
            a is not b for a, b in zip(new_nodes, nodes, strict=True)
        ):
            served["ModuleNodes"] = new_nodes
    return served


def serve_interface(interface: dict[str, Any]) -> dict[str, Any]:
    """A graph interface as served: numeric ``Parameter.Type`` (the SDK compares it as int)."""
    served = dict(interface)
    if isinstance(served.get("Parameters"), list):
        served["Parameters"] = [
            {**p, "Type": _by_number(p["Type"], _PARAMETER_TYPE)}
            if isinstance(p, dict) and "Type" in p
            else p
            for p in served["Parameters"]
        ]
    return served


def serve_data_source(entity: dict[str, Any]) -> dict[str, Any]:
    """A DataSource as served: status, upload state and reference type by name."""
    served = dict(entity)
    served["EntityStatus"] = status_name(served.get("EntityStatus"))
    served["UploadState"] = _by_name(served.get("UploadState"), _UPLOAD_STATE)
    location = served.get("DataLocation")
    if not isinstance(location, dict):
        return served
    reference = location.get("DataReference")
    if isinstance(reference, dict) and "Type" in reference:
        reference = {**reference, "Type": _by_name(reference["Type"], _DATA_REFERENCE_TYPE)}
        served["DataLocation"] = {**location, "DataReference": reference}
    return served


def serve_module(stored: dict[str, Any]) -> dict[str, Any]:
    """The ``{"Data", "Interface"}`` wrapper of ``GET /Modules/{id}``.

    Stored modules are wrappers; a bare ``ModuleEntity`` (for instance a hand-written one) is
    wrapped here, with its interface derived from the structured interface.
    """
    wrapped = "Data" in stored
    data = dict(stored["Data"]) if wrapped else dict(stored)
    interface = stored.get("Interface") if wrapped else None
    if interface is None:
        interface = module_interface(data.get("StructuredInterface") or {})
    data["EntityStatus"] = status_name(data.get("EntityStatus"))
    data["UploadState"] = _by_name(data.get("UploadState"), _UPLOAD_STATE)
    return {"Data": data, "Interface": interface}


def _interface_parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    """One ``Parameter`` of a module interface from a StructuredInterfaceParameter."""
    derived: dict[str, Any] = {
        "Name": parameter.get("Name"),
        "Documentation": parameter.get("Description"),
        "DefaultValue": parameter.get("DefaultValue"),
        "IsOptional": parameter.get("IsOptional", False),
        "Type": parameter.get("ParameterType"),
    }
    if parameter.get("EnumValues"):
        derived["EnumRules"] = [{"ValidValues": list(parameter["EnumValues"])}]
    if parameter.get("LowerBound") is not None or parameter.get("UpperBound") is not None:
        derived["MinMaxRules"] = [
            {"Min": parameter.get("LowerBound"), "Max": parameter.get("UpperBound")}
        ]
    return {key: value for key, value in derived.items() if value is not None}


def module_interface(structured: dict[str, Any]) -> dict[str, Any]:
    """Derive a module's ``Interface`` from its ``StructuredInterface`` (reference §3.4).

    How the live service does this is inferred: parameters keep name, default, optionality and
    type (``Documentation`` from ``Description``); input ports take ``DataTypesIds`` from
    ``DataTypeIdsList``; output ports keep ``DataTypeId`` and take ``PassThroughInputName`` from
    ``PassThroughDataTypeInputName``. Missing values are left out.
    """
    inputs = []
    for port in structured.get("Inputs") or []:
        item = {
            "Name": port.get("Name"),
            "Documentation": port.get("Description"),
            "DataTypesIds": list(port.get("DataTypeIdsList") or []),
            "IsOptional": port.get("IsOptional", False),
        }
        inputs.append({key: value for key, value in item.items() if value is not None})
    outputs = []
    for port in structured.get("Outputs") or []:
        item = {
            "Name": port.get("Name"),
            "Documentation": port.get("Description"),
            "DataTypeId": port.get("DataTypeId"),
            "PassThroughInputName": port.get("PassThroughDataTypeInputName"),
        }
        outputs.append({key: value for key, value in item.items() if value is not None})
    return {
        "Parameters": [_interface_parameter(p) for p in structured.get("Parameters") or []],
        "MetadataParameters": [
            _interface_parameter(p) for p in structured.get("MetadataParameters") or []
        ],
        "Ports": {"Inputs": inputs, "Outputs": outputs},
    }


def parameter_assignments(
    interface: dict[str, Any], sent: dict[str, Any] | None = None
) -> dict[str, str]:
    """``PipelineEntity.ParameterAssignments`` derived from the graph interface defaults.

    ``Pipeline.publish`` does not send assignments, yet the SDK's graph reader needs one per
    graph parameter, so the service must derive them (inferred, reference §3.1). Scalar
    parameters map to their ``DefaultValue``; DataPath parameters to ``"<datastore>/<path>"``
    (the string form the SDK reader expects; also inferred). Assignments sent in the request win.
    """
    derived: dict[str, str] = {}
    for parameter in interface.get("Parameters") or []:
        if isinstance(parameter, dict) and parameter.get("Name"):
            default = parameter.get("DefaultValue")
            derived[parameter["Name"]] = "" if default is None else str(default)
    for parameter in interface.get("DataPathParameters") or []:
        if isinstance(parameter, dict) and parameter.get("Name"):
            default = parameter.get("DefaultValue") or {}
            store = default.get("DataStoreName") or ""
            path = default.get("RelativePath") or ""
            derived[parameter["Name"]] = f"{store}/{path}" if store else path
    derived.update({k: str(v) for k, v in (sent or {}).items()})
    return derived


def data_source_location(creation: dict[str, Any]) -> dict[str, Any]:
    """The ``DataLocation`` of a DataSource built from its creation info (inferred, §3.6).

    SQL fields make an ``AzureSqlDatabase`` reference; anything else is taken as a blob
    reference on the named datastore, because the emulator only knows blob datastores.
    """
    store = creation.get("DataStoreName")
    sql_keys = ("SqlTableName", "SqlQuery", "SqlStoredProcedureName")
    if any(creation.get(key) for key in sql_keys):
        reference: dict[str, Any] = {
            "TableName": creation.get("SqlTableName"),
            "SqlQuery": creation.get("SqlQuery"),
            "StoredProcedureName": creation.get("SqlStoredProcedureName"),
            "StoredProcedureParameters": creation.get("SqlStoredProcedureParams"),
            "AmlDataStoreName": store,
        }
        reference = {key: value for key, value in reference.items() if value is not None}
        return {
            "DataReference": {"Type": "AzureSqlDatabase", "AzureSqlDatabaseReference": reference}
        }
    blob = {"RelativePath": creation.get("PathOnDataStore"), "AmlDataStoreName": store}
    return {"DataReference": {"Type": "AzureBlob", "AzureBlobReference": blob}}
