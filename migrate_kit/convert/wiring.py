"""What the steps of a v1 graph bind to in v2: pipeline inputs and outputs, data paths, edges.

:class:`Wiring` is built once per graph by :func:`migrate_kit.convert.mapping.convert_graph`. It
turns the graph's parameters into typed pipeline inputs, and for each step port says what the
component's input or output looks like and what the pipeline node binds it to: a datastore path
(DataReference), a pipeline input (DataPath parameter, file dataset), another node's output
(PipelineData, OutputFileDatasetConfig) or a pipeline output. Problems become findings; nothing
here raises for what the graph holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from migrate_kit.convert.findings import Finding, blocking, info, warning
from migrate_kit.convert.model import InvokeInput
from migrate_kit.v1.models import (
    DataInput,
    DataInputKind,
    Edge,
    Graph,
    GraphParameter,
    ParameterType,
    Port,
    Step,
)

__all__ = [
    "INPUT_MODES",
    "OUTPUT_MODES",
    "PARAMETER_TYPES",
    "Names",
    "Wiring",
    "datastore_uri",
    "identifier",
]

PARAMETER_TYPES = {
    ParameterType.INT: "integer",
    ParameterType.FLOAT: "number",
    ParameterType.BOOL: "boolean",
    ParameterType.STRING: "string",
}

INPUT_MODES = {"mount": "ro_mount", "download": "download"}
OUTPUT_MODES = {"mount": "rw_mount", "upload": "upload"}
_JOB_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Wiring:
    """What the steps bind to: pipeline inputs and outputs, job names, edges by endpoint."""

    graph: Graph
    job_names: dict[str, str]  # node id -> pipeline node name
    parameters: dict[str, GraphParameter]
    data: dict[str, DataInput]
    feeding: dict[tuple[str, str], Edge]  # (dest node, dest port) -> edge
    pipeline_inputs: dict[str, Any] = field(default_factory=dict)
    pipeline_outputs: dict[str, Any] = field(default_factory=dict)
    invoke_inputs: dict[str, InvokeInput] = field(default_factory=dict)  # by pipeline input
    findings: list[Finding] = field(default_factory=list)
    input_names: dict[str, str] = field(default_factory=dict)  # v1 parameter -> pipeline input
    output_names: dict[str, str] = field(default_factory=dict)  # v1 graph port -> output
    _taken_inputs: Names = field(default_factory=lambda: Names())
    _taken_outputs: Names = field(default_factory=lambda: Names())

    @classmethod
    def of(cls, graph: Graph) -> Wiring:
        wiring = cls(
            graph=graph,
            job_names=_job_names(graph.steps),
            parameters={p.name: p for p in graph.parameters},
            data={d.node_id: d for d in graph.data_inputs},
            feeding={(e.dest_node, e.dest_port or ""): e for e in graph.edges if e.dest_node},
        )
        for parameter in graph.parameters:
            name = wiring.input_name_of(parameter.name)
            spec = wiring.pipeline_inputs[name] = wiring._parameter_input(parameter)
            wiring.invoke_inputs[name] = InvokeInput(
                name, parameter.name, spec["type"], parameter.default, "parameter"
            )
        for step in graph.steps:
            if step.name != wiring.job_names[step.node_id]:
                wiring.findings.append(
                    info(
                        "renamed",
                        f"v2 node names must be lower-case identifiers, so the step's node is "
                        f"'{wiring.job_names[step.node_id]}' (its display name stays "
                        f"'{step.name}')",
                        step.name,
                    )
                )
        return wiring

    def input_name_of(self, v1_name: str) -> str:
        """The pipeline input for a v1 parameter (scalar or DataPath), the same name if valid."""
        return self._pipeline_name(v1_name, self.input_names, self._taken_inputs, "input")

    def output_name_of(self, v1_name: str) -> str:
        """The pipeline output for a v1 pipeline output (graph port)."""
        return self._pipeline_name(v1_name, self.output_names, self._taken_outputs, "output")

    def _pipeline_name(self, v1_name: str, known: dict[str, str], taken: Names, what: str) -> str:
        if v1_name not in known:
            known[v1_name] = taken.take(v1_name)
            if known[v1_name] != v1_name:
                self.findings.append(
                    warning(
                        "caller-renamed",
                        f"'{v1_name}' is not a valid v2 {what} name; the pipeline {what} is "
                        f"'{known[v1_name]}', so callers must use that name",
                    )
                )
        return known[v1_name]

    def _parameter_input(self, parameter: GraphParameter) -> dict[str, Any]:
        v2_type = PARAMETER_TYPES.get(parameter.type)
        if v2_type is None:
            v2_type = "string"
            self.findings.append(
                warning(
                    "lossy-mapping",
                    f"pipeline parameter '{parameter.name}' has type {parameter.type.value!r} "
                    "in v1, which has no v2 counterpart; it becomes a string input",
                )
            )
        spec: dict[str, Any] = {"type": v2_type}
        if parameter.default is not None:
            value = _typed_default(v2_type, parameter.default)
            if value is None:
                self.findings.append(
                    warning(
                        "lossy-mapping",
                        f"the default {parameter.default!r} of parameter '{parameter.name}' is "
                        f"not a valid {v2_type}; the input has no default",
                    )
                )
            else:
                spec["default"] = value
        return spec

    def input_name(self, step: Step, port: Port) -> str:
        """The v1 name to derive the component input's name from.

        v1 names the input of a DataPath parameter after its datastore and a hash
        (``workspaceblobstore_aab1cd70``); the parameter's own name says more, so it is used.
        """
        edge = self.feeding.get((step.node_id, port.name))
        data = self.data.get(edge.source_node) if edge else None
        if data is not None and data.kind is DataInputKind.DATAPATH_PARAMETER:
            return data.parameter_name or data.name
        return port.name

    def bind_input(self, step: Step, port: Port) -> tuple[dict[str, Any], Any, list[Finding]]:
        """The component input spec for ``port`` and what the node binds it to."""
        findings: list[Finding] = []
        spec: dict[str, Any] = {"type": "uri_folder"}
        if port.optional:
            spec["optional"] = True
        if port.mode in INPUT_MODES:
            spec["mode"] = INPUT_MODES[port.mode]
        elif port.mode:
            findings.append(
                warning(
                    "lossy-mapping",
                    f"input '{port.name}' was bound in mode {port.mode!r} in v1, which v2 "
                    "command components do not have; it is mounted read-only instead",
                    step.name,
                )
            )
            spec["mode"] = "ro_mount"

        edge = self.feeding.get((step.node_id, port.name))
        if edge is None:
            return spec, None, findings
        if edge.source_node in self.job_names:
            source = self.job_names[edge.source_node]
            return spec, f"${{{{parent.jobs.{source}.outputs.{edge.source_port}}}}}", findings
        data = self.data.get(edge.source_node)
        if data is None:
            return spec, None, findings  # a dangling edge: reported by check_graph
        binding, more = self._bind_data(step, port, data, spec)
        return spec, binding, findings + more

    def _bind_data(
        self, step: Step, port: Port, data: DataInput, spec: dict[str, Any]
    ) -> tuple[Any, list[Finding]]:
        findings: list[Finding] = []
        if data.kind is DataInputKind.DATA_REFERENCE:
            if not data.datastore:
                findings.append(
                    blocking(
                        "data-reference",
                        f"data reference '{data.name}' names no datastore, so its path is unknown",
                        step.name,
                    )
                )
                return None, findings
            spec["type"] = _uri_type(data.path)
            return {"type": spec["type"], "path": datastore_uri(data.datastore, data.path)}, []

        if data.kind is DataInputKind.DATAPATH_PARAMETER:
            default = datastore_uri(data.datastore, data.path) if data.datastore else None
            v1_name = data.parameter_name or data.name
            name = self._data_input(v1_name, _uri_type(data.path), "datapath", default)
            spec["type"] = _uri_type(data.path)
            findings.append(
                warning(
                    "data-default-dropped",
                    f"datastore path parameter '{name}' becomes the pipeline data input "
                    f"'{name}'; v2 allows no default on it, so callers must pass it at invoke"
                    + (f" (v1 default: {default})" if default else ""),
                    step.name,
                )
            )
            return f"${{{{parent.inputs.{name}}}}}", findings

        dataset = data.dataset_id or data.parameter_name or data.name
        version = f" version {data.dataset_version}" if data.dataset_version else ""
        # Known shortcoming: whether a v1 dataset is a file or a tabular dataset is told from how
        # the step bound it (only file datasets can be mounted or downloaded), not from the
        # dataset's definition, which the reader does not fetch. A file dataset passed "direct"
        # comes out blocked; check the dataset in the workspace when that finding appears.
        if port.mode in ("mount", "download"):
            name = self._data_input(data.name, "uri_folder", "dataset", None)
            findings.append(
                warning(
                    "dataset-input",
                    f"input '{port.name}' read v1 file dataset {dataset}{version}; batch "
                    f"deployments do not take v1 datasets, so it becomes the pipeline input "
                    f"'{name}' (uri_folder): register the dataset's files as a uri_folder "
                    "data asset and pass it at invoke",
                    step.name,
                )
            )
            return f"${{{{parent.inputs.{name}}}}}", findings
        findings.append(
            blocking(
                "dataset-input",
                f"input '{port.name}' reads v1 dataset {dataset}{version} as a table; batch "
                "deployments take neither MLTable nor v1 datasets as inputs. Register the "
                "dataset's files as a uri_folder (or uri_file) data asset, pass that, and read "
                "the table in the step (e.g. with pandas)",
                step.name,
            )
        )
        return None, findings

    def _data_input(self, v1_name: str, uri_type: str, v1_kind: str, v1_default: str | None) -> str:
        """Declare the pipeline data input for ``v1_name``; returns its v2 name."""
        name = self.input_name_of(v1_name)
        if name in self.pipeline_inputs and self.pipeline_inputs[name].get("type") != uri_type:
            self.findings.append(
                blocking(
                    "input-clash",
                    f"pipeline input '{name}' is both a parameter and a data input; rename one "
                    "in v1",
                )
            )
        self.pipeline_inputs.setdefault(name, {"type": uri_type})
        self.invoke_inputs.setdefault(
            name, InvokeInput(name, v1_name, uri_type, v1_default, v1_kind)
        )
        return name

    def bind_output(self, step: Step, port: Port) -> tuple[dict[str, Any], Any, list[Finding]]:
        """The component output spec for ``port`` and what the node binds it to."""
        findings: list[Finding] = []
        spec: dict[str, Any] = {"type": "uri_folder"}
        if port.mode in OUTPUT_MODES:
            spec["mode"] = OUTPUT_MODES[port.mode]
        binding = None
        for edge in self.graph.edges:
            mine = edge.source_node == step.node_id and edge.source_port == port.name
            if mine and edge.graph_port_name:
                name = self.output_name_of(edge.graph_port_name)
                self.pipeline_outputs[name] = {"type": "uri_folder"}
                binding = f"${{{{parent.outputs.{name}}}}}"
        if port.datastore and port.datastore != "workspaceblobstore":
            findings.append(
                warning(
                    "output-datastore",
                    f"v1 wrote output '{port.name}' to datastore '{port.datastore}'; v2 writes "
                    "it to the workspace's default datastore unless the node's output names a "
                    f"path there (azureml://datastores/{port.datastore}/paths/...)",
                    step.name,
                )
            )
        elif port.dataset_output and binding is None and not self._consumed(step, port):
            findings.append(
                warning(
                    "output-destination",
                    f"output '{port.name}' is an OutputFileDatasetConfig whose v1 destination "
                    "path is not carried over; v2 writes it under the job's default output "
                    "path. Set `path` on the node's output in pipeline.yml to keep the v1 "
                    "location",
                    step.name,
                )
            )
        return spec, binding, findings

    def _consumed(self, step: Step, port: Port) -> bool:
        return any(
            e.source_node == step.node_id and e.source_port == port.name and e.dest_node
            for e in self.graph.edges
        )


def _job_names(steps: Iterable[Step]) -> dict[str, str]:
    """Node names by node id: a step's own name when valid, so valid names are never the ones
    that give way; others are folded and, on a clash, numbered."""
    steps = list(steps)
    taken = {step.name for step in steps if _JOB_NAME.fullmatch(step.name)}
    names: dict[str, str] = {}
    for step in steps:
        if _JOB_NAME.fullmatch(step.name) and step.name not in names.values():
            names[step.node_id] = step.name
            continue
        name = _job_name(step.name)
        candidate, n = name, 2
        while candidate in taken:
            candidate, n = f"{name}_{n}", n + 1
        taken.add(candidate)
        names[step.node_id] = candidate
    return names


def _job_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "step"
    return cleaned if not cleaned[0].isdigit() else f"step_{cleaned}"


def datastore_uri(datastore: str, path: str | None) -> str:
    """``azureml://datastores/<ds>/paths/<path>`` (the datastore's root when no path)."""
    return f"azureml://datastores/{datastore}/paths/{(path or '').strip('/')}"


