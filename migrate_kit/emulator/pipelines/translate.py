"""A published v1 pipeline plus a submission → the runner's ``PipelineSpec`` (reference §4–§6).

Every module node of the graph becomes one ``StepSpec`` named after the node id:

- code: ``"snapshot:<StorageId>"`` of the node's module (the content service's snapshot);
- command: ``python <Script> <arguments>`` (PythonScriptStep, EstimatorStep, MpiStep) or
  ``<Command> <arguments>`` (CommandStep), see ``commands.py``; a ParallelRunStep gets
  ``ParallelSettings`` from its ``BatchInferencingMetaData`` instead;
- inputs: a dataset node (DataReference data source, DataPath parameter, dataset definition
  with a literal path) becomes a ``DataRef`` in the default datastore, an edge from another
  module node an upstream reference;
- outputs: ``azureml/<step run id>/<port>`` in the output's datastore, the v1 default for
  PipelineData; an OutputFileDatasetConfig writes to its ``PathOnDatastore`` (``{run-id}`` and
  ``{output-name}`` filled in) or, without one, to ``dataset/<step run id>/<port>``;
- environment: ``AML_PARAMETER_<name>`` for every module parameter that asks for it, plus the
  run configuration's environment variables.

Parameter values: the pipeline's ``ParameterAssignments`` (interface defaults), overridden by
the submission's; DataPath parameters likewise from ``DataPathAssignments``. A step the emulator
cannot run (another service's step, data on a datastore it does not hold) gets ``cannot_run``
with the reason, so its job fails with that message instead of the submission failing.
"""

from __future__ import annotations

import json
import logging
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from migrate_kit.emulator.config import EmulatorConfig
from migrate_kit.emulator.pipelines import commands, wire
from migrate_kit.emulator.pipelines.parallel import parallel_settings
from migrate_kit.emulator.pipelines.parameters import PipelineSource, Resolved
from migrate_kit.emulator.runner.model import DataRef, PipelineSpec, StepInput, StepOutput, StepSpec

__all__ = ["build_spec"]

logger = logging.getLogger(__name__)

_RUN_AFTER = "_run_after_"
_BINDING = ("1", "GraphParameterName")


def build_spec(
    source: PipelineSource,
    resolved: Resolved,
    config: EmulatorConfig,
    *,
    run_id: str,
    experiment_name: str,
    step_run_id: Callable[[str], str],
    continue_on_step_failure: bool,
    tags: Mapping[str, str] | None = None,
    blob_exists: Callable[[str], bool] = lambda path: False,
) -> PipelineSpec:
    """The ``PipelineSpec`` of one run. ``step_run_id(node id)`` names the step's run.

    ``blob_exists(path)`` tells whether a datastore path is a single file (a ``uri_file``
    input) rather than a folder.
    """
    builder = _Builder(source, resolved, config, step_run_id, blob_exists)
    steps = tuple(builder.step(node) for node in source.graph.get("ModuleNodes") or [])
    return PipelineSpec(
        run_id=run_id,
        experiment_name=experiment_name,
        steps=steps,
        display_name=str(source.pipeline.get("Name") or ""),
        continue_on_step_failure=continue_on_step_failure,
        origin="v1",
        properties={
            "azureml.runsource": "azureml.PipelineRun",
            "azureml.pipelineid": str(source.pipeline.get("Id") or ""),
            "azureml.graphid": str(source.graph.get("Id") or ""),
        },
        tags=dict(tags or {}),
    )


