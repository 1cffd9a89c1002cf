"""Save a workspace's v1 pipelines, endpoints and code into a folder the emulator can seed from.

``capture(connection, out)`` reads the workspace over migrate_kit's own v1 client (never the v1
SDK, never the emulator package) and writes a *sample folder*, so a team can rehearse its
migration offline with ``migrate-kit emulator serve --sample <out>``.

The sample format (a contract with ``migrate_kit.emulator.seed`` and ``Store.import_capture``;
``tests/test_capture.py`` proves the emulator loads what is written here):

- ``workspace.json``: one JSON object with the keys the emulator's ``load_config`` reads:
  ``subscription_id``, ``resource_group``, ``workspace_name`` and, when known,
  ``region``, ``tenant_id``, ``workspace_id``, ``storage_account``. Missing keys take the
  emulator's defaults.
- ``capture/state.json``: ``{"format": 1, "entities": {kind: [{"key", "body"}]}, "blobs":
  [{"account", "container", "path", "sha256", "properties"}]}``, UTF-8, where ``kind`` is one of

  - ``pipelines.pipeline`` (key: pipeline ``Id``), body as ``GET /Pipelines/{id}`` returned it;
  - ``pipelines.graph`` (key: the pipeline's ``GraphId``), body of ``GET /Graphs/{id}``;
  - ``pipelines.graph_interface`` (key: the same graph id), body of
    ``GET /Graphs/{id}/Interface``;
  - ``pipelines.module`` (key: module id), the ``{"Data", "Interface"}`` body of
    ``GET /Modules/{id}``;
  - ``pipelines.data_source`` (key: data source ``Id``), body of ``GET /DataSources/{id}``;
  - ``pipelines.endpoint`` (key: endpoint ``Id``), one entity of ``GET /PipelineEndpoints``;
  - ``content.snapshot`` (key: snapshot id): ``{"id", "parentSnapshotId": null, "root":
    <DirTreeNode>, "files": {path: {"account", "container", "path", "size"}}, "tags",
    "properties", "createdTime"}``, the form the emulator's content family stores.

- ``capture/blobs/<sha256>``: the bytes of each blob of the manifest. Snapshot files are blobs in
  container ``snapshots`` at ``<snapshot id>/<path in the snapshot>`` of the storage account
  named in ``workspace.json``.
- ``README.md``: what was captured, when, from where, and how to serve it.
- ``datastore/``: nothing is written into it. Datastore files are not downloaded: they can
  be large, and a datastore may hold data the team must not copy off the workspace; a team
  copies what it needs there (``datastore/<path>`` becomes ``<path>`` in the default datastore
  when the emulator seeds). ``with_data=True`` creates the empty folder and lists the
  datastore paths the captured pipelines read in the README.

Entity bodies are the wire JSON as the service returned it, with one change: every string
value goes through ``migrate_kit.redact.redact``, so a SAS query, token or named key held in an
entity never reaches the folder (each change is reported as a warning, by field, not value).
Only datastore names and paths, never data or credentials, are in the entities.

Selection: the rules of ``migrate-kit plan --select`` (``migrate_kit.convert.select_pipelines``).
An endpoint is captured when one of its versions runs a captured pipeline, with only those
versions; its ``DefaultVersion`` is kept as the service sent it, and when the default's
pipeline was not selected a warning says so (the kit then reports the default as missing on
that endpoint). Selecting an endpoint by name selects all its versions.

A pipeline whose graph, interface, module, data source or snapshot cannot be read is captured
as far as it goes, with a warning; the others continue. Only the two listings (pipelines and
endpoints) raise.

Known shortcomings: snapshots are rebuilt from their zip, so the tree's hashes and timestamps,
the snapshot's tags and properties and empty folders are not captured (the emulator checks
none of them); a whole snapshot zip is held in memory while it is stored; custom data types
(``GET /DataTypes``) are not captured; the code is copied as it is, so a secret written into a
team's own source file stays in it.
"""

from __future__ import annotations

