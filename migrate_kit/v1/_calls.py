"""What the sync and async v1 clients share: settings, URLs, and answers made into JSON or errors.

A ``Call`` is one request to the pipelines service: its URL, a phrase naming what it reads (for
messages), extra headers and, for a POST, its JSON body. ``Calls`` builds them for one
workspace, and turns what came back (or the exception raised instead) into decoded JSON or a
``ServiceCallError``. Both ``PipelinesClient`` (threads, urllib3) and ``AsyncPipelinesClient``
(asyncio, aiohttp) use it, so a route, an error message or the JSON handling is written once;
the two clients differ only in how they run the azure-core pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from azure.core.credentials import TokenCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.core.pipeline.transport import HttpRequest

from migrate_kit.errors import ServiceCallError
from migrate_kit.v1._errors import (
    credential_error,
    error_from_exception,
    error_from_response,
    malformed_error,
)

__all__ = [
    "ARM_SCOPE",
    "LIST_BATCH_SIZE",
    "Call",
    "Calls",
    "ClientSettings",
    "retries_of",
    "segment",
    "submission_info",
]

logger = logging.getLogger(__name__)

# The live service's token audience is unconfirmed; Microsoft's REST examples use an ARM token,
# so ARM is the default and callers may pass another scope (e.g. "https://ml.azure.com/.default").
ARM_SCOPE = "https://management.azure.com/.default"

# Sent as the BatchSize header of GET /PipelineEndpoints. Whether the live service truncates the
# list to it is unconfirmed, so we ask for far more than a workspace holds and warn when exactly
# this many come back.
LIST_BATCH_SIZE = 10000

JSON_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json; charset=utf-8",
}
# What the v1 SDK sends with a request body (reference §1).
BODY_CONTENT_TYPE = "application/json-patch+json; charset=utf-8"


@dataclass(frozen=True)
class ClientSettings:
    """Everything needed to build a client of one workspace (sync or async)."""

    base_url: str
    subscription_id: str
    resource_group: str
    workspace_name: str
    credential: TokenCredential | AsyncTokenCredential = field(repr=False)
    scope: str = ARM_SCOPE
    content_url: str | None = None
    connection_verify: str | bool = True
    retry_total: int = 3
    retry_timeout: float = 60.0
    max_retry_after: float = 30.0


@dataclass(frozen=True)
class Call:
    """One request: the full URL, what it reads (``graph 'abc'``), headers beyond the JSON ones
    and the JSON body (``None``: no body)."""

    url: str
    what: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def request(self, method: str = "GET") -> HttpRequest:
        """The azure-core request for this call."""
        headers = {**JSON_HEADERS, **self.headers}
        if self.body is None:
            return HttpRequest(method, self.url, headers=headers)
        request = HttpRequest(
            method, self.url, headers={**headers, "Content-Type": BODY_CONTENT_TYPE}
        )
        request.set_bytes_body(orjson.dumps(self.body))
        return request


class Calls:
    """Builds the ``Call`` of each route for one workspace and interprets the answers."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        workspace_scope = (
            f"subscriptions/{segment(settings.subscription_id)}"
            f"/resourceGroups/{segment(settings.resource_group)}"
            "/providers/Microsoft.MachineLearningServices"
            f"/workspaces/{segment(settings.workspace_name)}"
        )
        self.pipelines_root = f"{settings.base_url.rstrip('/')}/pipelines/v1.0/{workspace_scope}"
        content = settings.content_url or settings.base_url
        self.content_root = f"{content.rstrip('/')}/content/v2.0/{workspace_scope}"

    def describe_workspace(self) -> str:
        """``Workspace 'ws' in resource group 'rg' (subscription ...)``, for messages."""
        s = self.settings
        return (
            f"Workspace {s.workspace_name!r} in resource group {s.resource_group!r} "
            f"(subscription {s.subscription_id})"
        )

    # -- routes -----------------------------------------------------------------------------

    def list_pipelines(self, active_only: bool) -> Call:
        """``GET /Pipelines?activeOnly=``."""
        return self._call("/Pipelines", "the list of published pipelines", active_only)

    def pipeline(self, pipeline_id: str) -> Call:
        """``GET /Pipelines/{id}``."""
        return self._call(
            f"/Pipelines/{segment(pipeline_id)}", f"published pipeline {pipeline_id!r}"
        )

    def pipeline_status(self, pipeline_id: str, status: str) -> Call:
        """``PUT /Pipelines/{id}/status`` with the status as a JSON string (reference §2.1 #3)."""
        path = f"/Pipelines/{segment(pipeline_id)}/status"
        return self._call(path, f"status of published pipeline {pipeline_id!r}", body=status)

    def list_endpoints(self, active_only: bool) -> Call:
        """``GET /PipelineEndpoints?activeOnly=`` with a large ``BatchSize`` header."""
        call = self._call("/PipelineEndpoints", "the list of pipeline endpoints", active_only)
        return Call(call.url, call.what, {"BatchSize": str(LIST_BATCH_SIZE)})

    def endpoint(self, endpoint_id: str) -> Call:
        """``GET /PipelineEndpoints/Id/{id}``."""
        path = f"/PipelineEndpoints/Id/{segment(endpoint_id)}"
        return self._call(path, f"endpoint {endpoint_id!r}")

    def endpoint_by_name(self, name: str) -> Call:
        """``GET /PipelineEndpoints/Name?Name=``."""
        url = f"{self.pipelines_root}/PipelineEndpoints/Name?{urlencode({'Name': name})}"
        return Call(url, f"endpoint named {name!r}")

    def graph(self, graph_id: str) -> Call:
        """``GET /Graphs/{id}``."""
        return self._call(f"/Graphs/{segment(graph_id)}", f"graph {graph_id!r}")

    def graph_interface(self, graph_id: str) -> Call:
        """``GET /Graphs/{id}/Interface``."""
        path = f"/Graphs/{segment(graph_id)}/Interface"
        return self._call(path, f"interface of graph {graph_id!r}")

    def module(self, module_id: str) -> Call:
        """``GET /Modules/{id}``."""
        return self._call(f"/Modules/{segment(module_id)}", f"module {module_id!r}")

    def data_source(self, data_source_id: str) -> Call:
        """``GET /DataSources/{id}``."""
        path = f"/DataSources/{segment(data_source_id)}"
        return self._call(path, f"data source {data_source_id!r}")

    # -- pipeline runs (reference §2.1 #4, #12, #18-#25) --------------------------------------

    def submit_pipeline(self, pipeline_id: str, submission: dict[str, Any]) -> Call:
        """``POST /PipelineRuns/PipelineSubmit/{pipelineId}`` with a ``PipelineSubmissionInfo``."""
        path = f"/PipelineRuns/PipelineSubmit/{segment(pipeline_id)}"
        return self._call(path, f"published pipeline {pipeline_id!r}", body=submission)

    def submit_endpoint(
        self, endpoint_id: str, version: str | None, submission: dict[str, Any]
    ) -> Call:
        """``POST /PipelineRuns/PipelineEndpointSubmit/Id/{id}[/{version}]``.

        With a version the SDK puts it in the path and also in the query (``pipelineVersion``,
        reference pitfall Q7); without one the endpoint's default version runs.
        """
        url = f"{self.pipelines_root}/PipelineRuns/PipelineEndpointSubmit/Id/{segment(endpoint_id)}"
        what = f"endpoint {endpoint_id!r}"
        if version is not None:
            url += f"/{segment(version)}?{urlencode({'pipelineVersion': version})}"
            what = f"version {version!r} of endpoint {endpoint_id!r}"
        return Call(url, what, body=submission)

    def run(self, run_id: str) -> Call:
        """``GET /PipelineRuns/{id}``."""
        return self._call(f"/PipelineRuns/{segment(run_id)}", f"pipeline run {run_id!r}")

    def node_statuses(self, run_id: str) -> Call:
        """``POST /PipelineRuns/{id}/Graph/AllNodes/Status`` with ``[]`` (the root graph)."""
        return self._call(
            f"/PipelineRuns/{segment(run_id)}/Graph/AllNodes/Status",
            f"step statuses of pipeline run {run_id!r}",
            body=[],
        )

    def node_outputs(self, run_id: str, node_id: str) -> Call:
        """``POST /PipelineRuns/{id}/Outputs`` with ``["<nodeId>"]``."""
        return self._call(
            f"/PipelineRuns/{segment(run_id)}/Outputs",
            f"outputs of step {node_id!r} of pipeline run {run_id!r}",
            body=[node_id],
        )

    def pipeline_run_output(self, run_id: str, name: str) -> Call:
        """``GET /PipelineRuns/{id}/PipelineRunOutputs/{name}``."""
        return self._call(
            f"/PipelineRuns/{segment(run_id)}/PipelineRunOutputs/{segment(name)}",
            f"pipeline output {name!r} of pipeline run {run_id!r}",
        )

    def node_log(self, run_id: str, node_id: str, kind: str) -> Call:
        """``POST /PipelineRuns/{id}/Graph/Shareable/{JobLog|STDOUT|STDERR}`` with the node."""
        return self._call(
            f"/PipelineRuns/{segment(run_id)}/Graph/Shareable/{segment(kind)}",
            f"{kind} log of step {node_id!r} of pipeline run {run_id!r}",
            body=[node_id],
        )

    def _call(
        self, path: str, what: str, active_only: bool | None = None, *, body: Any = None
    ) -> Call:
        url = self.pipelines_root + path
        if active_only is not None:
            url += "?activeOnly=" + ("true" if active_only else "false")
        return Call(url, what, body=body)

    # -- answers ----------------------------------------------------------------------------

    def failure(self, call: Call, exc: AzureError) -> ServiceCallError:
        """The error for a call that raised in the pipeline (no token, network failure)."""
        if isinstance(exc, ClientAuthenticationError):
            return credential_error(self.describe_workspace(), call.what, self.settings.scope, exc)
        return error_from_exception(self.describe_workspace(), call.what, call.url, exc)

    def check(
        self, call: Call, status: int, body: bytes, retries: int, accept: tuple[int, ...] = (200,)
    ) -> None:
        """Raise the mapped ``ServiceCallError`` when ``status`` is not in ``accept``."""
        if status not in accept:
            workspace = self.describe_workspace()
            raise error_from_response(workspace, call.what, call.url, status, body, retries)

    def decode(self, call: Call, body: bytes) -> Any:
        """Decode a JSON body; a body that is not JSON raises a ``ServiceCallError``."""
        try:
            return orjson.loads(body)
        except ValueError as exc:
            raise malformed_error(self.describe_workspace(), call.what, call.url, str(exc)) from exc

    def answer(self, call: Call, status: int, body: bytes, retries: int) -> Any:
        """``check`` then ``decode``: the JSON of a 200 answer, else the mapped error."""
        self.check(call, status, body, retries)
        return self.decode(call, body)

    def entities(self, body: Any, call: Call) -> list[Any]:
        """A list as a plain JSON array or as ``{"Entity": [...], "ContinuationToken"}``."""
        path = call.url.removeprefix(self.pipelines_root).split("?", 1)[0]
        if isinstance(body, list):
            entities = body
        elif isinstance(body, dict) and isinstance(body.get("Entity"), list):
            if body.get("ContinuationToken"):
                # The SDK never follows a continuation token and no route for it is documented.
                logger.warning(
                    "GET %s returned a continuation token; the next page is not read (the paging "
                    "route is undocumented), so the list may be incomplete.",
                    path,
                )
            entities = list(body["Entity"])
        else:
            raise malformed_error(self.describe_workspace(), call.what, call.url, "not a list")
        if call.headers.get("BatchSize") == str(len(entities)):
            logger.warning(
                "The service returned exactly %d pipeline endpoints, the BatchSize we asked for; "
                "the list may be truncated and some endpoints may be missing.",
                len(entities),
            )
        return entities


