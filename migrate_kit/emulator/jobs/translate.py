"""From a pipeline component and an invoke to the runner's ``PipelineSpec``.

The pipeline component is the one of the batch deployment (``arm.component``, its
``componentSpec`` as the SDK sent it, REST form). Each entry of its ``jobs`` names a child
component (``componentId``, an ARM id possibly prefixed ``azureml:``; an inline spec under
``component`` or ``componentSpec`` is taken as well) and binds the child's inputs and outputs:

- ``{"job_input_type": "literal", "value": "${{parent.inputs.x}}"}``: the pipeline's input
  ``x``, a literal or data;
- ``"${{parent.jobs.<j>.outputs.<o>}}"``: output ``o`` of step ``j`` (an upstream edge);
- any other text: a literal, with ``${{parent.inputs.x}}`` of literal inputs substituted;
- ``{"job_input_type": "uri_folder" | "uri_file", "uri": "azureml://..."}``: fixed data;
- outputs ``{"value": "${{parent.outputs.o}}", "type": "literal"}``: the step writes the
  pipeline's output ``o``; ``{"job_output_type": ..., "uri": ...}``: a fixed destination.

Inputs left unbound take the child component's default, or stay empty when optional.

Output locations, Azure ML's defaults: a pipeline output goes to
``azureml://datastores/<default>/paths/azureml/<job name>/<output>/`` (or where the invoke's
``outputData`` says), any other step output to ``azureml/<child run id>/<output>/``; the child
run ids (uuid4, as Azure's) are chosen here and passed to the runner in ``StepSpec.run_id``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from migrate_kit.emulator.config import EmulatorConfig
from migrate_kit.emulator.jobs.errors import InvalidInvokeInput, InvalidPipeline
from migrate_kit.emulator.jobs.invoke_body import InvokeRequest, Value, literal_text
from migrate_kit.emulator.jobs.uris import asset_key, blob_url_to_ref, datastore_uri_to_ref
from migrate_kit.emulator.runner.model import (
    DataRef,
    ParallelSettings,
    PipelineSpec,
    StepInput,
    StepOutput,
    StepSpec,
)
from migrate_kit.emulator.state import Store

__all__ = ["JobPlan", "PipelineTranslator"]

LITERAL_TYPES = frozenset({"string", "number", "integer", "boolean"})
DATA_TYPES = frozenset({"uri_folder", "uri_file"})
#: Types a pipeline component batch deployment does not take as pipeline inputs.
UNSUPPORTED_TYPES = frozenset({"mltable", "custom_model", "mlflow_model", "triton_model"})

_PARENT_INPUT = re.compile(r"\$\{\{\s*parent\.inputs\.([A-Za-z0-9_]+)\s*\}\}")
_PARENT_OUTPUT = re.compile(r"^\$\{\{\s*parent\.outputs\.([A-Za-z0-9_]+)\s*\}\}$")
_UPSTREAM = re.compile(r"^\$\{\{\s*parent\.jobs\.([A-Za-z0-9_]+)\.outputs\.([A-Za-z0-9_]+)\s*\}\}$")
_SELF_REF = re.compile(r"^\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}$")
_STEP_TYPES = frozenset({"command", "parallel"})


@dataclass(frozen=True)
class JobPlan:
    """A pipeline job ready to submit: the runner's spec and what the job resource shows."""

    spec: PipelineSpec
    #: Pipeline inputs as given or defaulted (literal text or data).
    inputs: Mapping[str, Value] = field(default_factory=dict)
    #: Pipeline outputs and where they are written.
    outputs: Mapping[str, DataRef] = field(default_factory=dict)


