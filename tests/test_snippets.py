"""Caller snippets: the pure parts, then the two Python snippets run against the emulator.

The end-to-end tests deploy a one-step pipeline component with typed literal inputs (integer,
boolean, number, string) and a datastore folder under a batch endpoint with two deployments,
``blue`` (the default) and ``green``, through the unmodified ``MLClient``. Each Python snippet
is written to a file and run in a subprocess that sees only the emulator's connection ``env``
map (what a user exports), exactly as printed; the test then checks that the job it named
exists, ran on the intended deployment, and completed, and that the step got the v1 values.

The step parses its arguments strictly (``int("3.0")`` fails), so a literal sent with the
wrong JSON type fails the job. The ``az ml batch-endpoint invoke`` snippet is checked for its
shape only: the Azure CLI is not installed here.

No ``from __future__ import annotations``: ``@dsl.pipeline`` reads its function's annotations
as objects.
"""

import ast
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from azure.ai.ml import Input, MLClient, Output, dsl
from azure.ai.ml.entities import (
    BatchEndpoint,
    CommandComponent,
    Environment,
    PipelineComponentBatchDeployment,
)
from azure.identity import DefaultAzureCredential

from migrate_kit.emulator import Emulator
from migrate_kit.snippets import (
    EndpointCall,
    V2Input,
    caller_snippets,
    snippets_markdown,
    token_scope,
    typed_literal,
)

V1_URL = (
    "https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub-1/resourceGroups/rg-1/"
    "providers/Microsoft.MachineLearningServices/workspaces/ws-1/PipelineRuns/"
    "PipelineEndpointSubmit/Id/0f3c"
)
SCORING = "https://nightly.eastus.inference.ml.azure.com/jobs"
SALES = "azureml://datastores/workspaceblobstore/paths/retail/sales/"
#: Would make DefaultAzureCredential skip the emulator's managed-identity route.
SHADOWING = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME")


def nightly(**changes: Any) -> EndpointCall:
    fields: dict[str, Any] = {
        "v1_endpoint": "Nightly scoring",
        "v1_url": V1_URL,
        "v2_endpoint": "nightly",
        "scoring_uri": SCORING,
        "inputs": [
            V2Input("raw", "uri_folder", "workspaceblobstore/retail/sales/"),
            V2Input("count", "integer"),
            V2Input("flag", "boolean"),
            V2Input("ratio", "number"),
            V2Input("label", "string"),
        ],
        "v1_parameters": {"count": "3", "flag": "True", "ratio": "0.5", "label": "march"},
        "deployment": "green",
        "experiment_name": "nightly-exp",
    }
    fields.update(changes)
    return EndpointCall(**fields)


# -- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("3", "integer", 3),
        (" -12 ", "integer", -12),
        ("True", "boolean", True),
        ("false", "boolean", False),
        ("0.5", "number", 0.5),
        ("3", "number", 3),
        ("1e-3", "number", 0.001),
        ("007", "string", "007"),
    ],
)
def test_literals_take_the_v2_type(text: str, kind: str, value: Any) -> None:
    typed, note = typed_literal(text, kind)
    assert typed == value and type(typed) is type(value)
    assert note is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [("many", "integer"), ("3.5", "integer"), ("yes", "boolean"), ("nan", "number")],
)
def test_a_literal_that_does_not_parse_stays_text_with_a_note(text: str, kind: str) -> None:
    typed, note = typed_literal(text, kind)
    assert typed == text
    assert note is not None and repr(text) in note


def test_the_v1_and_v2_requests() -> None:
    s = caller_snippets(nightly())

    assert s.v1_url == V1_URL
    assert s.v1_body == {
        "ExperimentName": "nightly-exp",
        "ParameterAssignments": {"count": "3", "flag": "True", "ratio": "0.5", "label": "march"},
    }
    assert s.v2_url == SCORING
    assert s.token_scope == "https://ml.azure.com/.default"
    assert s.v2_headers["azureml-model-deployment"] == "green"
    assert s.v2_body == {
        "properties": {
            "inputData": {
                "raw": {"jobInputType": "UriFolder", "uri": SALES},
                "count": {"jobInputType": "Literal", "value": 3},
                "flag": {"jobInputType": "Literal", "value": True},
                "ratio": {"jobInputType": "Literal", "value": 0.5},
                "label": {"jobInputType": "Literal", "value": "march"},
            },
            "properties": {"experimentName": "nightly-exp"},
        }
    }
    assert s.notes == ()


