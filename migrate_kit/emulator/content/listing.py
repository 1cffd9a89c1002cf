"""Pure helpers of List Blobs: the query's options, one page with its marker, the XML body.

A container's blob names are listed in sorted order (UTF-8 byte order, as Azure Storage does).
With a ``delimiter``, the names that contain it after the ``prefix`` roll up into one
``BlobPrefix`` entry each (a virtual folder); ``maxresults`` counts blobs and prefixes alike. A
page ends after ``maxresults`` entries, and its ``NextMarker`` names the first entry of the next
page (opaque to clients, as the service's markers are).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote
from xml.etree.ElementTree import Element, SubElement, tostring

from migrate_kit.emulator.content.blobs import metadata_of
from migrate_kit.emulator.content.errors import (
    InvalidQueryParameterValue,
    OutOfRangeQueryParameterValue,
)

__all__ = [
    "MAX_RESULTS",
    "BlobListing",
    "ListOptions",
    "ListedBlob",
    "ListedPrefix",
    "decode_marker",
    "encode_marker",
    "list_options",
    "listing_xml",
    "page_keys",
]

#: The most entries one List Blobs page holds (also the default).
MAX_RESULTS = 5000
#: The ``include`` values of List Blobs (REST version 2021-08-06 and later).
INCLUDE_VALUES = frozenset(
    {
        "copy",
        "deleted",
        "deletedwithversions",
        "immutabilitypolicy",
        "legalhold",
        "metadata",
        "permissions",
        "snapshots",
        "tags",
        "uncommittedblobs",
        "versions",
    }
)
_MARKER_TAG = "1!"
#: Characters XML 1.0 cannot carry; a name with one is sent percent-encoded.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class ListOptions:
    """The List Blobs query, checked. ``prefix``, ``delimiter``, ``marker`` and
    ``max_results`` are as sent (None when absent: the XML echoes only what was sent);
    ``start`` is the smallest key the page may hold (from the marker and ``startFrom``)."""

    prefix: str | None = None
    delimiter: str | None = None
    marker: str | None = None
    max_results: int | None = None
    start: str = ""
    include_metadata: bool = False

    @property
    def limit(self) -> int:
        """Entries per page: ``maxresults``, at most ``MAX_RESULTS``."""
        return min(self.max_results or MAX_RESULTS, MAX_RESULTS)


@dataclass(frozen=True)
class ListedBlob:
    """A blob of a page, with its stored properties."""

    name: str
    properties: dict[str, str]


@dataclass(frozen=True)
class ListedPrefix:
    """A virtual folder of a page (``BlobPrefix``): a prefix ending in the delimiter."""

    name: str


@dataclass(frozen=True)
class BlobListing:
    """One page of List Blobs: its options, entries in order and the next page's marker."""

    options: ListOptions
    entries: list[ListedBlob | ListedPrefix]
    next_marker: str | None = None


def list_options(query: Mapping[str, str]) -> ListOptions:
    """The options of a List Blobs query; 400 for a bad ``maxresults``, ``include`` or marker."""
    raw_max = query.get("maxresults")
    max_results = None
    if raw_max is not None:
        try:
            max_results = int(raw_max)
        except ValueError:
            raise InvalidQueryParameterValue(
                f"maxresults={raw_max!r} is not an integer; send 1 to {MAX_RESULTS}."
            ) from None
        if max_results <= 0:
            raise OutOfRangeQueryParameterValue(
                f"maxresults={max_results} is out of range; send 1 to {MAX_RESULTS}."
            )
    include = [v.strip().lower() for v in (query.get("include") or "").split(",") if v.strip()]
    unknown = sorted(set(include) - INCLUDE_VALUES)
    if unknown:
        raise InvalidQueryParameterValue(
            f"include={','.join(unknown)} is not a List Blobs dataset; use any of "
            f"{', '.join(sorted(INCLUDE_VALUES))}."
        )
    marker = query.get("marker") or None
    return ListOptions(
        prefix=query.get("prefix"),
        delimiter=query.get("delimiter") or None,
        marker=marker,
        max_results=max_results,
        start=max(decode_marker(marker) if marker else "", query.get("startFrom") or ""),
        include_metadata="metadata" in include,
    )


