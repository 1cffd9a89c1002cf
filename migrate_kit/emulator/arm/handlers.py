"""HTTP handlers of the ARM family: parse the request, call one backend method, serialise."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migrate_kit.emulator.arm.backend import ArmBackend

__all__ = ["ArmHandlers"]


class ArmHandlers:
    """One ``async`` method per route; the URL table is in ``routes.py``."""

    def __init__(self, backend: ArmBackend) -> None:
        self.backend = backend

    async def cloud_metadata(self, request: Request) -> Response:
        return JSONResponse(self.backend.cloud_metadata())

    async def msi_token(self, request: Request) -> Response:
        """Managed-identity token, in the three forms clients use.

        - GET, api-version 2019-08-01: App Service, secret in ``X-IDENTITY-HEADER``
          (azure-identity with ``IDENTITY_ENDPOINT``);
        - GET, api-version 2017-09-01: old App Service / Azure ML compute, secret in ``secret``
          (azure-identity and msrestazure with ``MSI_ENDPOINT`` + ``MSI_SECRET``);
        - POST form ``resource=...`` with ``Metadata: true``: msrestazure's ``MSI_ENDPOINT``
          form (the v1 SDK's ``MsiAuthentication`` when not on App Service).
        """
        api_version = request.query_params.get("api-version", "")
        resource = request.query_params.get("resource", "")

        if request.method == "POST":
            form = parse_qs((await request.body()).decode("utf-8"))
            resource = form.get("resource", [resource])[0]
            self.backend.check_metadata_header(request.headers.get("metadata"))
        elif api_version.startswith("2017"):
            self.backend.check_identity_header("secret", request.headers.get("secret"))
        else:
            header = request.headers.get("x-identity-header")
            self.backend.check_identity_header("X-IDENTITY-HEADER", header)

        return JSONResponse(self.backend.issue_token(resource))

    async def list_subscriptions(self, request: Request) -> Response:
        return JSONResponse(self.backend.list_subscriptions())

    async def get_workspace(self, request: Request) -> Response:
        p = request.path_params
        return JSONResponse(self.backend.get_workspace(p["sub"], p["rg"], p["ws"]))

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(self.backend.discovery())

    async def default_datastore(self, request: Request) -> Response:
        p = request.path_params
        return JSONResponse(self.backend.default_datastore(p["sub"], p["rg"], p["ws"]))

    async def get_datastore(self, request: Request) -> Response:
        p = request.path_params
        body = self.backend.get_datastore(p["sub"], p["rg"], p["ws"], p["name"])
        return JSONResponse(body)

    async def list_computes(self, request: Request) -> Response:
        p = request.path_params
        return JSONResponse(self.backend.list_computes(p["sub"], p["rg"], p["ws"]))
