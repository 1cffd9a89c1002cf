"""State and rules of the emulated v1 pipelines service (reference §2.1, §3, §10, §11).

Entities live in the Store as the wire JSON the service serves, under the kinds named in
``KINDS``; modules are stored as the ``{"Data", "Interface"}`` wrapper of ``GET /Modules/{id}``.
Methods are named after the REST operations; ``routes.py`` maps URLs to them.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable
from typing import Any

from migrate_kit.emulator.config import Context
from migrate_kit.emulator.pipelines import wire
from migrate_kit.emulator.pipelines.base import (
    DATA_SOURCE,
    DATA_TYPE,
    GRAPH,
    INTERFACE,
    KINDS,
    MODULE,
    PIPELINE,
    json_object,
)
from migrate_kit.emulator.pipelines.endpoints import ENDPOINT, EndpointOperations
from migrate_kit.emulator.pipelines.errors import BadRequest, Conflict, NotFound
from migrate_kit.emulator.pipelines.nodes import NodeOperations

__all__ = ["KINDS", "PipelinesBackend", "backend_for"]

logger = logging.getLogger(__name__)

_STATUSES = {"active": "Active", "deprecated": "Deprecated", "disabled": "Disabled"}
_CREATION_ONLY = ("Graph", "GraphInterface", "GraphLayout", "CompositeNodesEnabled")
_MODULE_CREATION_ONLY = ("StorageId", "KvTags", "IsInterfaceOnly")
_SNAPSHOT = "content.snapshot"  # the content family's kind, read only for a warning

_backends: weakref.WeakKeyDictionary[Context, PipelinesBackend] = weakref.WeakKeyDictionary()
_backends_lock = threading.Lock()


def backend_for(ctx: Context) -> PipelinesBackend:
    """The one backend of ``ctx`` (made on first use), so tests can change its settings."""
    with _backends_lock:
        backend = _backends.get(ctx)
        if backend is None:
            backend = _backends[ctx] = PipelinesBackend(ctx)
        return backend


class PipelinesBackend(NodeOperations, EndpointOperations):
    """The v1 pipelines service of one workspace.

    Setting ``honour_batch_size`` (default True, or the config's ``honour_batch_size`` when it
    has one): ``GET /PipelineEndpoints`` returns at most ``BatchSize`` (request header)
    endpoints. Whether the live service truncates is unconfirmed; set it to False on
    ``backend_for(ctx)`` to return every endpoint whatever the header says.

    ``Url`` / ``SwaggerUrl`` of pipelines and endpoints are rebuilt from the emulator's current
    address on every read, so a capture made on another port still points at this emulator.
    ``add_published_pipeline`` / ``add_pipeline_endpoint`` store synthetic data without HTTP.

    Pipeline runs (``runs.py``, ``nodes.py``): a submission translates the graph into a
    ``PipelineSpec`` (``translate.py``) that the emulator's runner runs step by step.

    Not emulated: server-side paging or continuation tokens (lists return everything).
    Not emulated: the run's own graph: a run reports the published pipeline's ``GraphId``.
    Not emulated: ``parentRunId`` (kept in the run's properties only), schedules, run reuse of
    unchanged steps (``allow_reuse``), and the legacy Experiments/* submit routes.
    Not emulated: registered and saved Azure ML datasets as step inputs (their steps fail
    with a message); only DataReference, DataPath and literal-path inputs on the default
    datastore are materialised.
    Not emulated: DataTransfer, Databricks, Kusto, ADLA, Azure Batch, HDInsight, Synapse,
    HyperDrive, AutoML and R steps: their jobs fail saying why; ParallelRunStep runs through
    the runner's local driver (file inputs only; a mini-batch size in bytes counts as 1 file).
    Not emulated: ``AZUREML_DATAREFERENCE_<name>`` environment variables (the placeholders in
    arguments are resolved); the error messages of refused submissions are inferred.
    Not emulated: schedules, pipeline drafts, graph drafts, templates, AzureMLModules registry.
    Not emulated: the legacy Experiments/* and PublishedPipelines/* routes.
    Not emulated: PUT Modules/{id}, PUT DataSources/{id}, DataSources/Hash, PUT DataTypes/{id}.
    Not emulated: Pipelines/{id}/View; GraphLayout sent with Pipelines/Create is dropped.
    Not emulated: validation of graphs beyond module and data source ids (ports, edges, types).
    Not emulated: DataSource locations for datastores other than blob and SQL (all are blob refs).
    Not emulated: permissions; any bearer token may read and write everything.
    Not emulated: case-insensitive endpoint names (lookups and the uniqueness check are exact;
    the live service's rule is unknown).
    """

    # -- data types ----------------------------------------------------------------------

    def list_data_types(self) -> list[dict[str, Any]]:
        """``GET /DataTypes``: the 11 built-in types, then any created ones."""
        now = "2020-01-01T00:00:00.0000000Z"
        defaults = [
            {**item, "EntityStatus": "Active", "CreatedDate": now, "LastModifiedDate": now}
            for item in wire.DEFAULT_DATA_TYPES
        ]
        created = [
            {**t, "EntityStatus": wire.status_name(t.get("EntityStatus"))}
            for t in self.store.list(DATA_TYPE)
        ]
        return defaults + created

    def create_data_type(self, body: Any) -> dict[str, Any]:
        """``POST /DataTypes``: store a new type; 409 if the id exists (built-in or created)."""
        creation = json_object(body, "DataTypeCreationInfo")
        type_id = creation.get("Id")
        if not isinstance(type_id, str) or not type_id:
            raise BadRequest("DataTypeCreationInfo.Id is required (a non-empty string).")
        with self._lock:
            builtin = {t["Id"] for t in wire.DEFAULT_DATA_TYPES}
            if type_id in builtin or self.store.get(DATA_TYPE, type_id) is not None:
                raise Conflict(f"DataType '{type_id}' already exists.", target="Id")
            entity = {**creation, "EntityStatus": "Active"}
            self._stamp(entity, created=True)
            self.store.put(DATA_TYPE, type_id, entity)
        return entity

    # -- published pipelines -------------------------------------------------------------

    def list_pipelines(self, *, active_only: bool) -> list[dict[str, Any]]:
        """``GET /Pipelines?activeOnly=``: every published pipeline, or only Active ones."""
        entities = self.store.list(PIPELINE)
        if active_only:
            entities = [e for e in entities if self._is_active(e)]
        return [self._serve_pipeline(e) for e in entities]

    def get_pipeline(self, pipeline_id: str) -> dict[str, Any]:
        """``GET /Pipelines/{id}``."""
        return self._serve_pipeline(self._require(PIPELINE, pipeline_id, "Pipeline"))

    def update_pipeline_status(self, pipeline_id: str, status: Any) -> None:
        """``PUT /Pipelines/{id}/status`` with a JSON string ``Active``/``Disabled``/``Deprecated``.

        Numeric forms (``0``/``1``/``2``) are accepted too; the name is stored.
        """
        name = wire.status_name(status)
        if not isinstance(name, str) or name.lower() not in _STATUSES:
            raise BadRequest(
                f"Invalid pipeline status {status!r}: expected one of Active, Deprecated, "
                "Disabled (a JSON string)."
            )
        with self._lock:
            entity = self._require(PIPELINE, pipeline_id, "Pipeline")
            entity["EntityStatus"] = _STATUSES[name.lower()]
            self._stamp(entity, created=False)
            self.store.put(PIPELINE, pipeline_id, entity)

    def create_pipeline(self, body: Any) -> dict[str, Any]:
        """``POST /Pipelines/Create`` (``PipelineCreationInfo`` with the graph embedded).

        Assigns ``Id``, ``GraphId``, ``Etag``, dates, ``EntityStatus: Active``,
        ``TotalRunSteps`` (module node count) and ``ParameterAssignments`` (from the interface
        defaults, see ``wire.parameter_assignments``). The graph (with its own id and dates) and
        its interface are stored separately under ``GraphId``. Every ``ModuleId`` and data
        source ``DatasetId`` of the graph must exist.
        """
        creation = json_object(body, "PipelineCreationInfo")
        graph = json_object(creation.get("Graph"), "PipelineCreationInfo.Graph")
        interface = json_object(creation.get("GraphInterface") or {}, "GraphInterface")
        self._check_graph_references(graph)

        entity = {k: v for k, v in creation.items() if k not in _CREATION_ONLY}
        entity["Id"] = self.ctx.new_id()
        entity["GraphId"] = self.ctx.new_id()
        entity["EntityStatus"] = "Active"
        entity["TotalRunSteps"] = len(graph.get("ModuleNodes") or [])
        entity["ParameterAssignments"] = wire.parameter_assignments(
            interface, creation.get("ParameterAssignments")
        )
        entity.setdefault("DataSetDefinitionValueAssignments", {})
        entity.setdefault("Properties", {})
        self._stamp(entity, created=True)
        stored_graph = {**graph, "Id": entity["GraphId"], "EntityStatus": "Active"}
        self._stamp(stored_graph, created=True)

        with self.store.transaction():
            self.store.put(GRAPH, entity["GraphId"], stored_graph)
            self.store.put(INTERFACE, entity["GraphId"], interface)
            self.store.put(PIPELINE, entity["Id"], entity)
        logger.debug("Created pipeline %s (graph %s)", entity["Id"], entity["GraphId"])
        return self._serve_pipeline(entity)

    def _check_graph_references(self, graph: dict[str, Any]) -> None:
        """400 when a node names a module or data source that does not exist."""
        for node in graph.get("ModuleNodes") or []:
            module_id = node.get("ModuleId") if isinstance(node, dict) else None
            if not module_id or self.store.get(MODULE, module_id) is None:
                raise BadRequest(
                    f"Graph module node {node.get('Id') if isinstance(node, dict) else node!r} "
                    f"references module '{module_id}', which does not exist; create it with "
                    "POST /Modules first.",
                    target="Graph.ModuleNodes",
                )
        for node in graph.get("DatasetNodes") or []:
            source_id = node.get("DatasetId") if isinstance(node, dict) else None
            if source_id and self.store.get(DATA_SOURCE, source_id) is None:
                raise BadRequest(
                    f"Graph dataset node {node.get('Id')!r} references data source "
                    f"'{source_id}', which does not exist; create it with POST /DataSources.",
                    target="Graph.DatasetNodes",
                )

    # -- graphs, modules, data sources ---------------------------------------------------

    def get_graph(self, graph_id: str) -> dict[str, Any]:
        """``GET /Graphs/{id}`` (node ``ValueType`` numeric)."""
        return wire.serve_graph(self._require(GRAPH, graph_id, "Graph"))

    def get_graph_interface(self, graph_id: str) -> dict[str, Any]:
        """``GET /Graphs/{id}/Interface`` (parameter ``Type`` numeric)."""
        return wire.serve_interface(self._require(INTERFACE, graph_id, "Graph interface"))

    def get_module(self, module_id: str) -> dict[str, Any]:
        """``GET /Modules/{id}``: the ``{"Data", "Interface"}`` wrapper."""
        return wire.serve_module(self._require(MODULE, module_id, "Module"))

    def get_graph_json(self, graph_id: str) -> bytes:
        """``get_graph`` as the JSON bytes of the answer (cached; see ``served.py``)."""
        return self._require_json(GRAPH, graph_id, "Graph")

    def get_graph_interface_json(self, graph_id: str) -> bytes:
        """``get_graph_interface`` as the JSON bytes of the answer."""
        return self._require_json(INTERFACE, graph_id, "Graph interface")

    def get_module_json(self, module_id: str) -> bytes:
        """``get_module`` as the JSON bytes of the answer."""
        return self._require_json(MODULE, module_id, "Module")

    def get_module_by_hash(self, identifier_hash: str) -> dict[str, Any]:
        """``GET /Modules/Hash/{h}``: a module with that ``IdentifierHash``, else 404.

        The oldest completed module wins; without one, the oldest module (the SDK reuses a hit
        only when its ``UploadState`` is completed, and creates a new module otherwise).
        """
        found = self.store.find(MODULE, "Data.IdentifierHash", identifier_hash)
        found += self.store.find(MODULE, "IdentifierHash", identifier_hash)
        if not found:
            raise NotFound(
                f"No module with identifier hash '{identifier_hash}' exists.", target="Module"
            )
        served = [wire.serve_module(module) for module in found]
        completed = [m for m in served if wire.is_upload_completed(m["Data"].get("UploadState"))]
        return (completed or served)[0]

    def create_module(self, body: Any) -> dict[str, Any]:
        """``POST /Modules``: store a module; answer the bare ``ModuleEntity``.

        ``UploadState`` is ``Completed`` at once. ``DataLocation`` is ``{"StorageType":
        "Snapshot", "StorageId": <creation StorageId>}`` (inferred: the SDK never reads it back;
        interface-only modules get no location). ``KvTags`` become ``tags``; ``StorageId`` and
        ``IsInterfaceOnly`` are creation-only keys and are not served.
        """
        creation = json_object(body, "ModuleCreationInfo")
        if not creation.get("Name"):
            raise BadRequest("ModuleCreationInfo.Name is required.", target="Name")
        data = {k: v for k, v in creation.items() if k not in _MODULE_CREATION_ONLY}
        data["Id"] = self.ctx.new_id()
        data["UploadState"] = "Completed"
        data["EntityStatus"] = "Active"
        if creation.get("KvTags") is not None:
            data["tags"] = creation["KvTags"]
        storage_id = creation.get("StorageId")
        if storage_id:
            data["DataLocation"] = {"StorageType": "Snapshot", "StorageId": storage_id}
            if self.store.get(_SNAPSHOT, str(storage_id)) is None:
                # Accepted like the service would, but the code cannot be downloaded later.
                logger.warning(
                    "Module %r references snapshot %s, which this emulator does not have; a "
                    "client snapshot cache from before a reset? (give the client a fresh HOME)",
                    creation.get("Name"),
                    storage_id,
                )
        self._stamp(data, created=True)
        interface = wire.module_interface(creation.get("StructuredInterface") or {})
        self.store.put(MODULE, data["Id"], {"Data": data, "Interface": interface})
        return dict(data)

    def get_data_source(self, data_source_id: str) -> dict[str, Any]:
        """``GET /DataSources/{id}``."""
        return wire.serve_data_source(self._require(DATA_SOURCE, data_source_id, "DataSource"))

    def get_data_source_json(self, data_source_id: str) -> bytes:
        """``get_data_source`` as the JSON bytes of the answer."""
        return self._require_json(DATA_SOURCE, data_source_id, "DataSource")

    def create_data_source(self, body: Any) -> dict[str, Any]:
        """``POST /DataSources``: ``DataLocation`` built from datastore and path (inferred)."""
        creation = json_object(body, "DataSourceCreationInfo")
        if not creation.get("Name"):
            raise BadRequest("DataSourceCreationInfo.Name is required.", target="Name")
        keep = ("Name", "Description", "DataTypeId", "IdentifierHash")
        entity: dict[str, Any] = {key: creation.get(key) for key in keep}
        entity["Hash"] = creation.get("ContentHash")
        entity["Id"] = self.ctx.new_id()
        entity["UploadState"] = "Completed"
        entity["EntityStatus"] = "Active"
        entity["DataLocation"] = wire.data_source_location(creation)
        self._stamp(entity, created=True)
        self.store.put(DATA_SOURCE, entity["Id"], entity)
        return wire.serve_data_source(entity)

    # -- bulk path (benchmarks, seeding) --------------------------------------------------

    def add_published_pipeline(
        self,
        pipeline: dict[str, Any],
        graph: dict[str, Any],
        interface: dict[str, Any] | None = None,
        modules: Iterable[dict[str, Any]] = (),
        data_sources: Iterable[dict[str, Any]] = (),
    ) -> str:
        """Store a published pipeline with its graph, interface, modules and data sources.

        A fast path for synthetic data (benchmarks, seeding): no HTTP, no reference checks, one
        transaction, and the bodies are stored as given apart from what is missing: ids
        (``pipeline["GraphId"]`` is set to ``graph["Id"]``), ``Etag``, dates, ``EntityStatus``,
        ``TotalRunSteps`` and ``ParameterAssignments`` (from ``interface``). Modules may be
        wrappers ``{"Data", "Interface"}`` or bare ``ModuleEntity`` objects (their interface is
        derived); each needs an ``Id``, as does each data source. Returns the pipeline id.
        The top-level dicts are copied, nested values are shared: do not mutate them afterwards.
        About 2 ms per three-step pipeline; wrap many calls in ``store.transaction()`` freely.
        """
        pipeline, graph = dict(pipeline), dict(graph)
        graph.setdefault("Id", self.ctx.new_id())
        pipeline.setdefault("Id", self.ctx.new_id())
        pipeline["GraphId"] = graph["Id"]
        pipeline.setdefault("EntityStatus", "Active")
        pipeline.setdefault("TotalRunSteps", len(graph.get("ModuleNodes") or []))
        pipeline.setdefault("ParameterAssignments", wire.parameter_assignments(interface or {}))
        now = self.ctx.now_iso()
        for entity in (pipeline, graph):
            entity.setdefault("Etag", self.ctx.new_id())
            entity.setdefault("CreatedDate", now)
            entity.setdefault("LastModifiedDate", entity["CreatedDate"])

        with self.store.transaction():
            for module in modules:
                if "Data" not in module:
                    structured = module.get("StructuredInterface") or {}
                    module = {"Data": module, "Interface": wire.module_interface(structured)}
                self.store.put(MODULE, module["Data"]["Id"], module)
            for source in data_sources:
                self.store.put(DATA_SOURCE, source["Id"], source)
            self.store.put(GRAPH, graph["Id"], graph)
            self.store.put(INTERFACE, graph["Id"], interface or {})
            self.store.put(PIPELINE, pipeline["Id"], pipeline)
        return str(pipeline["Id"])

    def add_pipeline_endpoint(self, endpoint: dict[str, Any]) -> str:
        """Store a ``PipelineEndpointEntity`` as given (fast path; only ``Id`` is filled in)."""
        endpoint = dict(endpoint)
        endpoint.setdefault("Id", self.ctx.new_id())
        endpoint.setdefault("EntityStatus", "Active")
        self.store.put(ENDPOINT, endpoint["Id"], endpoint)
        return str(endpoint["Id"])
