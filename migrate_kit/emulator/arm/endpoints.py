"""State and rules of batch endpoints and their deployments (kinds ``arm.batch_endpoint``, key
``{name}``, and ``arm.batch_deployment``, key ``{endpoint}/{deployment}``; lower-cased).

Writes are long-running operations (``lro.py``): a PUT stores the resource as ``Creating`` or
``Updating`` and a DELETE marks it ``Deleting``; the operation settles on its first poll or on
the next read of the resource.

**Scoring URI** (the contract with the ``jobs`` family, which serves the POST):
``properties.scoringUri`` = ``{ctx.base_url}/batchEndpoints/{name}/jobs``
(``SCORING_PATH``). The live service's URI is ``https://{name}.{region}.inference.ml.azure.com
/jobs``; a per-endpoint host cannot be served on 127.0.0.1, so the endpoint name moves into the
path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from migrate_kit.emulator.arm import names
from migrate_kit.emulator.arm.assets import AssetBackend, parse_asset_id
from migrate_kit.emulator.arm.errors import BadArgument, InvalidRequestContent, NotFound
from migrate_kit.emulator.arm.lro import Operations
from migrate_kit.emulator.config import Context

__all__ = [
    "DEPLOYMENT_KIND",
    "ENDPOINT_KIND",
    "SCORING_PATH",
    "EndpointBackend",
    "Write",
]

logger = logging.getLogger(__name__)

ENDPOINT_KIND = "arm.batch_endpoint"
DEPLOYMENT_KIND = "arm.batch_deployment"
#: Path of an endpoint's scoring URI below ``ctx.base_url`` (the ``jobs`` family serves it).
SCORING_PATH = "/batchEndpoints/{name}/jobs"

_ENDPOINT_TYPE = "Microsoft.MachineLearningServices/workspaces/batchEndpoints"
_DEPLOYMENT_TYPE = f"{_ENDPOINT_TYPE}/deployments"
#: Input types of a pipeline component that its batch deployment accepts.
_DEPLOYABLE_INPUTS = frozenset({"uri_folder", "uri_file", "string", "integer", "number", "boolean"})

#: (status, body or None, extra headers) of a write.
Write = tuple[int, dict[str, Any] | None, dict[str, str]]


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequestContent(
            f"The request content was invalid: {what} must be a JSON object, "
            f"got {type(value).__name__}."
        )
    return value


class EndpointBackend:
    """Batch endpoints and pipeline component batch deployments.

    Not emulated: model batch deployments (``deploymentConfigurationType: Model`` or a
      ``model`` reference); they are refused with 400.
    Not emulated: key authentication; ``authMode`` is always ``AADToken``.
    Not emulated: compute checks; ``settings.default_compute`` and the deployment's ``compute``
      are stored, not looked up.
    Not emulated: making the first deployment the endpoint's default; ``defaults.deploymentName``
      changes only when the endpoint is updated with it.
    Not emulated: refusing to delete the default deployment; deleting an endpoint deletes its
      deployments.
    Not emulated: identities, ``swaggerUri``, ``$skip`` continuation tokens (lists are one page).
    """

    def __init__(self, ctx: Context, assets: AssetBackend, operations: Operations) -> None:
        self.ctx = ctx
        self.assets = assets
        self.operations = operations
        operations.register(ENDPOINT_KIND, self._finish_endpoint)
        operations.register(DEPLOYMENT_KIND, self._finish_deployment)

    # -- paths -------------------------------------------------------------------------------

    def endpoint_path(self, name: str) -> str:
        return f"{self.ctx.config.arm_id}/batchEndpoints/{name}"

    def deployment_path(self, endpoint: str, name: str) -> str:
        return f"{self.endpoint_path(endpoint)}/deployments/{name}"

    def scoring_uri(self, name: str) -> str:
        return self.ctx.base_url + SCORING_PATH.format(name=name)

    # -- endpoints ---------------------------------------------------------------------------

    def put_endpoint(self, name: str, body: Any, api_version: str) -> Write:
        """Create (201) or update (200) an endpoint; both start an operation."""
        names.check_endpoint_name(name)
        request = _object(body, "the body")
        properties = _object(request.get("properties") or {}, "'properties'")
        auth_mode = str(properties.get("authMode") or "AADToken")
        if auth_mode.lower() != "aadtoken":
            raise BadArgument(
                f"authMode '{auth_mode}' is not supported for batch endpoints; use 'AADToken'.",
                target="authMode",
            )
        defaults = _object(properties.get("defaults") or {}, "'properties.defaults'")
        default_name = defaults.get("deploymentName")

        key = name.lower()
        with self.ctx.store.transaction():
            self.operations.settle_resource(ENDPOINT_KIND, key)
            existing = self.ctx.store.get(ENDPOINT_KIND, key)
            if default_name and self._deployment(name, str(default_name)) is None:
                raise BadArgument(
                    f"Deployment '{default_name}' does not exist in batch endpoint '{name}'; "
                    "create it before making it the default.",
                    target="defaults.deploymentName",
                )
            now = self.ctx.now_iso()
            stored: dict[str, Any] = {
                "id": self.endpoint_path(name),
                "name": existing["name"] if existing else name,
                "type": _ENDPOINT_TYPE,
                "location": request.get("location") or self.ctx.config.region,
                "tags": request.get("tags") or {},
                "kind": request.get("kind"),
                "systemData": _system_data(existing, now),
                "properties": {
                    "description": properties.get("description"),
                    "properties": properties.get("properties") or {},
                    "authMode": "AADToken",
                    "scoringUri": self.scoring_uri(name),
                    "swaggerUri": None,
                    "defaults": {"deploymentName": default_name},
                    "provisioningState": "Updating" if existing else "Creating",
                },
            }
            self.ctx.store.put(ENDPOINT_KIND, key, stored)
            op = self.operations.start(ENDPOINT_KIND, key, stored["id"], "create")
        headers = self.operations.headers(op, api_version)
        return (200 if existing else 201), stored, headers

    def get_endpoint(self, name: str) -> dict[str, Any]:
        self.operations.settle_resource(ENDPOINT_KIND, name.lower())
        body = self.ctx.store.get(ENDPOINT_KIND, name.lower())
        if body is None:
            raise NotFound(
                f"Batch endpoint '{name}' was not found in workspace "
                f"'{self.ctx.config.workspace_name}'.",
                target="batchEndpoint",
            )
        return body

    def list_endpoints(self, query: Mapping[str, str]) -> dict[str, Any]:
        for key in self.ctx.store.keys(ENDPOINT_KIND):
            self.operations.settle_resource(ENDPOINT_KIND, key)
        return {"value": _top(self.ctx.store.list(ENDPOINT_KIND), query)}

    def delete_endpoint(self, name: str, api_version: str) -> Write:
        """202 with the operation headers; 204 when there is no such endpoint (ARM's rule)."""
        return self._delete(ENDPOINT_KIND, name.lower(), self.endpoint_path(name), api_version)

    # -- deployments -------------------------------------------------------------------------

    def put_deployment(self, endpoint: str, name: str, body: Any, api_version: str) -> Write:
        """Create (201) or update (200) a pipeline component deployment of an existing
        endpoint; both start an operation."""
        names.check_endpoint_name(name, deployment=True)
        request = _object(body, "the body")
        properties = _object(request.get("properties"), "'properties'")
        self.get_endpoint(endpoint)
        self._check_deployment(endpoint, name, properties)

        key = f"{endpoint}/{name}".lower()
        with self.ctx.store.transaction():
            self.operations.settle_resource(DEPLOYMENT_KIND, key)
            existing = self.ctx.store.get(DEPLOYMENT_KIND, key)
            stored: dict[str, Any] = {
                "id": self.deployment_path(endpoint, name),
                "name": existing["name"] if existing else name,
                "type": _DEPLOYMENT_TYPE,
                "location": request.get("location") or self.ctx.config.region,
                "tags": request.get("tags") or {},
                "kind": request.get("kind"),
                "systemData": _system_data(existing, self.ctx.now_iso()),
                "properties": {
                    **properties,
                    "provisioningState": "Updating" if existing else "Creating",
                },
            }
            self.ctx.store.put(DEPLOYMENT_KIND, key, stored)
            op = self.operations.start(DEPLOYMENT_KIND, key, stored["id"], "create")
        headers = self.operations.headers(op, api_version)
        return (200 if existing else 201), stored, headers

    def get_deployment(self, endpoint: str, name: str) -> dict[str, Any]:
        self.get_endpoint(endpoint)
        body = self._deployment(endpoint, name)
        if body is None:
            raise NotFound(
                f"Deployment '{name}' was not found in batch endpoint '{endpoint}'.",
                target="deployment",
            )
        return body

    def list_deployments(self, endpoint: str, query: Mapping[str, str]) -> dict[str, Any]:
        self.get_endpoint(endpoint)
        prefix = endpoint.lower() + "/"
        keys = [k for k in self.ctx.store.keys(DEPLOYMENT_KIND) if k.startswith(prefix)]
        bodies = [self._deployment_by_key(k) for k in keys]
        return {"value": _top([b for b in bodies if b is not None], query)}

    def delete_deployment(self, endpoint: str, name: str, api_version: str) -> Write:
        self.get_endpoint(endpoint)
        key = f"{endpoint}/{name}".lower()
        path = self.deployment_path(endpoint, name)
        return self._delete(DEPLOYMENT_KIND, key, path, api_version)

    def _deployment(self, endpoint: str, name: str) -> dict[str, Any] | None:
        return self._deployment_by_key(f"{endpoint}/{name}".lower())

    def _deployment_by_key(self, key: str) -> dict[str, Any] | None:
        self.operations.settle_resource(DEPLOYMENT_KIND, key)
        return self.ctx.store.get(DEPLOYMENT_KIND, key)

    def _check_deployment(self, endpoint: str, name: str, properties: dict[str, Any]) -> None:
        """A pipeline component deployment whose component exists and has deployable inputs."""
        config = properties.get("deploymentConfiguration")
        config_type = (
            config.get("deploymentConfigurationType") if isinstance(config, dict) else None
        )
        if not isinstance(config, dict) or str(config_type).lower() != "pipelinecomponent":
            raise BadArgument(
                f"Deployment '{name}': only pipeline component deployments "
                "(deploymentConfiguration.deploymentConfigurationType 'PipelineComponent') are "
                f"emulated, got {config_type!r}; model deployments are not.",
                target="deploymentConfiguration",
            )
        reference = config.get("componentId")
        asset_id = reference.get("assetId") if isinstance(reference, dict) else None
        parsed = parse_asset_id(asset_id) if isinstance(asset_id, str) else None
        if parsed is None or parsed[0].lower() != "components":
            raise BadArgument(
                f"Deployment '{name}': componentId.assetId must be the ARM id of a component "
                f"version, got {asset_id!r}.",
                target="componentId",
            )
        component = self.assets.components.find_version(parsed[1], parsed[2])
        if component is None:
            raise BadArgument(
                f"Deployment '{name}': component '{parsed[1]}' version '{parsed[2]}' does not "
                f"exist in workspace '{self.ctx.config.workspace_name}'.",
                target="componentId",
            )
        spec = component["properties"].get("componentSpec") or {}
        if str(spec.get("type", "")).lower() != "pipeline":
            raise BadArgument(
                f"Deployment '{name}': component '{parsed[1]}' is a {spec.get('type')!r} "
                "component; a batch deployment needs a pipeline component.",
                target="componentId",
            )
        for input_name, spec_input in (spec.get("inputs") or {}).items():
            input_type = str((spec_input or {}).get("type", "")).lower()
            if input_type not in _DEPLOYABLE_INPUTS:
                raise BadArgument(
                    f"Deployment '{name}': input '{input_name}' of component '{parsed[1]}' has "
                    f"type '{input_type}', which batch deployments do not support; supported "
                    f"types are {', '.join(sorted(_DEPLOYABLE_INPUTS))}.",
                    target=f"inputs.{input_name}",
                )
        settings = config.get("settings")
        if settings is not None and not isinstance(settings, dict):
            raise BadArgument(
                f"Deployment '{name}': settings must be an object of strings.", target="settings"
            )

    # -- deletion and operation outcomes -----------------------------------------------------

    def resource(self, kind: str, key: str) -> dict[str, Any] | None:
        """A stored endpoint or deployment by store kind and key (operation results)."""
        if kind not in (ENDPOINT_KIND, DEPLOYMENT_KIND):
            return None
        return self.ctx.store.get(kind, key)

    def _delete(self, kind: str, key: str, path: str, api_version: str) -> Write:
        with self.ctx.store.transaction():
            self.operations.settle_resource(kind, key)
            existing = self.ctx.store.get(kind, key)
            if existing is None:
                return 204, None, {}
            existing["properties"]["provisioningState"] = "Deleting"
            self.ctx.store.put(kind, key, existing)
            op = self.operations.start(kind, key, path, "delete")
        return 202, None, self.operations.headers(op, api_version)

    def _finish_endpoint(self, key: str, action: str, outcome: str) -> None:
        body = self.ctx.store.get(ENDPOINT_KIND, key)
        if body is None:
            return
        if action == "delete" and outcome == "Succeeded":
            self.ctx.store.delete(ENDPOINT_KIND, key)
            for deployment in self.ctx.store.keys(DEPLOYMENT_KIND):
                if deployment.startswith(key + "/"):
                    self.ctx.store.delete(DEPLOYMENT_KIND, deployment)
            return
        body["properties"]["provisioningState"] = outcome
        self.ctx.store.put(ENDPOINT_KIND, key, body)

    def _finish_deployment(self, key: str, action: str, outcome: str) -> None:
        body = self.ctx.store.get(DEPLOYMENT_KIND, key)
        if body is None:
            return
        if action == "delete" and outcome == "Succeeded":
            self.ctx.store.delete(DEPLOYMENT_KIND, key)
            return
        body["properties"]["provisioningState"] = outcome
        self.ctx.store.put(DEPLOYMENT_KIND, key, body)


def _system_data(existing: Mapping[str, Any] | None, now: str) -> dict[str, Any]:
    created = (
        {k: v for k, v in existing["systemData"].items() if k.startswith("created")}
        if existing
        else {"createdAt": now, "createdBy": "emulator", "createdByType": "Application"}
    )
    return {**created, "lastModifiedAt": now, "lastModifiedBy": "emulator",
            "lastModifiedByType": "Application"}  # fmt: skip


def _top(bodies: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    top = query.get("$top")
    if top and top.isdigit():
        return bodies[: int(top)]
    return bodies
