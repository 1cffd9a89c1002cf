"""Write a plan to disk: YAML a team can review and commit, code folders, and findings.

Layout under the output folder, one folder per batch endpoint and one per deployment::

    plan.md                                      every pipeline, its target and verdict
    <endpoint>/endpoint.yml                      az ml batch-endpoint create -f
    <endpoint>/<deployment>/deployment.yml       az ml batch-deployment create -f
    <endpoint>/<deployment>/pipeline.yml         the pipeline component
    <endpoint>/<deployment>/components/<c>.yml   one component per v1 step
    <endpoint>/<deployment>/code/<node>/...      the step's v1 code snapshot, extracted
    <endpoint>/<deployment>/findings.md          what a person must read first

Files refer to each other by registered name and version (``azureml:<name>:<version>``), not by
path: azure-ai-ml registers a component that is given as a local file under the anonymous name
``azureml_anonymous``, which would lose the plan's names and versions. So the components are
registered first (``findings.md`` lists the commands in order).

A blocked pipeline gets only its ``findings.md``: YAML for a pipeline that cannot run would only
invite someone to deploy it. ``components/`` and ``code/`` of a pipeline folder are replaced on
every write (they hold nothing but what the plan wrote), so a rerun leaves no stale files; other
files in the output folder are left alone.
"""

from __future__ import annotations

import io
import logging
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from migrate_kit.convert.findings import Finding, Severity
from migrate_kit.convert.model import EndpointPlan, PipelinePlan, Plan

__all__ = ["dump_yaml", "findings_markdown", "summary_markdown", "write_plan"]

logger = logging.getLogger(__name__)

FINDINGS_FILE = "findings.md"
SUMMARY_FILE = "plan.md"
# Long scalars (command lines) stay on one line: easier to review than folded YAML.
_NO_WRAP = 1 << 16


def write_plan(plan: Plan, out: Path) -> list[Path]:
    """Write every file of ``plan`` under ``out``; returns the files written, in order."""
    written: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    written.append(_write(out / SUMMARY_FILE, summary_markdown(plan)))
    for endpoint in plan.endpoints:
        folder = out / endpoint.name
        folder.mkdir(parents=True, exist_ok=True)
        if endpoint.deployments:
            written.append(_write(folder / endpoint.yaml_path, dump_yaml(endpoint.spec)))
        for pipeline in endpoint.pipelines:
            written.extend(write_pipeline(pipeline, endpoint, out))
    logger.info("Wrote %d files under %s", len(written), out)
    return written


def write_pipeline(pipeline: PipelinePlan, endpoint: EndpointPlan, out: Path) -> list[Path]:
    """Write one pipeline's folder (see the module docstring)."""
    folder = out / pipeline.folder
    folder.mkdir(parents=True, exist_ok=True)
    for owned in ("components", "code"):
        shutil.rmtree(folder / owned, ignore_errors=True)
    written = [_write(folder / name, text) for name, text in pipeline_texts(pipeline, endpoint)]
    if not pipeline.deployable:
        for stale in ("pipeline.yml", "deployment.yml"):
            (folder / stale).unlink(missing_ok=True)
        return written
    for component in pipeline.components:
        if component.code_folder and component.snapshot_id:
            written.extend(
                extract_snapshot(
                    pipeline.snapshots[component.snapshot_id], folder / component.code_folder
                )
            )
    return written


def pipeline_texts(pipeline: PipelinePlan, endpoint: EndpointPlan) -> list[tuple[str, str]]:
    """The text files of one pipeline's folder, as ``(path in the folder, text)``: the findings,
    then (when it can be deployed) each step component, the pipeline component and the
    deployment. The code folders come from the snapshots (:func:`extract_snapshot`)."""
    texts = [(FINDINGS_FILE, findings_markdown(pipeline, endpoint))]
    if not pipeline.deployable:
        return texts
    assert pipeline.pipeline_component is not None and pipeline.deployment is not None
    texts += [(c.yaml_path, dump_yaml(c.spec)) for c in pipeline.components]
    texts.append(
        (pipeline.pipeline_component.yaml_path, dump_yaml(pipeline.pipeline_component.spec))
    )
    texts.append((pipeline.deployment.yaml_path, dump_yaml(pipeline.deployment.spec)))
    return texts


def extract_snapshot(data: bytes, target: Path) -> list[Path]:
    """Extract a snapshot zip into ``target``; members that would land outside it are refused."""
    written: list[Path] = []
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in sorted(archive.infolist(), key=lambda m: m.filename):
            relative = PurePosixPath(member.filename)
            if member.is_dir():
                continue
            if relative.is_absolute() or ".." in relative.parts:
                raise ValueError(f"snapshot member {member.filename!r} points outside its folder")
            path = target.joinpath(*relative.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(member))
            written.append(path)
    return written


def dump_yaml(spec: Mapping[str, Any]) -> str:
    """``spec`` as block-style YAML, keys in the order given, non-ASCII text kept as it is."""
    text: str = yaml.dump(
        _plain(spec),
        Dumper=_DUMPER,
        sort_keys=False,
        allow_unicode=True,
        width=_NO_WRAP,
        default_flow_style=False,
    )
    return text


