"""Writing the emulator's sample format (the contract is in ``migrate_kit.capture``'s docstring).

``SampleState`` collects entities by kind and the blobs of code snapshots; ``write_sample``
puts them on disk as ``capture/state.json`` + ``capture/blobs/<sha256>``, next to
``workspace.json`` and ``README.md``. Nothing here reads the network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from pathlib import Path, PurePosixPath
from typing import Any

from migrate_kit.redact import redact

__all__ = [
    "CAPTURE_FORMAT",
    "DATA_SOURCE",
    "ENDPOINT",
    "GRAPH",
    "INTERFACE",
    "MODULE",
    "PIPELINE",
    "SNAPSHOT",
    "SNAPSHOT_CONTAINER",
    "SampleState",
    "write_sample",
]

#: The ``format`` of ``capture/state.json`` (the emulator's capture format).
CAPTURE_FORMAT = 1

PIPELINE = "pipelines.pipeline"
GRAPH = "pipelines.graph"
INTERFACE = "pipelines.graph_interface"
MODULE = "pipelines.module"
DATA_SOURCE = "pipelines.data_source"
ENDPOINT = "pipelines.endpoint"
SNAPSHOT = "content.snapshot"
SNAPSHOT_CONTAINER = "snapshots"


@dataclass
class SampleState:
    """Entities by kind (in the order added; a key is kept once) and snapshot blobs."""

    warnings: list[str]
    entities: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    blobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # "acct/cont/path" -> entry
    data: dict[str, bytes] = field(default_factory=dict)  # sha256 -> bytes
    snapshots: list[str] = field(default_factory=list)

    def add(self, kind: str, key: str, body: Any) -> None:
        """Add one entity, every string of it redacted; a key already added is skipped."""
        items = self.entities.setdefault(kind, [])
        if any(item["key"] == key for item in items):
            return
        items.append({"key": key, "body": self._scrub(body, f"{kind} {key}", "")})

    def add_snapshot(self, snapshot_id: str, zipped: bytes, account: str) -> None:
        """Store a snapshot zip as the content family does: one blob per file plus the entity.

        Entries that are folders are skipped; an entry whose name could escape its folder
        (absolute, ``..``, a drive) is skipped with a warning. A zip that cannot be read is a
        warning and no snapshot.
        """
        if snapshot_id in self.snapshots:
            return
        files: dict[str, dict[str, Any]] = {}
        try:
            with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    if not _safe_member(info.filename):
                        self.warnings.append(
                            f"snapshot {snapshot_id}: skipped the zip entry {info.filename!r}"
                        )
                        continue
                    data = archive.read(info)
                    path = f"{snapshot_id}/{info.filename}"
                    self._add_blob(account, SNAPSHOT_CONTAINER, path, data)
                    files[info.filename] = {"account": account, "container": SNAPSHOT_CONTAINER,
                                            "path": path, "size": len(data)}  # fmt: skip
        except (zipfile.BadZipFile, OSError) as exc:
            self.warnings.append(f"snapshot {snapshot_id} is not a readable zip ({exc})")
            return

        body = {"id": snapshot_id, "parentSnapshotId": None, "root": _tree(files),
                "files": files, "tags": None, "properties": None,
                "createdTime": _now()}  # fmt: skip
        self.add(SNAPSHOT, snapshot_id, body)
        self.snapshots.append(snapshot_id)

    def _add_blob(self, account: str, container: str, path: str, data: bytes) -> None:
        """One blob, with the properties the emulator's store gives an uploaded blob."""
        digest = hashlib.sha256(data).hexdigest()
        stamp = formatdate(usegmt=True)
        properties = {
            "content_type": "application/octet-stream",
            "blob_type": "BlockBlob",
            "creation_time": stamp,
            "metadata": "{}",
            "etag": f'"0x{digest[:16].upper()}"',
            "last_modified": stamp,
            "content_length": str(len(data)),
            "content_md5": base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),
        }
        self.data[digest] = data
        self.blobs[f"{account}/{container}/{path}"] = {
            "account": account,
            "container": container,
            "path": path,
            "sha256": digest,
            "properties": properties,
        }

    def _scrub(self, value: Any, where: str, field_path: str) -> Any:
        """``value`` with every string redacted; each change is a warning naming the field."""
        if isinstance(value, str):
            clean = redact(value)
            if clean != value:
                self.warnings.append(
                    f"{where}: removed a secret-looking value from {field_path or '.'}"
                )
            return clean
        if isinstance(value, dict):
            return {k: self._scrub(v, where, f"{field_path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub(v, where, f"{field_path}[{i}]") for i, v in enumerate(value)]
        return value


def write_sample(
    out: Path, identity: dict[str, str], state: SampleState, readme: str, *, with_data: bool
) -> None:
    """Write the sample folder: ``capture/`` replaced whole, ``datastore/`` never touched.

    ``state.json`` is written last, so an interrupted write leaves no loadable capture.
    """
    folder = out / "capture"
    if folder.exists():
        shutil.rmtree(folder)
    blob_dir = folder / "blobs"
    blob_dir.mkdir(parents=True)
    for digest, data in state.data.items():
        (blob_dir / digest).write_bytes(data)

    workspace = json.dumps(identity, indent=2, ensure_ascii=False)
    (out / "workspace.json").write_text(workspace + "\n", encoding="utf-8")
    (out / "README.md").write_text(readme, encoding="utf-8")
    if with_data:
        (out / "datastore").mkdir(exist_ok=True)

    document = {
        "format": CAPTURE_FORMAT,
        "entities": state.entities,
        "blobs": [state.blobs[key] for key in sorted(state.blobs)],
    }
    text = json.dumps(document, indent=1, ensure_ascii=False)
    (folder / "state.json").write_text(text + "\n", encoding="utf-8")


def _now() -> str:
    """The current UTC time in the service's form (seven fraction digits, ``Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _safe_member(name: str) -> bool:
    """A relative zip path without ``..`` parts or a drive: a usable blob name."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and ":" not in name


def _tree(paths: Iterable[str]) -> dict[str, Any]:
    """A ``DirTreeNode`` (children as a map) of relative file paths; hashes left empty."""
    root: dict[str, Any] = {"name": "", "type": "Directory", "hash": "", "children": {}}
    for path in sorted(paths):
        node = root
        *folders, name = path.split("/")
        for folder in folders:
            node = node["children"].setdefault(
                folder, {"name": folder, "type": "Directory", "hash": "", "children": {}}
            )
        node["children"][name] = {"name": name, "type": "File", "hash": "", "children": {}}
    return root
