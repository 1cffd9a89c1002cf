"""Command lines of v1 steps: arguments, placeholders and step kinds (reference §4–§6).

A v1 module stores its command line as a structured ``Arguments`` list of ``{ValueType, Value}``
items (``Literal``, ``Parameter``, ``Input``, ``Output``, ``NestedList``); modules of older SDKs
keep a string in the node's ``Arguments`` parameter instead. Literal tokens may still hold the
placeholders the v1 runtime replaces on the compute: ``$AML_PARAMETER_<name>``,
``$AZUREML_DATAREFERENCE_<port>``, ``DatasetConsumptionConfig:<input>`` and
``DatasetOutputConfig:<output>``. This module turns all of them into one shell command line in
the runner's syntax (``${{inputs.x}}``, ``${{outputs.y}}``), with every literal shell-quoted and
the arguments' order kept.

These functions are the emulator's own reading of the wire format, written independently of
``migrate_kit.v1`` (the kit's reader): the emulator plays the service the reader is tested
against, so sharing the parsing would let a reader bug pass as correct on both sides.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CANNOT_RUN",
    "RUNNABLE",
    "Token",
    "argument_tokens",
    "render",
    "step_type",
]

logger = logging.getLogger(__name__)

_STRUCTURED = "USE_STRUCTURED_ARGUMENTS"
# ArgumentAssignment.ValueType: names as the SDK sends them, numbers in the model's order.
_ARGUMENT_KINDS = {
    "0": "Literal", "literal": "Literal",
    "1": "Parameter", "parameter": "Parameter",
    "2": "Input", "input": "Input",
    "3": "Output", "output": "Output",
    "4": "NestedList", "nestedlist": "NestedList",
}  # fmt: skip
_PLACEHOLDER = re.compile(
    r"\$(AML_PARAMETER_|AZUREML_DATAREFERENCE_)(\w+)"
    r"|\b(DatasetConsumptionConfig|DatasetOutputConfig):(\w+)"
)

#: Step types run as a command (``python <Script> <args>`` or ``<Command> <args>``) or, for
#: ParallelRunStep, through the runner's parallel driver.
RUNNABLE = frozenset(
    {"PythonScriptStep", "CommandStep", "EstimatorStep", "MpiStep", "ParallelRunStep"}
)

#: Why the other step types cannot run in the emulator: each needs a service it does not have.
CANNOT_RUN: dict[str, str] = {
    "DataTransferStep": "it copies data with Azure Data Factory (a DataFactory compute)",
    "DatabricksStep": "it runs on an Azure Databricks cluster",
    "KustoStep": "it runs queries on an Azure Data Explorer (Kusto) cluster",
    "AdlaStep": "it runs U-SQL on Azure Data Lake Analytics",
    "AzureBatchStep": "it runs on an Azure Batch pool",
    "HDInsightStep": "it runs Spark on an HDInsight cluster",
    "SynapseSparkStep": "it runs on an Azure Synapse Spark pool",
    "HyperDriveStep": "it starts a HyperDrive sweep of child runs",
    "AutoMLStep": "it starts an automated ML experiment",
    "RScriptStep": "it needs an R interpreter, and steps run in the emulator's own Python",
}

# ModuleExecutionType -> step type, for modules without StepType (old SDKs, reference §5.1).
_BY_EXECUTION = {
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


@dataclass(frozen=True)
class Token:
    """One command-line argument before rendering.

    ``kind`` is ``literal`` (``value`` is the text, placeholders possibly inside), ``parameter``
    (``value`` names a module parameter), ``input`` or ``output`` (``value`` names a port).
    """

    kind: str
    value: str


def step_type(module: Mapping[str, Any], node_parameters: Mapping[str, str]) -> str:
    """The v1 step class of a module: ``StepType``, else guessed from the execution type.

    Modules of old SDKs may lack ``StepType``; an ``escloud`` module is then a script step
    (``CommandStep`` when the node has a ``Command`` and no ``Script``), and a node of type
    ``BatchInferencing`` is a ParallelRunStep.
    """
    declared = str(module.get("StepType") or "")
    if declared and declared != "ModuleStep":
        return declared
    execution = str(module.get("ModuleExecutionType") or "").lower()
    if execution in _BY_EXECUTION:
        return _BY_EXECUTION[execution]
    if str(module.get("ModuleType") or "") == "BatchInferencing":
        return "ParallelRunStep"
    if node_parameters.get("Command") and not node_parameters.get("Script"):
        return "CommandStep"
    return "PythonScriptStep" if execution in ("escloud", "") else declared or execution


def argument_tokens(
    structured: list[Any] | None, legacy: str | None, problems: list[str]
) -> list[Token]:
    """The step's arguments in order: the structured list, else the legacy string.

    ``legacy`` is the node's ``Arguments`` parameter; the sentinel ``USE_STRUCTURED_ARGUMENTS``
    means "see the structured list". A legacy string is read as a JSON array when it is one,
    else split like a shell would (its exact encoding is unconfirmed).
    """
    if structured:
        return _structured(structured, problems)
    if not legacy or legacy == _STRUCTURED:
        return []
    try:
        decoded = json.loads(legacy)
    except ValueError:
        decoded = None
    words = [str(w) for w in decoded] if isinstance(decoded, list) else shlex.split(legacy)
    return [Token("literal", word) for word in words]


def _structured(items: list[Any], problems: list[str]) -> list[Token]:
    tokens: list[Token] = []
    for item in items:
        if not isinstance(item, dict):
            problems.append(f"argument {item!r} is not an ArgumentAssignment object")
            continue
        kind = _ARGUMENT_KINDS.get(str(item.get("ValueType")).lower())
        if kind == "NestedList":
            tokens.extend(_structured(list(item.get("NestedArgumentList") or []), problems))
            continue
        value = item.get("Value")
        if kind is None or value is None:
            problems.append(f"argument {item!r} has an unknown ValueType or no Value")
            continue
        tokens.append(Token(kind.lower(), str(value)))
    return tokens


def render(
    tokens: list[Token],
    *,
    parameter: Callable[[str], str],
    inputs: set[str],
    outputs: set[str],
    problems: list[str],
) -> str:
    """One shell command line: literals quoted, ports as runner placeholders.

    ``parameter(name)`` gives a parameter's value for this run. A placeholder inside a literal
    is replaced in place, the rest of the literal staying quoted around it, so
    ``--x=$AZUREML_DATAREFERENCE_d`` becomes ``'--x='${{inputs.d}}``.
    """
    words = []
    for token in tokens:
        if token.kind == "parameter":
            words.append(shlex.quote(parameter(token.value)))
        elif token.kind in ("input", "output"):
            words.append(_port(token.kind, token.value, inputs, outputs, problems))
        else:
            words.append(_literal(token.value, parameter, inputs, outputs, problems))
    return " ".join(words)


def _port(kind: str, name: str, inputs: set[str], outputs: set[str], problems: list[str]) -> str:
    """``${{inputs.<name>}}`` or ``${{outputs.<name>}}``; a port the module lacks is reported."""
    known = inputs if kind == "input" else outputs
    if name not in known:
        problems.append(f"argument refers to {kind} port '{name}', which the module lacks")
    return "${{" + f"{kind}s.{name}" + "}}"


def _literal(
    text: str,
    parameter: Callable[[str], str],
    inputs: set[str],
    outputs: set[str],
    problems: list[str],
) -> str:
    """A literal argument with its v1 runtime placeholders resolved, quoted for the shell."""
    pieces: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        prefix, name, dataset_kind, dataset_name = match.groups()
        if prefix == "AML_PARAMETER_":
            # The v1 runtime expands it from the step's environment: the parameter's value.
            replacement = shlex.quote(parameter(name))
        elif prefix == "AZUREML_DATAREFERENCE_":
            kind = "output" if name in outputs and name not in inputs else "input"
            replacement = _port(kind, name, inputs, outputs, problems)
        else:
            kind = "output" if dataset_kind == "DatasetOutputConfig" else "input"
            replacement = _port(kind, dataset_name, inputs, outputs, problems)
        if match.start() > position:
            pieces.append(shlex.quote(text[position : match.start()]))
        pieces.append(replacement)
        position = match.end()
    if position < len(text) or not pieces:
        pieces.append(shlex.quote(text[position:]))
    return "".join(pieces)