#: libyaml's emitter where PyYAML has it (its wheels do): the same YAML, about ten times faster,
#: which a rerun of a large migration notices (it writes every plan file again).
_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def findings_markdown(pipeline: PipelinePlan, endpoint: EndpointPlan) -> str:
    """The findings file of one pipeline: verdict, what was planned, findings, next steps."""
    version = f" {pipeline.pipeline_version}" if pipeline.pipeline_version else ""
    lines = [f"# {pipeline.pipeline_name}{version}", ""]
    warnings = pipeline.count(Severity.WARNING)
    counts = (
        f"{pipeline.count(Severity.BLOCKING)} blocking, "
        f"{warnings} warning{'' if warnings == 1 else 's'}, {pipeline.count(Severity.INFO)} info"
    )
    lines += [f"Verdict: **{pipeline.verdict}** ({counts})", ""]
    lines.append(f"- v1 published pipeline: `{pipeline.pipeline_id}`")
    if endpoint.v1_endpoint_id:
        default = " (the v1 default)" if _is_v1_default(pipeline, endpoint) else ""
        lines.append(
            f"- v1 endpoint: {endpoint.v1_name} (`{endpoint.v1_endpoint_id}`), version "
            f"{pipeline.v1_endpoint_version}{default}"
        )
    lines.append(f"- batch endpoint: `{endpoint.name}`")
    if pipeline.deployment is not None:
        marker = " (default)" if pipeline.deployment.is_default else ""
        lines.append(f"- deployment: `{pipeline.deployment.name}`{marker}")
    if pipeline.pipeline_component is not None:
        pc = pipeline.pipeline_component
        lines.append(f"- pipeline component: `{pc.name}:{pc.version}`")
    for component in pipeline.components:
        lines.append(
            f"- step `{component.step}` ({component.v1_step_type}) → {component.kind} component "
            f"`{component.name}:{component.version}`"
        )
    lines += ["", "## Findings", ""]
    findings = pipeline.findings  # the endpoint's findings are among them
    if findings:
        lines += ["| Severity | Step | Code | Finding |", "|---|---|---|---|"]
        lines += [_row(f) for f in sorted(findings, key=lambda f: -f.severity.rank)]
    else:
        lines.append("None: the pipeline converts as it is.")
    lines += ["", "## Next steps", ""]
    lines += _next_steps(pipeline, endpoint)
    return "\n".join(lines) + "\n"


def summary_markdown(plan: Plan) -> str:
    """The plan's overview: one table row per pipeline, linking its findings file."""
    lines = ["# Migration plan", ""]
    if plan.problems:
        lines += [f"- {problem}" for problem in plan.problems] + [""]
    lines += [
        "| v1 pipeline | Version | Batch endpoint | Deployment | Verdict | Findings |",
        "|---|---|---|---|---|---|",
    ]
    for endpoint in plan.endpoints:
        for p in endpoint.pipelines:
            deployment = p.deployment.name if p.deployment else "-"
            if p.deployment is not None and p.deployment.is_default:
                deployment += " (default)"
            counts = (
                f"{p.count(Severity.BLOCKING)} blocking, {p.count(Severity.WARNING)} warning, "
                f"{p.count(Severity.INFO)} info"
            )
            name = p.pipeline_name.replace("|", "\\|")
            lines.append(
                f"| {name} | {p.pipeline_version or ''} | {endpoint.name} | {deployment} | "
                f"{p.verdict} | [{counts}]({p.folder}/{FINDINGS_FILE}) |"
            )
    return "\n".join(lines) + "\n"


def _is_v1_default(pipeline: PipelinePlan, endpoint: EndpointPlan) -> bool:
    return bool(pipeline.deployment and pipeline.deployment.is_default)


def _row(finding: Finding) -> str:
    message = finding.message.replace("|", "\\|").replace("\n", " ")
    return f"| {finding.severity.value} | {finding.step or ''} | {finding.code} | {message} |"


def _next_steps(pipeline: PipelinePlan, endpoint: EndpointPlan) -> list[str]:
    if not pipeline.deployable or pipeline.deployment is None:
        return ["Resolve the blocking findings; no YAML is written for this pipeline until then."]
    # Every file names what it uses by name and version (``azureml:<name>:<version>``), so the
    # components are registered first, in this order, and nothing is created anonymously.
    default = " --set-default" if pipeline.deployment.is_default else ""
    lines = ["Review the YAML and the code folders, then, from this folder:", "", "```"]
    lines += [f"az ml component create --file {c.yaml_path}" for c in pipeline.components]
    if pipeline.pipeline_component is not None:
        lines.append(f"az ml component create --file {pipeline.pipeline_component.yaml_path}")
    lines.append(f"az ml batch-endpoint create --file ../{endpoint.yaml_path}")
    lines.append(f"az ml batch-deployment create --file {pipeline.deployment.yaml_path}{default}")
    lines.append("```")
    return lines


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
