"""Shared state and helpers of the pipelines backend (split out to keep each module short).

Store kinds are named here so that every part of the backend and the tests agree on them.
"""

from __future__ import annotations

import threading
from typing import Any

from migrate_kit.emulator.config import Context, EmulatorConfig
from migrate_kit.emulator.pipelines import wire
from migrate_kit.emulator.pipelines.errors import BadRequest, NotFound
from migrate_kit.emulator.served import ServedJson

__all__ = ["KINDS", "BackendBase", "check_workspace", "json_object"]

PIPELINE = "pipelines.pipeline"
GRAPH = "pipelines.graph"
INTERFACE = "pipelines.graph_interface"
MODULE = "pipelines.module"
DATA_SOURCE = "pipelines.data_source"
ENDPOINT = "pipelines.endpoint"
DATA_TYPE = "pipelines.data_type"
KINDS = (PIPELINE, GRAPH, INTERFACE, MODULE, DATA_SOURCE, ENDPOINT, DATA_TYPE)


def json_object(body: Any, what: str) -> dict[str, Any]:
    """``body`` if it is a JSON object, else a 400 naming what was expected."""
    if not isinstance(body, dict):
        raise BadRequest(f"The {what} must be a JSON object, got {type(body).__name__}.")
    return body


def check_workspace(
    config: EmulatorConfig, subscription_id: str, resource_group: str, workspace: str
) -> None:
    """404 unless the path names the emulated workspace (names compare case-insensitively).

    Used by the pipelines and content services alike. The live service may answer 403 for a
    workspace the caller cannot see; the emulator always answers 404.
    """
    given = (subscription_id.lower(), resource_group.lower(), workspace.lower())
    known = (
        config.subscription_id.lower(),
        config.resource_group.lower(),
        config.workspace_name.lower(),
    )
    if given != known:
        raise NotFound(
            f"Workspace '{workspace}' in resource group '{resource_group}' of subscription "
            f"'{subscription_id}' was not found. This emulator serves workspace "
            f"'{config.workspace_name}' in '{config.resource_group}' of "
            f"'{config.subscription_id}'; check the workspace settings.",
            target="workspace",
        )


class BackendBase:
    """Context, store, lock and the helpers every pipelines operation uses."""

    def __init__(self, ctx: Context, *, honour_batch_size: bool | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        if honour_batch_size is None:
            honour_batch_size = bool(getattr(ctx.config, "honour_batch_size", True))
        self.honour_batch_size = honour_batch_size
        self._lock = threading.RLock()
        serves = {
            GRAPH: wire.serve_graph,
            INTERFACE: wire.serve_interface,
            MODULE: wire.serve_module,
            DATA_SOURCE: wire.serve_data_source,
        }
        self._served = ServedJson(self.store, serves)

    # -- helpers -------------------------------------------------------------------------

    def check_workspace(self, subscription_id: str, resource_group: str, workspace: str) -> None:
        """404 unless the path names the emulated workspace."""
        check_workspace(self.ctx.config, subscription_id, resource_group, workspace)

    def _service_url(self) -> str:
        """The public base of the service: the emulator's address, or the regional host."""
        return self.ctx.base_url or f"https://{self.ctx.config.region}.api.azureml.ms"

    def _submit_url(self, route: str) -> str:
        return f"{self._service_url()}/pipelines/v1.0/{self.ctx.config.scope}/PipelineRuns/{route}"

    def _require(self, kind: str, key: str, what: str) -> dict[str, Any]:
        body = self.store.get(kind, key)
        if body is None:
            raise self._not_found(key, what)
        return body

    def _require_json(self, kind: str, key: str, what: str) -> bytes:
        """The served body of a stored entity as JSON bytes (see ``served.py``); 404 if absent.

        For the kinds whose transform ``__init__`` registers (graphs, graph interfaces,
        modules, data sources).
        """
        served = self._served.get(kind, key)
        if served is None:
            raise self._not_found(key, what)
        return served

    def _not_found(self, key: str, what: str) -> NotFound:
        workspace = self.ctx.config.workspace_name
        return NotFound(
            f"{what} with id '{key}' was not found in workspace '{workspace}'; check the id.",
            target=what,
        )

    def _stamp(self, entity: dict[str, Any], *, created: bool) -> None:
        """Set ``Etag`` and the dates (``CreatedDate`` only when ``created``)."""
        now = self.ctx.now_iso()
        entity["Etag"] = self.ctx.new_id()
        entity["LastModifiedDate"] = now
        if created or not entity.get("CreatedDate"):
            entity["CreatedDate"] = now

    def _serve_pipeline(self, entity: dict[str, Any]) -> dict[str, Any]:
        served = dict(entity)
        served["EntityStatus"] = wire.status_name(served.get("EntityStatus"))
        served["Url"] = self._submit_url(f"PipelineSubmit/{served.get('Id')}")
        return served

    def _serve_endpoint(self, entity: dict[str, Any]) -> dict[str, Any]:
        served = dict(entity)
        served["EntityStatus"] = wire.status_name(served.get("EntityStatus"))
        served["Url"] = self._submit_url(f"PipelineEndpointSubmit/Id/{served.get('Id')}")
        served["SwaggerUrl"] = (
            f"{self._service_url()}/pipelines/swagger/pipelineendpointsubmit/swagger.json"
        )
        return served

    @staticmethod
    def _is_active(entity: dict[str, Any]) -> bool:
        return bool(wire.status_name(entity.get("EntityStatus")) == "Active")
