"""The converter: v1 published pipelines → a plan of v2 components, endpoints and deployments.

``plan()`` reads the selected pipelines and returns a :class:`Plan`; everything below it is pure
(v1 models in, plan objects out), apart from downloading code snapshots. Modules:

- ``checks``: graph checks (cycles, dangling edges, unknown ports...) as blocking findings;
- ``mapping``: a graph as component specs (``parallel`` for ParallelRunSteps);
- ``wiring``: what each step port binds to (pipeline inputs and outputs, paths, other nodes);
- ``environments``: a v1 run configuration as a v2 environment;
- ``arguments``: v1 argument tokens as a v2 command line;
- ``build``: names and endpoint grouping into plan objects;
- ``specs``: each asset's YAML-ready spec and its content-hashed version;
- ``files``: YAML, code folders and findings on disk;
- ``findings`` / ``model``: the plan's vocabulary.
"""

from migrate_kit.convert.build import build_plan
from migrate_kit.convert.files import write_plan
from migrate_kit.convert.findings import Finding, Severity
from migrate_kit.convert.model import (
    PLAN_COLUMNS,
    PLAN_SUMMARY_COLUMNS,
    ComponentPlan,
    DeploymentPlan,
    EndpointPlan,
    InvokeInput,
    OutputLink,
    PipelineComponentPlan,
    PipelinePlan,
    Plan,
)
from migrate_kit.convert.plan import plan, select_pipelines

__all__ = [
    "PLAN_COLUMNS",
    "PLAN_SUMMARY_COLUMNS",
    "ComponentPlan",
    "DeploymentPlan",
    "EndpointPlan",
    "Finding",
    "InvokeInput",
    "OutputLink",
    "PipelineComponentPlan",
    "PipelinePlan",
    "Plan",
    "Severity",
    "build_plan",
    "plan",
    "select_pipelines",
    "write_plan",
]
