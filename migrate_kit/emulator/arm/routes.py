"""URL table of the ARM family. Routing ignores the query, so every ``api-version`` matches."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from migrate_kit.emulator.arm.backend import ArmBackend
from migrate_kit.emulator.arm.handlers import ArmHandlers
from migrate_kit.emulator.config import Context

__all__ = ["WS_PATH", "routes"]

#: Path of the workspace below a service prefix, with ``sub``, ``rg`` and ``ws`` parameters.
WS_PATH = (
    "/subscriptions/{sub}/resourceGroups/{rg}"
    "/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
)


def routes(ctx: Context, *, identity_secret: str) -> list[BaseRoute]:
    """The ARM family's routes, over one backend built from ``ctx``."""
    h = ArmHandlers(ArmBackend(ctx, identity_secret=identity_secret))
    return [
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
