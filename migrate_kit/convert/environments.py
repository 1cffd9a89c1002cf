"""A v1 run configuration (the node's ``Runconfig`` JSON) as a v2 environment.

The v2 ``environment`` of a component is either a reference to a registered environment
(``azureml:<name>:<version>``) or an inline definition (``image`` plus ``conda_file``). v1 run
configurations name an environment too, but a name without a version is usually just the label of
an unregistered ``Environment`` object, so only a name *with* a version, or a curated
``AzureML-*`` name, becomes a reference; anything else is rebuilt from its docker image and conda
dependencies, and its environment variables move to the component.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from migrate_kit.convert.findings import Finding, info, warning

__all__ = ["DEFAULT_IMAGE", "EnvironmentPlan", "environment_from_runconfig"]

#: The base image v1 used when a run configuration named none (``DEFAULT_CPU_IMAGE`` in v1).
DEFAULT_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"


@dataclass(frozen=True)
class EnvironmentPlan:
    """The ``environment`` value of a component spec, its variables and what changed."""

    environment: str | Mapping[str, Any] | None
    variables: Mapping[str, str] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    v1_name: str | None = None


def environment_from_runconfig(
    runconfig: str | None, step: str | None = None, *, registered_name: str | None = None
) -> EnvironmentPlan:
    """Map a runconfig JSON text to a v2 environment.

    ``registered_name`` (``name`` or ``name:version``, e.g. a ParallelRunStep's metadata) is used
    when the runconfig itself names no versioned environment. A missing or unreadable runconfig
    gives no environment and a warning: the component then needs one before it can run.
    """
    if not runconfig:
        return EnvironmentPlan(
            None,
            findings=(
                warning(
                    "no-environment",
                    "the step has no run configuration, so its environment is unknown; set "
                    "`environment` in the component before registering it",
                    step,
                ),
            ),
        )
    try:
        config: Any = json.loads(runconfig)
        problem = None if isinstance(config, dict) else f"got {type(config).__name__}"
    except ValueError as exc:
        config, problem = {}, str(exc)
    if problem is not None:
        return EnvironmentPlan(
            None,
            findings=(
                warning(
                    "no-environment",
                    f"the step's run configuration is not a JSON object ({problem}); "
                    "set `environment` in the component by hand",
                    step,
                ),
            ),
        )
    env = _dict(config.get("environment"))
    name = env.get("name") if isinstance(env.get("name"), str) else None
    version = env.get("version") if isinstance(env.get("version"), str) else None
    variables = {str(k): str(v) for k, v in _dict(env.get("environmentVariables")).items()}
    findings: list[Finding] = []
    findings.extend(_runconfig_settings(config, step))

    if name and version:
        return EnvironmentPlan(f"azureml:{name}:{version}", variables, tuple(findings), name)
    if name and name.startswith("AzureML-"):
        findings.append(
            warning(
                "environment-version",
                f"curated environment '{name}' has no version in v1; the component uses its "
                "latest version, which may differ from what v1 ran",
                step,
            )
        )
        return EnvironmentPlan(f"azureml:{name}@latest", variables, tuple(findings), name)

    inline, more = _inline_environment(env, step)
    findings.extend(more)
    if name:
        findings.append(
            info(
                "environment-inline",
                f"v1 environment '{name}' is not registered (it has no version), so the "
                "component defines it inline from its docker image and conda dependencies",
                step,
            )
        )
    return EnvironmentPlan(inline, variables, tuple(findings), name)


def _inline_environment(
    env: Mapping[str, Any], step: str | None
) -> tuple[dict[str, Any], list[Finding]]:
    """``{image, conda_file}`` from a runconfig's ``environment`` section."""
    findings: list[Finding] = []
    docker = _dict(env.get("docker"))
    python = _dict(env.get("python"))
    image = docker.get("baseImage") if isinstance(docker.get("baseImage"), str) else None

    if docker.get("baseDockerfile"):
        findings.append(
            warning(
                "environment-dockerfile",
                "the v1 environment builds from an inline Dockerfile, which the plan does not "
                f"carry over; the component uses {image or DEFAULT_IMAGE} instead. Build the "
                "image from that Dockerfile (a `build:` context) if the step needs it",
                step,
            )
        )
    registry = _dict(docker.get("baseImageRegistry"))
    if registry.get("address"):
        findings.append(
            warning(
                "environment-registry",
                f"the base image comes from the private registry {registry['address']}; v2 "
                "pulls it with the workspace's identity, so grant it access to that registry",
                step,
            )
        )
    spec: dict[str, Any] = {"image": image or DEFAULT_IMAGE}
    if python.get("userManagedDependencies"):
        findings.append(
            info(
                "environment-user-managed",
                "the v1 environment manages its own Python (user-managed dependencies), so the "
                "component uses the image as it is, without a conda file",
                step,
            )
        )
        return spec, findings
    conda = python.get("condaDependencies")
    if isinstance(conda, dict) and conda:
        spec["conda_file"] = conda
    elif python.get("condaDependenciesFile"):
        findings.append(
            warning(
                "environment-conda-file",
                f"the conda file {python['condaDependenciesFile']!r} was read from the v1 "
                "source folder at submit time; point `conda_file` at it in the component",
                step,
            )
        )
    return spec, findings


def _runconfig_settings(config: Mapping[str, Any], step: str | None) -> list[Finding]:
    """Findings for run configuration settings that the component does not carry."""
    findings: list[Finding] = []
    seconds = config.get("maxRunDurationSeconds")
    if seconds:
        findings.append(
            warning(
                "lossy-mapping",
                f"v1 stopped the step after {seconds} s (maxRunDurationSeconds); a component has "
                "no such limit, set `limits.timeout` on the step's node in pipeline.yml",
                step,
            )
        )
    shm = _dict(config.get("docker")).get("shmSize")
    if shm and shm != "2g":
        findings.append(
            warning(
                "lossy-mapping",
                f"v1 gave the container {shm} of shared memory; set `resources.shm_size` on the "
                "step's node in pipeline.yml to keep it",
                step,
            )
        )
    return findings


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
