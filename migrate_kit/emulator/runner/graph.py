"""Checking a ``PipelineSpec`` and ordering its steps before anything runs.

The families build specs from what a client sent, so every mistake found here is the client's:
it surfaces as a ``ValueError`` whose message names the step, the input and what is wrong, and
the family turns it into the service's 400. Nothing is stored for a spec that fails.
"""

from __future__ import annotations

import heapq
import logging

from migrate_kit.emulator.runner.model import PipelineSpec, StepSpec
from migrate_kit.emulator.runner.placeholders import group_names, placeholder_names

__all__ = ["Graph", "check_spec"]

logger = logging.getLogger(__name__)


class Graph:
    """The steps of a checked spec: by name, in graph order, with their upstream steps."""

    def __init__(self, spec: PipelineSpec, order: list[str], upstream: dict[str, set[str]]):
        self.spec = spec
        self.steps: dict[str, StepSpec] = {step.name: step for step in spec.steps}
        #: Step names, each after the steps it consumes (declaration order between equals).
        self.order = order
        #: Step name -> names of the steps whose outputs it consumes.
        self.upstream = upstream

    def downstream(self, name: str) -> set[str]:
        """Every step that consumes ``name``'s outputs, directly or through other steps."""
        found: set[str] = set()
        for candidate in self.order:
            if self.upstream[candidate] & (found | {name}):
                found.add(candidate)
        return found


def check_spec(spec: PipelineSpec) -> Graph:
    """The spec's graph; ``ValueError`` for an empty pipeline, a duplicate step name, a bad
    input or placeholder, an unknown upstream step or output, or a cycle."""
    if not spec.run_id:
        raise ValueError("The pipeline needs a run id (PipelineSpec.run_id is empty).")
    if not spec.steps:
        raise ValueError(f"Pipeline {spec.run_id} has no steps; a pipeline needs at least one.")

    by_name: dict[str, StepSpec] = {}
    for step in spec.steps:
        if not step.name:
            raise ValueError(f"Pipeline {spec.run_id} has a step without a name.")
        if step.name in by_name:
            raise ValueError(
                f"Pipeline {spec.run_id} has two steps named {step.name!r}; step names must be "
                "unique within a pipeline."
            )
        by_name[step.name] = step
    _check_run_ids(spec)

    upstream = {step.name: _check_step(step, by_name) for step in spec.steps}
    return Graph(spec, _order(spec, upstream), upstream)


def _check_run_ids(spec: PipelineSpec) -> None:
    seen = {spec.run_id}
    for step in spec.steps:
        if step.run_id is not None and step.run_id in seen:
            raise ValueError(
                f"Step {step.name!r} has run id {step.run_id!r}, already used in pipeline "
                f"{spec.run_id}; every run needs its own id."
            )
        if step.run_id is not None:
            seen.add(step.run_id)


def _check_step(step: StepSpec, by_name: dict[str, StepSpec]) -> set[str]:
    """The step's upstream step names, after checking its inputs, command and settings."""
    upstream: set[str] = set()
    for input_name, given in step.inputs.items():
        sources = [given.literal is not None, given.data is not None, given.upstream is not None]
        if sum(sources) > 1:
            raise ValueError(
                f"Input {input_name!r} of step {step.name!r} sets more than one of literal, data "
                "and upstream; give exactly one (or none for an optional input left empty)."
            )
        if given.upstream is None:
            continue
        source_step, source_output = given.upstream
        source = by_name.get(source_step)
        if source is None or source_step == step.name:
            known = sorted(set(by_name) - {step.name})
            raise ValueError(
                f"Input {input_name!r} of step {step.name!r} reads step {source_step!r}, which "
                f"is not another step of this pipeline (steps: {known})."
            )
        if source_output not in source.outputs:
            raise ValueError(
                f"Input {input_name!r} of step {step.name!r} reads output {source_output!r} of "
                f"step {source_step!r}, which has no such output "
                f"(outputs: {sorted(source.outputs)})."
            )
        upstream.add(source_step)

    texts = [step.command] + ([step.parallel.program_arguments] if step.parallel else [])
    for text in texts:
        _check_placeholders(step, text)
    if step.parallel is not None:
        _check_parallel(step)
    return upstream


def _check_placeholders(step: StepSpec, text: str) -> None:
    """Placeholders outside ``$[[...]]`` must name a declared input or output."""
    optional = group_names(text)
    declared = {("inputs", name) for name in step.inputs} | {
        ("outputs", name) for name in step.outputs
    }
    unknown = sorted(placeholder_names(text) - declared - optional)
    if unknown:
        kind, name = unknown[0]
        raise ValueError(
            f"Step {step.name!r} uses ${{{{{kind}.{name}}}}} but declares no such "
            f"{kind[:-1]} (inputs: {sorted(step.inputs)}, outputs: {sorted(step.outputs)})."
        )


def _check_parallel(step: StepSpec) -> None:
    settings = step.parallel
    assert settings is not None
    if settings.input_name not in step.inputs:
        raise ValueError(
            f"Parallel step {step.name!r} splits input {settings.input_name!r}, which it does "
            f"not declare (inputs: {sorted(step.inputs)})."
        )
    if settings.output_name is not None and settings.output_name not in step.outputs:
        raise ValueError(
            f"Parallel step {step.name!r} appends rows to output {settings.output_name!r}, "
            f"which it does not declare (outputs: {sorted(step.outputs)})."
        )
    if settings.mini_batch_size < 1:
        raise ValueError(
            f"Parallel step {step.name!r} has mini_batch_size {settings.mini_batch_size}; "
            "it must be at least 1."
        )
    if not settings.entry_script:
        raise ValueError(f"Parallel step {step.name!r} has no entry script.")


def _order(spec: PipelineSpec, upstream: dict[str, set[str]]) -> list[str]:
    """Kahn's algorithm, taking ready steps in declaration order; ``ValueError`` on a cycle."""
    index = {step.name: i for i, step in enumerate(spec.steps)}
    waiting = {name: set(sources) for name, sources in upstream.items()}
    ready = [index[name] for name, sources in waiting.items() if not sources]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = spec.steps[heapq.heappop(ready)].name
        order.append(name)
        for other, sources in waiting.items():
            if name in sources:
                sources.discard(name)
                if not sources:
                    heapq.heappush(ready, index[other])
    if len(order) < len(spec.steps):
        stuck = sorted(set(index) - set(order), key=index.__getitem__)
        raise ValueError(
            f"The steps {stuck} of pipeline {spec.run_id} depend on each other in a cycle; "
            "a pipeline must be a directed acyclic graph."
        )
    return order
