"""URL tables of the content service (snapshots) and of blob storage.

``routes(ctx)`` serves the snapshot routes on the service host. ``blob_routes(ctx)`` serves
blobs in host style (``/{container}/{blob}``, and ``/{container}`` for List Blobs); the server
hands it every request for ``*.blob.localhost`` and rewrites path-style requests
(``/{account}/{container}/{blob}`` with a SAS) to that form.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from migrate_kit.emulator.config import Context
from migrate_kit.emulator.content.backend import blob_backend_for, content_backend_for
from migrate_kit.emulator.content.handlers import BlobHandlers, SnapshotHandlers

__all__ = ["blob_routes", "routes"]

_SCOPE = (
    "subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    "/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
)
V1_SNAPSHOTS = f"/content/v1.0/{_SCOPE}/snapshots"
V2_SNAPSHOTS = f"/content/v2.0/{_SCOPE}/snapshots"


def routes(ctx: Context) -> list[BaseRoute]:
    """The snapshot routes, bound to the content backend of ``ctx``."""
    h = SnapshotHandlers(content_backend_for(ctx))
    return [
        Route(f"{V1_SNAPSHOTS}/latest/metadata", h.get_latest_snapshot_metadata, methods=["GET"]),
        Route(f"{V2_SNAPSHOTS}/getblob", h.get_blob_uris, methods=["POST"]),
        Route(f"{V2_SNAPSHOTS}/{{snapshot_id}}/zip", h.get_snapshot_zip, methods=["POST"]),
        Route(f"{V2_SNAPSHOTS}/{{snapshot_id}}", h.create_snapshot, methods=["POST"]),
    ]


def blob_routes(ctx: Context) -> list[BaseRoute]:
    """Blob storage in host style, bound to the blob backend of ``ctx``."""
    h = BlobHandlers(blob_backend_for(ctx))
    methods = ["GET", "HEAD", "PUT", "POST", "DELETE"]
    return [
        Route("/{container}/{blob:path}", h.dispatch, methods=methods),
        Route("/{container}", h.dispatch, methods=methods),  # List Blobs
        Route("/", h.unsupported, methods=methods),
    ]
