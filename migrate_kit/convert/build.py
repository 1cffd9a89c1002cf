"""Assemble plan objects from converted graphs: names, versions, specs and endpoint grouping.

:func:`build_plan` is the pure core of :func:`migrate_kit.convert.plan.plan`: v1 models and the
code snapshots in, a :class:`~migrate_kit.convert.model.Plan` out, no network. Names are decided
over the whole workspace listing (every v1 endpoint and standalone pipeline name), so the name a
pipeline gets does not depend on which pipelines were selected.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from migrate_kit import naming
from migrate_kit.convert.findings import Finding, blocking, info, warning
from migrate_kit.convert.mapping import GraphConversion, convert_graph
from migrate_kit.convert.model import (
    EndpointPlan,
    PipelinePlan,
    Plan,
)
from migrate_kit.convert.specs import (
    SCHEMAS,
    component_plan,
    deployment_plan,
    deployment_settings,
    pipeline_component_plan,
)
from migrate_kit.errors import ConfigurationError
from migrate_kit.inventory import BLOCKED
from migrate_kit.v1.models import EntityStatus, PipelineEndpoint, PublishedPipeline

__all__ = ["Group", "build_plan", "groups_of"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Group:
    """The published pipelines that share one v2 batch endpoint.

    ``members`` pairs each pipeline with its v1 version label: the endpoint version for a v1
    endpoint, the pipeline's own version for standalone pipelines (grouped by name).
    """

    v1_name: str
    endpoint: PipelineEndpoint | None
    members: tuple[tuple[PublishedPipeline, str | None], ...] = ()


@dataclass
class _Names:
    """Every v2 name of the plan, overrides applied; ``used`` records which overrides matched."""

    endpoints: dict[str, str]  # v1 endpoint / standalone name -> endpoint name
    components: dict[tuple[str, ...], str]
    overrides: Mapping[str, str]
    used: set[str] = field(default_factory=set)

    def override(self, kind: str, default: str, *keys: str) -> str:
        """The override for the first of ``kind:key`` found, else ``default``."""
        for key in keys:
            scoped = f"{kind}:{key}"
            if scoped in self.overrides:
                self.used.add(scoped)
                return self.overrides[scoped]
        return default


def groups_of(
    pipelines: Sequence[PublishedPipeline], endpoints: Sequence[PipelineEndpoint]
) -> list[Group]:
    """One group per v1 endpoint and per distinct name of the pipelines no endpoint runs.

    A pipeline run by two endpoints is planned under each. Groups keep the pipelines given, so
    pass the full listing to learn every name and the selected (fully read) pipelines to plan.
    """
    by_id = {p.id: p for p in pipelines}
    groups: list[Group] = []
    in_endpoint: set[str] = set()
    for endpoint in endpoints:
        versions = tuple(
            (by_id[v.pipeline_id], v.version) for v in endpoint.versions if v.pipeline_id in by_id
        )
        in_endpoint.update(v.pipeline_id for v in endpoint.versions)
        groups.append(Group(endpoint.name, endpoint, versions))
    standalone: dict[str, list[PublishedPipeline]] = {}
    for p in pipelines:
        if p.id not in in_endpoint:
            standalone.setdefault(p.name, []).append(p)
    for name, same_name in standalone.items():
        ordered = sorted(same_name, key=lambda p: (p.version or "", p.id))
        groups.append(Group(name, None, tuple((p, p.version) for p in ordered)))
    return groups


def build_plan(
    selected: Sequence[PublishedPipeline],
    endpoints: Sequence[PipelineEndpoint],
    *,
    listing: Sequence[PublishedPipeline] | None = None,
    snapshots: Mapping[str, bytes] | None = None,
    snapshot_problems: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
) -> Plan:
    """Plan the ``selected`` pipelines (read with their graphs).

    ``listing`` is every published pipeline of the workspace (graphs not needed), for names that
    do not depend on the selection; it defaults to ``selected``. ``snapshots`` maps snapshot ids
    to zip bytes; a step whose snapshot is missing gets a blocking finding (with the reason from
    ``snapshot_problems`` when given). ``names`` overrides target names (see
    :func:`migrate_kit.convert.plan.plan`); an override that matches nothing, or is not a valid
    name, raises :class:`~migrate_kit.errors.ConfigurationError`.
    """
    listing = list(listing) if listing is not None else list(selected)
    known = {p.id for p in listing}
    listing += [p for p in selected if p.id not in known]
    all_groups = groups_of(listing, endpoints)
    name_map = _assign_names(all_groups, dict(names or {}))
    selected_ids = {p.id for p in selected}
    full = {p.id: p for p in selected}

    plans = []
    for group in groups_of(list(full.values()), endpoints):
        if not any(p.id in selected_ids for p, _ in group.members):
            continue
        plans.append(
            _endpoint_plan(
                group,
                _all_versions(group, all_groups),
                name_map,
                snapshots or {},
                snapshot_problems or {},
            )
        )
    unused = sorted(set(name_map.overrides) - name_map.used)
    if unused:
        raise ConfigurationError(
            f"The name override(s) {', '.join(map(repr, unused))} match nothing in this plan. "
            "Keys are endpoint:<v1 endpoint or pipeline name, or planned endpoint name>, "
            "deployment:<v1 pipeline id or endpoint/deployment>, component:<planned name>."
        )
    _require_distinct(plans)
    return Plan(endpoints=tuple(sorted(plans, key=lambda e: e.name)))


def _require_distinct(plans: Sequence[EndpointPlan]) -> None:
    """Raise when overrides gave two endpoints, or two deployments of one, the same name."""
    seen: dict[str, str] = {}
    for endpoint in plans:
        if endpoint.name in seen:
            raise ConfigurationError(
                f"'{seen[endpoint.name]}' and '{endpoint.v1_name}' would both become batch "
                f"endpoint '{endpoint.name}'; give one of them another name (endpoint:<v1 name>)."
            )
        seen[endpoint.name] = endpoint.v1_name
        folders = [p.folder for p in endpoint.pipelines]
        for folder in {f for f in folders if folders.count(f) > 1}:
            raise ConfigurationError(
                f"Two pipelines of endpoint '{endpoint.name}' would both get deployment "
                f"'{folder.rsplit('/', 1)[1]}'; rename one (deployment:<v1 pipeline id>)."
            )


def _all_versions(group: Group, all_groups: Sequence[Group]) -> list[str | None]:
    """Every version label of the group in the full listing (deployment names need them all)."""
    for candidate in all_groups:
        if candidate.v1_name == group.v1_name and (candidate.endpoint is None) == (
            group.endpoint is None
        ):
            if group.endpoint is not None:
                return [v.version for v in group.endpoint.versions]
            return [version for _, version in candidate.members]
    return [version for _, version in group.members]


def _assign_names(groups: Sequence[Group], overrides: dict[str, str]) -> _Names:
    endpoints = naming.assign_endpoint_names(g.v1_name for g in groups)
    pipeline_keys = [(g.v1_name,) for g in groups]
    components = naming.assign_component_names(pipeline_keys)
    return _Names(endpoints=endpoints, components=components, overrides=overrides)


# --- one endpoint ----------------------------------------------------------------------------


def _endpoint_plan(
    group: Group,
    versions: list[str | None],
    names: _Names,
    snapshots: Mapping[str, bytes],
    snapshot_problems: Mapping[str, str],
) -> EndpointPlan:
    default_name = names.endpoints[group.v1_name]
    endpoint_name = names.override("endpoint", default_name, group.v1_name, default_name)
    naming.validate_endpoint_name(endpoint_name)
    findings = _endpoint_findings(group, default_name, endpoint_name)
    deployment_names = naming.assign_deployment_names(versions)
    by_version = dict(zip(versions, deployment_names, strict=True))
    default_version = _default_version(group)

    pipelines = []
    for pipeline, version in group.members:
        default_deployment = by_version.get(version) or naming.deployment_name(version, 0)
        deployment = names.override(
            "deployment",
            default_deployment,
            pipeline.id,
            f"{endpoint_name}/{default_deployment}",
        )
        naming.validate_deployment_name(deployment)
        pipelines.append(
            _pipeline_plan(
                pipeline,
                group,
                version,
                endpoint_name,
                deployment,
                version == default_version,
                names,
                snapshots,
                snapshot_problems,
            )
        )

    default = next(
        (p.deployment.name for p in pipelines if p.deployment and p.deployment.is_default), None
    )
    if default is None and default_version is not None and any(p.deployable for p in pipelines):
        # The pipelines' own findings get this one too, below, so it counts in their verdicts.
        findings.append(
            warning(
                "no-default-deployment",
                f"v1's default version {default_version} is not deployable (or not selected), "
                "so the endpoint gets no default deployment: callers must name a deployment",
            )
        )
    spec: dict[str, Any] = {"$schema": SCHEMAS["endpoint"], "name": endpoint_name}
    description = group.endpoint.description if group.endpoint else _first_description(group)
    if description:
        spec["description"] = description
    spec["tags"] = _endpoint_tags(group)
    # Endpoint findings concern every pipeline deployed there: each carries them too.
    pipelines = [replace(p, findings=(*findings, *p.findings)) for p in pipelines]
    return EndpointPlan(
        name=endpoint_name,
        v1_name=group.v1_name,
        spec=spec,
        pipelines=tuple(pipelines),
        default_deployment=default,
        v1_endpoint_id=group.endpoint.id if group.endpoint else None,
        v1_url=group.endpoint.url if group.endpoint else None,
        findings=tuple(findings),
    )


def _default_version(group: Group) -> str | None:
    if group.endpoint is not None:
        return group.endpoint.default_version
    if not group.members:
        return None
    newest = max(
        group.members, key=lambda m: (m[0].created is not None, m[0].created or 0, m[1] or "")
    )
    return newest[1]


def _endpoint_findings(group: Group, default_name: str, endpoint_name: str) -> list[Finding]:
    findings: list[Finding] = []
    if endpoint_name != default_name:
        findings.append(info("name-override", f"endpoint name '{endpoint_name}' set by override"))
    elif endpoint_name != naming.endpoint_name(group.v1_name):
        findings.append(
            warning(
                "name-clash",
                f"'{group.v1_name}' maps to the same v2 endpoint name as another v1 name, so it "
                f"becomes '{endpoint_name}'; confirm the name callers will use",
            )
        )
    elif endpoint_name != group.v1_name:
        findings.append(
            info(
                "renamed",
                f"'{group.v1_name}' is not a valid v2 endpoint name; it becomes '{endpoint_name}'",
            )
        )
    if group.endpoint is not None and group.endpoint.status is EntityStatus.DISABLED:
        findings.append(warning("disabled", f"v1 endpoint '{group.v1_name}' is disabled"))
    if group.endpoint is not None:
        findings.extend(warning("v1-read-problem", text) for text in group.endpoint.problems)
    if group.endpoint is None and len(group.members) > 1:
        findings.append(
            info(
                "grouped",
                f"{len(group.members)} published pipelines named '{group.v1_name}' share this "
                "endpoint, one deployment per version; the newest is the default",
            )
        )
    return findings


def _endpoint_tags(group: Group) -> dict[str, str]:
    if group.endpoint is not None:
        return {"v1_endpoint_id": group.endpoint.id, "v1_endpoint_name": group.endpoint.name}
    return {"v1_pipeline_name": group.v1_name}


def _first_description(group: Group) -> str | None:
    return next((p.description for p, _ in group.members if p.description), None)


# --- one pipeline ----------------------------------------------------------------------------


def _pipeline_plan(
    pipeline: PublishedPipeline,
    group: Group,
    version: str | None,
    endpoint_name: str,
    deployment_name: str,
    is_default: bool,
    names: _Names,
    snapshots: Mapping[str, bytes],
    snapshot_problems: Mapping[str, str],
) -> PipelinePlan:
    try:
        conversion = convert_graph(pipeline)
    except Exception as exc:  # one pipeline the converter cannot handle must not stop the plan
        logger.exception("Converting published pipeline %s (%s) failed", pipeline.name, pipeline.id)
        conversion = GraphConversion(
            findings=(
                blocking(
                    "converter-error",
                    f"the converter failed on this pipeline ({type(exc).__name__}: {exc}); the "
                    "log has the details. Convert it by hand, and report the graph that caused it",
                ),
            )
        )
    findings = list(_pipeline_findings(pipeline))
    findings.extend(conversion.findings)
    default_name = names.components[(group.v1_name,)]
    pipeline_name = names.override("component", default_name, default_name)
    naming.validate_component_name(pipeline_name)

    components = []
    for step in conversion.steps:
        default = naming.component_name(pipeline_name, step.job_name)
        name = names.override("component", default, default)
        naming.validate_component_name(name)
        component, more = component_plan(step, pipeline, name, snapshots, snapshot_problems)
        findings.extend(more)
        components.append(component)

    base = PipelinePlan(
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.name,
        pipeline_version=pipeline.version,
        endpoint_name=endpoint_name,
        folder=f"{endpoint_name}/{deployment_name}",
        components=tuple(components),
        findings=tuple(findings),
        v1_endpoint_id=group.endpoint.id if group.endpoint else None,
        v1_endpoint_version=version if group.endpoint else None,
        v1_url=pipeline.url,
        invoke_inputs=conversion.invoke_inputs,
        output_links=tuple(link for s in conversion.steps for link in s.output_links),
        snapshots={
            c.snapshot_id: snapshots[c.snapshot_id]
            for c in components
            if c.snapshot_id and c.snapshot_id in snapshots
        },
    )
    # A blocked pipeline gets no pipeline component or deployment: a partial one (without its
    # blocked steps) must not be mistaken for the pipeline.
    if pipeline.graph is None or not conversion.steps or base.verdict == BLOCKED:
        return base

    pipeline_component = pipeline_component_plan(pipeline, conversion, components, pipeline_name)
    settings, more = deployment_settings(pipeline, conversion)
    deployment = deployment_plan(
        pipeline,
        version,
        endpoint_name,
        deployment_name,
        is_default,
        pipeline_component,
        settings,
    )
    return replace(
        base,
        pipeline_component=pipeline_component,
        deployment=deployment,
        findings=(*base.findings, *more),
    )


def _pipeline_findings(pipeline: PublishedPipeline) -> list[Finding]:
    findings = [warning("v1-read-problem", text) for text in pipeline.problems]
    if pipeline.status is EntityStatus.DISABLED:
        findings.append(
            warning(
                "disabled",
                "the pipeline is disabled in v1; deploy it only if it is still needed",
            )
        )
    return findings
