"""The step outputs of a v2 job and of a v1 run, on disk, and how they differ (parity).

- v2: ``MLClient.jobs.download(name, output_name=..., download_path=...)`` per output: a
  pipeline output from the job itself, any other step output from the step's child job;
- v1: the folder the v1 service names for each step output (``POST .../Outputs``), read with
  azure-storage-blob from the workspace datastore it lives in, with that datastore's
  credentials: ``ml_client.datastores.get(name, include_secrets=True)`` (the public way
  azure-ai-ml has to a datastore's SAS token or account key), or the caller's own identity for
  an identity-based datastore. The account URL is ``{protocol}://{account}.blob.{endpoint}`` as
  the datastore gives them, which also holds for sovereign clouds and for the local emulator's
  storage URL trick (v2-wire.md §5).

Files are compared by relative path and SHA-256; for two small text files the first
differing line is shown.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate_kit.convert.model import OutputLink
from migrate_kit.errors import MigrateKitError
from migrate_kit.v1.runs import OutputLocation, output_location

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from migrate_kit.v1.client import PipelinesClient

__all__ = ["FileDigest", "Files", "OutputReader", "compare_outputs"]

logger = logging.getLogger(__name__)

#: Files up to this size are read again to show the first differing line.
TEXT_DIFF_LIMIT = 256 * 1024
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileDigest:
    """One downloaded file: where it is, its size and its SHA-256."""

    path: Path
    size: int
    sha256: str


#: An output's files by path relative to the output's folder (``/`` separated).
Files = dict[str, FileDigest]


def files_under(folder: Path) -> Files:
    """Every file under ``folder`` (none when it does not exist), digested."""
    found: Files = {}
    if not folder.is_dir():
        return found
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        relative = path.relative_to(folder).as_posix()
        found[relative] = FileDigest(path, path.stat().st_size, digest.hexdigest())
    return found


class OutputReader:
    """Downloads the outputs of one v2 job and one v1 run into local folders (a context
    manager: the storage clients it opened are closed at the end)."""

    def __init__(self, ml_client: Any, v1_client: PipelinesClient) -> None:
        self.ml = ml_client
        self.v1 = v1_client
        self._containers: dict[tuple[str | None, str | None, str | None], ContainerClient] = {}

    def __enter__(self) -> OutputReader:
        return self

    def __exit__(self, *args: object) -> None:
        for container in self._containers.values():
            container.close()
        self._containers.clear()

    # -- v2 ----------------------------------------------------------------------------------

    def v2_outputs(
        self, job_name: str, links: Sequence[OutputLink], folder: Path
    ) -> dict[str, Files | None]:
        """Each link's v2 files (by ``link_key``), None when the output cannot be found."""
        children: dict[str, str] = {}
        for child in self.ml.jobs.list(parent_job_name=job_name):
            children.setdefault(str(child.display_name), str(child.name))
        found: dict[str, Files | None] = {}
        for link in links:
            files: Files | None = None
            if link.pipeline_output:
                files = self._download(job_name, link.pipeline_output, folder / "pipeline")
            # A step output bound to a pipeline output is the job's output; whether the live
            # service also lists it on the step's child job is unconfirmed (the emulator does),
            # so the child is asked when the job gave nothing.
            child = children.get(link.v1_step) or children.get(link.job)
            if not files and child is not None:
                files = self._download(child, link.output, folder / link.job)
            found[link_key(link)] = files if files or child is not None else None
        return found

    def _download(self, job_name: str, output: str, folder: Path) -> Files:
        self.ml.jobs.download(job_name, output_name=output, download_path=folder)
        return files_under(folder / "named-outputs" / output)

    # -- v1 ----------------------------------------------------------------------------------

    def v1_outputs(
        self, run_id: str, links: Sequence[OutputLink], folder: Path
    ) -> dict[str, Files | None]:
        """Each link's v1 files (by ``link_key``), None when the run lists no such output."""
        by_node: dict[str, Mapping[str, Any]] = {}
        found: dict[str, Files | None] = {}
        for link in links:
            if link.v1_node_id not in by_node:
                by_node[link.v1_node_id] = self.v1.get_node_outputs(run_id, link.v1_node_id) or {}
            output = by_node[link.v1_node_id].get(link.v1_port)
            location = output_location(output) if isinstance(output, Mapping) else None
            if location is None:
                found[link_key(link)] = None
                continue
            target = folder / link.job / link.output
            self._download_folder(location, target)
            found[link_key(link)] = files_under(target)
        return found

    def _download_folder(self, location: OutputLocation, target: Path) -> None:
        container = self._container(location)
        prefix = location.path + "/" if location.path else ""
        for blob in container.list_blobs(name_starts_with=prefix, include=["metadata"]):
            metadata = getattr(blob, "metadata", None) or {}
            if metadata.get("hdi_isfolder") == "true":  # a folder marker of a hierarchical account
                continue
            path = target / str(blob.name)[len(prefix) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                container.download_blob(blob.name).readinto(handle)

    def _container(self, location: OutputLocation) -> ContainerClient:
        key = (location.datastore, location.account, location.container)
        if key not in self._containers:
            self._containers[key] = self._open_container(location)
        return self._containers[key]

    def _open_container(self, location: OutputLocation) -> ContainerClient:
        from azure.storage.blob import ContainerClient

        name = location.datastore or self._datastore_of(location)
        datastore = self.ml.datastores.get(name, include_secrets=True)
        container = getattr(datastore, "container_name", None) or getattr(
            datastore, "filesystem", None
        )  # a blob container, or an ADLS Gen2 file system (read through its blob endpoint)
        account = getattr(datastore, "account_name", None)
        if not container or not account:
            raise MigrateKitError(
                f"datastore {name!r} is a {datastore.type} datastore; the v1 outputs on it "
                "cannot be read (only blob and ADLS Gen2 datastores can)"
            )
        protocol = getattr(datastore, "protocol", None) or "https"
        endpoint = getattr(datastore, "endpoint", None) or "core.windows.net"
        url = f"{protocol}://{account}.blob.{endpoint}"
        return ContainerClient(url, container, credential=self._credential(datastore))

    def _datastore_of(self, location: OutputLocation) -> str:
        """The datastore on the output's account and container (the service named none)."""
        for datastore in self.ml.datastores.list():
            account = getattr(datastore, "account_name", None)
            container = getattr(datastore, "container_name", None) or getattr(
                datastore, "filesystem", None
            )
            if (account, container) == (location.account, location.container):
                return str(datastore.name)
        raise MigrateKitError(
            f"no datastore of the workspace holds the v1 output at {location.account}/"
            f"{location.container}/{location.path}; register one for that container"
        )

    def _credential(self, datastore: Any) -> Any:
        credentials = getattr(datastore, "credentials", None)
        for attribute in ("sas_token", "account_key"):
            secret = getattr(credentials, attribute, None)
            if secret:
                return secret
        # An identity-based datastore: the caller's identity needs Storage Blob Data Reader.
        return self.v1.settings.credential


def link_key(link: OutputLink) -> str:
    """How an output is named in messages: ``<v1 step>/<v1 port>``."""
    return f"{link.v1_step}/{link.v1_port}"


def compare_outputs(
    links: Sequence[OutputLink],
    v1: Mapping[str, Files | None],
    v2: Mapping[str, Files | None],
) -> tuple[list[str], int, int]:
    """The differences (one line each), and how many outputs and files were compared."""
    differences: list[str] = []
    outputs = files = 0
    for link in links:
        key = link_key(link)
        ours, theirs = v1.get(key), v2.get(key)
        if ours is None:
            differences.append(f"{key}: the v1 run lists no such output")
            continue
        if theirs is None:
            differences.append(f"{key}: the v2 job has no step {link.job!r} to read it from")
            continue
        outputs += 1
        only_v1, only_v2 = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
        if only_v1:
            differences.append(f"{key}: only in v1: {_names(only_v1)}")
        if only_v2:
            differences.append(f"{key}: only in v2: {_names(only_v2)}")
        for name in sorted(set(ours) & set(theirs)):
            files += 1
            if ours[name].sha256 != theirs[name].sha256:
                differences.append(f"{key}/{name} {file_difference(ours[name], theirs[name])}")
    return differences, outputs, files


def file_difference(v1: FileDigest, v2: FileDigest) -> str:
    """How two files differ: the first differing line of small text files, else the sizes
    and digests."""
    digests = f"differs: {v1.size} vs {v2.size} bytes (sha256 {v1.sha256[:12]} vs {v2.sha256[:12]})"
    if max(v1.size, v2.size) > TEXT_DIFF_LIMIT:
        return digests
    try:
        ours = v1.path.read_text(encoding="utf-8").splitlines()
        theirs = v2.path.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError):
        return digests  # not text
    for number, (one, other) in enumerate(zip(ours, theirs, strict=False), start=1):
        if one != other:
            return f"differs at line {number}: v1 {_clip(one)}, v2 {_clip(other)}"
    if len(ours) != len(theirs):
        return f"differs: v1 has {len(ours)} lines, v2 {len(theirs)}"
    return f"{digests}; the lines are equal (line endings or a final newline differ)"


def _clip(line: str, width: int = 60) -> str:
    return repr(line if len(line) <= width else line[: width - 1] + "…")


def _names(names: list[str], shown: int = 5) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" (and {more} more)" if more > 0 else "")