import io
import logging
import threading
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate_kit.capture.readme import datastore_paths, render_readme
from migrate_kit.capture.sample_format import (
    CAPTURE_FORMAT,
    DATA_SOURCE,
    ENDPOINT,
    GRAPH,
    INTERFACE,
    MODULE,
    PIPELINE,
    SampleState,
    write_sample,
)
from migrate_kit.errors import ConfigurationError, MigrateKitError, strip_query
from migrate_kit.v1.parse import data_source_ids, module_ids, parse_endpoint, parse_pipeline

if TYPE_CHECKING:
    from migrate_kit.connection import Connection
    from migrate_kit.v1.client import PipelinesClient

__all__ = [
    "CAPTURE_FORMAT",
    "CaptureResult",
    "PipelineCapture",
    "Progress",
    "capture",
]

logger = logging.getLogger(__name__)

#: The storage account written when the workspace's own cannot be read.
FALLBACK_STORAGE_ACCOUNT = "stcapture"


@dataclass(frozen=True)
class PipelineCapture:
    """What was captured of one published pipeline; ``warnings`` say what is missing."""

    id: str
    name: str
    version: str | None
    modules: int = 0
    data_sources: int = 0
    snapshots: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """True when everything the pipeline names was read."""
        return not self.warnings


#: ``progress(done, total, pipeline)``, called once per pipeline as it is finished.
Progress = Callable[[int, int, PipelineCapture], None]


@dataclass(frozen=True)
class CaptureResult:
    """The folder written, what is in it, and every warning (pipeline ones included).

    ``source`` names the workspace, ``service_url`` the v1 pipelines service it was read from.
    """

    out: Path
    captured_at: str
    source: str
    service_url: str
    pipelines: tuple[PipelineCapture, ...]
    endpoints: tuple[str, ...]
    snapshots: int
    blobs: int
    warnings: tuple[str, ...] = ()

    @property
    def partial(self) -> tuple[PipelineCapture, ...]:
        """The pipelines captured only in part."""
        return tuple(p for p in self.pipelines if not p.complete)


def capture(
    source: Connection | PipelinesClient,
    out: Path | str,
    *,
    select: Sequence[str] = (),
    all: bool = True,  # the option's name on the command line too
    with_data: bool = False,
    progress: Progress | None = None,
    max_workers: int = 8,
) -> CaptureResult:
    """Capture the workspace's v1 pipelines, endpoints and code into ``out`` (module docstring).

    ``source`` is a :class:`~migrate_kit.connection.Connection` (the workspace identity is then
    read from ARM too) or a ready ``PipelinesClient`` (only its three ids are known; the
    emulator's defaults fill in the rest). ``select`` patterns choose pipelines; without them
    ``all`` must be True. ``out`` must be empty, missing, or an earlier capture (its
    ``capture/``, ``workspace.json`` and ``README.md`` are replaced; ``datastore/`` is kept).
    ``max_workers`` pipelines are read at once.
    """
    if not select and not all:
        raise ConfigurationError(
            "Say which pipelines to capture: give one or more --select NAME|ID|GLOB, or --all."
        )
    out = Path(out)
    _check_out(out)
    client, owned, identity, warnings = _open(source)
    try:
        listing = client.list_pipelines(active_only=False)
        endpoint_rows = client.list_endpoints(active_only=False)
        chosen = _select(listing, endpoint_rows, select, warnings)
        session = _Session(client)
        results = _read_pipelines(session, chosen, max_workers, progress)
    finally:
        if owned:
            client.close()

    captured_ids = {str(row.get("Id")) for row in chosen}
    endpoints = _trim_endpoints(endpoint_rows, captured_ids, warnings)
    state = SampleState(warnings)
    _assemble(state, session, results, endpoints, identity["storage_account"])
    for item in results:
        warnings.extend(f"{item.summary.name} {item.summary.version}: {w}" for w in item.warnings)

    captured_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = CaptureResult(
        out=out,
        captured_at=captured_at,
        source=client.describe_workspace(),
        service_url=strip_query(client.settings.base_url),
        pipelines=tuple(item.summary for item in results),
        endpoints=tuple(str(e.get("Name")) for e in endpoints),
        snapshots=len(state.snapshots),
        blobs=len(state.blobs),
        warnings=tuple(warnings),
    )
    paths = datastore_paths(state.entities.get(DATA_SOURCE, []), state.entities.get(INTERFACE, []))
    readme = render_readme(result, paths, with_data)
    write_sample(out, identity, state, readme, with_data=with_data)
    logger.info(
        "Captured %d pipelines, %d endpoints and %d snapshots of %s into %s",
        len(result.pipelines), len(result.endpoints), result.snapshots, result.source, out,
    )  # fmt: skip
    return result