def encode_marker(key: str) -> str:
    """The opaque marker of a page starting at ``key``."""
    return _MARKER_TAG + base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")


def decode_marker(marker: str) -> str:
    """The key a marker from ``encode_marker`` starts at; 400 for any other string."""
    try:
        if not marker.startswith(_MARKER_TAG):
            raise ValueError(marker)
        raw = marker[len(_MARKER_TAG) :].encode("ascii")
        return base64.urlsafe_b64decode(raw).decode("utf-8")
    except (ValueError, binascii.Error):
        raise InvalidQueryParameterValue(
            "The marker is not one this container handed out (NextMarker of a previous "
            "page); list again without a marker."
        ) from None


def page_keys(names: Iterable[str], options: ListOptions) -> tuple[list[tuple[str, bool]], str]:
    """One page of ``names`` (sorted, all starting with the prefix): ``(key, is_prefix)``
    entries from ``options.start`` on, and the first key of the next page ("" at the end)."""
    prefix, delimiter, start = options.prefix or "", options.delimiter, options.start
    entries: list[tuple[str, bool]] = []
    for name in names:
        if name < start:
            continue
        key, is_prefix = name, False
        if delimiter and (cut := name.find(delimiter, len(prefix))) >= 0:
            key, is_prefix = name[: cut + len(delimiter)], True
        if entries and entries[-1] == (key, True):
            continue  # one more blob of the same virtual folder
        if len(entries) == options.limit:
            return entries, key
        entries.append((key, is_prefix))
    return entries, ""


def listing_xml(listing: BlobListing, service_endpoint: str, container: str) -> bytes:
    """The ``EnumerationResults`` body of a List Blobs answer."""
    options = listing.options
    root = Element("EnumerationResults", ServiceEndpoint=service_endpoint, ContainerName=container)
    echoed = (
        ("Prefix", options.prefix),
        ("Marker", options.marker),
        ("MaxResults", options.max_results),
        ("Delimiter", options.delimiter),
    )
    for tag, value in echoed:
        if value is not None:
            SubElement(root, tag).text = str(value)

    blobs = SubElement(root, "Blobs")
    for entry in listing.entries:
        if isinstance(entry, ListedPrefix):
            _name(SubElement(blobs, "BlobPrefix"), entry.name)
            continue
        element = SubElement(blobs, "Blob")
        _name(element, entry.name)
        _properties(element, entry.properties)
        if options.include_metadata:
            _metadata(element, entry.properties)
    SubElement(root, "NextMarker").text = listing.next_marker or None
    body = '<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="unicode")
    return body.encode("utf-8")


def _name(parent: Element, name: str) -> None:
    """``<Name>``; percent-encoded with ``Encoded="true"`` when XML cannot carry it."""
    element = SubElement(parent, "Name")
    if _NOT_XML.search(name):
        element.set("Encoded", "true")
        element.text = quote(name, safe="")
    else:
        element.text = name


def _properties(parent: Element, properties: Mapping[str, str]) -> None:
    """``<Properties>`` in the service's element order; unset ones are empty elements."""
    element = SubElement(parent, "Properties")
    values = (
        ("Creation-Time", properties.get("creation_time") or properties.get("last_modified")),
        ("Last-Modified", properties.get("last_modified")),
        ("Etag", (properties.get("etag") or "").strip('"')),  # unquoted in lists
        ("Content-Length", properties.get("content_length", "0")),
        ("Content-Type", properties.get("content_type", "application/octet-stream")),
        ("Content-Encoding", None),
        ("Content-Language", None),
        ("Content-MD5", properties.get("content_md5")),
        ("Cache-Control", None),
        ("Content-Disposition", None),
        ("BlobType", properties.get("blob_type", "BlockBlob")),
        ("AccessTier", "Hot"),
        ("AccessTierInferred", "true"),
        ("LeaseStatus", "unlocked"),
        ("LeaseState", "available"),
        ("ServerEncrypted", "true"),
    )
    for tag, value in values:
        SubElement(element, tag).text = value or None


def _metadata(parent: Element, properties: Mapping[str, str]) -> None:
    element = SubElement(parent, "Metadata")
    for key, value in sorted(metadata_of(properties).items()):
        SubElement(element, key).text = value
