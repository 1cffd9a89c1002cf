"""The migration plan: frozen dataclasses that say what v2 assets to create for v1 pipelines.

A :class:`Plan` holds one :class:`EndpointPlan` per v2 batch endpoint: one per v1 pipeline
endpoint (its versions become deployments, the v1 default marked) or per published pipeline that
no endpoint runs. Each v1 published pipeline is a :class:`PipelinePlan`: its step components, its
pipeline component, its deployment and its findings, and what testing it needs: how to invoke
it (``invoke_inputs``: each pipeline input with the v1 parameter or data input it came from and
v1's default) and which v2 outputs hold each v1 step output (``output_links``, for parity).

Specs (``spec`` fields) are plain dicts in the ``az ml`` v2 YAML schemas, ready to be written as
YAML or loaded with azure-ai-ml. A step component's ``code`` is the relative path
``../code/<node>`` (seen from ``components/``); assets refer to each other by registered name and
version (``azureml:<name>:<version>``: the pipeline's nodes to their components, the deployment
to the pipeline component), so they are registered in that order. Paths in the dataclasses are
relative to the pipeline's folder (``PipelinePlan.folder``, itself relative to the plan's output
folder), so an engine that registers from a written plan resolves them against wherever
:func:`~migrate_kit.convert.files.write_plan` put it.

Code snapshots are held in memory (``PipelinePlan.snapshots``: snapshot id → zip bytes) until
:func:`migrate_kit.convert.files.write_plan` extracts them; they are left out of ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migrate_kit.convert.findings import Finding, Severity, verdict_of
from migrate_kit.inventory import BLOCKED

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PLAN_COLUMNS",
    "ComponentPlan",
    "DeploymentPlan",
    "EndpointPlan",
    "InvokeInput",
    "OutputLink",
    "PipelineComponentPlan",
    "PipelinePlan",
    "Plan",
]

#: v2 input types that are data (a path), not literals.
DATA_TYPES = frozenset({"uri_folder", "uri_file"})


@dataclass(frozen=True)
class ComponentPlan:
    """One v1 step as a v2 command or parallel component."""

    step: str  # the v1 step name
    node_id: str  # the v1 graph node id
    job_name: str  # the step's node name in the pipeline component
    kind: str  # "command" or "parallel"
    name: str
    version: str
    spec: Mapping[str, Any]
    yaml_path: str  # relative to the pipeline folder, e.g. "components/<name>.yml"
    code_folder: str | None = None  # relative to the pipeline folder: "code/<node name>"
    snapshot_id: str | None = None  # the v1 snapshot whose files fill ``code_folder``
    compute: str | None = None
    v1_step_type: str = ""
    v1_module_id: str = ""


@dataclass(frozen=True)
class PipelineComponentPlan:
    """The pipeline component that wires the step components together."""

    name: str
    version: str
    spec: Mapping[str, Any]
    yaml_path: str = "pipeline.yml"


@dataclass(frozen=True)
class DeploymentPlan:
    """A pipeline-component batch deployment: one per v1 published pipeline (endpoint version)."""

    name: str
    endpoint_name: str
    component_name: str
    component_version: str
    settings: Mapping[str, Any]
    spec: Mapping[str, Any]
    is_default: bool = False
    v1_pipeline_id: str = ""
    v1_version: str | None = None  # the endpoint version label, or the pipeline's own version
    yaml_path: str = "deployment.yml"


@dataclass(frozen=True)
class InvokeInput:
    """An input of the pipeline component as a caller passes it at invoke, and its v1 origin.

    ``v1_kind`` says what it was in v1: a pipeline ``parameter``, a ``datapath`` parameter or a
    file ``dataset``. ``v1_default`` is v1's default as v1 takes it: a parameter's literal text
    (``"14"``, ``"True"``), or ``azureml://datastores/<ds>/paths/<path>`` for a DataPath
    parameter, whose default the v2 input cannot hold (finding ``data-default-dropped``);
    ``None`` when v1 has no default a v2 caller could pass (a dataset: register its files).
    """

    name: str  # the pipeline input
    v1_name: str  # the v1 parameter, DataPath parameter or dataset input it came from
    type: str  # string, integer, number, boolean, uri_folder or uri_file
    v1_default: str | None = None
    v1_kind: str = "parameter"  # "parameter", "datapath" or "dataset"

    @property
    def is_data(self) -> bool:
        """Whether callers pass a path (``Input(type=..., path=...)``) rather than a literal."""
        return self.type in DATA_TYPES


@dataclass(frozen=True)
class OutputLink:
    """A v1 step output and its v2 counterpart: a node's output, maybe bound to a pipeline output.

    The node's child job is named after the v1 step (``display_name``, or the node name when
    the two are equal), which is how a job's children are told apart.
    """

    v1_step: str
    v1_node_id: str
    v1_port: str
    job: str  # the node name in the pipeline component's ``jobs``
    output: str  # the node's output name
    pipeline_output: str | None = None  # the v2 pipeline output it is bound to
    v1_pipeline_output: str | None = None  # the v1 pipeline output (graph port) it fed


@dataclass(frozen=True)
class PipelinePlan:
    """One v1 published pipeline, converted (as far as it goes) with its findings."""

    pipeline_id: str
    pipeline_name: str
    pipeline_version: str | None
    endpoint_name: str  # the v2 batch endpoint this pipeline deploys under
    folder: str  # relative to the plan's output folder: "<endpoint>/<deployment>"
    components: tuple[ComponentPlan, ...] = ()
    pipeline_component: PipelineComponentPlan | None = None
    deployment: DeploymentPlan | None = None
    findings: tuple[Finding, ...] = ()
    v1_endpoint_id: str | None = None
    v1_endpoint_version: str | None = None
    v1_url: str | None = None  # the published pipeline's REST URL (PipelineSubmit), as v1 gave it
    #: How to invoke it: every pipeline input with its v1 origin, in the component's order.
    invoke_inputs: tuple[InvokeInput, ...] = ()
    #: Every output of its converted steps, v1 and v2 side by side (what parity compares).
    output_links: tuple[OutputLink, ...] = ()
    snapshots: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    @property
    def label(self) -> str:
        """``name version``: how messages, progress events and panels name the pipeline."""
        return f"{self.pipeline_name} {self.pipeline_version or ''}".strip()

    @property
    def verdict(self) -> str:
        """``ready``, ``needs attention`` or ``blocked`` (see :func:`verdict_of`)."""
        return verdict_of(self.findings)

    @property
    def deployable(self) -> bool:
        """Whether the plan holds everything a deployment needs (no blocking finding)."""
        return (
            self.verdict != BLOCKED
            and self.pipeline_component is not None
            and self.deployment is not None
        )

    def count(self, severity: Severity) -> int:
        """How many findings have ``severity``."""
        return sum(1 for f in self.findings if f.severity is severity)


@dataclass(frozen=True)
class EndpointPlan:
    """A v2 batch endpoint and the pipelines deployed under it."""

    name: str
    v1_name: str  # the v1 endpoint name, or the published pipeline's name when standalone
    spec: Mapping[str, Any]
    pipelines: tuple[PipelinePlan, ...] = ()
    default_deployment: str | None = None
    v1_endpoint_id: str | None = None
    v1_url: str | None = None  # the v1 endpoint's REST URL (PipelineEndpointSubmit), as v1 gave it
    findings: tuple[Finding, ...] = ()
    yaml_path: str = "endpoint.yml"  # relative to the endpoint folder (``name``)

    @property
    def deployments(self) -> tuple[DeploymentPlan, ...]:
        """The deployments of the deployable pipelines, in v1 version order."""
        return tuple(p.deployment for p in self.pipelines if p.deployable and p.deployment)


PLAN_COLUMNS = [
    "pipeline_name",
    "version",
    "pipeline_id",
    "v1_endpoint",
    "v1_endpoint_version",
    "endpoint",
    "deployment",
    "is_default",
    "components",
    "pipeline_component",
    "verdict",
    "blocking",
    "warnings",
    "infos",
    "folder",
]
#: The columns a person reads first (the command line's plan table, the plan panel's summary).
PLAN_SUMMARY_COLUMNS = [
    "pipeline_name",
    "version",
    "endpoint",
    "deployment",
    "is_default",
    "verdict",
    "blocking",
    "warnings",
    "infos",
]


@dataclass(frozen=True)
class Plan:
    """The whole plan: endpoints with their pipelines, and problems with the selection."""

    endpoints: tuple[EndpointPlan, ...] = ()
    problems: tuple[str, ...] = ()  # e.g. a selection that matched nothing

    @property
    def pipelines(self) -> tuple[PipelinePlan, ...]:
        """Every pipeline plan, endpoint by endpoint."""
        return tuple(p for endpoint in self.endpoints for p in endpoint.pipelines)

    def pipeline(self, key: str) -> PipelinePlan:
        """The pipeline plan whose v1 id is ``key``, or whose ``name version`` or name is."""
        for p in self.pipelines:
            if key in (p.pipeline_id, f"{p.pipeline_name} {p.pipeline_version}"):
                return p
        matches = [p for p in self.pipelines if p.pipeline_name == key]
        if len(matches) == 1:
            return matches[0]
        found = ", ".join(f"{p.pipeline_name} {p.pipeline_version}" for p in matches)
        raise KeyError(
            f"{key!r} names {len(matches)} planned pipelines{': ' + found if found else ''}"
        )

    def frame(self) -> pd.DataFrame:
        """One row per pipeline (columns :data:`PLAN_COLUMNS`)."""
        return to_frame(self)

    to_frame = frame


def plan_rows(plan: Plan) -> list[dict[str, Any]]:
    """The rows of :meth:`Plan.frame`, as plain dicts."""
    rows = []
    for endpoint in plan.endpoints:
        for p in endpoint.pipelines:
            component = p.pipeline_component
            rows.append(
                {
                    "pipeline_name": p.pipeline_name,
                    "version": p.pipeline_version,
                    "pipeline_id": p.pipeline_id,
                    "v1_endpoint": endpoint.v1_name if endpoint.v1_endpoint_id else None,
                    "v1_endpoint_version": p.v1_endpoint_version,
                    "endpoint": endpoint.name,
                    "deployment": p.deployment.name if p.deployment else None,
                    "is_default": bool(p.deployment and p.deployment.is_default),
                    "components": [f"{c.name}:{c.version}" for c in p.components],
                    "pipeline_component": (
                        f"{component.name}:{component.version}" if component else None
                    ),
                    "verdict": p.verdict,
                    "blocking": p.count(Severity.BLOCKING),
                    "warnings": p.count(Severity.WARNING),
                    "infos": p.count(Severity.INFO),
                    "folder": p.folder,
                }
            )
    return rows


def to_frame(plan: Plan) -> pd.DataFrame:
    """Build the plan DataFrame (fixed columns, also when empty)."""
    import pandas as pd

    frame: pd.DataFrame = pd.DataFrame(plan_rows(plan), columns=PLAN_COLUMNS)
    return frame