# -- reading ---------------------------------------------------------------------------------


class _Once:
    """Thread-safe fetch-once cache: ``get(key)`` runs ``load(key)`` once, failures included."""

    def __init__(self, load: Callable[[str], Any]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Any]] = {}

    def get(self, key: str) -> Any:
        """The value, or raises what loading it raised (to every asker)."""
        with self._lock:
            future = self._futures.get(key)
            mine = future is None
            if future is None:
                future = self._futures[key] = Future()
        if mine:
            try:
                future.set_result(self._load(key))
            except BaseException as exc:  # waiters must never hang; the owner re-raises below
                future.set_exception(exc)
        return future.result()

    def loaded(self, key: str) -> Any | None:
        """The value if it was loaded without error, else None."""
        future = self._futures.get(key)
        if future is None or future.exception() is not None:
            return None
        return future.result()


class _Session:
    """The client and the per-capture caches of entities shared between pipelines."""

    def __init__(self, client: PipelinesClient) -> None:
        self.client = client
        self.modules = _Once(client.get_module)
        self.data_sources = _Once(client.get_data_source)
        self.snapshots = _Once(client.download_snapshot)


@dataclass
class _Read:
    """One pipeline's entities as read, and the ids of what it shares with others."""

    summary: PipelineCapture
    pipeline: dict[str, Any]
    graph: dict[str, Any] | None = None
    interface: dict[str, Any] | None = None
    module_ids: list[str] = field(default_factory=list)
    data_source_ids: list[str] = field(default_factory=list)
    snapshot_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _read_pipelines(
    session: _Session, chosen: list[dict[str, Any]], max_workers: int, progress: Progress | None
) -> list[_Read]:
    """Read every chosen pipeline on a few threads; ``progress`` runs on the caller's thread."""
    results: list[_Read | None] = [None] * len(chosen)
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        futures = {pool.submit(_read_one, session, row): i for i, row in enumerate(chosen)}
        for done, future in enumerate(as_completed(futures), start=1):
            item = future.result()
            results[futures[future]] = item
            for warning in item.warnings:
                logger.warning("Pipeline %r %s: %s", item.summary.name, item.summary.version,
                               warning)  # fmt: skip
            if progress is not None:
                progress(done, len(chosen), item.summary)
    return [item for item in results if item is not None]


def _read_one(session: _Session, listed: dict[str, Any]) -> _Read:
    """Read one pipeline as far as it goes; failures become warnings, never exceptions."""
    client = session.client
    pipeline_id = str(listed.get("Id") or "")
    read = _Read(_summary(listed), listed)
    try:
        read.pipeline = client.get_pipeline(pipeline_id)
    except MigrateKitError as exc:
        read.warnings.append(f"it could not be read by id, the listing's entity is kept ({exc})")

    graph_id = read.pipeline.get("GraphId")
    if not graph_id:
        read.warnings.append("the pipeline names no GraphId; no graph was captured")
        return _finish(read)
    try:
        read.graph = client.get_graph(str(graph_id))
    except MigrateKitError as exc:
        read.warnings.append(f"its graph {graph_id} could not be read: {exc}")
        return _finish(read)
    try:
        read.interface = client.get_graph_interface(str(graph_id))
    except MigrateKitError as exc:
        read.warnings.append(f"the interface of graph {graph_id} could not be read: {exc}")

    for module_id in module_ids(read.graph):
        try:
            module = session.modules.get(module_id)
        except MigrateKitError as exc:
            read.warnings.append(f"module {module_id} could not be read: {exc}")
            continue
        read.module_ids.append(module_id)
        snapshot_id = _snapshot_id(module)
        if snapshot_id is None:
            continue
        try:
            zipped = session.snapshots.get(snapshot_id)
        except MigrateKitError as exc:
            read.warnings.append(f"code snapshot {snapshot_id} could not be downloaded: {exc}")
            continue
        if zipfile.is_zipfile(io.BytesIO(zipped)):
            read.snapshot_ids.append(snapshot_id)
        else:
            read.warnings.append(f"code snapshot {snapshot_id} did not download as a zip")

    for source_id in data_source_ids(read.graph):
        try:
            session.data_sources.get(source_id)
            read.data_source_ids.append(source_id)
        except MigrateKitError as exc:
            read.warnings.append(f"data source {source_id} could not be read: {exc}")
    return _finish(read)


