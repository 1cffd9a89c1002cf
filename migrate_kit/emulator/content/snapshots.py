"""Pure helpers of the snapshot backend: SAS strings, directory trees, blob URLs, zips."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from migrate_kit.emulator.content.errors import BadRequest

__all__ = [
    "SNAPSHOT",
    "UPLOAD_CONTAINER",
    "ZIP_CONTAINER",
    "blob_location",
    "build_zip",
    "sas_query",
    "tree_files",
    "tree_from_paths",
]

SNAPSHOT = "content.snapshot"
UPLOAD_CONTAINER = "snapshots"  # container of uploaded snapshot files (name inferred)
ZIP_CONTAINER = "snapshotzips"  # container of built snapshot zips (name inferred)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed entry time: the same snapshot gives the same zip


def sas_query(permissions: str) -> str:
    """A SAS-looking query string. The emulator checks only that ``sig`` is present."""
    expiry = "se=2099-01-01T00%3A00%3A00Z"
    return f"sv=2021-08-06&sr=b&sp={permissions}&{expiry}&sig={uuid.uuid4().hex}"


def tree_files(node: dict[str, Any], prefix: str = "") -> list[str]:
    """Relative paths of the files in a ``DirTreeNode`` (children as a map or a list)."""
    children = node.get("children") or {}
    items = children.values() if isinstance(children, dict) else children
    paths: list[str] = []
    for child in items:
        if not isinstance(child, dict):
            continue
        path = f"{prefix}{child.get('name')}"
        if str(child.get("type", "")).lower() == "file":
            paths.append(path)
        else:
            paths.extend(tree_files(child, path + "/"))
    return paths


def tree_from_paths(paths: Iterable[str]) -> dict[str, Any]:
    """A ``DirTreeNode`` (children as a map) for relative file paths; hashes left empty."""
    root: dict[str, Any] = {"name": "", "type": "Directory", "hash": "", "children": {}}
    for path in paths:
        node = root
        *folders, name = path.split("/")
        for folder in folders:
            node = node["children"].setdefault(
                folder, {"name": folder, "type": "Directory", "hash": "", "children": {}}
            )
        node["children"][name] = {"name": name, "type": "File", "hash": "", "children": {}}
    return root


def blob_location(blob_uri: str, *, decode: bool = True) -> dict[str, str]:
    """Account, container and blob path of a host-style or path-style blob URL (no query).

    Host style: ``https://<account>.blob.<suffix>/<container>/<blob>``; anything else is read
    as path style ``https://<host>/<account>/<container>/<blob>``. ``decode`` undoes the
    percent-encoding of the path.
    """
    parts = urlsplit(blob_uri)
    host = (parts.hostname or "").lower()
    segments = parts.path.lstrip("/").split("/")
    if decode:
        segments = [unquote(s) for s in segments]
    if ".blob." in host:
        account = host.split(".", 1)[0]
    else:
        account, segments = segments[0], segments[1:]
    if len(segments) < 2 or not account:
        raise BadRequest(
            f"BlobUri path {parts.path!r} must be /<container>/<blob> (host-style) or "
            "/<account>/<container>/<blob> (path-style).",
            target="BlobUri",
        )
    return {"account": account, "container": segments[0], "path": "/".join(segments[1:])}


def build_zip(files: dict[str, dict[str, Any]], read: Callable[[dict[str, Any]], bytes]) -> bytes:
    """A zip of ``{relative path: location}``; ``read(location)`` gives a file's bytes.

    Entries are sorted and carry a fixed time, so the same snapshot always gives the same zip.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, location in sorted(files.items()):
            info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, read(location))
    return buffer.getvalue()