def test_token_scope_follows_the_cloud() -> None:
    assert token_scope(SCORING) == "https://ml.azure.com/.default"
    assert token_scope("https://e.usgovvirginia.inference.ml.azure.us/jobs").endswith(
        "//ml.azure.us/.default"
    )
    assert token_scope("https://e.chinaeast2.inference.ml.azure.cn/jobs").endswith(
        "//ml.azure.cn/.default"
    )
    assert token_scope("https://127.0.0.1:8443/batchEndpoints/e/jobs") == (
        "https://ml.azure.com/.default"
    )


def assigned(source: str, name: str) -> Any:
    """The literal value assigned to ``name`` at the top level of ``source``."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"no {name} = ... in the snippet")


def invoke_keywords(source: str) -> dict[str, ast.expr]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "invoke":
            return {k.arg or "": k.value for k in node.keywords}
    raise AssertionError("no invoke(...) call in the snippet")


def test_python_snippets_compile_and_send_the_body() -> None:
    s = caller_snippets(nightly())
    compile(s.python_requests, "requests_snippet.py", "exec")
    compile(s.python_mlclient, "mlclient_snippet.py", "exec")

    assert assigned(s.python_requests, "body") == s.v2_body
    assert assigned(s.python_requests, "SCORING_URI") == SCORING
    assert '"https://ml.azure.com/.default"' in s.python_requests
    assert "management.azure.com" not in s.python_requests.split("refused.")[1]

    keywords = invoke_keywords(s.python_mlclient)
    assert ast.literal_eval(keywords["deployment_name"]) == "green"
    assert ast.literal_eval(keywords["experiment_name"]) == "nightly-exp"
    inputs = ast.unparse(keywords["inputs"])
    assert "'count': Input(type='integer', default=3)" in inputs
    assert "'flag': Input(type='boolean', default=True)" in inputs
    assert f"'raw': Input(type='uri_folder', path='{SALES}')" in inputs
    assert "subscription_id='sub-1'" in s.python_mlclient.replace('"', "'")


def test_without_a_deployment_nothing_names_one() -> None:
    s = caller_snippets(nightly(deployment=None))
    assert "azureml-model-deployment" not in s.v2_headers
    assert "azureml-model-deployment" not in s.python_requests
    assert "deployment_name" not in invoke_keywords(s.python_mlclient)
    assert "--deployment-name" not in s.az_cli


def test_values_that_do_not_parse_are_flagged_in_every_snippet() -> None:
    call = nightly(
        inputs=[
            V2Input("count", "integer", "many"),
            V2Input("raw", "uri_file"),
            V2Input("unset", "string"),
        ],
        v1_parameters={"count": "3", "gone": "x"},
    )
    s = caller_snippets(call)
    data = s.v2_body["properties"]["inputData"]
    assert data["count"] == {"jobInputType": "Literal", "value": "many"}
    assert data["raw"]["jobInputType"] == "UriFile" and "<datastore>" in data["raw"]["uri"]
    assert "unset" not in data
    assert len(s.notes) == 4
    assert "'many' is not an integer" in s.notes[0]
    assert "gone" in s.notes[3]
    for source in (s.python_requests, s.python_mlclient):
        compile(source, "snippet.py", "exec")
        assert "# check: 'count': 'many' is not an integer; sent as text" in source


def test_a_whole_number_for_a_number_input_is_flagged_for_mlclient() -> None:
    s = caller_snippets(nightly(v1_parameters={"count": "3", "ratio": "2"}))
    assert s.v2_body["properties"]["inputData"]["ratio"]["value"] == 2
    assert any("'ratio'" in n and "'2.0' where v1 passed '2'" in n for n in s.notes)
    assert "'2.0' where v1 passed '2'" in s.python_mlclient
    assert "'2.0'" not in s.python_requests


def test_az_cli_snippet_shape() -> None:
    """Shape only: the Azure CLI is not installed, so the command is parsed, not run."""
    s = caller_snippets(nightly())
    lines = s.az_cli.splitlines()
    assert lines[0] == "cat > inputs.yml <<'YAML'"
    end = lines.index("YAML")
    assert (
        yaml.safe_load("\n".join(lines[1:end]))
        == yaml.safe_load(s.inputs_yaml)
        == {
            "inputs": {
                "raw": {"type": "uri_folder", "path": SALES},
                "count": {"type": "integer", "default": 3},
                "flag": {"type": "boolean", "default": True},
                "ratio": {"type": "number", "default": 0.5},
                "label": {"type": "string", "default": "march"},
            }
        }
    )
    assert lines[end + 1] == "az account set --subscription sub-1"
    command = shlex.split(" ".join(lines[end + 2 :]).replace("\\ ", " "))
    assert command[:4] == ["az", "ml", "batch-endpoint", "invoke"]
    options = dict(zip(command[4::2], command[5::2], strict=False))
    assert options["--name"] == "nightly"
    assert options["--deployment-name"] == "green"
    assert options["--experiment-name"] == "nightly-exp"
    assert options["--file"] == "inputs.yml"
    assert options["--resource-group"] == "rg-1"
    assert options["--workspace-name"] == "ws-1"
    assert options["--query"] == "name"


def test_workspace_from_the_v1_url_or_given() -> None:
    assert nightly().workspace() == ("sub-1", "rg-1", "ws-1")
    assert nightly(workspace_name="other").workspace() == ("sub-1", "rg-1", "other")
    unknown = nightly(v1_url="https://eastus.api.azureml.ms/pipelines/v1.0/odd")
    assert unknown.workspace() is None
    assert (
        "MLClient.from_config(DefaultAzureCredential())" in caller_snippets(unknown).python_mlclient
    )


def test_bad_calls_are_refused() -> None:
    with pytest.raises(ValueError, match=r"'mltable'.*uri_folder"):
        V2Input("t", "mltable")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not an https URL"):
        nightly(scoring_uri="http://nightly/jobs")
    with pytest.raises(ValueError, match=r"\['count'\]"):
        nightly(inputs=[V2Input("count", "integer"), V2Input("count", "string")])


def test_the_call_is_immutable() -> None:
    call = nightly()
    with pytest.raises(TypeError):
        call.v1_parameters["count"] = "4"  # type: ignore[index]
    assert isinstance(call.inputs, tuple)
    assert hash(call) == hash(nightly())


def test_markdown_section() -> None:
    text = snippets_markdown([nightly(), nightly(v1_endpoint="Weekly | report", deployment=None)])
    assert text.startswith("## Caller changes\n")
    assert text.count("### ") == 2
    assert "### `Weekly \\| report` → `nightly`\n" in text
    assert text.count("```python") == 4 and text.count("```bash") == 2
    assert text.count("```") % 2 == 0
    assert "header `azureml-model-deployment: green`" in text
    assert "No endpoint was migrated" in snippets_markdown([])


# -- the snippets, run against the emulator ------------------------------------------------------

ECHO = """\
import argparse, pathlib
p = argparse.ArgumentParser()
for name in ("--raw", "--count", "--flag", "--ratio", "--label", "--out"):
    p.add_argument(name)