def _summary(row: dict[str, Any], **counts: Any) -> PipelineCapture:
    version = row.get("Version")
    return PipelineCapture(
        id=str(row.get("Id") or ""),
        name=str(row.get("Name") or ""),
        version=None if version is None else str(version),
        **counts,
    )


def _finish(read: _Read) -> _Read:
    read.summary = _summary(
        read.pipeline,
        modules=len(read.module_ids),
        data_sources=len(read.data_source_ids),
        snapshots=len(read.snapshot_ids),
        warnings=tuple(read.warnings),
    )
    return read


def _snapshot_id(module: Any) -> str | None:
    """The module's code snapshot id (``Data.DataLocation.StorageId``), as the reader finds it."""
    data = module.get("Data") if isinstance(module, dict) else None
    location = data.get("DataLocation") if isinstance(data, dict) else None
    storage_id = location.get("StorageId") if isinstance(location, dict) else None
    return str(storage_id) if storage_id else None


def _select(
    listing: list[Any], endpoints: list[Any], select: Sequence[str], warnings: list[str]
) -> list[dict[str, Any]]:
    """The listed pipeline entities the patterns select (every one without patterns)."""
    from migrate_kit.convert.plan import select_pipelines

    rows = [row for row in listing if isinstance(row, dict)]
    if not select:
        return rows
    models = [parse_pipeline(row) for row in rows]
    chosen, unmatched = select_pipelines(models, [parse_endpoint(e) for e in endpoints], select)
    if not chosen:
        patterns = ", ".join(repr(p) for p in unmatched)
        raise ConfigurationError(
            f"{patterns} matched no published pipeline; `migrate-kit inventory` lists their "
            "names and ids."
        )
    warnings.extend(f"{pattern!r} matched no published pipeline" for pattern in unmatched)
    ids = {p.id for p in chosen}
    return [row for row, model in zip(rows, models, strict=True) if model.id in ids]


def _trim_endpoints(
    rows: list[Any], captured: set[str], warnings: list[str]
) -> list[dict[str, Any]]:
    """Endpoints running a captured pipeline, with only the versions that do."""
    kept = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        versions = [v for v in row.get("PipelineVersionList") or [] if isinstance(v, dict)]
        chosen = [v for v in versions if str(v.get("PipelineId")) in captured]
        if not chosen:
            continue
        if len(chosen) < len(versions):
            row = {**row, "PipelineVersionList": chosen}
            default = row.get("DefaultVersion")
            if default is not None and str(default) not in {str(v.get("Version")) for v in chosen}:
                warnings.append(
                    f"endpoint {row.get('Name')!r}: its default version {default} runs a "
                    "pipeline that was not selected; the capture keeps the default as it is, "
                    "so the endpoint has no default version offline"
                )
        kept.append(row)
    return kept


# -- assembling and writing ------------------------------------------------------------------


