"""The specs of one pipeline's v2 assets: step components, pipeline component, deployment.

Each spec is a dict in the ``az ml`` v2 YAML schema (``$schema`` first), ready for
:mod:`migrate_kit.convert.files` to write. A version is the v1 version plus a hash of the spec
(and, for a step, of its code files), so equal content gets an equal version and any change a
new one; v1 ids go into ``tags``, which the hash leaves out so that a republished but unchanged
pipeline keeps its versions.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from migrate_kit import naming
from migrate_kit.convert.findings import Finding, blocking, warning
from migrate_kit.convert.mapping import GraphConversion, StepConversion
from migrate_kit.convert.model import ComponentPlan, DeploymentPlan, PipelineComponentPlan
from migrate_kit.v1.models import PublishedPipeline

__all__ = [
    "SCHEMAS",
    "component_plan",
    "deployment_plan",
    "deployment_settings",
    "pipeline_component_plan",
    "snapshot_digest",
]

_BASE = "https://azuremlschemas.azureedge.net/latest/"
SCHEMAS = {
    "command": _BASE + "commandComponent.schema.json",
    "parallel": _BASE + "parallelComponent.schema.json",
    "pipeline": _BASE + "pipelineComponent.schema.json",
    "endpoint": _BASE + "batchEndpoint.schema.json",
    "deployment": _BASE + "pipelineComponentBatchDeployment.schema.json",
}


def component_plan(
    step: StepConversion,
    pipeline: PublishedPipeline,
    name: str,
    snapshots: Mapping[str, bytes],
    snapshot_problems: Mapping[str, str],
) -> tuple[ComponentPlan, list[Finding]]:
    """The component of one converted step, named ``name``; its version hashes spec and code."""
    findings: list[Finding] = []

    snapshot_id = step.step.snapshot.snapshot_id if step.step.snapshot else None
    code_folder = f"code/{step.job_name}" if snapshot_id else None
    digest: str | None = None
    if snapshot_id is None:
        findings.append(
            warning(
                "no-code",
                "the step has no code snapshot in v1; put its source in a folder and set "
                "`code` in the component",
                step.step.name,
            )
        )
    elif snapshot_id not in snapshots:
        reason = snapshot_problems.get(snapshot_id, "it was not downloaded")
        findings.append(
            blocking(
                "code-snapshot",
                f"code snapshot {snapshot_id} could not be read ({reason})",
                step.step.name,
            )
        )
    else:
        digest, problem = snapshot_digest(snapshots[snapshot_id])
        if problem:
            findings.append(blocking("code-snapshot", problem, step.step.name))

    spec: dict[str, Any] = {"$schema": SCHEMAS[step.kind], "type": step.kind, "name": name}
    body = dict(step.spec)
    body.pop("type", None)
    if code_folder:
        if step.kind == "parallel":
            body["task"] = {**body["task"], "code": f"../{code_folder}"}
        else:
            body = _insert_before(body, "environment", "code", f"../{code_folder}")
    version = naming.component_version(
        pipeline.version, naming.content_hash({"spec": body, "code": digest})
    )
    spec["version"] = version
    spec.update(body)
    spec["tags"] = {
        "v1_step_type": step.step.step_type,
        "v1_module_id": step.step.module_id,
        "v1_pipeline_id": pipeline.id,
    }
    return (
        ComponentPlan(
            step=step.step.name,
            node_id=step.step.node_id,
            job_name=step.job_name,
            kind=step.kind,
            name=name,
            version=version,
            spec=spec,
            yaml_path=f"components/{name}.yml",
            code_folder=code_folder,
            snapshot_id=snapshot_id,
            compute=step.compute,
            v1_step_type=step.step.step_type,
            v1_module_id=step.step.module_id,
        ),
        findings,
    )


def _insert_before(body: dict[str, Any], before: str, key: str, value: Any) -> dict[str, Any]:
    """``body`` with ``key`` placed before ``before`` (or before ``command``), for YAML order."""
    out: dict[str, Any] = {}
    for existing, item in body.items():
        if existing in (before, "command", "environment_variables") and key not in out:
            out[key] = value
        out[existing] = item
    out.setdefault(key, value)
    return out


def pipeline_component_plan(
    pipeline: PublishedPipeline,
    conversion: GraphConversion,
    components: Sequence[ComponentPlan],
    name: str,
) -> PipelineComponentPlan:
    jobs: dict[str, Any] = {}
    for step, component in zip(conversion.steps, components, strict=True):
        node = dict(step.node)
        kind = node.pop("type")
        reference = f"azureml:{component.name}:{component.version}"
        jobs[step.job_name] = {"type": kind, "component": reference, **node}
    body: dict[str, Any] = {"display_name": pipeline.name}
    if pipeline.description:
        body["description"] = pipeline.description
    if conversion.inputs:
        body["inputs"] = dict(conversion.inputs)
    if conversion.outputs:
        body["outputs"] = dict(conversion.outputs)
    body["jobs"] = jobs
    # The jobs name each child by name and version, and a child's version hashes its content,
    # so a change in any step changes this hash too.
    version = naming.component_version(pipeline.version, naming.content_hash(body))
    spec: dict[str, Any] = {
        "$schema": SCHEMAS["pipeline"],
        "type": "pipeline",
        "name": name,
        "version": version,
        **body,
        "tags": {"v1_pipeline_id": pipeline.id, "v1_version": pipeline.version or ""},
    }
    return PipelineComponentPlan(name=name, version=version, spec=spec)


def deployment_settings(
    pipeline: PublishedPipeline, conversion: GraphConversion
) -> tuple[dict[str, Any], list[Finding]]:
    findings: list[Finding] = []
    computes = Counter(s.compute for s in conversion.steps if s.compute)
    settings: dict[str, Any] = {}
    if computes:
        settings["default_compute"] = computes.most_common(1)[0][0]
    else:
        findings.append(
            warning(
                "no-compute",
                "no step names a compute; set settings.default_compute in deployment.yml",
            )
        )
    # v1 published pipelines default to stopping at the first failed step; v2 leaves it to the
    # service, whose documented default is the opposite, so the value is always written.
    settings["continue_on_step_failure"] = bool(pipeline.continue_on_step_failure)
    return settings, findings


def deployment_plan(
    pipeline: PublishedPipeline,
    version: str | None,
    endpoint_name: str,
    name: str,
    is_default: bool,
    component: PipelineComponentPlan,
    settings: Mapping[str, Any],
) -> DeploymentPlan:
    spec: dict[str, Any] = {
        "$schema": SCHEMAS["deployment"],
        "name": name,
        "endpoint_name": endpoint_name,
        "type": "pipeline",
    }
    if pipeline.description:
        spec["description"] = pipeline.description
    spec["component"] = f"azureml:{component.name}:{component.version}"
    spec["settings"] = dict(settings)
    tags = {"v1_pipeline_id": pipeline.id, "v1_pipeline_name": pipeline.name}
    if pipeline.version:
        tags["v1_pipeline_version"] = pipeline.version
    if version is not None and version != pipeline.version:
        tags["v1_endpoint_version"] = version
    spec["tags"] = tags
    return DeploymentPlan(
        name=name,
        endpoint_name=endpoint_name,
        component_name=component.name,
        component_version=component.version,
        settings=dict(settings),
        spec=spec,
        is_default=is_default,
        v1_pipeline_id=pipeline.id,
        v1_version=version,
    )


def snapshot_digest(data: bytes) -> tuple[str | None, str | None]:
    """A digest of a snapshot zip's files (names and contents), or None and the problem.

    Hashing the files rather than the zip bytes keeps the digest (and so component versions)
    the same when the same files are zipped again with other timestamps.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            digest = hashlib.sha256()
            for member in sorted(archive.infolist(), key=lambda m: m.filename):
                if member.is_dir():
                    continue
                path = PurePosixPath(member.filename)
                if path.is_absolute() or ".." in path.parts:
                    return None, (
                        f"the code snapshot holds {member.filename!r}, a path outside its folder; "
                        "extract it by hand after checking it"
                    )
                digest.update(member.filename.encode("utf-8") + b"\x00")
                digest.update(hashlib.sha256(archive.read(member)).digest())
            return digest.hexdigest(), None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return None, f"the code snapshot is not a readable zip ({exc})"