class _Builder:
    """Holds one translation's lookups: edges by destination, data nodes by id."""

    def __init__(
        self,
        source: PipelineSource,
        resolved: Resolved,
        config: EmulatorConfig,
        step_run_id: Callable[[str], str],
        blob_exists: Callable[[str], bool],
    ) -> None:
        self.source = source
        self.resolved = resolved
        self.config = config
        self._make_run_id = step_run_id
        self._run_ids: dict[str, str] = {}
        self.blob_exists = blob_exists
        self.data_nodes = {str(n.get("Id")): n for n in source.graph.get("DatasetNodes") or []}
        self.edges: dict[tuple[str, str], tuple[str, str]] = {}
        for edge in source.graph.get("Edges") or []:
            src = edge.get("SourceOutputPort") or {}
            dst = edge.get("DestinationInputPort") or {}
            if dst.get("NodeId"):
                key = (str(dst["NodeId"]), str(dst.get("PortName")))
                self.edges[key] = (str(src.get("NodeId")), str(src.get("PortName")))

    def step_run_id(self, node_id: str) -> str:
        """The run id of a node's step, made once per node."""
        if node_id not in self._run_ids:
            self._run_ids[node_id] = self._make_run_id(node_id)
        return self._run_ids[node_id]

    # -- one step ----------------------------------------------------------------------

    def step(self, node: Mapping[str, Any]) -> StepSpec:
        """The ``StepSpec`` of one module node."""
        node_id = str(node.get("Id"))
        module = self.source.modules.get(str(node.get("ModuleId"))) or {}
        data = module.get("Data") or {}
        structured = data.get("StructuredInterface") or {}
        literals, values = self._node_parameters(node, structured)
        kind = commands.step_type(data, literals)
        problems: list[str] = []

        inputs = self._inputs(node_id, structured, problems)
        outputs = self._outputs(node_id, node, structured, problems)
        tokens = commands.argument_tokens(
            structured.get("Arguments"), literals.get("Arguments"), problems
        )

        def render(selected: list[commands.Token]) -> str:
            return commands.render(
                selected,
                parameter=lambda name: self._parameter(name, values, problems),
                inputs=set(inputs),
                outputs=set(outputs),
                problems=problems,
            )

        command, parallel = "", None
        if kind == "ParallelRunStep":
            parallel = parallel_settings(node, tokens, render, set(inputs), set(outputs), problems)
        elif kind in commands.RUNNABLE:
            command = self._command(kind, literals, render(tokens), problems)

        storage = (data.get("DataLocation") or {}).get("StorageId")
        cannot_run = self._cannot_run(kind, storage, problems)
        if cannot_run:  # nothing to run: drop what might not pass the runner's checks
            command, parallel = "", None
        runconfig = _runconfig(node.get("Runconfig"))
        environment = runconfig.get("environment") or {}
        return StepSpec(
            name=node_id,
            command=command,
            display_name=str(data.get("Name") or node_id),
            code=f"snapshot:{storage}" if storage else None,
            inputs=inputs,
            outputs=outputs,
            environment_variables=self._environment(structured, values, environment),
            environment=_environment_name(environment),
            compute=literals.get("Target") or None,
            parallel=parallel,
            cannot_run=cannot_run,
            properties={"StepType": kind, "azureml.nodeid": node_id},
            run_id=self.step_run_id(node_id),
        )

    def _node_parameters(
        self, node: Mapping[str, Any], structured: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """``(literal node parameters, every parameter's value for this run)``.

        A node parameter bound to a graph parameter (``ValueType`` "1") takes the run's value;
        a module parameter the node leaves empty keeps its declared default.
        """
        values = {
            str(p.get("Name")): str(p.get("DefaultValue"))
            for p in structured.get("Parameters") or []
            if p.get("DefaultValue") is not None
        }
        literals: dict[str, str] = {}
        for item in node.get("ModuleParameters") or []:
            name, value = str(item.get("Name")), item.get("Value")
            if value is None:
                continue
            if str(item.get("ValueType")) in _BINDING:
                bound = self.resolved.parameters.get(str(value))
                if bound is not None:
                    values[name] = bound
            else:
                literals[name] = values[name] = str(value)
        return literals, values

    def _parameter(self, name: str, values: Mapping[str, str], problems: list[str]) -> str:
        if name in values:
            return values[name]
        if name in self.resolved.parameters:
            return self.resolved.parameters[name]
        problems.append(f"argument refers to parameter '{name}', which has no value")
        return ""

    @staticmethod
    def _command(kind: str, literals: Mapping[str, str], program: str, problems: list[str]) -> str:
        """``python <Script> <args>`` or ``<Command> <args>`` (CommandStep's args hold the rest)."""
        if kind == "CommandStep":
            executable = literals.get("Command", "")
            return f"{executable} {program}".strip()
        script = literals.get("Script")
        if not script:
            problems.append("the node has no Script parameter")
            return ""
        return f"python {shlex.quote(script)} {program}".strip()

    def _environment(
        self,
        structured: Mapping[str, Any],
        values: Mapping[str, str],
        environment: Mapping[str, Any],
    ) -> dict[str, str]:
        variables = {
            str(k): str(v) for k, v in (environment.get("environmentVariables") or {}).items()
        }
        for declared in structured.get("Parameters") or []:
            name = str(declared.get("Name"))
            if declared.get("SetEnvironmentVariable") and name in values:
                target = declared.get("EnvironmentVariableOverride") or f"AML_PARAMETER_{name}"
                variables[str(target)] = values[name]
        return variables

    @staticmethod
    def _cannot_run(kind: str, storage: Any, problems: list[str]) -> str | None:
        if kind in commands.CANNOT_RUN:
            return (
                f"A {kind} cannot run in the local emulator: {commands.CANNOT_RUN[kind]}. "
                "Run this pipeline in Azure Machine Learning."
            )
        if kind not in commands.RUNNABLE:
            return f"Step type {kind or 'unknown'} is not supported by the local emulator."
        if not storage:
            problems.append("its module has no snapshot (DataLocation.StorageId)")
        if problems:
            return "The step cannot run in the local emulator: " + "; ".join(problems) + "."
        return None

    # -- ports ---------------------------------------------------------------------------

    def _inputs(
        self, node_id: str, structured: Mapping[str, Any], problems: list[str]
    ) -> dict[str, StepInput]:
        inputs: dict[str, StepInput] = {}
        for port in structured.get("Inputs") or []:
            name = str(port.get("Name"))
            if name.startswith(_RUN_AFTER):
                continue
            optional = bool(port.get("IsOptional"))
            source = self.edges.get((node_id, name))
            if source is None:
                if not optional:
                    problems.append(f"input '{name}' is not connected")
                inputs[name] = StepInput(optional=True)
            elif source[0] in self.data_nodes:
                ref = self._data_node(self.data_nodes[source[0]], name, problems)
                inputs[name] = StepInput(data=ref, optional=optional or ref is None)
            else:
                inputs[name] = StepInput(upstream=source, optional=optional)
        return inputs

    def _data_node(
        self, data_node: Mapping[str, Any], port: str, problems: list[str]
    ) -> DataRef | None:
        """The blob folder or file a dataset node stands for, in the default datastore."""
        location = self._data_location(data_node, port, problems)
        if location is None:
            return None
        store, path = location
        if store != self.config.default_datastore:
            problems.append(
                f"input '{port}' is on datastore '{store}'; the emulator holds only the "
                f"default datastore '{self.config.default_datastore}'"
            )
            return None
        path = path.strip("/")
        account, container = self.config.storage_account, self.config.datastore_container
        if path and self.blob_exists(path):
            return DataRef(account, container, path, kind="uri_file")
        return DataRef(account, container, path)

    def _data_location(
        self, data_node: Mapping[str, Any], port: str, problems: list[str]
    ) -> tuple[str, str] | None:
        if data_node.get("DatasetId"):
            source = self.source.data_sources.get(str(data_node["DatasetId"])) or {}
            reference = ((source.get("DataLocation") or {}).get("DataReference")) or {}
            kind = wire.data_reference_type(reference.get("Type"))
            details = next((v for k, v in reference.items() if k.endswith("Reference") and v), None)
            if kind != "AzureBlob" or not isinstance(details, dict):
                problems.append(f"input '{port}' is a {kind or 'unknown'} data reference")
                return None
            store = details.get("AmlDataStoreName") or self.config.default_datastore
            return str(store), str(details.get("RelativePath") or "")
        if data_node.get("DataPathParameterName"):
            name = str(data_node["DataPathParameterName"])
            if name in self.resolved.data_paths:
                return self.resolved.data_paths[name]
            problems.append(f"input '{port}' uses DataPath parameter '{name}' without a value")
            return None
        definition = data_node.get("DataSetDefinition") or {}
        value = definition.get("Value") or {}
        if definition.get("ParameterName"):
            value = self.resolved.datasets.get(str(definition["ParameterName"])) or value
        literal = value.get("LiteralValue")
        if isinstance(literal, dict) and literal.get("RelativePath") is not None:
            store = literal.get("DataStoreName") or self.config.default_datastore
            return str(store), str(literal["RelativePath"])
        problems.append(
            f"input '{port}' is a registered or saved Azure ML dataset, which the emulator "
            "does not hold"
        )
        return None

    def _outputs(
        self,
        node_id: str,
        node: Mapping[str, Any],
        structured: Mapping[str, Any],
        problems: list[str],
    ) -> dict[str, StepOutput]:
        settings = {str(s.get("Name")): s for s in node.get("ModuleOutputSettings") or []}
        run_id = self.step_run_id(node_id)
        outputs: dict[str, StepOutput] = {}
        for port in structured.get("Outputs") or []:
            name = str(port.get("Name"))
            if name.startswith(_RUN_AFTER):
                continue
            setting = settings.get(name) or {}
            store = str(
                setting.get("DataStoreName")
                or port.get("DataStoreName")
                or self.config.default_datastore
            )
            path = _output_path(setting, name, run_id)
            if store != self.config.default_datastore:
                problems.append(
                    f"output '{name}' goes to datastore '{store}'; the emulator holds only "
                    f"the default datastore '{self.config.default_datastore}'"
                )
            destination = DataRef(
                self.config.storage_account, self.config.datastore_container, path
            )
            outputs[name] = StepOutput(destination=destination)
        return outputs


def _output_path(setting: Mapping[str, Any], name: str, run_id: str) -> str:
    """Where an output is written in its datastore (v1 defaults, reference §6)."""
    options = setting.get("DatasetOutputOptions")
    if isinstance(options, dict):  # an OutputFileDatasetConfig
        template = options.get("PathOnDatastore") or "dataset/{run-id}/{output-name}"
        path = str(template).replace("{run-id}", run_id).replace("{output-name}", name)
        return path.strip("/")
    return f"azureml/{run_id}/{name}"


def _runconfig(text: Any) -> dict[str, Any]:
    """The node's ``Runconfig`` JSON text as a dict (empty when absent or unreadable)."""
    if isinstance(text, dict):
        return text
    try:
        decoded = json.loads(text) if text else {}
    except ValueError:
        logger.warning("Ignoring a Runconfig that is not JSON")
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _environment_name(environment: Mapping[str, Any]) -> str | None:
    name = environment.get("name")
    if not name:
        return None
    version = environment.get("version")
    return f"{name}:{version}" if version else str(name)
