"""What the callers of a migrated endpoint must change: the old v1 call beside the new v2 one.

``caller_snippets(call)`` turns an ``EndpointCall`` (the v1 endpoint, its REST URL and parameter
defaults; the v2 batch endpoint, its scoring URI, deployment and inputs) into ``Snippets``: the
v1 URL and body, the v2 URL, headers and body, the token scope, and three ready-to-run snippets
(Python with ``requests`` and azure-identity, Python with ``MLClient.batch_endpoints.invoke``,
and ``az ml batch-endpoint invoke`` with an inputs file). ``snippets_markdown(calls)`` renders
them as a report section; ``endpoint_calls(ledger)`` builds the calls from what the migration
recorded. Nothing here talks to Azure.

The v2 invoke body uses camelCase keys (``inputData``, ``jobInputType``, ``value``, ``uri``),
as azure-ai-ml sends them, so every SDK invoke proves the live service takes that spelling.
Microsoft's REST examples write PascalCase (``InputData``, ``JobInputType``, ``Value``); the
service may well read both, but that is not checked here, and the local emulator reads only
camelCase (v2-wire.md §4f; azure-ml-facts.md §5).

Literal inputs are typed as the v2 input says, from v1's text defaults: ``"3"`` for an integer
input is sent as the JSON number 3, ``"True"`` for a boolean as ``true``, ``"0.5"`` for a number
as 0.5 (and ``"3"`` for a number as 3, so the step sees the same text v1 passed it). A text that
does not parse is sent as the string it is, with a note and a comment in the snippets.

Known shortcoming, of azure-ai-ml rather than of these snippets: ``Input(type="number")``
turns its default into a float, so through MLClient (and presumably the CLI, which is built on
azure-ai-ml) a step gets ``"3.0"`` where v1 passed ``"3"`` (seen on the emulator; the live
service's rendering of 3.0 is unconfirmed). The REST snippet sends 3; the other two carry a
comment and ``Snippets.notes`` says so.

The token is for Azure ML itself (``https://ml.azure.com/.default``; ``ml.azure.us`` and
``ml.azure.cn`` in those clouds, read from the scoring URI's host), not for
``management.azure.com``: a caller that also manages resources needs two tokens.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import yaml

if TYPE_CHECKING:
    from pathlib import Path

    from migrate_kit.ledger import Ledger

__all__ = [
    "CALLERS_FILE",
    "DATA_TYPES",
    "INPUT_TYPES",
    "LITERAL_TYPES",
    "EndpointCall",
    "Snippets",
    "V2Input",
    "caller_snippets",
    "endpoint_calls",
    "snippets_markdown",
    "token_scope",
    "typed_literal",
    "write_callers",
]

InputType = Literal["string", "integer", "number", "boolean", "uri_folder", "uri_file"]
LITERAL_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean")
DATA_TYPES: tuple[str, ...] = ("uri_folder", "uri_file")
INPUT_TYPES: tuple[str, ...] = LITERAL_TYPES + DATA_TYPES
#: The callers' snippets file a report folder gets (:func:`write_callers`).
CALLERS_FILE = "callers.md"

_JOB_INPUT_TYPE = {"uri_folder": "UriFolder", "uri_file": "UriFile"}
_WORKSPACE = re.compile(
    r"/subscriptions/(?P<sub>[^/?#]+)/resourceGroups/(?P<rg>[^/?#]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/?#]+)",
    re.IGNORECASE,
)
_DATA_PLACEHOLDER = "azureml://datastores/<datastore>/paths/<path>"
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class V2Input:
    """One input of the v2 pipeline component.

    ``value``: for a literal input, its text (as v1 would pass it; None = take v1's default of
    the same name); for a data input, where the data is: an ``azureml://`` URI, an ``https://``
    URL, a data asset or datastore ARM id, or ``<datastore>/<path>`` (made into
    ``azureml://datastores/<datastore>/paths/<path>``).
    """

    name: str
    type: InputType
    value: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("A v2 input needs a name.")
        if self.type not in INPUT_TYPES:
            raise ValueError(
                f"Input {self.name!r} has type {self.type!r}; expected one of "
                f"{', '.join(INPUT_TYPES)}."
            )


@dataclass(frozen=True)
class EndpointCall:
    """How one v1 endpoint was called and where its callers go now.

    ``v1_url``: the pipeline endpoint's ``…/PipelineRuns/PipelineEndpointSubmit/Id/<id>`` URL or
    the published pipeline's ``…/PipelineRuns/PipelineSubmit/<id>`` URL. ``v1_parameters``: the
    v1 parameter defaults (name → text). ``scoring_uri``: the batch endpoint's
    ``properties.scoringUri``. ``deployment``: the deployment to call (None: the endpoint's
    default). The workspace (``subscription_id``, ``resource_group``, ``workspace_name``) is
    read from ``v1_url`` when not given; v1 and v2 live in the same workspace.
    """

    v1_endpoint: str
    v1_url: str
    v2_endpoint: str
    scoring_uri: str
    inputs: Sequence[V2Input] = ()
    v1_parameters: Mapping[str, str] = field(default_factory=dict, hash=False)
    deployment: str | None = None
    experiment_name: str = ""
    subscription_id: str | None = None
    resource_group: str | None = None
    workspace_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "v1_parameters", MappingProxyType(dict(self.v1_parameters)))
        if not self.v2_endpoint:
            raise ValueError(f"The call of v1 endpoint {self.v1_endpoint!r} has no v2 endpoint.")
        if not self.scoring_uri.lower().startswith("https://"):
            raise ValueError(
                f"Scoring URI {self.scoring_uri!r} of {self.v2_endpoint!r} is not an https URL; "
                "pass the batch endpoint's properties.scoringUri."
            )
        if self.deployment == "":
            raise ValueError("deployment must be a name or None (the endpoint's default).")
        names = [i.name for i in self.inputs]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"Inputs {doubled} of {self.v2_endpoint!r} are listed twice.")

    def workspace(self) -> tuple[str, str, str] | None:
        """(subscription, resource group, workspace): as given, else read from ``v1_url``."""
        if self.subscription_id and self.resource_group and self.workspace_name:
            return self.subscription_id, self.resource_group, self.workspace_name
        found = _WORKSPACE.search(self.v1_url)
        if found is None:
            return None
        return (
            self.subscription_id or found["sub"],
            self.resource_group or found["rg"],
            self.workspace_name or found["ws"],
        )


@dataclass(frozen=True)
class Snippets:
    """Everything a caller needs to move from the v1 call to the v2 one.

    ``v2_headers`` shows the Authorization header with a ``<token>`` placeholder. ``notes``
    lists what a person should check (values that did not parse, inputs with no value).
    """

    v1_endpoint: str
    v2_endpoint: str
    deployment: str | None
    v1_url: str
    v1_body: Mapping[str, Any]
    v2_url: str
    v2_headers: Mapping[str, str]
    v2_body: Mapping[str, Any]
    token_scope: str
    python_requests: str
    python_mlclient: str
    az_cli: str
    inputs_yaml: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Value:
    """One input as the snippets send it; ``note`` says what a person should check."""

    input: V2Input
    value: Any
    note: str | None = None


# -- the pure parts -----------------------------------------------------------------------------


def token_scope(scoring_uri: str) -> str:
    """The token scope of a batch endpoint: Azure ML's audience in the scoring URI's cloud."""
    host = re.sub(r"^https?://", "", scoring_uri.lower()).split("/", 1)[0].split(":", 1)[0]
    for suffix in ("ml.azure.us", "ml.azure.cn"):
        if host.endswith("." + suffix):
            return f"https://{suffix}/.default"
    return "https://ml.azure.com/.default"


def typed_literal(text: str, input_type: str) -> tuple[Any, str | None]:
    """``text`` (a v1 parameter value) as the JSON value a v2 ``input_type`` literal takes.

    Returns (value, note). The note is None when the text parsed; otherwise the value is
    ``text`` unchanged and the note says why.
    """
    stripped = text.strip()
    if input_type == "string":
        return text, None
    if input_type == "boolean":
        if stripped.lower() in ("true", "false"):
            return stripped.lower() == "true", None
        return text, f"{text!r} is not true or false; sent as text"
    if input_type == "integer":
        if _INTEGER.fullmatch(stripped):
            return int(stripped), None
        return text, f"{text!r} is not an integer; sent as text"
    if input_type == "number":
        if _INTEGER.fullmatch(stripped):
            return int(stripped), None  # the step sees "3", as in v1, not "3.0"
        try:
            number = float(stripped)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number, None
        return text, f"{text!r} is not a finite number; sent as text"
    raise ValueError(f"{input_type!r} is not a literal input type; expected {LITERAL_TYPES}.")


def _values(call: EndpointCall) -> list[_Value]:
    """The inputs to send, in the order given; literals with no value anywhere are left out."""
    values = []
    for item in call.inputs:
        if item.type in DATA_TYPES:
            if item.value:
                values.append(_Value(item, _data_uri(item.value)))
            else:
                missing = f"no data location known for {item.name!r}; replace the placeholder"
                values.append(_Value(item, _DATA_PLACEHOLDER, missing))
            continue
        text = item.value if item.value is not None else call.v1_parameters.get(item.name)
        if text is None:
            continue
        value, problem = typed_literal(text, item.type)
        values.append(_Value(item, value, f"{item.name!r}: {problem}" if problem else None))
    return values


def _data_uri(value: str) -> str:
    if re.match(r"^(azureml:|https?://|/subscriptions/)", value, re.IGNORECASE):
        return value
    datastore, _, path = value.lstrip("/").partition("/")
    return f"azureml://datastores/{datastore}/paths/{path}"


def _floated(item: _Value) -> bool:
    """A whole number for a ``number`` input: azure-ai-ml (and so the CLI) sends it as a float."""
    return item.input.type == "number" and type(item.value) is int


def _float_note(item: _Value) -> str:
    return (
        f"{item.input.name!r}: through MLClient or the CLI the step may get "
        f"'{float(item.value)}' where v1 passed '{item.value}' (azure-ai-ml sends number "
        "inputs as floats); the REST body sends it unchanged"
    )


def _notes(call: EndpointCall, values: list[_Value]) -> tuple[str, ...]:
    notes = [v.note for v in values if v.note]
    notes += [_float_note(v) for v in values if _floated(v)]
    sent = {v.input.name for v in values}
    for item in call.inputs:
        if item.name not in sent:
            notes.append(f"{item.name!r}: no value in v1 or v2; the component's default applies")
    dropped = sorted(set(call.v1_parameters) - {i.name for i in call.inputs})
    if dropped:
        notes.append(f"v1 parameters with no v2 input, no longer sent: {', '.join(dropped)}")
    return tuple(notes)


def _invoke_body(call: EndpointCall, values: list[_Value]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in values:
        if item.input.type in DATA_TYPES:
            kind = _JOB_INPUT_TYPE[item.input.type]
            data[item.input.name] = {"jobInputType": kind, "uri": item.value}
        else:
            data[item.input.name] = {"jobInputType": "Literal", "value": item.value}
    properties: dict[str, Any] = {"inputData": data}
    if call.experiment_name:
        properties["properties"] = {"experimentName": call.experiment_name}
    return {"properties": properties}


def caller_snippets(call: EndpointCall) -> Snippets:
    """The v1 call and its v2 replacement for ``call``, with three ready snippets."""
    values = _values(call)
    scope = token_scope(call.scoring_uri)
    headers = {"Authorization": "Bearer <token>", "Content-Type": "application/json"}
    if call.deployment:
        headers["azureml-model-deployment"] = call.deployment
    body = _invoke_body(call, values)
    v1_body = {
        "ExperimentName": call.experiment_name,
        "ParameterAssignments": dict(call.v1_parameters),
    }
    inputs_yaml = _inputs_yaml(values)
    return Snippets(
        v1_endpoint=call.v1_endpoint,
        v2_endpoint=call.v2_endpoint,
        deployment=call.deployment,
        v1_url=call.v1_url,
        v1_body=v1_body,
        v2_url=call.scoring_uri,
        v2_headers=headers,
        v2_body=body,
        token_scope=scope,
        python_requests=_python_requests(call, values, scope),
        python_mlclient=_python_mlclient(call, values),
        az_cli=_az_cli(call, inputs_yaml),
        inputs_yaml=inputs_yaml,
        notes=_notes(call, values),
    )


# -- the snippets -------------------------------------------------------------------------------


def _py(value: Any) -> str:
    """A JSON-able scalar as Python source (JSON string literals are Python ones too)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


def _headline(call: EndpointCall) -> str:
    v1_name = " ".join(call.v1_endpoint.split())
    # A v1 endpoint's callers post to PipelineEndpointSubmit; a standalone published
    # pipeline's to PipelineSubmit/{id}.
    was = "v1 endpoint" if "/PipelineEndpointSubmit/" in call.v1_url else "v1 published pipeline"
    return f"# Start a job on batch endpoint {call.v2_endpoint} (was {was} {v1_name})."


def _comment(note: str | None, indent: str) -> list[str]:
    return [f"{indent}# check: {' '.join(note.split())}"] if note else []


def _python_requests(call: EndpointCall, values: list[_Value], scope: str) -> str:
    lines = [
        _headline(call),
        "",
        "import requests",
        "from azure.identity import DefaultAzureCredential",
        "",
        f"SCORING_URI = {_py(call.scoring_uri)}",
        "",
        "# A token for Azure ML itself; a management.azure.com token is refused.",
        f"token = DefaultAzureCredential().get_token({_py(scope)}).token",
        "headers = {",
        '    "Authorization": f"Bearer {token}",',
        '    "Content-Type": "application/json",',
    ]
    if call.deployment:
        lines.append(
            f'    "azureml-model-deployment": {_py(call.deployment)},  # not the default one'
        )
    lines += ["}", "body = {", '    "properties": {', '        "inputData": {']
    for item in values:
        lines += _comment(item.note, " " * 12)
        if item.input.type in DATA_TYPES:
            kind = _JOB_INPUT_TYPE[item.input.type]
            entry = f'{{"jobInputType": "{kind}", "uri": {_py(item.value)}}}'
        else:
            entry = f'{{"jobInputType": "Literal", "value": {_py(item.value)}}}'
        lines.append(f"            {_py(item.input.name)}: {entry},")
    lines.append("        },")
    if call.experiment_name:
        lines.append(f'        "properties": {{"experimentName": {_py(call.experiment_name)}}},')
    lines += [
        "    }",
        "}",
        "response = requests.post(SCORING_URI, json=body, headers=headers, timeout=60)",
        "response.raise_for_status()",
        'print(response.json()["name"])  # the job name',
    ]
    return "\n".join(lines) + "\n"


def _python_mlclient(call: EndpointCall, values: list[_Value]) -> str:
    workspace = call.workspace()
    lines = [
        _headline(call),
        "",
        "from azure.ai.ml import Input, MLClient",
        "from azure.identity import DefaultAzureCredential",
        "",
    ]
    if workspace is None:
        lines.append("ml_client = MLClient.from_config(DefaultAzureCredential())  # config.json")
    else:
        sub, rg, ws = (_py(part) for part in workspace)
        lines += [
            "ml_client = MLClient(",
            "    DefaultAzureCredential(),",
            f"    subscription_id={sub},",
            f"    resource_group_name={rg},",
            f"    workspace_name={ws},",
            ")",
        ]
    lines += [
        "job = ml_client.batch_endpoints.invoke(",
        f"    endpoint_name={_py(call.v2_endpoint)},",
    ]
    if call.deployment:
        # azure-ai-ml keeps the deployment header of an earlier invoke in the same process
        # unless a later call names its own (v2-wire.md §7, pitfall 4).
        lines.append(f"    deployment_name={_py(call.deployment)},  # always name it")
    lines.append("    inputs={")
    for item in values:
        lines += _comment(item.note, " " * 8)
        lines += _comment(_float_note(item) if _floated(item) else None, " " * 8)
        if item.input.type in DATA_TYPES:
            entry = f"Input(type={_py(item.input.type)}, path={_py(item.value)})"
        else:
            entry = f"Input(type={_py(item.input.type)}, default={_py(item.value)})"
        lines.append(f"        {_py(item.input.name)}: {entry},")
    lines.append("    },")
    if call.experiment_name:
        lines.append(f"    experiment_name={_py(call.experiment_name)},")
    lines += [")", "print(job.name)"]
    return "\n".join(lines) + "\n"


def _inputs_yaml(values: list[_Value]) -> str:
    inputs: dict[str, Any] = {}
    for item in values:
        key = "path" if item.input.type in DATA_TYPES else "default"
        inputs[item.input.name] = {"type": item.input.type, key: item.value}
    document = {"inputs": inputs} if inputs else {}
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return text


def _az_cli(call: EndpointCall, inputs_yaml: str) -> str:
    """A shell script: the inputs file written with a quoted here-document, then the call.

    Inputs go in a file (``--file``), as Microsoft's docs advise once there is more than one;
    the file also keeps each literal's type next to its value.
    """
    args = ["az ml batch-endpoint invoke", f"--name {shlex.quote(call.v2_endpoint)}"]
    if call.deployment:
        args.append(f"--deployment-name {shlex.quote(call.deployment)}")
    if call.experiment_name:
        args.append(f"--experiment-name {shlex.quote(call.experiment_name)}")
    if call.inputs:
        args.append("--file inputs.yml")
    workspace = call.workspace()
    if workspace is not None:
        _sub, rg, ws = workspace
        args += [f"--resource-group {shlex.quote(rg)}", f"--workspace-name {shlex.quote(ws)}"]
    args.append("--query name --output tsv")
    lines = []
    if call.inputs:
        lines += ["cat > inputs.yml <<'YAML'", inputs_yaml.rstrip("\n"), "YAML"]
    if workspace is not None:
        lines.append(f"az account set --subscription {shlex.quote(workspace[0])}")
    lines.append(" \\\n  ".join(args))
    return "\n".join(lines) + "\n"


# -- Markdown -------------------------------------------------------------------------------------


def snippets_markdown(calls: Iterable[EndpointCall]) -> str:
    """A "Caller changes" report section: per endpoint the v1 call, the v2 call and snippets."""
    lines = ["## Caller changes", ""]
    count = 0
    for call in calls:
        lines += _markdown_one(caller_snippets(call))
        count += 1
    if not count:
        lines += ["No endpoint was migrated, so no caller has to change.", ""]
    return "\n".join(lines)


def _markdown_one(s: Snippets) -> list[str]:
    target = _code(s.v2_endpoint) + (f", deployment {_code(s.deployment)}" if s.deployment else "")
    header = f"header {_code(f'azureml-model-deployment: {s.deployment}')}"
    lines = [f"### {_code(s.v1_endpoint)} → {target}", ""]
    lines += [
        "| | v1 (before) | v2 (after) |",
        "| --- | --- | --- |",
        f"| URL | {_code(s.v1_url)} | {_code(s.v2_url)} |",
        f"| Token scope | as before | {_code(s.token_scope)} |",
        f"| Deployment | the endpoint's default | {header if s.deployment else 'default'} |",
        "",
    ]
    for label, text, language in (
        ("v1 request body", json.dumps(s.v1_body, indent=2), "json"),
        ("v2 request body", json.dumps(s.v2_body, indent=2), "json"),
        ("Python, requests", s.python_requests, "python"),
        ("Python, MLClient", s.python_mlclient, "python"),
        ("Azure CLI", s.az_cli, "bash"),
    ):
        lines += [f"{label}:", "", *_fence(text, language), ""]
    if s.notes:
        lines += ["Check:", "", *[f"- {note}" for note in s.notes], ""]
    return lines


def _code(text: str) -> str:
    """``text`` as an inline code span that also survives inside a table cell."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{ticks}{pad}{text.replace('|', chr(92) + '|')}{pad}{ticks}"


def _fence(text: str, language: str) -> list[str]:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", text.rstrip("\n"), fence]


def write_callers(calls: Iterable[EndpointCall], folder: Path) -> Path:
    """Write :func:`snippets_markdown` of ``calls``, redacted, as ``<folder>/callers.md``."""
    from migrate_kit.redact import redact

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CALLERS_FILE
    path.write_text(redact(snippets_markdown(calls)), encoding="utf-8")
    return path


def endpoint_calls(ledger: Ledger) -> list[EndpointCall]:
    """One call per migrated v2 batch endpoint, from the ledger: what its v1 callers sent
    (the v1 endpoint's URL, or the standalone pipeline's) and the default deployment's inputs,
    with v1's defaults as the values. Endpoints whose scoring URI the ledger lacks (not created
    yet) are left out."""
    from migrate_kit.ledger import endpoint_subject

    plans = [r for r in ledger.stages() if r.stage == "plan" and r.status == "done"]
    by_endpoint: dict[str, list[Mapping[str, Any]]] = {}
    for record in plans:
        by_endpoint.setdefault(str(record.detail.get("v2_endpoint")), []).append(record.detail)
    calls = []
    for endpoint, details in by_endpoint.items():
        created = ledger.stage(endpoint_subject(endpoint), "endpoint")
        scoring_uri = created.detail.get("scoring_uri") if created is not None else None
        chosen = next((d for d in details if d.get("is_default")), details[0])
        if not scoring_uri or not chosen.get("v1_url"):
            continue
        inputs = [
            V2Input(i["name"], i["type"], i.get("v1_default")) for i in chosen.get("inputs", [])
        ]
        parameters = {
            i["v1_name"]: i["v1_default"]
            for i in chosen.get("inputs", [])
            if i.get("v1_kind") == "parameter" and i.get("v1_default") is not None
        }
        calls.append(
            EndpointCall(
                v1_endpoint=str(chosen.get("v1_endpoint") or chosen.get("pipeline_name")),
                v1_url=str(chosen["v1_url"]),
                v2_endpoint=endpoint,
                scoring_uri=str(scoring_uri),
                inputs=inputs,
                v1_parameters=parameters,
                deployment=None if chosen.get("is_default") else chosen.get("deployment"),
            )
        )
    return calls
