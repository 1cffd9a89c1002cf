"""Ports and command-line arguments of a v1 module, merged with its graph node's settings.

Ports come from the module's ``StructuredInterface`` (falling back to ``Interface.Ports``);
hidden ``_run_after_*`` ports are dropped. Arguments are the structured ``ArgumentAssignment``
list, or, for modules published by older SDKs, the node's legacy ``Arguments`` string with
``$AML_PARAMETER_<name>`` and ``$AZUREML_DATAREFERENCE_<name>`` placeholders.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

from migrate_kit.v1._wire import as_bool, as_list, as_map, as_text, enum_table, lookup_enum
from migrate_kit.v1.models import Argument, ArgumentKind, Port

__all__ = ["LEGACY_PARAMETER", "arguments", "datastore_mode", "ports"]

_NESTED = "nested"
# ArgumentAssignment.ValueType: the SDK sends names. Numbers follow the order the client model
# lists the names in; whether the service ever sends numbers here is unconfirmed.
_ARGUMENT = enum_table(
    (ArgumentKind.LITERAL, "0", ("Literal",)),
    (ArgumentKind.PARAMETER, "1", ("Parameter",)),
    (ArgumentKind.INPUT, "2", ("Input",)),
    (ArgumentKind.OUTPUT, "3", ("Output",)),
    (_NESTED, "4", ("NestedList",)),
)

# DataStoreMode: numbers per the SDK reader (0..3), names as the SDK sends them (lower case).
_MODE = enum_table(
    ("", "0", ("None",)),
    ("mount", "1", ("Mount",)),
    ("download", "2", ("Download",)),
    ("upload", "3", ("Upload",)),
    ("direct", "", ("Direct",)),
    ("hdfs", "", ("Hdfs",)),
)

LEGACY_PARAMETER = "$AML_PARAMETER_"
_STRUCTURED_SENTINEL = "USE_STRUCTURED_ARGUMENTS"
_RUN_AFTER = "_run_after_"
_PLACEHOLDER = re.compile(r"(\$AML_PARAMETER_|\$AZUREML_DATAREFERENCE_)(\w+)")


def datastore_mode(value: Any, problems: list[str]) -> str | None:
    """Return the lower-case bind mode of a ``DataStoreMode`` value (``None`` for none/missing).

    An unknown mode is reported in ``problems`` and kept lower-cased, so nothing is lost.
    """
    mode = lookup_enum(value, _MODE, "DataStoreMode", problems)
    if mode is None and value not in (None, ""):
        return str(value).strip().lower()
    return mode or None


def ports(
    data: Mapping[str, Any],
    interface: Mapping[str, Any],
    node: Mapping[str, Any],
    problems: list[str],
) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
    """Read input and output ports, dropping hidden ``_run_after_*`` ports.

    The module's ``StructuredInterface`` is preferred; its ``Interface.Ports`` is the fallback.
    Node ``ModuleInputSettings``/``ModuleOutputSettings`` override mode and datastore.
    """
    structured = as_map(data.get("StructuredInterface"))
    port_lists = as_map(interface.get("Ports"))
    input_settings = _settings_by_name(node.get("ModuleInputSettings"))
    output_settings = _settings_by_name(node.get("ModuleOutputSettings"))

    inputs: list[Port] = []
    for item in as_list(structured.get("Inputs")) or as_list(port_lists.get("Inputs")):
        entry = as_map(item)
        name = as_text(entry.get("Name")) or ""
        if not name or name.startswith(_RUN_AFTER):
            continue
        setting = input_settings.get(name, {})
        types = entry.get("DataTypeIdsList") or entry.get("DataTypesIds")
        mode = setting.get("DataStoreMode") or entry.get("DataStoreMode")
        inputs.append(
            Port(
                name=name,
                data_types=tuple(str(t) for t in as_list(types)),
                optional=bool(as_bool(entry.get("IsOptional"), False)),
                mode=datastore_mode(mode, problems),
            )
        )

    outputs: list[Port] = []
    for item in as_list(structured.get("Outputs")) or as_list(port_lists.get("Outputs")):
        entry = as_map(item)
        name = as_text(entry.get("Name")) or ""
        if not name or name.startswith(_RUN_AFTER):
            continue
        outputs.append(_output_port(name, entry, output_settings.get(name, {}), problems))
    return tuple(inputs), tuple(outputs)


def _output_port(
    name: str, entry: Mapping[str, Any], setting: Mapping[str, Any], problems: list[str]
) -> Port:
    """Merge a module output declaration with the node's output setting of the same name."""
    data_type = as_text(entry.get("DataTypeId"))
    dataset = bool(
        entry.get("DatasetOutput")
        or setting.get("DatasetOutputOptions")
        or setting.get("DatasetRegistration")
    )
    return Port(
        name=name,
        data_types=(data_type,) if data_type else (),
        datastore=as_text(setting.get("DataStoreName") or entry.get("DataStoreName")),
        mode=datastore_mode(setting.get("DataStoreMode") or entry.get("DataStoreMode"), problems),
        dataset_output=dataset,
    )


