"""The migration plan: frozen dataclasses that say what v2 assets to create for v1 pipelines.

A :class:`Plan` holds one :class:`EndpointPlan` per v2 batch endpoint: one per v1 pipeline
endpoint (its versions become deployments, the v1 default marked) or per published pipeline that
no endpoint runs. Each v1 published pipeline is a :class:`PipelinePlan`: its step components, its
pipeline component, its deployment and its findings.

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
    "PipelineComponentPlan",
    "PipelinePlan",
    "Plan",
]


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
    snapshots: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)

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
