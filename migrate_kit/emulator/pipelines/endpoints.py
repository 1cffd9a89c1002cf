"""Pipeline endpoint operations of the pipelines backend (reference §2.1 #5–#11, §3.2).

An endpoint is a named list of published pipelines (``PipelineVersionList``) with a
``DefaultVersion``; the SDK edits it by GET, change, PUT of the whole entity.
"""

from __future__ import annotations

import copy
from typing import Any

from migrate_kit.emulator.pipelines.base import ENDPOINT, PIPELINE, BackendBase, json_object
from migrate_kit.emulator.pipelines.errors import BadRequest, Conflict, NotFound

__all__ = ["ENDPOINT", "EndpointOperations"]

# Keys the server owns on PUT: the client's values are ignored.
_SERVER_KEYS = ("Id", "Url", "SwaggerUrl", "Etag", "CreatedDate", "LastModifiedDate")


class EndpointOperations(BackendBase):
    """``/PipelineEndpoints`` routes; mixed into ``PipelinesBackend``."""

    def list_pipeline_endpoints(
        self, *, active_only: bool, batch_size: str | None = None
    ) -> list[dict[str, Any]]:
        """``GET /PipelineEndpoints?activeOnly=`` with the SDK's ``BatchSize`` header.

        With ``honour_batch_size`` the answer holds at most ``BatchSize`` endpoints (the first
        ones in creation order); without it, the header is ignored.
        """
        limit = self._batch_size(batch_size)
        entities = self.store.list(ENDPOINT)
        if active_only:
            entities = [e for e in entities if self._is_active(e)]
        if self.honour_batch_size and limit is not None:
            entities = entities[:limit]
        return [self._serve_endpoint(e) for e in entities]

    @staticmethod
    def _batch_size(value: str | None) -> int | None:
        if value is None or value.strip() == "":
            return None
        try:
            size = int(value)
        except ValueError:
            size = 0
        if size < 1:
            raise BadRequest(
                f"Invalid BatchSize header {value!r}: expected a positive integer.",
                target="BatchSize",
            )
        return size

    def get_pipeline_endpoint_by_id(self, endpoint_id: str) -> dict[str, Any]:
        """``GET /PipelineEndpoints/Id/{id}``."""
        return self._serve_endpoint(self._require(ENDPOINT, endpoint_id, "PipelineEndpoint"))

    def get_pipeline_endpoint_by_name(self, name: str | None) -> dict[str, Any]:
        """``GET /PipelineEndpoints/Name?Name=`` (exact, case-sensitive match)."""
        if not name:
            raise BadRequest("Query parameter 'Name' is required.", target="Name")
        found = self.store.find(ENDPOINT, "Name", name)
        if not found:
            raise NotFound(f"PipelineEndpoint named '{name}' was not found.", target="Name")
        return self._serve_endpoint(found[0])

    def list_pipeline_endpoint_pipelines(
        self, endpoint_id: str, *, active_only: bool
    ) -> list[dict[str, Any]]:
        """``GET /PipelineEndpoints/{id}/pipelines``: its pipelines in version-list order.

        Versions whose pipeline no longer exists are skipped.
        """
        endpoint = self._require(ENDPOINT, endpoint_id, "PipelineEndpoint")
        pipelines = []
        for version in endpoint.get("PipelineVersionList") or []:
            entity = self.store.get(PIPELINE, str((version or {}).get("PipelineId")))
            if entity is not None and (not active_only or self._is_active(entity)):
                pipelines.append(self._serve_pipeline(entity))
        return pipelines

    def create_pipeline_endpoint(self, body: Any) -> dict[str, Any]:
        """``POST /PipelineEndpoints/Create`` (``Name, Description, PipelineId, Properties``).

        The first version is ``"0"`` and is the default (Microsoft docs submit version "0";
        not observed). A taken name is a 409 Conflict; an unknown pipeline a 400.
        """
        creation = json_object(body, "PipelineEndpointCreationInfo")
        name = creation.get("Name")
        if not isinstance(name, str) or not name:
            raise BadRequest("PipelineEndpointCreationInfo.Name is required.", target="Name")
        pipeline_id = creation.get("PipelineId")
        self._check_pipelines([{"Version": "0", "PipelineId": pipeline_id}])

        entity: dict[str, Any] = {
            "Id": self.ctx.new_id(),
            "Name": name,
            "Description": creation.get("Description"),
            "DefaultVersion": "0",
            "PipelineVersionList": [{"Version": "0", "PipelineId": pipeline_id}],
            "EntityStatus": "Active",
            "Properties": creation.get("Properties") or {},
        }
        self._stamp(entity, created=True)
        with self._lock:
            self._check_name_free(name, None)
            self.store.put(ENDPOINT, entity["Id"], entity)
        return self._serve_endpoint(entity)

    def update_pipeline_endpoint(self, endpoint_id: str, body: Any) -> dict[str, Any]:
        """``PUT /PipelineEndpoints/{id}`` with the full entity (add version, set default, ...).

        The entity is stored as sent except for the server-owned keys (``Id``, URLs, ``Etag``,
        dates). ``DefaultVersion`` must name a version in ``PipelineVersionList``, every
        version's pipeline must exist, version labels must be unique and the name must not
        belong to another endpoint.
        """
        entity = copy.deepcopy(json_object(body, "PipelineEndpointEntity"))
        versions = entity.get("PipelineVersionList")
        if not isinstance(versions, list) or not versions:
            raise BadRequest(
                "PipelineVersionList must be a non-empty list of {Version, PipelineId}.",
                target="PipelineVersionList",
            )
        self._check_pipelines(versions)
        labels = [str(v.get("Version")) for v in versions]
        if len(set(labels)) != len(labels):
            raise BadRequest(
                f"Duplicate version labels in PipelineVersionList: {labels}.",
                target="PipelineVersionList",
            )
        default = entity.get("DefaultVersion")
        if str(default) not in labels:
            raise BadRequest(
                f"DefaultVersion {default!r} is not in PipelineVersionList (versions: {labels}).",
                target="DefaultVersion",
            )
        if not entity.get("Name"):
            raise BadRequest("PipelineEndpointEntity.Name is required.", target="Name")

        with self._lock:
            current = self._require(ENDPOINT, endpoint_id, "PipelineEndpoint")
            self._check_name_free(str(entity["Name"]), endpoint_id)
            for key in _SERVER_KEYS:
                entity.pop(key, None)
            entity["Id"] = endpoint_id
            entity["CreatedDate"] = current.get("CreatedDate")
            self._stamp(entity, created=False)
            self.store.put(ENDPOINT, endpoint_id, entity)
        return self._serve_endpoint(entity)

    def _check_pipelines(self, versions: list[Any]) -> None:
        """400 unless every version entry names an existing published pipeline."""
        for version in versions:
            if not isinstance(version, dict):
                raise BadRequest(
                    f"PipelineVersionList entry {version!r} must be {{Version, PipelineId}}.",
                    target="PipelineVersionList",
                )
            pipeline_id = version.get("PipelineId")
            if not pipeline_id or self.store.get(PIPELINE, str(pipeline_id)) is None:
                raise BadRequest(
                    f"Published pipeline '{pipeline_id}' (version {version.get('Version')!r}) "
                    "does not exist; publish it first or fix the PipelineId.",
                    target="PipelineId",
                )

    def _check_name_free(self, name: str, own_id: str | None) -> None:
        """409 when another endpoint already has ``name``."""
        for other in self.store.find(ENDPOINT, "Name", name):
            if other.get("Id") != own_id:
                raise Conflict(
                    f"A PipelineEndpoint named '{name}' already exists (id {other.get('Id')}); "
                    "choose another name or add a version to the existing endpoint.",
                    target="Name",
                )
