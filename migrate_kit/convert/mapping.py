"""A v1 graph as v2 component specs: one component per step, wired into a pipeline component.

:func:`convert_graph` is pure: models in, specs and findings out. It leaves names, versions and
file paths to :mod:`migrate_kit.convert.build`, which knows the whole plan (names must be unique
across it) and the code snapshots (versions hash their files). What each port binds to is
:mod:`migrate_kit.convert.wiring`'s part.

How the v1 graph maps:

- a pipeline parameter becomes a pipeline input of the same name and type (Int → integer,
  Float → number, Bool → boolean, String → string), default kept; each step that uses it gets a
  component input bound to ``${{parent.inputs.<name>}}``;
- a DataReference is a fixed datastore path in v1 (callers cannot change it), so the consuming
  node binds its input to that path, ``azureml://datastores/<ds>/paths/<path>``;
- a DataPath parameter becomes a pipeline data input; its v1 default cannot be a default in v2
  (azure-ai-ml refuses defaults on data inputs of a pipeline component), so callers must pass it:
  a warning says so and names the v1 default;
- a v1 dataset becomes a pipeline ``uri_folder`` input when it was mounted or downloaded (only
  file datasets can be), else a blocking finding: batch deployments take neither MLTable nor v1
  datasets;
- a PipelineData or OutputFileDatasetConfig edge becomes a component output bound to the
  downstream node's input (``${{parent.jobs.<node>.outputs.<out>}}``); an edge to a pipeline
  output becomes a pipeline output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from migrate_kit.convert.arguments import References, command_line, split_command
from migrate_kit.convert.checks import check_graph
from migrate_kit.convert.environments import EnvironmentPlan, environment_from_runconfig
from migrate_kit.convert.findings import Finding, blocking, info, warning
from migrate_kit.convert.model import InvokeInput, OutputLink
from migrate_kit.convert.parallel import parallel_spec
from migrate_kit.convert.wiring import Names, Wiring
from migrate_kit.inventory import NEEDS_REVIEW, NO_V2_EQUIVALENT
from migrate_kit.v1.models import (
    ArgumentKind,
    PublishedPipeline,
    Step,
)

__all__ = [
    "COMMAND_STEPS",
    "GraphConversion",
    "StepConversion",
    "convert_graph",
]

#: v1 step types that become command components.
COMMAND_STEPS = frozenset(
    {"PythonScriptStep", "CommandStep", "ModuleStep", "EstimatorStep", "MpiStep", "RScriptStep"}
)
PARALLEL_STEPS = frozenset({"ParallelRunStep"})
#: v1 step types with a v2 counterpart (a sweep, automl or spark node) that must be written by
#: hand: the converter gives guidance instead of a component.
MANUAL_STEPS = {
    "HyperDriveStep": "v2 runs hyperparameter tuning as a sweep node: write a `type: sweep` node "
    "in pipeline.yml whose trial is a command component of the training script, with the search "
    "space, sampling algorithm, primary metric and limits of the v1 HyperDriveConfig",
    "AutoMLStep": "v2 runs AutoML as an automl node: write a `type: automl` node in pipeline.yml "
    "(classification, regression or forecasting) with the task settings of the v1 AutoMLConfig; "
    "its training data must be an MLTable input",
    "SynapseSparkStep": "v2 runs Spark as a spark component on serverless Spark or an attached "
    "Synapse pool: write a `type: spark` component for the script",
}

#: Node parameters every script-type module declares (the v1 runtime's own, not the user's
#: ``params``); anything else in a node's literal parameters came from the step's ``params``.
SYSTEM_PARAMETERS = frozenset((
    "Target", "AutoPrepareEnvironment", "MLCComputeType", "Framework", "Communicator", "Script",
    "Command", "Arguments", "PrepareEnvironment", "BaseDockerImage", "DockerEnabled",
    "DockerArguments", "RunConfiguration", "JobName", "MaxRunDurationSeconds",
    "EnvironmentVariables", "InterpreterPath", "SharedVolumes", "ShmSize", "GpuSupport",
    "BaseImageRegistryAddress", "BaseImageRegistryUsername", "BaseImageRegistryPassword",
    "SparkRepositories", "SparkMavenPackages", "SparkConfiguration", "PrecachePackages",
    "HistoryOutputCollection", "ExposedPorts", "ContainerInstanceRegion",
    "ContainerInstanceCpuCores", "ContainerInstanceMemoryGb", "UserManagedDependencies",
    "CondaDependencies", "NodeCount", "YarnDeployMode", "MpiProcessCountPerNode",
    "TensorflowWorkerCount", "TensorflowParameterServerCount", "AMLComputeName",
    "AMLComputeVmSize", "AMLComputeVmPriority", "AMLComputeLocation", "AMLComputeRetainCluster",
    "AMLComputeNodeCount", "SourceDirectoryDataStore", "DirectoriesToWatch", "BaseDockerfile",
    "BatchAiSubscriptionId", "BatchAiResourceGroup", "BatchAiWorkspaceName", "ClusterName",
    "NativeSharedDirectory",
))  # fmt: skip


@dataclass(frozen=True)
class StepConversion:
    """One step as a component spec (no name, version or code path yet) and its pipeline node."""

    step: Step
    job_name: str
    kind: str  # "command" or "parallel"
    spec: Mapping[str, Any]
    node: Mapping[str, Any]  # the node in the pipeline component's ``jobs`` (no ``component``)
    compute: str | None
    output_links: tuple[OutputLink, ...] = ()  # each v1 output port and its v2 output


@dataclass(frozen=True)
class GraphConversion:
    """A whole graph: its converted steps, pipeline inputs and outputs, and all findings.

    ``steps`` holds only the steps that converted; ``findings`` covers the graph and every step.
    ``invoke_inputs`` says for each of ``inputs`` which v1 parameter or data input it came from.
    """

    steps: tuple[StepConversion, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    invoke_inputs: tuple[InvokeInput, ...] = ()


def convert_graph(pipeline: PublishedPipeline) -> GraphConversion:
    """Convert ``pipeline``'s graph; never raises for what the graph holds (findings instead)."""
    graph = pipeline.graph
    if graph is None:
        detail = "; ".join(pipeline.problems) or "it was not read"
        return GraphConversion(
            findings=(
                blocking(
                    "no-graph",
                    f"the pipeline graph could not be read ({detail}), so its steps are unknown",
                ),
            )
        )
    findings = list(check_graph(graph))
    findings.extend(warning("v1-read-problem", text) for text in graph.problems)
    if any(f.code == "duplicate-node-id" for f in findings):  # edges are ambiguous then
        return GraphConversion(findings=tuple(findings))

    wiring = Wiring.of(graph)
    steps: list[StepConversion] = []
    for step in graph.steps:
        converted, more = _convert_step(step, wiring)
        findings.extend(more)
        if converted is not None:
            steps.append(converted)
    findings.extend(wiring.findings)
    return GraphConversion(
        steps=tuple(steps),
        inputs=dict(wiring.pipeline_inputs),
        outputs=dict(wiring.pipeline_outputs),
        findings=tuple(findings),
        invoke_inputs=tuple(wiring.invoke_inputs[name] for name in wiring.pipeline_inputs),
    )