def submission_info(
    experiment_name: str,
    parameter_assignments: Mapping[str, str],
    data_path_assignments: Mapping[str, Mapping[str, str]] | None = None,
    *,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``PipelineSubmissionInfo`` (reference §3.7), keyed as the v1 SDK sends it.

    Values are sent as given: v1 takes parameter values as text (the SDK sends ``str(value)``)
    and a DataPath as ``{"DataStoreName", "RelativePath"}``. ``RunSource``/``RunType`` say
    that the REST API, not the SDK, submitted it.
    """
    info: dict[str, Any] = {
        "ExperimentName": experiment_name,
        "Description": description or experiment_name,
        "RunSource": "API",
        "RunType": "HTTP",
        "ParameterAssignments": dict(parameter_assignments),
        "DataPathAssignments": {k: dict(v) for k, v in (data_path_assignments or {}).items()},
        "DataSetDefinitionValueAssignments": {},
        "Properties": {},
    }
    if tags:
        info["tags"] = dict(tags)  # the lower-case key of the client model (reference §1)
    return info


def segment(value: str) -> str:
    """Quote one path segment (an id or name) so it cannot change the path."""
    return quote(value, safe="")


def retries_of(context: Any) -> int:
    """How many retries the retry policy recorded in a pipeline context."""
    return len(context.get("history") or ())
