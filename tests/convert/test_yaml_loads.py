"""The written YAML loads in azure-ai-ml, and nothing written is silently dropped by it.

Components load with ``load_component`` and pass its validation; endpoints with
``load_batch_endpoint``. Deployments load with azure-ai-ml's loader for the pipeline-component
deployment schema, ``load_pipeline_component_batch_deployment``: the public
``load_batch_deployment`` uses the model-deployment schema, which has no ``settings`` field and
refuses every pipeline deployment that sets ``default_compute`` (a known azure-ai-ml gap; the
``az ml`` CLI and ``PipelineComponentBatchDeployment`` take ``settings``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import yaml
from azure.ai.ml import load_batch_endpoint, load_component
from azure.ai.ml.entities import PipelineComponentBatchDeployment
from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment

from migrate_kit import Plan

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(autouse=True)
def _quiet_sdk() -> None:
    logging.getLogger("azure").setLevel(logging.ERROR)


def yaml_files(out: Path, name: str) -> list[Path]:
    return sorted(out.rglob(name))


def test_every_component_loads_and_validates(sample_out: Path) -> None:
    files = [p for p in sample_out.rglob("*.yml") if p.parent.name == "components"]
    assert len(files) >= 20
    for path in files:
        component = load_component(path)
        result = component._validate()
        assert result.passed, (path, result.error_messages)
        written = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert component.name == written["name"] and component.version == written["version"]
        # Every field written reaches what azure-ai-ml would send (none silently dropped).
        kept = set(component._to_rest_object().properties.component_spec)
        assert set(written) <= kept, (path, set(written) - kept)


def test_every_pipeline_component_loads_with_its_steps(sample_out: Path, tmp_path: Path) -> None:
    pipelines = yaml_files(sample_out, "pipeline.yml")
    assert len(pipelines) == 11  # 13 sample pipelines, 2 blocked
    for path in pipelines:
        assert load_component(path)._validate().passed, path
        # With the steps' YAML in place of their registered names, the bindings are checked
        # too: every node input and output must exist on its component.
        components = path.parent / "components"
        local = re.sub(
            r"component: azureml:([a-z0-9_]+):\S+",
            rf"component: {components}/\1.yml",
            path.read_text(encoding="utf-8"),
        )
        copy = tmp_path / f"{path.parent.parent.name}-{path.parent.name}.yml"
        copy.write_text(local, encoding="utf-8")
        pipeline = load_component(copy)
        result = pipeline._validate()
        assert result.passed, (path, result.error_messages)
        assert len(pipeline.jobs) >= 1


def test_every_endpoint_and_deployment_loads(sample_out: Path, sample_plan: Plan) -> None:
    endpoints = yaml_files(sample_out, "endpoint.yml")
    assert {p.parent.name for p in endpoints} == {
        e.name for e in sample_plan.endpoints if e.deployments
    }
    for path in endpoints:
        assert load_batch_endpoint(path).name == path.parent.name

    deployments = yaml_files(sample_out, "deployment.yml")
    assert len(deployments) == 11
    for path in deployments:
        deployment = load_pipeline_component_batch_deployment(path)
        assert isinstance(deployment, PipelineComponentBatchDeployment)
        assert deployment.endpoint_name == path.parent.parent.name
        assert deployment.settings["default_compute"] == "cpu-cluster"
        assert isinstance(deployment.settings["continue_on_step_failure"], bool)


def test_the_goldens_load_too() -> None:
    """The reviewed files themselves (no code folders there, so only the non-code ones)."""
    for path in sorted(GOLDEN.rglob("endpoint.yml")):
        load_batch_endpoint(path)
    for path in sorted(GOLDEN.rglob("deployment.yml")):
        load_pipeline_component_batch_deployment(path)
    for path in sorted(GOLDEN.rglob("pipeline.yml")):
        assert load_component(path)._validate().passed, path


def test_the_public_deployment_loader_still_refuses_settings() -> None:
    """Why the loader above is the private one: ``load_batch_deployment`` (azure-ai-ml 1.35)
    rejects ``settings``. When an upgrade accepts it, this fails: switch to the public one."""
    from azure.ai.ml import load_batch_deployment

    path = GOLDEN / "weekly-demand-forecast" / "version-1" / "deployment.yml"
    with pytest.raises(Exception, match=r'"settings": \[\s*"Unknown field') as refused:
        load_batch_deployment(path)
    assert type(refused.value).__name__ == "ValidationError"
