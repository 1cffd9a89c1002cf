"""What the runner is asked to run: a pipeline of steps, in a form neither v1 nor v2 specific.

The families translate their own job descriptions into these types (the ARM family from a
pipeline component and the invoke body, the pipelines family from a v1 graph and its
``ParameterAssignments``) and hand a ``PipelineSpec`` to ``Runner.submit``. Everything here is
plain data: frozen dataclasses of strings, numbers and mappings, with no reference to the store.

Placeholders: a step's ``command`` uses ``${{inputs.<name>}}`` and ``${{outputs.<name>}}``, the
v2 syntax, whatever the origin of the step; the runner replaces them when the step starts (a data
input by the local path it was materialised at, a literal by its value, an output by the local
folder or file the step must write). An optional input without a value removes its placeholder
together with an ``[...]`` group around it, as v2 does for ``$[[--x ${{inputs.x}}]]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "DataRef",
    "ParallelSettings",
    "PipelineSpec",
    "RunStatus",
    "StepInput",
    "StepOutput",
    "StepSpec",
]

#: Status names of runs, as v2 job resources and run history spell them.
RunStatus = Literal["NotStarted", "Queued", "Running", "Completed", "Failed", "Canceled"]
RUN_STATUSES: tuple[RunStatus, ...] = (
    "NotStarted",
    "Queued",
    "Running",
    "Completed",
    "Failed",
    "Canceled",
)
TERMINAL_STATUSES: frozenset[str] = frozenset({"Completed", "Failed", "Canceled"})


@dataclass(frozen=True)
class DataRef:
    """A file or folder in the emulator's blob store.

    ``kind="uri_folder"``: every blob under ``path`` (a prefix; a trailing ``/`` is implied);
    ``kind="uri_file"``: the one blob at ``path``. The default datastore of the workspace is
    ``account=config.storage_account``, ``container=config.datastore_container``.
    """

    account: str
    container: str
    path: str
    kind: Literal["uri_folder", "uri_file"] = "uri_folder"


@dataclass(frozen=True)
class StepInput:
    """One input of a step: exactly one of ``literal``, ``data`` or ``upstream`` is set, or none
    of them for an optional input left empty."""

    literal: str | None = None
    data: DataRef | None = None
    #: ``(step name, output name)`` of another step of the same pipeline.
    upstream: tuple[str, str] | None = None
    optional: bool = False


@dataclass(frozen=True)
class StepOutput:
    """One output of a step: where its folder (or file) is written back when the step ends."""

    destination: DataRef


@dataclass(frozen=True)
class ParallelSettings:
    """How a parallel step (v2 parallel component, v1 ParallelRunStep) is driven.

    The runner's driver imports ``entry_script`` from the code folder, calls its ``init()`` once
    and ``run(mini_batch)`` for each group of ``mini_batch_size`` files of the ``input_name``
    input, counts failed items against ``error_threshold`` (-1: never fail) and, for
    ``output_action="append_row"``, appends what ``run`` returns to ``append_row_file_name`` in
    the ``output_name`` output (for ``"summary_only"`` nothing is collected).
    """

    entry_script: str
    input_name: str
    output_name: str | None = None
    mini_batch_size: int = 1
    error_threshold: int = -1
    output_action: Literal["append_row", "summary_only"] = "append_row"
    append_row_file_name: str = "parallel_run_step.txt"
    #: Extra arguments for the entry script (``sys.argv[1:]`` during ``init``), placeholders
    #: allowed as in ``StepSpec.command``.
    program_arguments: str = ""


@dataclass(frozen=True)
class StepSpec:
    """One step (a child job / a v1 node) of a pipeline."""

    #: Unique within the pipeline: the v2 job name in ``jobs:``, or the v1 node id.
    name: str
    #: Shell command run with ``/bin/sh -c`` in the scratch copy of ``code`` (empty for parallel
    #: steps, whose driver the runner starts itself).
    command: str
    display_name: str = ""
    #: The step's code: a blob folder, or ``"snapshot:<id>"`` for a content-service snapshot.
    code: DataRef | str | None = None
    inputs: Mapping[str, StepInput] = field(default_factory=dict)
    outputs: Mapping[str, StepOutput] = field(default_factory=dict)
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    #: Recorded only: steps run in the emulator's own Python, environments are never built.
    environment: str | None = None
    compute: str | None = None
    parallel: ParallelSettings | None = None
    #: Set when the step cannot run locally (a Databricks step, say): its job fails with this.
    cannot_run: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    #: The step's run id (its child job name); None lets the runner make one (a uuid4). Set it
    #: when the family must know the id before submitting, e.g. for default output paths.
    run_id: str | None = None
    #: Seconds the step may run before it is killed and fails; None: the runner's default.
    timeout: float | None = None


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline job: its steps run in dependency order (``StepInput.upstream``)."""

    run_id: str
    experiment_name: str
    steps: tuple[StepSpec, ...]
    display_name: str = ""
    continue_on_step_failure: bool = False
    default_compute: str | None = None
    #: Who asked: ``"v2"`` (batch endpoint invoke) or ``"v1"`` (PipelineSubmit, ...).
    origin: Literal["v1", "v2"] = "v2"
    properties: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