# --- one step --------------------------------------------------------------------------------


def _convert_step(step: Step, wiring: Wiring) -> tuple[StepConversion | None, list[Finding]]:
    kind = _kind(step)
    if isinstance(kind, Finding):
        return None, [kind]
    if not step.module_read:
        return None, []  # reported by check_graph
    findings: list[Finding] = []
    if step.step_type in NEEDS_REVIEW and step.step_type not in PARALLEL_STEPS:
        findings.append(
            warning(
                "review-step-type", f"a {step.step_type} {NEEDS_REVIEW[step.step_type]}", step.name
            )
        )
    findings.extend(warning("v1-read-problem", text, step.name) for text in step.problems)

    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    node_inputs: dict[str, Any] = {}
    node_outputs: dict[str, Any] = {}
    names = Names()
    refs_inputs: dict[str, str] = {}
    refs_outputs: dict[str, str] = {}
    for port in step.inputs:
        v2 = names.take(wiring.input_name(step, port))
        refs_inputs[port.name] = v2
        inputs[v2], binding, more = wiring.bind_input(step, port)
        findings.extend(more)
        if binding is not None:
            node_inputs[v2] = binding
    for port in step.outputs:
        v2 = names.take(port.name)
        refs_outputs[port.name] = v2
        outputs[v2], binding, more = wiring.bind_output(step, port)
        findings.extend(more)
        if binding is not None:
            node_outputs[v2] = binding

    refs_parameters = _parameter_inputs(step, wiring, names, inputs, node_inputs, findings)
    refs = References(inputs=refs_inputs, outputs=refs_outputs, parameters=refs_parameters)
    env = _environment(step)
    findings.extend(env.findings)

    if kind == "parallel":
        spec, more = parallel_spec(step, refs, inputs, outputs, env)
        findings.extend(more)
        if spec is None:
            return None, findings
    else:
        spec, more = _command_spec(step, refs, inputs, outputs, env)
        findings.extend(more)
        if spec is None:
            return None, findings

    findings.extend(_unbound_optional(step, spec, inputs, node_inputs))
    node: dict[str, Any] = {"type": kind}
    if step.name != wiring.job_names[step.node_id]:
        node["display_name"] = step.name
    if step.compute:
        node["compute"] = f"azureml:{step.compute}"
    else:
        findings.append(
            info("no-compute", "the step names no compute; it runs on default_compute", step.name)
        )
    # azure-ai-ml drops environment_variables from a component (its component schema excludes
    # the field), so they go on the node, where the job that runs it receives them.
    variables = {**env.variables, **_user_parameters(step)}
    if variables:
        node["environment_variables"] = variables
    if node_inputs:
        node["inputs"] = node_inputs
    if node_outputs:
        node["outputs"] = node_outputs
    conversion = StepConversion(
        step=step,
        job_name=wiring.job_names[step.node_id],
        kind=kind,
        spec=spec,
        node=node,
        compute=step.compute,
        output_links=_output_links(step, wiring, refs_outputs),
    )
    return conversion, findings