class PipelineTranslator:
    """Builds ``JobPlan`` objects from the ``arm.*`` entities of one store."""

    def __init__(self, store: Store, config: EmulatorConfig, new_id: Callable[[], str]) -> None:
        self.store = store
        self.config = config
        self.new_id = new_id

    # -- the pipeline ------------------------------------------------------------------------

    def plan(
        self,
        job_name: str,
        pipeline: dict[str, Any],
        request: InvokeRequest,
        *,
        experiment_name: str,
        settings: Mapping[str, Any],
    ) -> JobPlan:
        """The job for ``request`` against the pipeline component spec ``pipeline``.

        Raises ``InvalidInvokeInput`` for inputs or outputs the pipeline does not take, and
        ``InvalidPipeline`` for a pipeline the emulator cannot run.
        """
        if str(pipeline.get("type", "pipeline")).lower() != "pipeline":
            raise InvalidPipeline(
                f"Component '{pipeline.get('name')}' has type '{pipeline.get('type')}'; a "
                "pipeline component batch deployment needs a pipeline component."
            )
        inputs = self._pipeline_inputs(pipeline, request)
        outputs = self._pipeline_outputs(job_name, pipeline, request)
        jobs: dict[str, Any] = pipeline.get("jobs") or {}
        if not jobs:
            raise InvalidPipeline(f"Pipeline component '{pipeline.get('name')}' has no jobs.")

        steps = tuple(
            self._step(step_name, node, inputs, outputs) for step_name, node in jobs.items()
        )
        spec = PipelineSpec(
            run_id=job_name,
            experiment_name=experiment_name,
            steps=steps,
            display_name=str(pipeline.get("display_name") or pipeline.get("name") or job_name),
            continue_on_step_failure=_truthy(settings.get("continue_on_step_failure")),
            default_compute=_compute_name(settings.get("default_compute")),
            origin="v2",
            properties=dict(request.properties),
        )
        return JobPlan(spec=spec, inputs=inputs, outputs=outputs)

    def _pipeline_inputs(
        self, pipeline: dict[str, Any], request: InvokeRequest
    ) -> dict[str, Value]:
        declared: dict[str, Any] = pipeline.get("inputs") or {}
        unknown = sorted(set(request.inputs) - set(declared))
        if unknown:
            raise InvalidInvokeInput(
                f"Input(s) {', '.join(repr(n) for n in unknown)} are not inputs of the "
                f"deployment's pipeline component '{pipeline.get('name')}'. Its inputs are: "
                f"{', '.join(sorted(declared)) or '(none)'}.",
                target=unknown[0],
            )

        values: dict[str, Value] = {}
        for name, spec in declared.items():
            kind = str(spec.get("type", "string")).lower()
            given = request.inputs.get(name)
            if kind in UNSUPPORTED_TYPES:
                raise InvalidPipeline(
                    f"Pipeline input '{name}' has type {kind}, which pipeline component batch "
                    "deployments do not accept; only literal, uri_folder and uri_file inputs "
                    "are supported."
                )
            if given is None:
                default = spec.get("default")
                if default is not None:
                    values[name] = literal_text(default)
                elif not spec.get("optional"):
                    raise InvalidInvokeInput(
                        f"Required input '{name}' ({kind}) of pipeline component "
                        f"'{pipeline.get('name')}' was not given and has no default.",
                        target=name,
                    )
                continue
            if kind in DATA_TYPES and not isinstance(given, DataRef):
                raise InvalidInvokeInput(
                    f"Input '{name}' is declared {kind} but was given as a Literal; pass a "
                    "UriFolder or UriFile input.",
                    target=name,
                )
            if kind in LITERAL_TYPES and isinstance(given, DataRef):
                raise InvalidInvokeInput(
                    f"Input '{name}' is declared {kind} but was given as data; pass a Literal.",
                    target=name,
                )
            values[name] = given
        return values

    def _pipeline_outputs(
        self, job_name: str, pipeline: dict[str, Any], request: InvokeRequest
    ) -> dict[str, DataRef]:
        declared: dict[str, Any] = pipeline.get("outputs") or {}
        unknown = sorted(set(request.outputs) - set(declared))
        if unknown:
            raise InvalidInvokeInput(
                f"Output(s) {', '.join(repr(n) for n in unknown)} are not outputs of the "
                f"deployment's pipeline component '{pipeline.get('name')}'. Its outputs are: "
                f"{', '.join(sorted(declared)) or '(none)'}.",
                target=unknown[0],
            )
        outputs: dict[str, DataRef] = {}
        for name, spec in declared.items():
            kind = _data_kind(spec.get("type"))
            outputs[name] = request.outputs.get(name) or self._default_output(
                f"azureml/{job_name}", name, kind
            )
        return outputs

    # -- one step ----------------------------------------------------------------------------

    def _step(
        self,
        step_name: str,
        node: dict[str, Any],
        parent_inputs: Mapping[str, Value],
        parent_outputs: Mapping[str, DataRef],
    ) -> StepSpec:
        component = self._component_of(step_name, node)
        kind = str(component.get("type") or node.get("type") or "command").lower()
        run_id = self.new_id()
        inputs = self._step_inputs(step_name, node, component, parent_inputs)
        outputs = self._step_outputs(run_id, step_name, node, component, parent_outputs)
        common: dict[str, Any] = {
            "name": step_name,
            "run_id": run_id,
            "display_name": str(node.get("display_name") or step_name),
            "inputs": inputs,
            "outputs": outputs,
            "environment_variables": {
                **_str_map(component.get("environment_variables")),
                **_str_map(node.get("environment_variables")),
            },
            "compute": _compute_name(node.get("computeId") or node.get("compute")),
            "properties": _str_map(node.get("properties")),
        }
        if kind not in _STEP_TYPES:
            return StepSpec(
                command="",
                cannot_run=f"Step '{step_name}' is a {kind} component; the emulator runs only "
                "command and parallel components.",
                **common,
            )
        if kind == "parallel":
            task = _task(node, component)
            return StepSpec(
                command="",
                code=self._code(step_name, task.get("code") or component.get("code")),
                environment=_text(task.get("environment") or component.get("environment")),
                parallel=_parallel_settings(step_name, node, component),
                **common,
            )
        return StepSpec(
            command=str(component.get("command") or ""),
            code=self._code(step_name, component.get("code")),
            environment=_text(component.get("environment")),
            **common,
        )

    def _component_of(self, step_name: str, node: dict[str, Any]) -> dict[str, Any]:
        for key in ("componentSpec", "component"):
            inline = node.get(key)
            if isinstance(inline, dict):
                return inline
        reference = node.get("componentId") or node.get("component")
        if not isinstance(reference, str) or not reference:
            raise InvalidPipeline(f"Step '{step_name}' of the pipeline names no component.")
        try:
            key = asset_key(reference, "components")
        except ValueError as exc:
            raise InvalidPipeline(f"Step '{step_name}': {exc}.") from exc
        body = self.store.get("arm.component", key)
        spec = (body or {}).get("properties", {}).get("componentSpec")
        if not isinstance(spec, dict):
            raise InvalidPipeline(
                f"Step '{step_name}' references component '{reference}', which does not exist "
                "in the workspace."
            )
        return spec

    def _code(self, step_name: str, reference: Any) -> DataRef | None:
        if not reference:
            return None
        try:
            key = asset_key(str(reference), "codes")
        except ValueError as exc:
            raise InvalidPipeline(f"Step '{step_name}': code {exc}.") from exc
        body = self.store.get("arm.code", key)
        uri = (body or {}).get("properties", {}).get("codeUri")
        if not isinstance(uri, str) or not uri:
            raise InvalidPipeline(
                f"Step '{step_name}' references code '{reference}', which does not exist in "
                "the workspace."
            )
        try:
            return blob_url_to_ref(uri)
        except ValueError as exc:
            raise InvalidPipeline(f"Step '{step_name}': code {exc}.") from exc

    def _step_inputs(
        self,
        step_name: str,
        node: dict[str, Any],
        component: dict[str, Any],
        parent_inputs: Mapping[str, Value],
    ) -> dict[str, StepInput]:
        declared: dict[str, Any] = component.get("inputs") or {}
        bound: dict[str, Any] = node.get("inputs") or {}
        inputs: dict[str, StepInput] = {}
        for name in list(declared) + [n for n in bound if n not in declared]:
            spec = declared.get(name) or {}
            optional = bool(spec.get("optional"))
            binding = bound.get(name)
            step_input = (
                self._bound_input(step_name, name, binding, parent_inputs)
                if binding is not None
                else None
            )
            if step_input is None and spec.get("default") is not None:
                step_input = StepInput(literal=literal_text(spec["default"]))
            if step_input is None:
                if not optional:
                    raise InvalidInvokeInput(
                        f"Input '{name}' of step '{step_name}' has no value: bind it in the "
                        "pipeline or give the pipeline input it comes from.",
                        target=name,
                    )
                step_input = StepInput(optional=True)
            elif optional:
                step_input = StepInput(
                    step_input.literal, step_input.data, step_input.upstream, optional=True
                )
            inputs[name] = step_input
        return inputs

    def _bound_input(
        self, step_name: str, name: str, binding: Any, parent_inputs: Mapping[str, Value]
    ) -> StepInput | None:
        """The step input a node binding gives; None when it points at an unset input."""
        if isinstance(binding, dict):
            kind = str(binding.get("job_input_type") or binding.get("jobInputType") or "literal")
            kind = kind.lower()
            if kind in DATA_TYPES:
                ref = self._fixed_data(step_name, name, binding.get("uri"), _data_kind(kind))
                return StepInput(data=ref)
            if kind != "literal":
                raise InvalidPipeline(
                    f"Input '{name}' of step '{step_name}' has type {kind}, which the emulator "
                    "does not run."
                )
            binding = binding.get("value")
        if binding is None:
            return None
        if not isinstance(binding, str):
            return StepInput(literal=literal_text(binding))

        upstream = _UPSTREAM.match(binding.strip())
        if upstream is not None:
            return StepInput(upstream=(upstream[1], upstream[2]))
        whole = _PARENT_INPUT.fullmatch(binding.strip())
        if whole is not None:
            value = parent_inputs.get(whole[1])
            if value is None:
                return None
            return StepInput(data=value) if isinstance(value, DataRef) else StepInput(value)
        return StepInput(literal=self._substitute(step_name, name, binding, parent_inputs))

    def _substitute(
        self, step_name: str, name: str, text: str, parent_inputs: Mapping[str, Value]
    ) -> str:
        def replace(match: re.Match[str]) -> str:
            value = parent_inputs.get(match[1])
            if isinstance(value, DataRef):
                raise InvalidPipeline(
                    f"Input '{name}' of step '{step_name}' embeds data input '{match[1]}' in "
                    "text; bind the data input on its own."
                )
            return value or ""

        return _PARENT_INPUT.sub(replace, text)

    def _fixed_data(
        self, step_name: str, name: str, uri: Any, kind: Literal["uri_folder", "uri_file"]
    ) -> DataRef:
        try:
            ref = datastore_uri_to_ref(str(uri or ""), self.config, kind)
        except ValueError as exc:
            raise InvalidPipeline(f"Input '{name}' of step '{step_name}': {exc}.") from exc
        if ref is None:
            raise InvalidPipeline(
                f"Input '{name}' of step '{step_name}' has uri '{uri}'; the emulator reads only "
                f"azureml://datastores/{self.config.default_datastore}/paths/<path>."
            )
        return ref

    def _step_outputs(
        self,
        run_id: str,
        step_name: str,
        node: dict[str, Any],
        component: dict[str, Any],
        parent_outputs: Mapping[str, DataRef],
    ) -> dict[str, StepOutput]:
        declared: dict[str, Any] = component.get("outputs") or {}
        bound: dict[str, Any] = node.get("outputs") or {}
        outputs: dict[str, StepOutput] = {}
        for name in list(declared) + [n for n in bound if n not in declared]:
            kind = _data_kind((declared.get(name) or {}).get("type"))
            binding = bound.get(name)
            destination = self._default_output(f"azureml/{run_id}", name, kind)
            if isinstance(binding, dict):
                value = binding.get("value")
                uri = binding.get("uri")
                parent = _PARENT_OUTPUT.match(value.strip()) if isinstance(value, str) else None
                if parent is not None and parent[1] in parent_outputs:
                    destination = parent_outputs[parent[1]]
                elif parent is not None:
                    raise InvalidPipeline(
                        f"Output '{name}' of step '{step_name}' is bound to pipeline output "
                        f"'{parent[1]}', which the pipeline component does not declare."
                    )
                elif isinstance(uri, str) and uri:
                    destination = self._fixed_data(step_name, name, uri, kind)
            outputs[name] = StepOutput(destination=destination)
        return outputs

    def _default_output(
        self, folder: str, name: str, kind: Literal["uri_folder", "uri_file"]
    ) -> DataRef:
        return DataRef(
            self.config.storage_account,
            self.config.datastore_container,
            f"{folder}/{name}",
            kind,
        )


