"""A small client of the Azure ML v1 pipelines service, built on azure-core (not on the v1 SDK).

Each call returns the decoded JSON body or raises a ``migrate_kit.errors.ServiceCallError``
subclass whose message is one line naming the workspace and what to check. Transport: a
urllib3 keep-alive pool sized for ``max_workers`` threads (``_transport.py``), so concurrent
reads reuse TLS connections. Policies, outermost first: user agent, one INFO log line per call
(redacted), retries (408/429/5xx and connection errors, ``Retry-After`` honoured, total time
bounded), bearer token. The snapshot zip is fetched from its SAS URL by a second pipeline that
has no bearer-token policy: a SAS URL must not receive our token.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import quote, urlencode, urljoin

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.core.pipeline import Pipeline, PipelineResponse
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, UserAgentPolicy
from azure.core.pipeline.transport import HttpRequest

from migrate_kit.v1._errors import (
    credential_error,
    error_from_exception,
    error_from_response,
    malformed_error,
    poll_timeout_error,
)
from migrate_kit.v1._policies import BoundedRetryPolicy, RequestLogPolicy
from migrate_kit.v1._transport import PooledTransport

__all__ = ["ARM_SCOPE", "LIST_BATCH_SIZE", "PipelinesClient"]

logger = logging.getLogger(__name__)

# The live service's token audience is unconfirmed; Microsoft's REST examples use an ARM token,
# so ARM is the default and callers may pass another scope (e.g. "https://ml.azure.com/.default").
ARM_SCOPE = "https://management.azure.com/.default"

# Sent as the BatchSize header of GET /PipelineEndpoints. Whether the live service truncates the
# list to it is unconfirmed, so we ask for far more than a workspace holds and warn when exactly
# this many come back.
LIST_BATCH_SIZE = 10000

_JSON_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json; charset=utf-8",
}
_USER_AGENT = "migrate-kit/0.1"


class PipelinesClient:
    """Read published pipelines, endpoints, graphs, modules and data sources of one workspace.

    ``base_url`` is the workspace's ``api`` service (from discovery), ``content_url`` its
    ``history`` service (snapshots; defaults to ``base_url``). Thread-safe: the reader calls one
    client from many threads. ``retry_total`` and ``retry_timeout`` (seconds, all attempts of
    one call together) bound the retries; a server's ``Retry-After`` is honoured up to
    ``max_retry_after`` seconds.
    """

    def __init__(
        self,
        base_url: str,
        *,
        subscription_id: str,
        resource_group: str,
        workspace_name: str,
        credential: TokenCredential,
        scope: str = ARM_SCOPE,
        content_url: str | None = None,
        connection_verify: str | bool = True,
        max_workers: int = 16,
        retry_total: int = 3,
        retry_timeout: float = 60.0,
        max_retry_after: float = 30.0,
        snapshot_poll_interval: float = 2.0,
        snapshot_poll_timeout: float = 60.0,
    ) -> None:
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.workspace_name = workspace_name
        self.snapshot_poll_interval = snapshot_poll_interval
        self.snapshot_poll_timeout = snapshot_poll_timeout

        workspace_scope = (
            f"subscriptions/{_seg(subscription_id)}/resourceGroups/{_seg(resource_group)}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{_seg(workspace_name)}"
        )
        self._pipelines_root = f"{base_url.rstrip('/')}/pipelines/v1.0/{workspace_scope}"
        self._content_root = (
            f"{(content_url or base_url).rstrip('/')}/content/v2.0/{workspace_scope}"
        )

        # Connections are opened on demand; the headroom keeps urllib3 from discarding (and
        # warning about) connections when a reader uses more threads than ``max_workers``.
        self._transport = PooledTransport(
            verify=connection_verify, pool_size=max(max_workers, 32), proxy_for=base_url
        )
        bearer = BearerTokenCredentialPolicy(credential, scope)
        self._pipeline: Pipeline[HttpRequest, Any] = Pipeline(
            self._transport, _policies(retry_total, retry_timeout, max_retry_after, bearer)
        )
        # A second chain (policies hold a link to the next one, so none is shared) without the
        # bearer policy, for SAS URLs.
        self._anonymous: Pipeline[HttpRequest, Any] = Pipeline(
            self._transport, _policies(retry_total, retry_timeout, max_retry_after)
        )
        self._scope = scope

    # -- published pipelines ---------------------------------------------------------------

    def list_pipelines(self, *, active_only: bool = False) -> list[Any]:
        """``GET /Pipelines``: all published pipelines (``active_only=False`` includes disabled)."""
        query = {"activeOnly": "true" if active_only else "false"}
        body = self._get("/Pipelines", "the list of published pipelines", query=query)
        return self._entities(body, "/Pipelines")

    def get_pipeline(self, pipeline_id: str) -> Any:
        """``GET /Pipelines/{id}``: one published pipeline (``PipelineEntity``)."""
        return self._get(f"/Pipelines/{_seg(pipeline_id)}", f"published pipeline {pipeline_id!r}")

    # -- pipeline endpoints ----------------------------------------------------------------

    def list_endpoints(self, *, active_only: bool = False) -> list[Any]:
        """``GET /PipelineEndpoints`` with a large ``BatchSize`` header (``LIST_BATCH_SIZE``)."""
        query = {"activeOnly": "true" if active_only else "false"}
        body = self._get(
            "/PipelineEndpoints",
            "the list of pipeline endpoints",
            query=query,
            headers={"BatchSize": str(LIST_BATCH_SIZE)},
        )
        endpoints = self._entities(body, "/PipelineEndpoints")
        if len(endpoints) == LIST_BATCH_SIZE:
            logger.warning(
                "The service returned exactly %d pipeline endpoints, the BatchSize we asked for; "
                "the list may be truncated and some endpoints may be missing.",
                LIST_BATCH_SIZE,
            )
        return endpoints

    def get_endpoint(self, endpoint_id: str) -> Any:
        """``GET /PipelineEndpoints/Id/{id}``: one pipeline endpoint."""
        return self._get(f"/PipelineEndpoints/Id/{_seg(endpoint_id)}", f"endpoint {endpoint_id!r}")

    def get_endpoint_by_name(self, name: str) -> Any:
        """``GET /PipelineEndpoints/Name?Name=...``: one pipeline endpoint by name."""
        return self._get(
            "/PipelineEndpoints/Name", f"endpoint named {name!r}", query={"Name": name}
        )

    # -- graphs, modules, data sources -----------------------------------------------------

    def get_graph(self, graph_id: str) -> Any:
        """``GET /Graphs/{id}``: nodes and edges of a published pipeline."""
        return self._get(f"/Graphs/{_seg(graph_id)}", f"graph {graph_id!r}")

    def get_graph_interface(self, graph_id: str) -> Any:
        """``GET /Graphs/{id}/Interface``: the pipeline parameters of a graph."""
        return self._get(f"/Graphs/{_seg(graph_id)}/Interface", f"interface of graph {graph_id!r}")

    def get_module(self, module_id: str) -> Any:
        """``GET /Modules/{id}``: ``{"Data": ModuleEntity, "Interface": ...}``."""
        return self._get(f"/Modules/{_seg(module_id)}", f"module {module_id!r}")

    def get_data_source(self, data_source_id: str) -> Any:
        """``GET /DataSources/{id}``: the location behind a ``DataReference`` input."""
        return self._get(f"/DataSources/{_seg(data_source_id)}", f"data source {data_source_id!r}")

    # -- snapshots -------------------------------------------------------------------------

    def download_snapshot(self, snapshot_id: str) -> bytes:
        """Return the zip of a module's code snapshot from the content service.

        ``POST .../snapshots/{id}/zip`` answers ``{"zipSasUri"}`` at once, or 202 with a
        ``location`` to poll (every ``snapshot_poll_interval`` s, at most
        ``snapshot_poll_timeout`` s). The zip is then fetched from the SAS URL without our token.
        """
        what = f"code snapshot {snapshot_id!r}"
        url = f"{self._content_root}/snapshots/{_seg(snapshot_id)}/zip"
        response = self._send(self._pipeline, "POST", url, what, accept=(200, 202))
        deadline = time.monotonic() + self.snapshot_poll_timeout
        poll_url: str | None = None
        while response.status_code == 202:  # later answers may omit the location: keep the first
            poll_url = (
                response.headers.get("Location") or _json_field(response, "location") or poll_url
            )
            if not poll_url:
                raise malformed_error(self.describe_workspace(), what, url, "202 without location")
            if time.monotonic() > deadline:
                raise poll_timeout_error(
                    self.describe_workspace(), what, self.snapshot_poll_timeout
                )
            time.sleep(self.snapshot_poll_interval)
            poll_url = urljoin(url, poll_url)
            response = self._send(self._pipeline, "GET", poll_url, what, (200, 202))

        sas_url = _json_field(self._decode_response(response, what), "zipSasUri")
        if not sas_url:
            raise malformed_error(
                self.describe_workspace(), what, url, "no zipSasUri in the answer"
            )
        zipped = self._send(
            self._anonymous, "GET", sas_url, f"zip of {what}", (200,), {"Accept": "*/*"}
        )
        return bytes(zipped.body())

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> PipelinesClient:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def describe_workspace(self) -> str:
        """``Workspace 'ws' in resource group 'rg' (subscription ...)``, for messages."""
        return (
            f"Workspace {self.workspace_name!r} in resource group {self.resource_group!r} "
            f"(subscription {self.subscription_id})"
        )

    # -- plumbing --------------------------------------------------------------------------

    def _get(
        self,
        path: str,
        what: str,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """GET a pipelines-service path and return its decoded JSON body."""
        url = self._pipelines_root + path
        if query:
            url += "?" + urlencode(query)
        response = self._send(self._pipeline, "GET", url, what, (200,), headers)
        return self._decode_response(response, what)

    def _send(
        self,
        pipeline: Pipeline[HttpRequest, Any],
        method: str,
        url: str,
        what: str,
        accept: tuple[int, ...],
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Run one request through ``pipeline``; any status outside ``accept`` raises."""
        request = HttpRequest(method, url, headers={**_JSON_HEADERS, **(headers or {})})
        try:
            result: PipelineResponse[HttpRequest, Any] = pipeline.run(request)
        except ClientAuthenticationError as exc:
            raise credential_error(self.describe_workspace(), what, self._scope, exc) from exc
        except AzureError as exc:
            raise error_from_exception(self.describe_workspace(), what, url, exc) from exc

        response = result.http_response
        if response.status_code not in accept:
            retries = len(result.context.get("history") or ())
            raise error_from_response(
                self.describe_workspace(),
                what,
                url,
                response.status_code,
                response.body(),
                retries,
            )
        return response

    def _decode_response(self, response: Any, what: str) -> Any:
        """Decode a JSON body once; a body that is not JSON raises a ``ServiceCallError``."""
        try:
            return json.loads(response.body())
        except ValueError as exc:
            raise malformed_error(
                self.describe_workspace(), what, response.request.url, str(exc)
            ) from exc

    def _entities(self, body: Any, path: str) -> list[Any]:
        """Accept a list as a plain JSON array or as ``{"Entity": [...], "ContinuationToken"}``."""
        if isinstance(body, list):
            return body
        if isinstance(body, dict) and isinstance(body.get("Entity"), list):
            if body.get("ContinuationToken"):
                # The SDK never follows a continuation token and no route for it is documented.
                logger.warning(
                    "GET %s returned a continuation token; the next page is not read (the paging "
                    "route is undocumented), so the list may be incomplete.",
                    path,
                )
            return list(body["Entity"])
        raise malformed_error(
            self.describe_workspace(), f"the list {path}", self._pipelines_root + path, "not a list"
        )


def _policies(
    retry_total: int, retry_timeout: float, max_retry_after: float, *extra: Any
) -> list[Any]:
    """Fresh policy objects, outermost first: user agent, log line, retries, then ``extra``.

    azure-core's policies are typed for its legacy request class, so the list is typed loosely.
    """
    retry = BoundedRetryPolicy(
        retry_total=retry_total,
        retry_backoff_factor=0.5,
        timeout=retry_timeout,
        max_retry_after=max_retry_after,
    )
    return [UserAgentPolicy(sdk_moniker=_USER_AGENT), RequestLogPolicy(), retry, *extra]


def _seg(value: str) -> str:
    """Quote one path segment (an id or name) so it cannot change the path."""
    return quote(value, safe="")


def _json_field(response: Any, key: str) -> Any:
    """Return ``key`` of a JSON object body (or of an already decoded object), else ``None``."""
    body = response
    if not isinstance(response, dict):
        try:
            body = json.loads(response.body() or b"null")
        except ValueError:
            return None
    return body.get(key) if isinstance(body, dict) else None
