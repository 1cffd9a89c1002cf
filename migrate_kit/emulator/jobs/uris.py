"""Addresses the job side reads and writes: datastore URIs, blob URLs, asset ids.

- ``azureml://datastores/<ds>/paths/<p>`` (short form) and
  ``azureml://subscriptions/<s>/resourcegroups/<r>/workspaces/<w>/datastores/<ds>/paths/<p>``
  (long form, what the service hands out) name a file or folder of a datastore;
- a code asset's ``codeUri`` is a blob URL, path style ``https://host/<account>/<container>/<p>``
  (the emulator's own) or host style ``https://<account>.blob.<suffix>/<container>/<p>``;
- assets are referenced by ARM id (``.../components/<name>/versions/<v>``), optionally with an
  ``azureml:`` prefix, or as ``azureml:<name>:<version>``.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import unquote, urlsplit

from migrate_kit.emulator.config import EmulatorConfig
from migrate_kit.emulator.runner.model import DataRef

__all__ = [
    "asset_key",
    "blob_url_to_ref",
    "datastore_uri_to_ref",
    "long_datastore_uri",
    "short_datastore_uri",
]

_DATASTORE_URI = re.compile(
    r"^azureml://(?:subscriptions/[^/]+/resource[gG]roups/[^/]+/"
    r"(?:providers/Microsoft\.MachineLearningServices/)?workspaces/[^/]+/)?"
    r"datastores/(?P<ds>[^/]+)/paths/(?P<path>.*)$"
)
_ARM_ASSET = re.compile(r"/(?P<type>[A-Za-z]+)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$")
_HOST_STYLE = re.compile(r"^(?P<account>[^.]+)\.blob\.")


def datastore_uri_to_ref(
    uri: str, config: EmulatorConfig, kind: Literal["uri_folder", "uri_file"]
) -> DataRef | None:
    """The blob location of an ``azureml://datastores/...`` URI, or None if it is not one.

    Raises ValueError for a datastore other than the workspace's default one (the only one
    emulated).
    """
    match = _DATASTORE_URI.match(uri.strip())
    if match is None:
        return None
    datastore = match["ds"]
    if datastore.lower() != config.default_datastore.lower():
        raise ValueError(
            f"datastore '{datastore}' is not emulated; use '{config.default_datastore}'"
        )
    path = unquote(match["path"]).strip("/")
    return DataRef(config.storage_account, config.datastore_container, path, kind)


def short_datastore_uri(ref: DataRef, config: EmulatorConfig) -> str:
    """``azureml://datastores/<default>/paths/<p>`` for a blob location of the datastore
    (``/`` appended for a folder)."""
    suffix = "/" if ref.kind == "uri_folder" and ref.path else ""
    return f"azureml://datastores/{config.default_datastore}/paths/{ref.path}{suffix}"


def long_datastore_uri(ref: DataRef, config: EmulatorConfig) -> str:
    """The long form the service hands out, with subscription, group and workspace."""
    suffix = "/" if ref.kind == "uri_folder" and ref.path else ""
    return (
        f"azureml://subscriptions/{config.subscription_id}/resourcegroups/"
        f"{config.resource_group}/workspaces/{config.workspace_name}/datastores/"
        f"{config.default_datastore}/paths/{ref.path}{suffix}"
    )


def blob_url_to_ref(url: str) -> DataRef:
    """The folder a blob URL (path or host style, query ignored) points at.

    Raises ValueError when the URL names no container.
    """
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    host = _HOST_STYLE.match(parts.hostname or "")
    if host is not None:
        account = host["account"]
    elif segments:
        account = segments.pop(0)
    else:
        raise ValueError(f"'{url}' is not a blob URL")
    if not segments:
        raise ValueError(f"'{url}' names no blob container")
    container, *rest = segments
    return DataRef(account, container, "/".join(rest), "uri_folder")


def asset_key(reference: str, asset_type: str) -> str:
    """The store key ``<name>/<version>`` (lower case) of an asset reference.

    ``asset_type`` is the ARM collection (``components``, ``codes``). Raises ValueError for a
    reference without a version (labels such as ``@latest`` are not emulated).
    """
    text = reference.strip()
    if text.startswith("azureml:"):
        text = text[len("azureml:") :]
    match = _ARM_ASSET.search(text)
    if match is not None and text.startswith("/"):
        if match["type"].lower() != asset_type.lower():
            raise ValueError(f"'{reference}' is not a reference to {asset_type}")
        return f"{match['name']}/{match['version']}".lower()
    name, sep, version = text.rpartition(":")
    if not sep or not name or not version or "/" in name:
        raise ValueError(f"'{reference}' names no version of {asset_type}")
    return f"{name}/{version}".lower()
