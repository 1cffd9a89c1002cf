"""URL table of the ARM family. Routing ignores the query, so every ``api-version`` matches."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from migrate_kit.emulator.arm.assets import AssetBackend
from migrate_kit.emulator.arm.backend import ArmBackend
from migrate_kit.emulator.arm.endpoints import EndpointBackend
from migrate_kit.emulator.arm.handlers import ArmHandlers
from migrate_kit.emulator.arm.lro import Operations
from migrate_kit.emulator.arm.v2_handlers import V2Handlers
from migrate_kit.emulator.config import Context

__all__ = ["LOCATION_PATH", "WS_PATH", "routes", "v2_routes"]

#: Path of the workspace below a service prefix, with ``sub``, ``rg`` and ``ws`` parameters.
WS_PATH = (
    "/subscriptions/{sub}/resourceGroups/{rg}"
    "/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
)

#: Path of the workspace's region below the subscription (long-running operation status).
LOCATION_PATH = (
    "/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{location}"
)
#: Versioned asset families served under the workspace.
_ASSET_FAMILIES = ("codes", "environments", "components", "data")


def routes(ctx: Context, *, identity_secret: str) -> list[BaseRoute]:
    """The ARM family's routes, over one backend built from ``ctx``."""
    backend = ArmBackend(ctx, identity_secret=identity_secret)
    h = ArmHandlers(backend)
    return [
        *v2_routes(ctx, backend),
        Route("/metadata/endpoints", h.cloud_metadata, methods=["GET"]),
        Route("/msi/token", h.msi_token, methods=["GET", "POST"]),
        Route("/msi/token/", h.msi_token, methods=["GET", "POST"]),
        Route("/subscriptions", h.list_subscriptions, methods=["GET"]),
        Route(WS_PATH, h.get_workspace, methods=["GET"]),
        Route("/discovery", h.discovery, methods=["GET"]),
        Route("/datastore/v1.0" + WS_PATH + "/default", h.default_datastore, methods=["GET"]),
        Route("/datastore/v1.0" + WS_PATH + "/datastores/{name}", h.get_datastore, methods=["GET"]),
        Route("/rp/workspaces" + WS_PATH + "/computes", h.list_computes, methods=["GET"]),
    ]


def v2_routes(ctx: Context, arm: ArmBackend) -> list[BaseRoute]:
    """What azure-ai-ml's MLClient needs under the workspace: datastores, versioned assets,
    batch endpoints and deployments, and the status of their long-running operations."""
    assets = AssetBackend(ctx)
    operations = Operations(ctx)
    h = V2Handlers(
        arm.check_workspace, assets, EndpointBackend(ctx, assets, operations), operations
    )

    table: list[BaseRoute] = [
        Route(WS_PATH + "/datastores", h.list_datastores, methods=["GET"]),
        Route(WS_PATH + "/datastores/{name}", h.get_datastore, methods=["GET"]),
        Route(
            WS_PATH + "/datastores/{name}/listSecrets", h.list_datastore_secrets, methods=["POST"]
        ),
        Route(
            WS_PATH + "/codes/{name}/versions/{version}/startPendingUpload",
            h.start_pending_upload,
            methods=["POST"],
        ),
    ]
    for plural in _ASSET_FAMILIES:
        f = h.asset_routes(plural)
        base = f"{WS_PATH}/{plural}"
        table += [
            Route(base, f["list_containers"], methods=["GET"]),
            Route(base + "/{name}", f["get_container"], methods=["GET"]),
            Route(base + "/{name}/versions", f["list_versions"], methods=["GET"]),
            Route(base + "/{name}/versions/{version}", f["get_version"], methods=["GET"]),
            Route(base + "/{name}/versions/{version}", f["put_version"], methods=["PUT"]),
        ]
    endpoints = WS_PATH + "/batchEndpoints"
    table += [
        Route(endpoints, h.list_endpoints, methods=["GET"]),
        Route(endpoints + "/{name}", h.endpoint, methods=["GET", "PUT", "DELETE"]),
        Route(endpoints + "/{name}/deployments", h.list_deployments, methods=["GET"]),
        Route(
            endpoints + "/{name}/deployments/{deployment}",
            h.deployment,
            methods=["GET", "PUT", "DELETE"],
        ),
        Route(LOCATION_PATH + "/mfeOperationsStatus/{op}", h.operation_status, methods=["GET"]),
        Route(LOCATION_PATH + "/mfeOperationResults/{op}", h.operation_result, methods=["GET"]),
    ]
    return table
