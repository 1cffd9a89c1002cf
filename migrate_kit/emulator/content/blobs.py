"""Pure helpers of the blob backend: properties, metadata, MD5 checks, ranges, block lists.

Blob properties are kept in the Store's string map: ``etag``, ``last_modified``,
``content_length`` and ``content_md5`` (set by the store), plus ``content_type``, ``blob_type``,
``creation_time`` and ``metadata`` (a JSON object of the ``x-ms-meta-*`` values) set here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from xml.etree import ElementTree

from migrate_kit.emulator.content.errors import (
    InvalidBlockList,
    InvalidHeaderValue,
    InvalidRange,
    Md5Mismatch,
)

__all__ = [
    "BlobRead",
    "block_list",
    "check_block_id",
    "check_md5",
    "content_md5",
    "metadata_json",
    "metadata_of",
    "new_properties",
    "parse_range",
    "with_metadata",
]


@dataclass(frozen=True)
class BlobRead:
    """What a GET of a blob returns: bytes (maybe a range), properties and the range served."""

    data: bytes
    properties: dict[str, str]
    content_range: str | None = None  # "bytes <start>-<end>/<size>" for a partial read
    metadata: dict[str, str] = field(default_factory=dict)


def metadata_json(headers: Mapping[str, str]) -> str:
    """The ``x-ms-meta-*`` request headers as a JSON object string."""
    prefix = "x-ms-meta-"
    values = {k[len(prefix) :]: v for k, v in headers.items() if k.lower().startswith(prefix)}
    return json.dumps(values, sort_keys=True)


def metadata_of(properties: Mapping[str, str]) -> dict[str, str]:
    """The user metadata stored with a blob."""
    values: dict[str, str] = json.loads(properties.get("metadata") or "{}")
    return values


def new_properties(headers: Mapping[str, str]) -> dict[str, str]:
    """Properties of a blob being written, from the request headers."""
    content_type = (
        headers.get("x-ms-blob-content-type")
        or headers.get("content-type")
        or "application/octet-stream"
    )
    return {
        "content_type": content_type,
        "blob_type": "BlockBlob",
        "creation_time": formatdate(usegmt=True),
        "metadata": metadata_json(headers),
    }


def with_metadata(
    data: bytes, properties: Mapping[str, str], headers: Mapping[str, str]
) -> dict[str, str]:
    """Properties after Set Blob Metadata: new metadata, ETag and Last-Modified."""
    updated = {**properties, "metadata": metadata_json(headers)}
    digest = hashlib.sha256(data + updated["metadata"].encode()).hexdigest()
    updated["etag"] = f'"0x{digest[:16].upper()}"'
    updated["last_modified"] = formatdate(usegmt=True)
    return updated


def content_md5(data: bytes) -> str:
    """Base64 MD5 of ``data``, as in the ``Content-MD5`` header."""
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def check_md5(data: bytes, headers: Mapping[str, str]) -> None:
    """400 Md5Mismatch when ``Content-MD5`` is sent and does not match the body."""
    sent = headers.get("content-md5")
    if sent and sent.strip() != content_md5(data):
        raise Md5Mismatch(
            "The MD5 value specified in the request did not match the MD5 value calculated "
            f"by the server (sent {sent}, computed {content_md5(data)})."
        )


def parse_range(value: str, size: int) -> tuple[int, int]:
    """``bytes=<start>-[<end>]`` → inclusive (start, end); 416 when it is unsatisfiable."""
    try:
        unit, _, span = value.partition("=")
        first, _, last = span.partition("-")
        start = int(first)
        end = int(last) if last.strip() else size - 1
    except ValueError:
        raise InvalidRange(f"The range {value!r} is not of the form bytes=<start>-<end>.") from None
    if unit.strip() != "bytes" or start < 0 or start >= size or end < start:
        raise InvalidRange(
            f"The range {value!r} is invalid for the current size of the resource ({size})."
        )
    return start, min(end, size - 1)


def check_block_id(block_id: str | None) -> str:
    """The ``blockid`` of Put Block; it must be present and base64."""
    if not block_id:
        raise InvalidHeaderValue("Put Block needs a blockid query parameter (base64).")
    try:
        base64.b64decode(block_id, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidHeaderValue(f"blockid {block_id!r} is not valid base64.") from None
    return block_id


def block_list(body: bytes) -> list[str]:
    """Block ids of a Put Block List body, in order (Latest, Committed, Uncommitted alike)."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise InvalidBlockList(f"The block list is not valid XML ({error}).") from None
    return [(element.text or "").strip() for element in root]