def _output_links(step: Step, wiring: Wiring, outputs: Mapping[str, str]) -> tuple[OutputLink, ...]:
    """Each v1 output port of ``step`` with its component output (``outputs``: v1 port -> v2
    name) and, when an edge makes it a v1 pipeline output, the v2 pipeline output.

    A port feeding several v1 pipeline outputs is bound to the last (as ``bind_output`` does).
    """
    links = []
    for port in step.outputs:
        graph_ports = [
            e.graph_port_name
            for e in wiring.graph.edges
            if e.source_node == step.node_id and e.source_port == port.name and e.graph_port_name
        ]
        v1_output = graph_ports[-1] if graph_ports else None
        links.append(
            OutputLink(
                v1_step=step.name,
                v1_node_id=step.node_id,
                v1_port=port.name,
                job=wiring.job_names[step.node_id],
                output=outputs[port.name],
                pipeline_output=wiring.output_names.get(v1_output) if v1_output else None,
                v1_pipeline_output=v1_output,
            )
        )
    return tuple(links)


def _unbound_optional(
    step: Step, spec: Mapping[str, Any], inputs: Mapping[str, Any], bound: Mapping[str, Any]
) -> list[Finding]:
    """Warnings for optional inputs that nothing feeds but the command line names.

    v1 left such an argument out at run time; v2 only does that for text inside an optional
    group ``$[[...]]``, which the converter does not write (it cannot tell which neighbouring
    tokens belong to the input), so the command needs editing by hand.
    """
    text = str(spec.get("command") or spec.get("task", {}).get("program_arguments") or "")
    return [
        warning(
            "optional-input",
            f"optional input '{name}' is fed by nothing but used on the command line; wrap "
            f"it and its flag in an optional group, e.g. $[[--{name} ${{{{inputs.{name}}}}}]]",
            step.name,
        )
        for name, spec_in in inputs.items()
        if spec_in.get("optional") and name not in bound and f"{{{{inputs.{name}}}}}" in text
    ]


def _kind(step: Step) -> str | Finding:
    """``command`` or ``parallel``, or the blocking finding for a step type that has neither."""
    if step.step_type in COMMAND_STEPS:
        return "command"
    if step.step_type in PARALLEL_STEPS:
        return "parallel"
    if step.step_type in NO_V2_EQUIVALENT:
        return blocking(
            "no-v2-equivalent",
            f"a {step.step_type} has no v2 equivalent in a batch deployment: "
            f"{NO_V2_EQUIVALENT[step.step_type]}",
            step.name,
        )
    if step.step_type in MANUAL_STEPS:
        return blocking(
            "manual-step",
            f"a {step.step_type} is not converted automatically. {MANUAL_STEPS[step.step_type]}",
            step.name,
        )
    what = f"step type '{step.step_type}'" if step.step_type else "an unknown step type"
    return blocking(
        "unknown-step-type",
        f"{what} (execution type {step.execution_type or 'unknown'}) is not one the converter "
        "knows; port the step by hand as a command component",
        step.name,
    )