def _assemble(
    state: SampleState,
    session: _Session,
    results: list[_Read],
    endpoints: list[dict[str, Any]],
    account: str,
) -> None:
    """Entities in listing order (shared ones where first named), then the endpoints.

    Graphs and interfaces are keyed by the pipeline's ``GraphId``: the id the reader asks for.
    """
    for item in results:
        state.add(PIPELINE, str(item.pipeline.get("Id") or item.summary.id), item.pipeline)
        graph_id = str(item.pipeline.get("GraphId") or "")
        if item.graph is not None:
            state.add(GRAPH, graph_id, item.graph)
        if item.interface is not None:
            state.add(INTERFACE, graph_id, item.interface)
        for module_id in item.module_ids:
            state.add(MODULE, module_id, session.modules.loaded(module_id))
        for source_id in item.data_source_ids:
            state.add(DATA_SOURCE, source_id, session.data_sources.loaded(source_id))
        for snapshot_id in item.snapshot_ids:
            zipped = session.snapshots.loaded(snapshot_id)
            if isinstance(zipped, bytes):
                state.add_snapshot(snapshot_id, zipped, account)
    for endpoint in endpoints:
        state.add(ENDPOINT, str(endpoint.get("Id")), endpoint)


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigurationError(f"{out} is a file; give a folder to capture into.")
    if out.is_dir():
        names = {p.name for p in out.iterdir()}
        if names and not (out / "capture" / "state.json").is_file():
            raise ConfigurationError(
                f"{out} is not empty and holds no earlier capture; give an empty or new folder."
            )


# -- the source ------------------------------------------------------------------------------


def _open(
    source: Connection | PipelinesClient,
) -> tuple[PipelinesClient, bool, dict[str, str], list[str]]:
    """The client (and whether we close it), the workspace identity, and warnings so far."""
    from migrate_kit.connection import Connection

    warnings: list[str] = []
    if isinstance(source, Connection):
        identity = _identity_from_arm(source, warnings)
        return source.v1_client(), True, identity, warnings
    identity = {
        "subscription_id": source.subscription_id,
        "resource_group": source.resource_group,
        "workspace_name": source.workspace_name,
        "storage_account": FALLBACK_STORAGE_ACCOUNT,
    }
    warnings.append(
        "captured from a bare v1 client: the workspace's region, tenant and workspace id are "
        "not known, so the emulator uses its defaults for them"
    )
    return source, False, identity, warnings


def _identity_from_arm(connection: Connection, warnings: list[str]) -> dict[str, str]:
    """The ids of ``workspace.json`` from the ARM workspace resource (one GET)."""
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy

    # The connection's own ARM GET (used for service discovery) maps errors to one line.
    from migrate_kit.connection import _get_json

    ref = connection.workspace
    identity = {
        "subscription_id": ref.subscription_id,
        "resource_group": ref.resource_group,
        "workspace_name": ref.workspace_name,
    }
    policies: list[Any] = [
        RetryPolicy(retry_total=2, retry_backoff_factor=0.5, retry_backoff_max=10),
        BearerTokenCredentialPolicy(connection.get_credential(), connection.arm_scope),
    ]
    url = f"{connection.arm_url.rstrip('/')}{ref.arm_path}"
    client: Any  # azure-core's generics do not express rest.HttpRequest here
    try:
        with PipelineClient(connection.arm_url, policies=policies) as client:
            resource = _get_json(connection, client, url, "the workspace resource")
    except MigrateKitError as exc:
        warnings.append(f"the workspace resource could not be read ({exc}); region, tenant and "
                        "workspace id take the emulator's defaults")  # fmt: skip
        identity["storage_account"] = FALLBACK_STORAGE_ACCOUNT
        return identity

    properties = resource.get("properties") or {}
    found = {
        "region": resource.get("location") or connection.region,
        "tenant_id": properties.get("tenantId") or (resource.get("identity") or {}).get("tenantId"),
        "workspace_id": properties.get("workspaceId"),
        "storage_account": str(properties.get("storageAccount") or "").rsplit("/", 1)[-1],
    }
    identity.update({key: str(value) for key, value in found.items() if value})
    identity.setdefault("storage_account", FALLBACK_STORAGE_ACCOUNT)
    return identity