def _settings_by_name(value: Any) -> dict[str, Mapping[str, Any]]:
    """Index node input/output settings by their ``Name``."""
    indexed: dict[str, Mapping[str, Any]] = {}
    for item in as_list(value):
        entry = as_map(item)
        name = as_text(entry.get("Name"))
        if name:
            indexed[name] = entry
    return indexed


def arguments(
    data: Mapping[str, Any],
    literals: Mapping[str, str],
    outputs: tuple[Port, ...],
    problems: list[str],
) -> tuple[Argument, ...]:
    """Read the structured argument list, else the legacy node ``Arguments`` string.

    A literal token that is exactly a legacy placeholder (``$AML_PARAMETER_<name>``,
    ``$AZUREML_DATAREFERENCE_<port>``) becomes a parameter or port reference, as the v1 runtime
    substitutes it; a placeholder inside a longer token stays literal and is reported.
    """
    output_names = {port.name for port in outputs}
    structured = as_list(as_map(data.get("StructuredInterface")).get("Arguments"))
    if structured:
        return tuple(_structured_arguments(structured, output_names, problems))

    legacy = literals.get("Arguments")
    if not legacy or legacy == _STRUCTURED_SENTINEL:
        return ()
    problems.append(
        "arguments were read from the legacy node parameter 'Arguments' (format unconfirmed); "
        "check them"
    )
    return tuple(_token(t, output_names, problems) for t in _legacy_tokens(legacy))


def _structured_arguments(
    items: list[Any], output_names: set[str], problems: list[str]
) -> list[Argument]:
    """Convert ``ArgumentAssignment`` items; a ``NestedList`` is flattened into its tokens."""
    result: list[Argument] = []
    for item in items:
        entry = as_map(item)
        kind = lookup_enum(entry.get("ValueType"), _ARGUMENT, "argument ValueType", problems)
        if kind == _NESTED:
            problems.append("a nested argument list was flattened into single tokens")
            nested = as_list(entry.get("NestedArgumentList"))
            result.extend(_structured_arguments(nested, output_names, []))
            continue
        value = as_text(entry.get("Value"))
        if kind is None or value is None:
            problems.append(f"argument {as_text(item)} was skipped")
        elif kind == ArgumentKind.LITERAL:
            result.append(_token(value, output_names, problems))
        else:
            result.append(Argument(kind=ArgumentKind(kind), value=value))
    return result


def _legacy_tokens(text: str) -> list[str]:
    """Split a legacy ``Arguments`` string: a JSON array if it is one, else shell-style.

    Older SDKs stored the command line in this node parameter; its exact encoding is
    unconfirmed, hence both readings.
    """
    try:
        decoded = json.loads(text)
        return [str(t) for t in decoded] if isinstance(decoded, list) else shlex.split(text)
    except ValueError:
        return text.split()


def _token(token: str, output_names: set[str], problems: list[str]) -> Argument:
    """A literal token, or the reference a whole-token legacy placeholder stands for."""
    match = _PLACEHOLDER.fullmatch(token)
    if match is None:
        if _PLACEHOLDER.search(token):
            problems.append(f"argument {token!r} embeds a placeholder; it is kept as text")
        return Argument(ArgumentKind.LITERAL, token)

    prefix, name = match.groups()
    if prefix == LEGACY_PARAMETER:
        return Argument(ArgumentKind.PARAMETER, name)
    kind = ArgumentKind.OUTPUT if name in output_names else ArgumentKind.INPUT
    return Argument(kind, name)