def _uri_type(path: str | None) -> str:
    """``uri_file`` when the last path segment has a file extension, else ``uri_folder``.

    Known shortcoming: v1 mounts files and folders alike, so the kind is a guess from the name;
    a folder named like ``data.v2`` comes out as ``uri_file``. Change ``type`` in the YAML then.
    """
    last = (path or "").rstrip("/").rsplit("/", 1)[-1]
    return "uri_file" if re.fullmatch(r"[^.]+\.[A-Za-z0-9]{1,8}", last) else "uri_folder"


def _typed_default(v2_type: str, text: str) -> Any:
    try:
        if v2_type == "integer":
            return int(text)
        if v2_type == "number":
            return float(text)
    except ValueError:
        return None
    if v2_type == "boolean":
        lowered = text.strip().lower()
        return {"true": True, "false": False, "1": True, "0": False}.get(lowered)
    return text


class Names:
    """Distinct v2 input and output names within one component."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, v1_name: str) -> str:
        name = identifier(v1_name)
        candidate, n = name, 2
        while candidate in self.taken:
            candidate, n = f"{name}_{n}", n + 1
        self.taken.add(candidate)
        return candidate


def identifier(name: str) -> str:
    """``name`` as a v2 input or output name (letters, digits, ``_``; not starting with a digit)."""
    if _IDENTIFIER.fullmatch(name):
        return name
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "port"
    return cleaned if not cleaned[0].isdigit() else f"_{cleaned}"
