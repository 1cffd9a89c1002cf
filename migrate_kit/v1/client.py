"""A small client of the Azure ML v1 pipelines service, built on azure-core (not on the v1 SDK).

Each call returns the decoded JSON body or raises a ``migrate_kit.errors.ServiceCallError``
subclass whose message is one line naming the workspace and what to check. Transport: a
urllib3 keep-alive pool sized for ``max_workers`` threads (``_transport.py``), so concurrent
reads reuse TLS connections. Policies, outermost first: user agent, one INFO log line per call
(redacted), retries (408/429/5xx and connection errors, ``Retry-After`` honoured, total time
bounded), bearer token. The snapshot zip is fetched from its SAS URL by a second pipeline that
has no bearer-token policy: a SAS URL must not receive our token.

Routes, error mapping and JSON handling live in ``_calls.py`` and are shared with the asyncio
client (``_aio.AsyncPipelinesClient``), which ``V1Reader`` uses for bulk reads: ``settings``
carries this client's configuration over to it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline import Pipeline, PipelineResponse
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.core.pipeline.transport import HttpRequest

from migrate_kit.v1._calls import (
    ARM_SCOPE,
    LIST_BATCH_SIZE,
    Call,
    Calls,
    ClientSettings,
    retries_of,
    segment,
    submission_info,
)
from migrate_kit.v1._errors import malformed_error, poll_timeout_error
from migrate_kit.v1._policies import sync_policies
from migrate_kit.v1._transport import PooledTransport

__all__ = ["ARM_SCOPE", "LIST_BATCH_SIZE", "ClientSettings", "PipelinesClient"]

logger = logging.getLogger(__name__)


class PipelinesClient:
    """Read published pipelines, endpoints, graphs, modules and data sources of one workspace;
    submit pipeline runs and read their status, step outputs and logs.

    ``base_url`` is the workspace's ``api`` service (from discovery), ``content_url`` its
    ``history`` service (snapshots; defaults to ``base_url``). Thread-safe: one client may be
    called from many threads. ``retry_total`` and ``retry_timeout`` (seconds, all attempts of
    one call together) bound the retries; a server's ``Retry-After`` is honoured up to
    ``max_retry_after`` seconds. ``settings`` holds the same values for the asyncio client
    (``migrate_kit.v1._aio``) that ``V1Reader`` uses for bulk reads.
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
        max_workers: int = 32,
        retry_total: int = 3,
        retry_timeout: float = 60.0,
        max_retry_after: float = 30.0,
        snapshot_poll_interval: float = 2.0,
        snapshot_poll_timeout: float = 60.0,
    ) -> None:
        self.settings = ClientSettings(
            base_url=base_url,
            subscription_id=subscription_id,
            resource_group=resource_group,
            workspace_name=workspace_name,
            credential=credential,
            scope=scope,
            content_url=content_url,
            connection_verify=connection_verify,
            retry_total=retry_total,
            retry_timeout=retry_timeout,
            max_retry_after=max_retry_after,
        )
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.workspace_name = workspace_name
        self.snapshot_poll_interval = snapshot_poll_interval
        self.snapshot_poll_timeout = snapshot_poll_timeout
        self._calls = Calls(self.settings)

        # Connections are opened on demand; the headroom keeps urllib3 from discarding (and
        # warning about) connections when a caller uses more threads than ``max_workers``.
        self._transport = PooledTransport(
            verify=connection_verify, pool_size=max(max_workers, 32), proxy_for=base_url
        )
        bearer = BearerTokenCredentialPolicy(credential, scope)
        self._pipeline: Pipeline[HttpRequest, Any] = Pipeline(
            self._transport, sync_policies(self.settings, bearer)
        )
        # A second chain (policies hold a link to the next one, so none is shared) without the
        # bearer policy, for SAS URLs.
        self._anonymous: Pipeline[HttpRequest, Any] = Pipeline(
            self._transport, sync_policies(self.settings)
        )

    # -- published pipelines ---------------------------------------------------------------

    def list_pipelines(self, *, active_only: bool = False) -> list[Any]:
        """``GET /Pipelines``: all published pipelines (``active_only=False`` includes disabled)."""
        call = self._calls.list_pipelines(active_only)
        return self._calls.entities(self._get(call), call)

    def get_pipeline(self, pipeline_id: str) -> Any:
        """``GET /Pipelines/{id}``: one published pipeline (``PipelineEntity``)."""
        return self._get(self._calls.pipeline(pipeline_id))

    # -- pipeline endpoints ----------------------------------------------------------------

    def list_endpoints(self, *, active_only: bool = False) -> list[Any]:
        """``GET /PipelineEndpoints`` with a large ``BatchSize`` header (``LIST_BATCH_SIZE``)."""
        call = self._calls.list_endpoints(active_only)
        return self._calls.entities(self._get(call), call)

    def get_endpoint(self, endpoint_id: str) -> Any:
        """``GET /PipelineEndpoints/Id/{id}``: one pipeline endpoint."""
        return self._get(self._calls.endpoint(endpoint_id))

    def get_endpoint_by_name(self, name: str) -> Any:
        """``GET /PipelineEndpoints/Name?Name=...``: one pipeline endpoint by name."""
        return self._get(self._calls.endpoint_by_name(name))

    # -- graphs, modules, data sources -----------------------------------------------------

    def get_graph(self, graph_id: str) -> Any:
        """``GET /Graphs/{id}``: nodes and edges of a published pipeline."""
        return self._get(self._calls.graph(graph_id))

    def get_graph_interface(self, graph_id: str) -> Any:
        """``GET /Graphs/{id}/Interface``: the pipeline parameters of a graph."""
        return self._get(self._calls.graph_interface(graph_id))

    def get_module(self, module_id: str) -> Any:
        """``GET /Modules/{id}``: ``{"Data": ModuleEntity, "Interface": ...}``."""
        return self._get(self._calls.module(module_id))

    def get_data_source(self, data_source_id: str) -> Any:
        """``GET /DataSources/{id}``: the location behind a ``DataReference`` input."""
        return self._get(self._calls.data_source(data_source_id))

    # -- pipeline runs ---------------------------------------------------------------------

    def submit_pipeline(
        self,
        pipeline_id: str,
        experiment_name: str,
        parameter_assignments: Mapping[str, str],
        data_path_assignments: Mapping[str, Mapping[str, str]] | None = None,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """``POST /PipelineRuns/PipelineSubmit/{id}``: run a published pipeline; the run id.

        ``parameter_assignments`` maps parameter names to text, as v1's ``ParameterAssignments``
        takes them (``"0.05"``, ``"True"``); ``data_path_assignments`` maps DataPath parameters
        to ``{"DataStoreName": ..., "RelativePath": ...}``. Parameters left out keep their
        defaults. Note: azure-core retries a POST answered 500, 503 or 504, as the v1 SDK's
        client does, so a submission the service half-handled may start a second run.
        """
        info = submission_info(
            experiment_name,
            parameter_assignments,
            data_path_assignments,
            description=description,
            tags=tags,
        )
        return self._run_id(self._calls.submit_pipeline(pipeline_id, info))

    def submit_endpoint(
        self,
        endpoint_id: str,
        version: str | None,
        experiment_name: str,
        parameter_assignments: Mapping[str, str],
        data_path_assignments: Mapping[str, Mapping[str, str]] | None = None,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """``POST /PipelineRuns/PipelineEndpointSubmit/Id/{id}[/{version}]``: run a version of
        a pipeline endpoint (``None``: its default version); the run id. Assignments as for
        ``submit_pipeline``."""
        info = submission_info(
            experiment_name,
            parameter_assignments,
            data_path_assignments,
            description=description,
            tags=tags,
        )
        return self._run_id(self._calls.submit_endpoint(endpoint_id, version, info))

    def set_pipeline_status(self, pipeline_id: str, status: str) -> None:
        """``PUT /Pipelines/{id}/status``: ``"Active"`` or ``"Disabled"`` (what the v1 SDK's
        ``PublishedPipeline.enable()`` / ``.disable()`` send). Only an explicit request of the
        user's disables a v1 pipeline (``test_deployments(disable_v1_after_verify=True)``)."""
        if status not in ("Active", "Disabled"):
            raise ValueError(f"status must be 'Active' or 'Disabled', not {status!r}")
        self._send(self._pipeline, self._calls.pipeline_status(pipeline_id, status), "PUT", (200,))

    def get_run(self, run_id: str) -> Any:
        """``GET /PipelineRuns/{id}``: a ``PipelineRunEntity``; ``migrate_kit.v1.runs`` reads
        its status."""
        return self._get(self._calls.run(run_id))

    def get_node_statuses(self, run_id: str) -> Any:
        """``POST /PipelineRuns/{id}/Graph/AllNodes/Status``: ``{node id: TaskStatus}``."""
        return self._post(self._calls.node_statuses(run_id))

    def get_node_outputs(self, run_id: str, node_id: str) -> Any:
        """``POST /PipelineRuns/{id}/Outputs``: a step's ``{port: NodeOutput}`` (empty until the
        step has finished); ``migrate_kit.v1.runs.output_location`` reads where each is."""
        return self._post(self._calls.node_outputs(run_id, node_id))

    def get_pipeline_run_output(self, run_id: str, name: str) -> Any:
        """``GET /PipelineRuns/{id}/PipelineRunOutputs/{name}``: a pipeline output's
        ``NodeOutput``."""
        return self._get(self._calls.pipeline_run_output(run_id, name))

    def get_node_log(self, run_id: str, node_id: str, kind: str = "STDERR") -> str:
        """``POST /PipelineRuns/{id}/Graph/Shareable/{kind}``: a step's ``JobLog``, ``STDOUT``
        or ``STDERR`` as text."""
        call = self._calls.node_log(run_id, node_id, kind)
        response = self._send(self._pipeline, call, "POST", (200,))
        return bytes(response.body()).decode("utf-8", errors="replace")

    # -- snapshots -------------------------------------------------------------------------

    def download_snapshot(self, snapshot_id: str) -> bytes:
        """Return the zip of a module's code snapshot from the content service.

        ``POST .../snapshots/{id}/zip`` answers ``{"zipSasUri"}`` at once, or 202 with a
        ``location`` to poll (every ``snapshot_poll_interval`` s, at most
        ``snapshot_poll_timeout`` s). The zip is then fetched from the SAS URL without our token.
        """
        call = Call(
            f"{self._calls.content_root}/snapshots/{segment(snapshot_id)}/zip",
            f"code snapshot {snapshot_id!r}",
        )
        response = self._send(self._pipeline, call, "POST", (200, 202))
        deadline = time.monotonic() + self.snapshot_poll_timeout
        poll_url: str | None = None
        while response.status_code == 202:  # later answers may omit the location: keep the first
            poll_url = (
                response.headers.get("Location") or _json_field(response, "location") or poll_url
            )
            if not poll_url:
                raise malformed_error(
                    self.describe_workspace(), call.what, call.url, "202 without location"
                )
            if time.monotonic() > deadline:
                raise poll_timeout_error(
                    self.describe_workspace(), call.what, self.snapshot_poll_timeout
                )
            time.sleep(self.snapshot_poll_interval)
            poll_url = urljoin(call.url, poll_url)
            response = self._send(self._pipeline, Call(poll_url, call.what), "GET", (200, 202))

        sas_url = _json_field(self._calls.decode(call, response.body()), "zipSasUri")
        if not sas_url:
            raise malformed_error(
                self.describe_workspace(), call.what, call.url, "no zipSasUri in the answer"
            )
        zip_call = Call(sas_url, f"zip of {call.what}", {"Accept": "*/*"})
        return bytes(self._send(self._anonymous, zip_call, "GET", (200,)).body())

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> PipelinesClient:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def describe_workspace(self) -> str:
        """``Workspace 'ws' in resource group 'rg' (subscription ...)``, for messages."""
        return self._calls.describe_workspace()

    # -- plumbing --------------------------------------------------------------------------

    def _get(self, call: Call) -> Any:
        """GET a pipelines-service ``call`` and return its decoded JSON body."""
        response = self._send(self._pipeline, call, "GET", (200,))
        return self._calls.decode(call, response.body())

    def _post(self, call: Call) -> Any:
        """POST a pipelines-service ``call`` (its body) and return the decoded JSON answer."""
        response = self._send(self._pipeline, call, "POST", (200,))
        return self._calls.decode(call, response.body())

    def _run_id(self, call: Call) -> str:
        """Submit ``call`` and return the ``Id`` of the ``PipelineRunEntity`` it answers."""
        run_id = _json_field(self._post(call), "Id")
        if not run_id:
            raise malformed_error(
                self.describe_workspace(), call.what, call.url, "the answer names no run Id"
            )
        return str(run_id)

    def _send(
        self, pipeline: Pipeline[HttpRequest, Any], call: Call, method: str, accept: tuple[int, ...]
    ) -> Any:
        """Run one request through ``pipeline``; any status outside ``accept`` raises."""
        try:
            result: PipelineResponse[HttpRequest, Any] = pipeline.run(call.request(method))
        except AzureError as exc:
            raise self._calls.failure(call, exc) from exc
        response = result.http_response
        self._calls.check(
            call, response.status_code, response.body(), retries_of(result.context), accept
        )
        return response


def _json_field(response: Any, key: str) -> Any:
    """Return ``key`` of a JSON object body (or of an already decoded object), else ``None``."""
    body = response
    if not isinstance(response, dict):
        try:
            body = json.loads(response.body() or b"null")
        except ValueError:
            return None
    return body.get(key) if isinstance(body, dict) else None