# -- helpers ---------------------------------------------------------------------------------


def _parallel_settings(
    step_name: str, node: dict[str, Any], component: dict[str, Any]
) -> ParallelSettings:
    task = _task(node, component)

    def setting(key: str) -> Any:
        return node.get(key) if node.get(key) is not None else component.get(key)

    input_ref = _SELF_REF.match(str(setting("input_data") or ""))
    if input_ref is None or input_ref[1] != "inputs":
        raise InvalidPipeline(
            f"Parallel step '{step_name}' has no input_data of the form ${{{{inputs.<name>}}}}."
        )
    append_to = _SELF_REF.match(str(task.get("append_row_to") or ""))
    output_name = append_to[2] if append_to is not None else None
    return ParallelSettings(
        entry_script=str(task.get("entry_script") or ""),
        input_name=input_ref[2],
        output_name=output_name,
        mini_batch_size=_mini_batch_size(setting("mini_batch_size")),
        error_threshold=_int(setting("error_threshold"), -1),
        output_action="append_row" if output_name else "summary_only",
        append_row_file_name=str(
            (setting("output_file_name") or task.get("append_row_file_name"))
            or "parallel_run_step.txt"
        ),
        program_arguments=str(task.get("program_arguments") or ""),
    )


def _task(node: dict[str, Any], component: dict[str, Any]) -> dict[str, Any]:
    """A parallel step's task: the component's, with what the node sets over it."""
    task: dict[str, Any] = {**(component.get("task") or {}), **(node.get("task") or {})}
    return task


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value)) if value is not None else default
    except ValueError:
        return default


def _mini_batch_size(value: Any) -> int:
    """Files per mini-batch. Known shortcoming: sizes in bytes (``"10kb"``) count as 1 file."""
    try:
        return max(1, int(str(value)))
    except (TypeError, ValueError):
        return 1


def _data_kind(value: Any) -> Literal["uri_folder", "uri_file"]:
    return "uri_file" if str(value or "").lower() in ("uri_file", "urifile") else "uri_folder"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _compute_name(value: Any) -> str | None:
    """The compute's name from a name, ``azureml:name`` or an ARM id."""
    if not value:
        return None
    text = str(value)
    if text.startswith("azureml:"):
        text = text[len("azureml:") :]
    return text.rstrip("/").rsplit("/", 1)[-1] or None


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): literal_text(v) for k, v in value.items() if v is not None}
