"""The body of a batch endpoint invoke (``POST {scoringUri}``), parsed and checked.

The SDK sends (v2-wire.md §4f)::

    {"properties": {
        "inputData": {"<name>": {"jobInputType": "Literal", "value": 0.5}
                              | {"jobInputType": "UriFolder" | "UriFile", "uri": "azureml://..."}
                              | {"jobInputType": "MLTable" | "CustomModel" | ..., "uri": ...}},
        "outputData": {"<name>": {"jobOutputType": "UriFolder" | "UriFile", "uri": ...}},
        "name": "<job name>",                  # only with invoke(job_name=...)
        "properties": {"experimentName": ...}}} # only with invoke(experiment_name=...)

Literal values arrive JSON-typed (numbers, booleans) and become the strings job resources and
commands use (``True``/``False`` for booleans, as Azure ML renders them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from migrate_kit.emulator.config import EmulatorConfig
from migrate_kit.emulator.jobs.errors import InvalidInvokeInput
from migrate_kit.emulator.jobs.uris import datastore_uri_to_ref
from migrate_kit.emulator.runner.model import DataRef

__all__ = ["InvokeRequest", "Value", "literal_text", "parse_invoke_body"]

#: A pipeline input's value: a literal (as text) or a file or folder of the datastore.
Value = str | DataRef

_DATA_KINDS: dict[str, Literal["uri_folder", "uri_file"]] = {
    "urifolder": "uri_folder",
    "uri_folder": "uri_folder",
    "urifile": "uri_file",
    "uri_file": "uri_file",
}
#: Input types a pipeline component batch deployment does not take.
_UNSUPPORTED = {
    "mltable": "MLTable",
    "custommodel": "CustomModel",
    "custom_model": "CustomModel",
    "mlflowmodel": "MLFlowModel",
    "mlflow_model": "MLFlowModel",
    "tritonmodel": "TritonModel",
    "triton_model": "TritonModel",
}


@dataclass(frozen=True)
class InvokeRequest:
    """What an invoke asks for, in the emulator's terms."""

    inputs: Mapping[str, Value] = field(default_factory=dict)
    outputs: Mapping[str, DataRef] = field(default_factory=dict)
    job_name: str | None = None
    experiment_name: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    #: ``properties.settings`` (not sent by azure-ai-ml; accepted for REST callers):
    #: ``default_compute`` and ``continue_on_step_failure`` override the deployment's.
    settings: Mapping[str, Any] = field(default_factory=dict)


def literal_text(value: Any) -> str:
    """A JSON literal as the text a job input holds (booleans as ``True``/``False``)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def parse_invoke_body(body: Any, config: EmulatorConfig) -> InvokeRequest:
    """Parse and check an invoke body; raises ``InvalidInvokeInput`` (400) on a bad one."""
    if not isinstance(body, dict) or not isinstance(body.get("properties", {}), dict):
        raise InvalidInvokeInput(
            'The request body must be a JSON object {"properties": {"inputData": {...}}}.'
        )
    props: dict[str, Any] = body.get("properties") or {}
    inputs = {name: _input(name, item, config) for name, item in _mapping(props, "inputData")}
    outputs = {name: _output(name, item, config) for name, item in _mapping(props, "outputData")}

    extra = props.get("properties") or {}
    if not isinstance(extra, dict):
        raise InvalidInvokeInput("properties.properties must be a JSON object of strings.")
    experiment = extra.get("experimentName")
    job_name = props.get("name")
    settings = props.get("settings") or {}
    return InvokeRequest(
        inputs=inputs,
        outputs=outputs,
        job_name=str(job_name) if job_name else None,
        experiment_name=str(experiment) if experiment else None,
        properties={str(k): literal_text(v) for k, v in extra.items() if k != "experimentName"},
        settings=settings if isinstance(settings, dict) else {},
    )


def _mapping(props: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    value = props.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidInvokeInput(f"properties.{key} must be a JSON object keyed by name.")
    return list(value.items())


def _input(name: str, item: Any, config: EmulatorConfig) -> Value:
    if not isinstance(item, dict):
        raise InvalidInvokeInput(f"Input '{name}' must be an object with a jobInputType.")
    kind = str(item.get("jobInputType", "")).lower()
    if kind == "literal":
        if item.get("value") is None:
            raise InvalidInvokeInput(f"Literal input '{name}' has no value.")
        return literal_text(item["value"])
    if kind in _UNSUPPORTED:
        raise InvalidInvokeInput(
            f"Input '{name}' has type {_UNSUPPORTED[kind]}, which pipeline component batch "
            "deployments do not accept. Use a Literal, UriFolder or UriFile input.",
            target=name,
        )
    if kind not in _DATA_KINDS:
        raise InvalidInvokeInput(
            f"Input '{name}' has jobInputType '{item.get('jobInputType')}'; expected Literal, "
            "UriFolder or UriFile.",
            target=name,
        )
    return _data_ref(f"Input '{name}'", item.get("uri"), _DATA_KINDS[kind], config)


def _output(name: str, item: Any, config: EmulatorConfig) -> DataRef:
    if not isinstance(item, dict):
        raise InvalidInvokeInput(f"Output '{name}' must be an object with a jobOutputType.")
    kind = str(item.get("jobOutputType", "")).lower()
    if kind not in _DATA_KINDS:
        raise InvalidInvokeInput(
            f"Output '{name}' has jobOutputType '{item.get('jobOutputType')}'; expected "
            "UriFolder or UriFile.",
            target=name,
        )
    return _data_ref(f"Output '{name}'", item.get("uri"), _DATA_KINDS[kind], config)


def _data_ref(
    what: str, uri: Any, kind: Literal["uri_folder", "uri_file"], config: EmulatorConfig
) -> DataRef:
    if not isinstance(uri, str) or not uri:
        raise InvalidInvokeInput(f"{what} has no uri.")
    try:
        ref = datastore_uri_to_ref(uri, config, kind)
    except ValueError as exc:
        raise InvalidInvokeInput(f"{what}: {exc}.") from exc
    if ref is None:
        raise InvalidInvokeInput(
            f"{what} has uri '{uri}'; the emulator reads only datastore paths of the form "
            f"azureml://datastores/{config.default_datastore}/paths/<path>."
        )
    return ref
