"""HTTP handlers of the v2 ARM routes (assets, batch endpoints, operations): parse the request,
call one backend method, serialise. The URL table is in ``routes.py``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migrate_kit.emulator.arm.assets import AssetBackend
from migrate_kit.emulator.arm.endpoints import EndpointBackend, Write
from migrate_kit.emulator.arm.errors import ArmError, InvalidRequestContent
from migrate_kit.emulator.arm.lro import Operations

__all__ = ["V2Handlers"]

logger = logging.getLogger(__name__)

CheckWorkspace = Callable[[str, str, str], None]


async def _json(request: Request) -> Any:
    """The request's JSON body (None when empty); 400 InvalidRequestContent when malformed."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestContent(
            f"The request content was invalid and could not be deserialized: {error}."
        ) from None


def _written(write: Write) -> Response:
    status, body, headers = write
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


class V2Handlers:
    """One ``async`` method per route; every route under the workspace checks its ids first."""

    def __init__(
        self,
        check_workspace: CheckWorkspace,
        assets: AssetBackend,
        endpoints: EndpointBackend,
        operations: Operations,
    ) -> None:
        self.check_workspace = check_workspace
        self.assets = assets
        self.endpoints = endpoints
        self.operations = operations

    def _params(self, request: Request) -> dict[str, str]:
        p: dict[str, str] = dict(request.path_params)
        self.check_workspace(p["sub"], p["rg"], p["ws"])
        return p

    @staticmethod
    def _query(request: Request) -> dict[str, str]:
        return dict(request.query_params)

    # -- datastores --------------------------------------------------------------------------

    async def list_datastores(self, request: Request) -> Response:
        self._params(request)
        return JSONResponse(self.assets.list_datastores(self._query(request)))

    async def get_datastore(self, request: Request) -> Response:
        p = self._params(request)
        return JSONResponse(self.assets.get_datastore(p["name"]))

    async def list_datastore_secrets(self, request: Request) -> Response:
        p = self._params(request)
        await _json(request)  # parsed only to refuse a malformed body
        return JSONResponse(self.assets.list_datastore_secrets(p["name"]))

    # -- versioned assets --------------------------------------------------------------------

    def asset_routes(self, plural: str) -> dict[str, Callable[[Request], Any]]:
        """The five handlers of one asset family, bound to ``plural``."""
        family = self.assets.family(plural)

        async def list_containers(request: Request) -> Response:
            self._params(request)
            return JSONResponse(family.list_containers(self._query(request)))

        async def get_container(request: Request) -> Response:
            p = self._params(request)
            return JSONResponse(family.get_container(p["name"]))

        async def list_versions(request: Request) -> Response:
            p = self._params(request)
            query = self._query(request)
            if plural == "codes":
                by_hash = self.assets.code_versions_by_hash(p["name"], query)
                if by_hash is not None:
                    return JSONResponse(by_hash)
            return JSONResponse(family.list_versions(p["name"], query))

        async def get_version(request: Request) -> Response:
            p = self._params(request)
            return JSONResponse(family.get_version(p["name"], p["version"]))

        async def put_version(request: Request) -> Response:
            p = self._params(request)
            body, created = family.put_version(p["name"], p["version"], await _json(request))
            return JSONResponse(body, status_code=201 if created else 200)

        return {
            "list_containers": list_containers,
            "get_container": get_container,
            "list_versions": list_versions,
            "get_version": get_version,
            "put_version": put_version,
        }

    async def start_pending_upload(self, request: Request) -> Response:
        p = self._params(request)
        body = await _json(request)
        return JSONResponse(self.assets.start_pending_upload(p["name"], p["version"], body))

    # -- batch endpoints ---------------------------------------------------------------------

    async def list_endpoints(self, request: Request) -> Response:
        self._params(request)
        return JSONResponse(self.endpoints.list_endpoints(self._query(request)))

    async def endpoint(self, request: Request) -> Response:
        """GET, PUT or DELETE ``{ws}/batchEndpoints/{name}``."""
        p = self._params(request)
        api_version = request.query_params.get("api-version", "")
        if request.method == "PUT":
            body = await _json(request)
            return _written(self.endpoints.put_endpoint(p["name"], body, api_version))
        if request.method == "DELETE":
            return _written(self.endpoints.delete_endpoint(p["name"], api_version))
        return JSONResponse(self.endpoints.get_endpoint(p["name"]))

    async def list_deployments(self, request: Request) -> Response:
        p = self._params(request)
        return JSONResponse(self.endpoints.list_deployments(p["name"], self._query(request)))

    async def deployment(self, request: Request) -> Response:
        """GET, PUT or DELETE ``{ws}/batchEndpoints/{name}/deployments/{deployment}``."""
        p = self._params(request)
        api_version = request.query_params.get("api-version", "")
        endpoint, name = p["name"], p["deployment"]
        if request.method == "PUT":
            body = await _json(request)
            return _written(self.endpoints.put_deployment(endpoint, name, body, api_version))
        if request.method == "DELETE":
            return _written(self.endpoints.delete_deployment(endpoint, name, api_version))
        return JSONResponse(self.endpoints.get_deployment(endpoint, name))

    # -- operations --------------------------------------------------------------------------

    async def operation_status(self, request: Request) -> Response:
        return JSONResponse(self.operations.status(request.path_params["op"]))

    async def operation_result(self, request: Request) -> Response:
        """The final answer of an operation: the resource (200) or nothing (204)."""
        op = self.operations.record(request.path_params["op"])
        if op["status"] == "Failed":
            error = op.get("error") or {}
            failed = ArmError(str(error.get("message", "The operation failed.")))
            raise failed.with_status(400, str(error.get("code", "OperationFailed")))
        body = self.endpoints.resource(op["resourceKind"], op["resourceKey"])
        if op["action"] == "delete" or body is None:
            return Response(status_code=204)
        return JSONResponse(body)