a = p.parse_args()
count = int(a.count)
if a.flag not in ("True", "False"):
    raise SystemExit(f"flag {a.flag!r} is not a boolean")
float(a.ratio)
files = sorted(pathlib.Path(a.raw).rglob("*.csv"))
out = pathlib.Path(a.out)
out.mkdir(parents=True, exist_ok=True)
(out / "echo.txt").write_text(f"{a.label}|{count}|{a.flag}|{a.ratio}|{len(files)}\\n")
"""


class Deployed(NamedTuple):
    ml_client: MLClient
    endpoint: str
    scoring_uri: str
    v1_url: str


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def deployed(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """The endpoint with deployments ``blue`` (default) and ``green`` of the echo pipeline."""
    connection = emulator.connection
    with pytest.MonkeyPatch.context() as patch:
        for name, value in connection["env"].items():
            patch.setenv(name, value)
        for name in SHADOWING:
            patch.delenv(name, raising=False)
        ml_client = MLClient(
            DefaultAzureCredential(),
            connection["subscription_id"],
            connection["resource_group"],
            connection["workspace_name"],
            enable_telemetry=False,
        )
        endpoint = _deploy(ml_client, tmp_path_factory.mktemp("echo"))
        v1_url = (
            f"{connection['pipelines_url']}/pipelines/v1.0/subscriptions/"
            f"{connection['subscription_id']}/resourceGroups/{connection['resource_group']}/"
            "providers/Microsoft.MachineLearningServices/workspaces/"
            f"{connection['workspace_name']}/PipelineRuns/PipelineEndpointSubmit/Id/{uuid.uuid4()}"
        )
        scoring = ml_client.batch_endpoints.get(endpoint).scoring_uri
        yield Deployed(ml_client, endpoint, scoring, v1_url)


def _deploy(ml_client: MLClient, folder: Path) -> str:
    env = ml_client.environments.create_or_update(
        Environment(name=unique("snip_env"), version="1", image="python:3.11-slim")
    )
    (folder / "echo.py").write_text(ECHO)
    echo = ml_client.components.create_or_update(
        CommandComponent(
            name=unique("snip_echo_"),
            version="1",
            command="python echo.py --raw ${{inputs.raw}} --count ${{inputs.count}} "
            "--flag ${{inputs.flag}} --ratio ${{inputs.ratio}} --label ${{inputs.label}} "
            "--out ${{outputs.out}}",
            code=str(folder),
            environment=env.id,
            inputs={
                "raw": Input(type="uri_folder"),
                "count": Input(type="integer"),
                "flag": Input(type="boolean"),
                "ratio": Input(type="number"),
                "label": Input(type="string"),
            },
            outputs={"out": Output(type="uri_folder")},
        )
    )

    @dsl.pipeline(name=unique("snip_pipe_"))
    def echo_pipeline(
        raw: Input(type="uri_folder"),  # type: ignore[valid-type]
        count: int = 1,
        flag: bool = False,
        ratio: float = 1.5,
        label: str = "none",
    ):
        step = echo(raw=raw, count=count, flag=flag, ratio=ratio, label=label)
        return {"echo": step.outputs.out}

    component = echo_pipeline._pipeline_builder.build()
    component.version = "1"
    pipeline = ml_client.components.create_or_update(component)

    endpoint = unique("snip-ep-")
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name=endpoint)).result()
    for name in ("blue", "green"):
        ml_client.batch_deployments.begin_create_or_update(
            PipelineComponentBatchDeployment(
                name=name,
                endpoint_name=endpoint,
                component=pipeline,
                settings={"default_compute": "cpu-cluster", "continue_on_step_failure": False},
            )
        ).result()
    found = ml_client.batch_endpoints.get(endpoint)
    found.defaults.deployment_name = "blue"
    ml_client.batch_endpoints.begin_create_or_update(found).result()
    return endpoint


def wait(ml_client: MLClient, name: str, limit: float = 120.0) -> str:
    """The job's status once it is terminal (or when ``limit`` seconds have passed)."""
    deadline = time.monotonic() + limit
    while True:
        status = str(getattr(ml_client.jobs.get(name).status, "value", ""))
        if status in ("Completed", "Failed", "Canceled") or time.monotonic() > deadline:
            return status
        time.sleep(0.3)


