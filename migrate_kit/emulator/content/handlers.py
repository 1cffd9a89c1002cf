"""HTTP handlers of the content service (snapshots) and of blob storage.

Snapshot handlers check the workspace in the path and answer JSON (camelCase, pitfall P3).
Blob handlers get host-style requests from the server (``/{container}/{blob}``, the account in
``request.state.blob_account`` or the ``Host`` header), require a SAS ``sig`` and answer with
storage headers. SAS query strings are never logged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migrate_kit.emulator.content.backend import BlobBackend, ContentBackend
from migrate_kit.emulator.content.blobs import metadata_of
from migrate_kit.emulator.content.errors import (
    InvalidQueryParameterValue,
    NotImplementedByEmulator,
    StorageError,
    storage_service_error,
)
from migrate_kit.emulator.content.listing import listing_xml
from migrate_kit.emulator.errors import ServiceError
from migrate_kit.emulator.pipelines.handlers import json_body, workspace_operation

__all__ = ["BlobHandlers", "SnapshotHandlers"]

logger = logging.getLogger(__name__)

_VERSION = "2021-08-06"  # the x-ms-version the emulator answers with


class SnapshotHandlers:
    """Routes under ``/content/v1.0|v2.0/{scope}/snapshots``."""

    def __init__(self, backend: ContentBackend) -> None:
        self.backend = backend

    @workspace_operation
    async def get_latest_snapshot_metadata(self, request: Request) -> Response:
        return JSONResponse(self.backend.get_latest_snapshot_metadata())

    @workspace_operation
    async def get_blob_uris(self, request: Request) -> Response:
        return JSONResponse(self.backend.get_blob_uris(await json_body(request)))

    @workspace_operation
    async def create_snapshot(self, request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse(self.backend.create_snapshot(request.path_params["snapshot_id"], body))

    @workspace_operation
    async def get_snapshot_zip(self, request: Request) -> Response:
        return JSONResponse(self.backend.get_snapshot_zip(request.path_params["snapshot_id"]))


def _storage_headers(properties: Mapping[str, str], *, length: bool = True) -> dict[str, str]:
    """Response headers describing a blob (ETag, Last-Modified, type, size, MD5, metadata)."""
    headers = {
        "ETag": properties.get("etag", ""),
        "Last-Modified": properties.get("last_modified", ""),
        "x-ms-blob-type": properties.get("blob_type", "BlockBlob"),
        "Content-Type": properties.get("content_type", "application/octet-stream"),
        "Accept-Ranges": "bytes",
        "x-ms-version": _VERSION,
        "x-ms-server-encrypted": "true",
    }
    if properties.get("creation_time"):
        headers["x-ms-creation-time"] = properties["creation_time"]
    if properties.get("content_md5"):
        headers["Content-MD5"] = properties["content_md5"]
    if length:
        headers["Content-Length"] = properties.get("content_length", "0")
    for key, value in metadata_of(properties).items():
        headers[f"x-ms-meta-{key}"] = value
    return headers


def _written_headers(properties: Mapping[str, str]) -> dict[str, str]:
    """Headers of a successful write (201/200 without a body)."""
    headers = {
        "x-ms-version": _VERSION,
        "x-ms-request-server-encrypted": "true",
        "Content-Length": "0",
    }
    for key, header in (("etag", "ETag"), ("last_modified", "Last-Modified")):
        if properties.get(key):
            headers[header] = properties[key]
    if properties.get("content_md5"):
        headers["Content-MD5"] = properties["content_md5"]
    return headers


def _is_list_blobs(query: Mapping[str, str]) -> bool:
    return query.get("restype") == "container" and query.get("comp") == "list"


class BlobHandlers:
    """``PUT`` / ``GET`` / ``HEAD`` of ``/{container}/{blob}`` and List Blobs on
    ``/{container}`` (host style)."""

    def __init__(self, backend: BlobBackend) -> None:
        self.backend = backend

    @staticmethod
    def _account(request: Request) -> str:
        account = getattr(request.state, "blob_account", None)
        return account or request.headers.get("host", "").split(".", 1)[0]

    def _address(self, request: Request) -> tuple[str, str, str]:
        container = request.path_params["container"]
        return self._account(request), container, request.path_params["blob"]

    async def list_blobs(self, request: Request) -> Response:
        """List Blobs: the ``EnumerationResults`` XML of one page."""
        self.backend.check_sas(request.query_params)
        container = request.path_params["container"]
        page = self.backend.list_blobs(self._account(request), container, request.query_params)
        endpoint = f"https://{request.headers.get('host', '')}/"
        headers = {"x-ms-version": _VERSION, "x-ms-request-id": str(uuid.uuid4())}
        body = listing_xml(page, endpoint, container)
        return Response(body, status_code=200, headers=headers, media_type="application/xml")

    async def put(self, request: Request) -> Response:
        """Put Blob, Put Block, Put Block List or Set Blob Metadata, by ``comp``."""
        self.backend.check_sas(request.query_params)
        account, container, path = self._address(request)
        comp = request.query_params.get("comp")
        headers = request.headers
        if comp is None:
            props = self.backend.put_blob(account, container, path, await request.body(), headers)
            return Response(status_code=201, headers=_written_headers(props))
        if comp == "metadata":
            props = self.backend.set_blob_metadata(account, container, path, headers)
            return Response(status_code=200, headers=_written_headers(props))
        if comp == "block":
            block_id = request.query_params.get("blockid")
            body = await request.body()
            props = self.backend.put_block(account, container, path, block_id, body, headers)
            return Response(status_code=201, headers=_written_headers(props))
        if comp == "blocklist":
            body = await request.body()
            props = self.backend.put_block_list(account, container, path, body, headers)
            return Response(status_code=201, headers=_written_headers(props))
        raise InvalidQueryParameterValue(
            f"comp={comp!r} is not supported for blobs here (use none, metadata, block, blocklist)."
        )

    async def get(self, request: Request) -> Response:
        """Get Blob: 200 with the bytes, or 206 for ``x-ms-range`` / ``Range``."""
        self.backend.check_sas(request.query_params)
        account, container, path = self._address(request)
        byte_range = request.headers.get("x-ms-range") or request.headers.get("range")
        read = self.backend.get_blob(account, container, path, byte_range)
        headers = _storage_headers(read.properties, length=False)
        if read.content_range is None:
            return Response(read.data, status_code=200, headers=headers)
        whole_md5 = headers.pop("Content-MD5", None)  # the range's own MD5 is not sent
        if whole_md5:
            headers["x-ms-blob-content-md5"] = whole_md5
        headers["Content-Range"] = read.content_range
        return Response(read.data, status_code=206, headers=headers)

    async def head(self, request: Request) -> Response:
        """Get Blob Properties; errors keep their status and headers but have no body."""
        try:
            self.backend.check_sas(request.query_params)
            properties = self.backend.get_blob_properties(*self._address(request))
        except StorageError as error:
            return Response(status_code=error.status, headers=error.headers())
        return Response(status_code=200, headers=_storage_headers(properties))

    async def dispatch(self, request: Request) -> Response:
        """One endpoint for every method (Starlette routes HEAD to GET otherwise).

        An unexpected failure becomes a storage-shaped 500 (``InternalError``), which storage
        clients parse; the server's generic 500 would use the snapshot routes' JSON shape.
        """
        try:
            if not request.path_params.get("blob"):
                if request.method == "GET" and _is_list_blobs(request.query_params):
                    return await self.list_blobs(request)
                return await self.unsupported(request)
            if request.method == "HEAD":
                return await self.head(request)
            if request.method == "GET":
                return await self.get(request)
            if request.method == "PUT":
                return await self.put(request)
            return await self.unsupported(request)
        except ServiceError:
            raise
        except Exception:
            logger.exception("Blob request %s %s failed", request.method, request.url.path)
            raise storage_service_error(500, "InternalError", "The emulator failed.") from None

    async def unsupported(self, request: Request) -> Response:
        """Account, container and other blob operations the emulator does not serve: 501."""
        error = NotImplementedByEmulator(
            f"{request.method} {request.url.path} is not emulated: only Put Blob, Put Block, "
            "Put Block List, Set Blob Metadata, Get Blob, Get Blob Properties and List Blobs "
            "are."
        )
        if request.method == "HEAD":
            return Response(status_code=error.status, headers=error.headers())
        raise error
