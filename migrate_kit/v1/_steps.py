"""Turn one v1 graph module node plus the module it points at into a ``Step``.

Layout (reference §4–§6): the *module* holds the definition (ports, parameter declarations,
structured arguments, snapshot, step type); the *node* holds the binding (parameter values,
pipeline-parameter references, output datastore settings, run configuration). Nothing here
raises on odd input: what cannot be read becomes a sentence in ``Step.problems``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson

from migrate_kit.v1._ports import LEGACY_PARAMETER, arguments, ports
from migrate_kit.v1._wire import (
    as_bool,
    as_list,
    as_map,
    as_text,
    enum_table,
    lookup_enum,
    raw_json_text,
)
from migrate_kit.v1.models import CodeSnapshot, Step, frozen_map

__all__ = ["KNOWN_STEP_TYPES", "parse_step"]

logger = logging.getLogger(__name__)

KNOWN_STEP_TYPES = frozenset(
    {
        "PythonScriptStep", "CommandStep", "RScriptStep", "EstimatorStep", "MpiStep",
        "ParallelRunStep", "DataTransferStep", "DatabricksStep", "KustoStep",
        "SynapseSparkStep", "AdlaStep", "AzureBatchStep", "HDInsightStep", "AutoMLStep",
        "HyperDriveStep", "ModuleStep",
    }
)  # fmt: skip

# ModuleExecutionType -> step class, for modules without StepType (old SDKs, reference §5.1).
_STEP_BY_EXECUTION = {
    "datatransfercloud": "DataTransferStep",
    "databrickscloud": "DatabricksStep",
    "kustocloud": "KustoStep",
    "synapse": "SynapseSparkStep",
    "adlcloud": "AdlaStep",
    "azurebatchcloud": "AzureBatchStep",
    "hdinsightcloud": "HDInsightStep",
    "automlcloud": "AutoMLStep",
    "hyperdrivecloud": "HyperDriveStep",
}

_LITERAL, _GRAPH, _CONCAT, _INPUT = "literal", "graph", "concat", "input"

# ParameterAssignment.ValueType. The v1 SDK treats only "1"/1 as a graph-parameter binding; we
# also accept the enum names (GraphParameterName, ...) because the live encoding is unconfirmed.
_ASSIGNMENT = enum_table(
    (_LITERAL, "0", ("Literal",)),
    (_GRAPH, "1", ("GraphParameterName",)),
    (_CONCAT, "2", ("Concatenate",)),
    (_INPUT, "3", ("Input",)),
)

# Value types of a literal with no value: the SDK sends one such entry per declared parameter.
_VALUELESS_KINDS = (None, "", "0", 0, "Literal")

_DATABRICKS_BINDING = "_AML_PARAMETER_"


def parse_step(node: Mapping[str, Any], module: Mapping[str, Any] | None, reason: str) -> Step:
    """Build a ``Step`` from a graph module node and its ``GET /Modules/{id}`` body.

    ``module`` is ``None`` when the module could not be read; ``reason`` then says why and the
    step keeps what the node alone tells (parameters, compute, runconfig).
    """
    problems: list[str] = []
    node_id = as_text(node.get("Id")) or ""
    module_id = as_text(node.get("ModuleId")) or ""
    data, interface = _module_parts(module)
    if module is None:
        problems.append(f"module {module_id!r} could not be read: {reason}")

    literals, bindings = _node_parameters(node.get("ModuleParameters"), problems)
    metadata, _ = _node_parameters(node.get("ModuleMetadataParameters"), problems)
    cloud = node.get("CloudSettings") or data.get("CloudSettings")
    if cloud:  # HDInsight settings (quirk Q2): kept as raw JSON text, never interpreted
        metadata["CloudSettings"] = raw_json_text(cloud) or ""

    runconfig = raw_json_text(node.get("Runconfig") or data.get("Runconfig"))
    settings: dict[str, str] = {}
    if not (literals.get("Script") and literals.get("Target") and data.get("StepType")):
        settings = _runconfig_fields(runconfig, problems)  # decoded only when needed: it is big
    execution = as_text(data.get("ModuleExecutionType"))
    module_type = _module_type(node, data)
    step_type = _step_type(data, execution, module_type, literals, settings, problems)

    inputs, outputs = ports(data, interface, node, problems)
    step_arguments = arguments(data, literals, outputs, problems)
    return Step(
        node_id=node_id,
        module_id=module_id,
        name=as_text(data.get("Name")) or node_id,
        step_type=step_type,
        execution_type=execution,
        module_type=module_type,
        script=literals.get("Script") or settings.get("script"),
        command=_command(literals, execution, step_type),
        arguments=step_arguments,
        inputs=inputs,
        outputs=outputs,
        literal_parameters=frozen_map(literals),
        parameter_bindings=frozen_map(bindings),
        metadata_parameters=frozen_map(metadata),
        compute=_compute(literals, metadata, settings),
        runconfig=runconfig,
        snapshot=_snapshot(data),
        allow_reuse=_allow_reuse(node, data),
        description=as_text(data.get("Description")),
        module_read=module is not None,
        problems=tuple(problems),
    )


def _module_parts(module: Mapping[str, Any] | None) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Split a module body into ``(Data, Interface)``; a bare ``ModuleEntity`` is accepted too."""
    if module is None:
        return {}, {}
    if "Data" in module:
        return as_map(module.get("Data")), as_map(module.get("Interface"))
    return module, as_map(module.get("Interface"))


