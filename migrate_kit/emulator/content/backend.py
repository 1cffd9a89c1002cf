"""State and rules of the content (snapshot) service and of blob storage (reference §2.2, §11).

A snapshot is the source folder of a v1 step. The SDK uploads it in three moves: ``getblob``
hands out one SAS blob URL per new or changed file, the SDK PUTs the bytes there (blob
storage), then POSTs a manifest: the full directory tree plus the files it uploaded, relative
to ``ParentSnapshotId``. ``ContentBackend`` resolves every file of the tree to a blob (from the
manifest or, following the parent chain, from the parent's resolved list) and stores
``{path: blob location}``, so reading or zipping a snapshot never walks the chain again.
``BlobBackend`` is the Azure Storage Blob REST subset the SDKs use.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from migrate_kit.emulator.config import Context
from migrate_kit.emulator.content import blobs, listing, snapshots
from migrate_kit.emulator.content.errors import (
    AuthenticationFailed,
    BadRequest,
    BlobAlreadyExists,
    BlobNotFound,
    ConditionNotMet,
    Conflict,
    InvalidBlockList,
    InvalidHeaderValue,
    NotFound,
)
from migrate_kit.emulator.content.snapshots import SNAPSHOT, UPLOAD_CONTAINER, ZIP_CONTAINER
from migrate_kit.emulator.pipelines.base import check_workspace, json_object

__all__ = ["SNAPSHOT", "BlobBackend", "ContentBackend", "blob_backend_for", "content_backend_for"]

logger = logging.getLogger(__name__)

_registry: weakref.WeakKeyDictionary[Context, tuple[ContentBackend, BlobBackend]] = (
    weakref.WeakKeyDictionary()
)
_registry_lock = threading.Lock()


def _backends(ctx: Context) -> tuple[ContentBackend, BlobBackend]:
    with _registry_lock:
        if ctx not in _registry:
            _registry[ctx] = (ContentBackend(ctx), BlobBackend(ctx))
        return _registry[ctx]


def content_backend_for(ctx: Context) -> ContentBackend:
    """The one snapshot backend of ``ctx`` (made on first use)."""
    return _backends(ctx)[0]


def blob_backend_for(ctx: Context) -> BlobBackend:
    """The one blob backend of ``ctx`` (made on first use)."""
    return _backends(ctx)[1]


class ContentBackend:
    """Snapshots of one workspace on the content service.

    Not emulated: asynchronous zip building (POST .../zip always answers 200, never 202).
    Not emulated: git snapshots, snapshot listing and deletion, and the v1.0 snapshot routes
    other than latest/metadata.
    Not emulated: checking the DirTreeNode hashes against the uploaded bytes.
    Not emulated: snapshot size and file-count limits.
    Not emulated: the real service's blob containers (files go to "snapshots", zips to
    "snapshotzips" in the workspace storage account).
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self._lock = threading.Lock()

    def check_workspace(self, subscription_id: str, resource_group: str, workspace: str) -> None:
        """404 unless the path names the emulated workspace."""
        check_workspace(self.ctx.config, subscription_id, resource_group, workspace)

    def get_latest_snapshot_metadata(self) -> dict[str, Any]:
        """``GET /content/v1.0/{scope}/snapshots/latest/metadata``.

        ``{"id": null, "root": {}}`` when the workspace has no snapshot (any status >= 400
        would abort an SDK publish, pitfall P11); else the newest snapshot's id and tree.
        """
        keys = self.store.keys(SNAPSHOT)
        latest = self.store.get(SNAPSHOT, keys[-1]) if keys else None
        if latest is None:
            return {"id": None, "root": {}}
        return {"id": latest["id"], "root": copy.deepcopy(latest.get("root") or {})}

    def get_blob_uris(self, body: Any) -> dict[str, Any]:
        """``POST /content/v2.0/{scope}/snapshots/getblob`` with ``{"FileNames": [...]}``.

        Each file gets a fresh blob path ``<uuid>/<file name>`` in the upload container and a
        host-style SAS URL ``https://<account>.blob.localhost:<port>/...``: the SDK rebuilds
        ``https://{account}.blob.{suffix}`` from the netloc (pitfall P1), which this survives.
        """
        names = json_object(body, "getblob request").get("FileNames")
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise BadRequest(
                "FileNames must be a list of non-empty file names.", target="FileNames"
            )
        batch = uuid.uuid4().hex
        base = self.ctx.blob_base_url or f"https://{self.ctx.config.storage_account}.blob.localhost"
        nodes = []
        for name in names:
            path = quote(f"{batch}/{name}", safe="/")
            uri = f"{base}/{UPLOAD_CONTAINER}/{path}?{snapshots.sas_query('rcw')}"
            nodes.append({"fullName": name, "blobUri": uri})
        return {"fileNodes": nodes}

    def create_snapshot(self, snapshot_id: str, body: Any) -> dict[str, Any]:
        """``POST /content/v2.0/{scope}/snapshots/{id}`` with the manifest.

        Every file of ``DirTreeNode`` must come from ``FileRevisionList`` (uploaded now) or from
        the parent snapshot; an unknown parent, a missing file or a missing blob is a 400. The
        SDK reacts to a 400 by dropping its local cache and resending the full tree against
        the emulator's latest snapshot, so a reset emulator heals a stale client cache (P2).
        """
        manifest = json_object(body, "snapshot manifest")
        root = json_object(manifest.get("DirTreeNode"), "DirTreeNode")
        uploaded = self._uploaded_files(manifest)
        parent_id = manifest.get("ParentSnapshotId")
        inherited = self._parent_files(parent_id)

        files: dict[str, dict[str, Any]] = {}
        for path in snapshots.tree_files(root):
            location = uploaded.get(path) or inherited.get(path)
            if location is None:
                raise BadRequest(
                    f"File '{path}' is in DirTreeNode but was neither uploaded "
                    f"(FileRevisionList) nor part of parent snapshot {parent_id!r}; "
                    "send the full file list without a parent.",
                    target="FileRevisionList",
                )
            files[path] = location

        snapshot = {"id": snapshot_id, "parentSnapshotId": parent_id, "root": root,
                    "files": files, "tags": manifest.get("Tags"),
                    "properties": manifest.get("Properties"),
                    "createdTime": self.ctx.now_iso()}  # fmt: skip
        with self._lock:
            if self.store.get(SNAPSHOT, snapshot_id) is not None:
                raise Conflict(f"Snapshot '{snapshot_id}' already exists.", target="snapshotId")
            self.store.put(SNAPSHOT, snapshot_id, snapshot)
        logger.debug("Created snapshot %s with %d files", snapshot_id, len(files))
        return {"id": snapshot_id, "root": root, "parentSnapshotId": parent_id}

    def _uploaded_files(self, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """``{path: location}`` of the manifest's ``FileRevisionList``; each blob must exist."""
        revision = manifest.get("FileRevisionList") or {}
        nodes = revision.get("FileNodes") if isinstance(revision, dict) else None
        files: dict[str, dict[str, Any]] = {}
        for node in nodes or []:
            if not isinstance(node, dict) or not node.get("FullName") or not node.get("BlobUri"):
                raise BadRequest(
                    "Each FileRevisionList.FileNodes entry needs FullName and BlobUri.",
                    target="FileRevisionList",
                )
            location, size = self._find_uploaded(str(node["BlobUri"]))
            if size is None:
                raise BadRequest(
                    f"File '{node['FullName']}' was not uploaded: no blob at "
                    f"{location['container']}/{location['path']}; PUT it to its getblob URL first.",
                    target="FileRevisionList",
                )
            files[str(node["FullName"])] = {**location, "size": size}
        return files

    def _find_uploaded(self, blob_uri: str) -> tuple[dict[str, str], int | None]:
        """The location of an uploaded file's blob and its size (None when not uploaded).

        The SDK quotes the blob name once more when it uploads, so a name with special
        characters may be stored still percent-encoded; both spellings are tried.
        """
        location = snapshots.blob_location(blob_uri, decode=True)
        for candidate in (location, snapshots.blob_location(blob_uri, decode=False)):
            found = self.store.get_blob(
                candidate["account"], candidate["container"], candidate["path"]
            )
            if found is not None:
                return candidate, len(found[0])
        return location, None

    def _parent_files(self, parent_id: Any) -> dict[str, dict[str, Any]]:
        """The resolved file list of the parent snapshot (empty without a parent)."""
        if not parent_id:
            return {}
        parent = self.store.get(SNAPSHOT, str(parent_id))
        if parent is None:
            raise BadRequest(
                f"ParentSnapshotId '{parent_id}' does not exist in this workspace; send the "
                "full file list without a parent (the SDK does this after clearing its cache).",
                target="ParentSnapshotId",
            )
        files: dict[str, dict[str, Any]] = parent.get("files") or {}
        return files

    def add_snapshot(self, snapshot_id: str, files: Mapping[str, bytes]) -> None:
        """Store a snapshot of ``{relative path: bytes}`` directly (fast path, no HTTP).

        For synthetic data: blobs go to the upload container under ``<snapshot id>/``, the tree
        is built from the paths (hashes are placeholders) and the snapshot has no parent.
        """
        account = self.ctx.config.storage_account
        resolved: dict[str, dict[str, Any]] = {}
        with self.store.transaction():
            for path, data in files.items():
                blob_path = f"{snapshot_id}/{path}"
                self.store.put_blob(account, UPLOAD_CONTAINER, blob_path, data,
                                    {"blob_type": "BlockBlob"})  # fmt: skip
                resolved[path] = {"account": account, "container": UPLOAD_CONTAINER,
                                  "path": blob_path, "size": len(data)}  # fmt: skip
            snapshot = {"id": snapshot_id, "parentSnapshotId": None,
                        "root": snapshots.tree_from_paths(files), "files": resolved,
                        "createdTime": self.ctx.now_iso()}  # fmt: skip
            self.store.put(SNAPSHOT, snapshot_id, snapshot)

    def get_snapshot(self, snapshot_id: str) -> dict[str, Any]:
        """The stored snapshot (id, parent, tree, resolved files); 404 when unknown."""
        snapshot = self.store.get(SNAPSHOT, snapshot_id)
        if snapshot is None:
            raise NotFound(f"Snapshot '{snapshot_id}' was not found.", target="snapshotId")
        return snapshot

    def get_snapshot_zip(self, snapshot_id: str) -> dict[str, Any]:
        """``POST /content/v2.0/{scope}/snapshots/{id}/zip``: 200 ``{"zipSasUri": ...}``.

        The zip is built once into the zip container and served by the blob routes. The URL is
        path-style on the emulator's own address (``https://127.0.0.1:<port>/<account>/...``),
        which any HTTP client reaches without resolving ``*.blob.localhost``; clients must treat
        it as opaque, as the live service's host differs anyway.
        """
        snapshot = self.get_snapshot(snapshot_id)
        account = self.ctx.config.storage_account
        zip_path = f"{snapshot_id}.zip"
        if self.store.get_blob(account, ZIP_CONTAINER, zip_path) is None:
            data = snapshots.build_zip(snapshot.get("files") or {}, self._reader(snapshot_id))
            props = {"content_type": "application/zip", "blob_type": "BlockBlob"}
            self.store.put_blob(account, ZIP_CONTAINER, zip_path, data, props)
        base = self.ctx.base_url or "https://127.0.0.1"
        query = snapshots.sas_query("r")
        return {"zipSasUri": f"{base}/{account}/{ZIP_CONTAINER}/{quote(zip_path)}?{query}"}

    def _reader(self, snapshot_id: str) -> Callable[[dict[str, Any]], bytes]:
        """Read a snapshot file's bytes from its blob (404 when the blob is gone)."""

        def read(location: dict[str, Any]) -> bytes:
            found = self.store.get_blob(
                location["account"], location["container"], location["path"]
            )
            if found is None:
                raise NotFound(
                    f"Snapshot {snapshot_id} has no blob at {location['container']}/"
                    f"{location['path']}; the emulator state is incomplete (reseed it).",
                    target="snapshotId",
                )
            return found[0]

        return read


class BlobBackend:
    """Block blobs in any account and container, reached with a SAS URL.

    Not emulated: SAS validation (a ``sig`` query parameter must be present; its value,
    expiry and permissions are not checked).
    Not emulated: containers as resources: any container name exists (listing an unknown one
    gives an empty list, not ContainerNotFound); no container or account operations other
    than List Blobs (they answer 501).
    Not emulated: page and append blobs, snapshots, versions, leases, tiers, copy, tags,
    soft delete: List Blobs accepts every ``include`` value, but only ``metadata`` adds to
    the answer (staged blocks are not listed for ``uncommittedblobs``).
    Not emulated: List Blobs in the Apache Arrow format and ``endBefore``; ``startFrom`` is
    a plain lower bound on the names.
    Not emulated: conditional GET/HEAD (If-Modified-Since, If-None-Match on reads).
    Not emulated: Get Block List; staged blocks are kept in memory until Put Block List and
    are lost on restart.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self._lock = threading.RLock()
        self._blocks: dict[tuple[str, str, str], dict[str, bytes]] = {}

    @staticmethod
    def check_sas(query: Mapping[str, str]) -> None:
        """403 unless the query carries a SAS signature (``sig``)."""
        if not query.get("sig"):
            raise AuthenticationFailed(
                "Server failed to authenticate the request: no SAS signature (sig) in the "
                "query string. Use the SAS URL the service handed out."
            )

    def _require(self, account: str, container: str, path: str) -> tuple[bytes, dict[str, str]]:
        found = self.store.get_blob(account, container, path)
        if found is None:
            raise BlobNotFound(f"The specified blob does not exist: {container}/{path}.")
        return found

    def _check_conditions(
        self, account: str, container: str, path: str, headers: Mapping[str, str]
    ) -> None:
        """Apply ``If-None-Match`` / ``If-Match`` before a write."""
        found = self.store.get_blob(account, container, path)
        etag = found[1].get("etag") if found else None
        if_none_match = (headers.get("if-none-match") or "").strip()
        if found is not None and if_none_match == "*":
            raise BlobAlreadyExists(f"The specified blob already exists: {container}/{path}.")
        if_match = (headers.get("if-match") or "").strip()
        failed_none_match = found is not None and if_none_match == etag
        failed_match = bool(if_match) and (found is None or if_match not in ("*", etag))
        if failed_none_match or failed_match:
            raise ConditionNotMet(
                "The condition specified using HTTP conditional header(s) is not met."
            )

    def put_blob(
        self, account: str, container: str, path: str, data: bytes, headers: Mapping[str, str]
    ) -> dict[str, str]:
        """Put Blob (``PUT``, ``x-ms-blob-type: BlockBlob``); returns the new properties."""
        blob_type = headers.get("x-ms-blob-type")
        if blob_type != "BlockBlob":
            raise InvalidHeaderValue(
                f"x-ms-blob-type {blob_type!r} is not supported: only BlockBlob is emulated."
            )
        blobs.check_md5(data, headers)
        return self._write(account, container, path, data, headers)

    def _write(
        self, account: str, container: str, path: str, data: bytes, headers: Mapping[str, str]
    ) -> dict[str, str]:
        with self._lock:
            self._check_conditions(account, container, path, headers)
            stored = self.store.put_blob(
                account, container, path, data, blobs.new_properties(headers)
            )
        logger.debug("Stored blob %s/%s/%s (%d bytes)", account, container, path, len(data))
        return stored

    def list_blobs(
        self, account: str, container: str, query: Mapping[str, str]
    ) -> listing.BlobListing:
        """List Blobs (``GET /{container}?restype=container&comp=list``): one page of the
        container's blobs and, with a ``delimiter``, virtual folders (see ``listing``)."""
        options = listing.list_options(query)
        names = self.store.list_blobs(account, container, options.prefix or "")
        keys, next_key = listing.page_keys(names, options)
        entries: list[listing.ListedBlob | listing.ListedPrefix] = []
        for key, is_prefix in keys:
            if is_prefix:
                entries.append(listing.ListedPrefix(key))
            elif (found := self.store.get_blob(account, container, key)) is not None:
                entries.append(listing.ListedBlob(key, found[1]))
        next_marker = listing.encode_marker(next_key) if next_key else None
        return listing.BlobListing(options, entries, next_marker)

    def get_blob_properties(self, account: str, container: str, path: str) -> dict[str, str]:
        """Get Blob Properties (``HEAD``)."""
        return self._require(account, container, path)[1]

    def get_blob(
        self, account: str, container: str, path: str, byte_range: str | None
    ) -> blobs.BlobRead:
        """Get Blob (``GET``), whole or the range of ``x-ms-range`` / ``Range``."""
        data, properties = self._require(account, container, path)
        metadata = blobs.metadata_of(properties)
        if not byte_range:
            return blobs.BlobRead(data, properties, metadata=metadata)
        start, end = blobs.parse_range(byte_range, len(data))
        content_range = f"bytes {start}-{end}/{len(data)}"
        return blobs.BlobRead(data[start : end + 1], properties, content_range, metadata)

    def set_blob_metadata(
        self, account: str, container: str, path: str, headers: Mapping[str, str]
    ) -> dict[str, str]:
        """Set Blob Metadata (``PUT ?comp=metadata``): replaces all ``x-ms-meta-*`` values."""
        with self._lock:
            data, properties = self._require(account, container, path)
            properties = blobs.with_metadata(data, properties, headers)
            self.store.set_blob_properties(account, container, path, properties)
        return properties

    def put_block(
        self,
        account: str,
        container: str,
        path: str,
        block_id: str | None,
        data: bytes,
        headers: Mapping[str, str],
    ) -> dict[str, str]:
        """Put Block (``PUT ?comp=block&blockid=``): stage a block until Put Block List."""
        block_id = blobs.check_block_id(block_id)
        blobs.check_md5(data, headers)
        with self._lock:
            self._blocks.setdefault((account, container, path), {})[block_id] = data
        return {"content_md5": blobs.content_md5(data)}

    def put_block_list(
        self, account: str, container: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> dict[str, str]:
        """Put Block List (``PUT ?comp=blocklist``): commit staged blocks in the listed order."""
        wanted = blobs.block_list(body)
        with self._lock:
            staged = self._blocks.get((account, container, path), {})
            missing = [block for block in wanted if block not in staged]
            if missing:
                raise InvalidBlockList(
                    f"The specified block list is invalid: blocks {missing} were never staged."
                )
            data = b"".join(staged[block] for block in wanted)
            stored = self._write(account, container, path, data, headers)
            self._blocks.pop((account, container, path), None)
        return stored