def _parameter_inputs(
    step: Step,
    wiring: Wiring,
    names: Names,
    inputs: dict[str, Any],
    node_inputs: dict[str, Any],
    findings: list[Finding],
) -> dict[str, str]:
    """Component inputs for the pipeline parameters bound to the step; returns the references.

    References are keyed by the module parameter name (what ``Parameter`` tokens and
    ``$AML_PARAMETER_<name>`` hold), bound to the graph parameter it names.
    """
    refs: dict[str, str] = {}
    used = {a.value for a in step.arguments if a.kind is ArgumentKind.PARAMETER}
    used |= {m for a in step.arguments for m in re.findall(r"\$AML_PARAMETER_(\w+)", a.value)}
    for module_name, graph_name in step.parameter_bindings.items():
        parameter = wiring.parameters.get(graph_name)
        if parameter is None:
            findings.append(
                blocking(
                    "unknown-parameter",
                    f"module parameter '{module_name}' is bound to pipeline parameter "
                    f"'{graph_name}', which the graph does not declare",
                    step.name,
                )
            )
            continue
        v2 = names.take(module_name)
        refs[module_name] = v2
        pipeline_input = wiring.input_name_of(graph_name)
        inputs[v2] = {"type": wiring.pipeline_inputs[pipeline_input]["type"]}
        node_inputs[v2] = f"${{{{parent.inputs.{pipeline_input}}}}}"
        if module_name not in used:
            findings.append(
                warning(
                    "parameter-environment",
                    f"pipeline parameter '{graph_name}' reached the step only as the "
                    f"environment variable AML_PARAMETER_{module_name}, which v2 does not set; "
                    f"it is the component input '{v2}': pass it on the command line",
                    step.name,
                )
            )
    return refs


def _command_spec(
    step: Step,
    refs: References,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    env: EnvironmentPlan,
) -> tuple[dict[str, Any] | None, list[Finding]]:
    findings: list[Finding] = []
    program = _program(step)
    if program is None:
        return None, [
            blocking(
                "no-program",
                "the step names neither a script nor a command, so there is nothing to run",
                step.name,
            )
        ]
    command, rewritten = command_line(program, step.arguments, refs)
    findings.extend(warning("argument", text, step.name) for text in rewritten.problems)

    spec: dict[str, Any] = {"type": "command", "display_name": step.name}
    if step.description and step.description != step.name:
        spec["description"] = step.description
    if not step.allow_reuse:
        spec["is_deterministic"] = False
    if inputs:
        spec["inputs"] = inputs
    if outputs:
        spec["outputs"] = outputs
    if env.environment is not None:
        spec["environment"] = env.environment
    spec["command"] = command
    if step.step_type == "MpiStep":
        findings.append(
            warning(
                "lossy-mapping",
                "the MPI settings (node count, processes per node) are not carried over; set "
                "`distribution: {type: mpi, process_count_per_instance: N}` and "
                "`resources.instance_count` on the node",
                step.name,
            )
        )
    return spec, findings


def _program(step: Step) -> list[str] | None:
    """The program a step runs before its arguments: ``python <script>``, a command, ..."""
    if step.step_type == "CommandStep" or (step.command and not step.script):
        command = step.command or step.literal_parameters.get("Command")
        return split_command(command) if command else None
    if step.script:
        interpreter = "Rscript" if step.step_type == "RScriptStep" else "python"
        return [interpreter, step.script]
    return None


def _user_parameters(step: Step) -> dict[str, str]:
    """Literal step ``params`` as the environment variables v1 exported them as."""
    return {
        f"AML_PARAMETER_{name}": value
        for name, value in step.literal_parameters.items()
        if name not in SYSTEM_PARAMETERS
    }


def _environment(step: Step) -> EnvironmentPlan:
    registered = None
    meta = step.metadata_parameters.get("BatchInferencingMetaData")
    if meta:
        try:
            settings = json.loads(meta)
        except ValueError:
            settings = {}
        if isinstance(settings, dict) and settings.get("EnvironmentName"):
            registered = str(settings["EnvironmentName"])
            if settings.get("EnvironmentVersion"):
                registered += f":{settings['EnvironmentVersion']}"
    return environment_from_runconfig(step.runconfig, step.name, registered_name=registered)