def _node_parameters(
    assignments: Any, problems: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Split node parameter assignments into ``(literal values, graph-parameter bindings)``.

    Bindings map the module parameter to the graph parameter: ``ValueType`` 1 uses ``Value`` as
    the graph parameter name; a Databricks ``_AML_PARAMETER_<name>`` node parameter binds to
    ``<name>`` whatever its value type. Valueless literals (the SDK sends one per declared
    module parameter) are left out.
    """
    literals: dict[str, str] = {}
    bindings: dict[str, str] = {}
    for item in as_list(assignments):
        entry = as_map(item)
        raw_kind = entry.get("ValueType")
        if entry.get("Value") is None and raw_kind in _VALUELESS_KINDS and entry.get("Name"):
            continue  # fast path for the many valueless declarations
        name = as_text(entry.get("Name"))
        if not name:
            problems.append(f"a node parameter has no name: {as_text(item)}")
            continue
        value = as_text(entry.get("Value"))
        kind = _ASSIGNMENT.get(raw_kind) if type(raw_kind) is str else None
        if kind is None:
            kind = lookup_enum(raw_kind, _ASSIGNMENT, f"ValueType of parameter {name!r}", problems)
            if kind is None and raw_kind not in (None, ""):
                continue  # unknown value type: reported by lookup_enum, value not guessed

        if kind == _GRAPH or name.startswith(_DATABRICKS_BINDING):
            bindings[name] = value if kind == _GRAPH and value else name[len(_DATABRICKS_BINDING) :]
        elif kind == _CONCAT:
            literals[name] = _concatenated(entry, name, problems)
        elif kind in (_LITERAL, None) and value is not None:
            literals[name] = value
        elif kind == _INPUT:
            problems.append(f"parameter {name!r} is bound to a data input; it was ignored")
    return literals, bindings


def _concatenated(entry: Mapping[str, Any], name: str, problems: list[str]) -> str:
    """Join a ``Concatenate`` assignment; graph parameters appear as ``$AML_PARAMETER_<name>``."""
    parts: list[str] = []
    for item in as_list(entry.get("AssignmentsToConcatenate")):
        part = as_map(item)
        kind = lookup_enum(part.get("ValueType"), _ASSIGNMENT, "ValueType")
        text = as_text(part.get("Value")) or ""
        parts.append(LEGACY_PARAMETER + text if kind == _GRAPH else text)
    problems.append(f"parameter {name!r} concatenates several values; check {''.join(parts)!r}")
    return "".join(parts)


def _module_type(node: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    """Return ``ModuleType`` from the node or the module, treating ``"None"`` as absent."""
    for value in (node.get("ModuleType"), data.get("ModuleType")):
        text = as_text(value)
        if text and text.lower() not in ("none", "0"):
            return "BatchInferencing" if text == "1" else text
    return None


def _runconfig_fields(runconfig: str | None, problems: list[str]) -> dict[str, str]:
    """Pick ``script``, ``target`` and ``communicator`` out of the runconfig JSON text."""
    if not runconfig:
        return {}
    try:
        decoded = orjson.loads(runconfig)
    except ValueError:
        problems.append("the node's Runconfig is not JSON (older SDK format?); it is kept as text")
        return {}

    fields: dict[str, str] = {}
    for key in ("script", "target", "communicator", "framework"):
        text = as_text(as_map(decoded).get(key))
        if text:
            fields[key] = text
    return fields


def _step_type(
    data: Mapping[str, Any],
    execution: str | None,
    module_type: str | None,
    literals: Mapping[str, str],
    settings: Mapping[str, str],
    problems: list[str],
) -> str:
    """Return the v1 step class from ``StepType``, else infer it from the execution type."""
    declared = as_text(data.get("StepType"))
    if declared:
        name = declared.lstrip("_").removesuffix("Base")
        if name in KNOWN_STEP_TYPES:
            return name
        problems.append(f"unknown step type {declared!r}; the step cannot be migrated as is")
        return ""
    if not data:
        return ""

    inferred = _infer_step_type((execution or "").lower(), module_type, literals, settings)
    if inferred:
        logger.debug("module %s has no StepType; inferred %s", data.get("Id"), inferred)
        return inferred
    problems.append(
        f"the module has no StepType and its ModuleExecutionType {execution!r} is not known"
    )
    return ""


def _infer_step_type(
    execution: str,
    module_type: str | None,
    literals: Mapping[str, str],
    settings: Mapping[str, str],
) -> str:
    """Guess the step class of an old module from the markers in reference §5.1."""
    if execution != "escloud":
        return _STEP_BY_EXECUTION.get(execution, "")
    if module_type == "BatchInferencing":
        return "ParallelRunStep"
    if literals.get("Command"):
        return "CommandStep"
    if settings.get("communicator", "None").lower() not in ("none", ""):
        return "MpiStep"
    if settings.get("framework", "").lower() == "r":
        return "RScriptStep"
    return "PythonScriptStep"


def _command(literals: Mapping[str, str], execution: str | None, step_type: str) -> str | None:
    """Return the node ``Command`` of script-type steps (DataTransfer's ``DataCopy`` is not one)."""
    if step_type == "CommandStep" or (execution or "").lower() == "escloud":
        return literals.get("Command") or None
    return None


def _compute(
    literals: Mapping[str, str], metadata: Mapping[str, str], settings: Mapping[str, str]
) -> str | None:
    """Return the compute name: node ``Target``, a metadata compute name, then runconfig target.

    Estimator and Mpi steps may carry the compute only in the runconfig ``target``; a runconfig
    target of ``local`` (what PythonScriptStep writes there) does not count.
    """
    candidates = (
        literals.get("Target"),
        metadata.get("compute_name"),
        metadata.get("ComputeName"),
        literals.get("target"),
        settings.get("target"),
    )
    for value in candidates:
        if value and value.lower() != "local":
            return value
    return None


def _snapshot(data: Mapping[str, Any]) -> CodeSnapshot | None:
    """Return the module's code snapshot (``DataLocation.StorageId``), if it has one."""
    location = as_map(data.get("DataLocation"))
    snapshot_id = as_text(location.get("StorageId"))
    if not snapshot_id:
        return None
    return CodeSnapshot(snapshot_id=snapshot_id, storage_type=as_text(location.get("StorageType")))


def _allow_reuse(node: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    """A step may reuse results unless its module is non-deterministic or forced to rerun."""
    deterministic = as_bool(data.get("IsDeterministic"), True)
    regenerate = as_bool(node.get("RegenerateOutput"), False)
    return bool(deterministic) and not regenerate