def datastore_text(emulator: Emulator, path: str) -> str:
    cfg = emulator.ctx.config
    found = emulator.ctx.store.get_blob(cfg.storage_account, cfg.datastore_container, path)
    assert found is not None, path
    return found[0].decode()


def sales_files(emulator: Emulator) -> int:
    cfg = emulator.ctx.config
    return len(
        emulator.ctx.store.list_blobs(cfg.storage_account, cfg.datastore_container, "retail/sales/")
    )


@pytest.mark.parametrize("deployment", ["green", None])
@pytest.mark.parametrize("kind", ["python_requests", "python_mlclient"])
def test_the_python_snippet_starts_a_job_that_completes(
    kind: str,
    deployment: str | None,
    deployed: Deployed,
    emulator: Emulator,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    call = EndpointCall(
        v1_endpoint="Nightly scoring",
        v1_url=deployed.v1_url,
        v2_endpoint=deployed.endpoint,
        scoring_uri=deployed.scoring_uri,
        inputs=[
            V2Input("raw", "uri_folder", SALES),
            V2Input("count", "integer"),
            V2Input("flag", "boolean"),
            V2Input("ratio", "number"),
            V2Input("label", "string"),
        ],
        v1_parameters={"count": "3", "flag": "True", "ratio": "2", "label": "march"},
        deployment=deployment,
        experiment_name="snippets-e2e",
    )
    script = tmp_path / f"{kind}.py"
    script.write_text(getattr(caller_snippets(call), kind))

    ran = subprocess.run(
        [sys.executable, str(script)],
        env=clean_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    job_name = ran.stdout.strip().splitlines()[-1]

    ml_client = deployed.ml_client
    assert wait(ml_client, job_name) == "Completed"
    job = ml_client.jobs.get(job_name)
    assert job.properties["azureml.deploymentName"] == (deployment or "blue")
    assert job.experiment_name == "snippets-e2e"
    # The REST body keeps v1's "2" for a number input; azure-ai-ml makes it a float (the
    # snippet says so in a comment). The boolean arrives as True either way.
    ratio = "2" if kind == "python_requests" else "2.0"
    echoed = datastore_text(emulator, f"azureml/{job_name}/echo/echo.txt")
    assert echoed == f"march|3|True|{ratio}|{sales_files(emulator)}\n"
