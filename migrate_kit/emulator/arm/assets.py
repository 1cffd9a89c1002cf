"""State and rules of the v2 workspace assets: datastores, code, environments, components, data.

Versioned assets share one shape (``VersionedAssets``): a version resource is stored under kind
``arm.<kind>`` and key ``<name>/<version>`` (lower-cased), with the body exactly as GET serves it
(``id``, ``name`` = the version, ``type``, ``systemData``, ``properties``). Containers
(``{ws}/components/{name}``) are derived from their versions on every read.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from migrate_kit.emulator.arm import names
from migrate_kit.emulator.arm.errors import (
    BadArgument,
    Conflict,
    InvalidRequestContent,
    NotFound,
)
from migrate_kit.emulator.config import Context
from migrate_kit.emulator.runner.execute import LOG_CONTAINER

__all__ = [
    "ARTIFACT_DATASTORE",
    "DATASTORE_SAS",
    "AssetBackend",
    "VersionedAssets",
    "Written",
    "parse_asset_id",
    "sas_query",
]

logger = logging.getLogger(__name__)

_PROVIDER = "Microsoft.MachineLearningServices/workspaces"
#: ARM id of an asset version, as component specs and deployments reference them.
_ASSET_ID = re.compile(
    r"^(?:azureml:)?/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/[^/]+/(?P<plural>[A-Za-z]+)/"
    r"(?P<name>[^/]+)/versions/(?P<version>[^/]+)$",
    re.IGNORECASE,
)

#: The workspace's artifact store (run logs, in the runner's ``LOG_CONTAINER``).
ARTIFACT_DATASTORE = "workspaceartifactstore"
#: Permissions of the SAS the emulator hands out; the blob routes only check that ``sig`` exists.
DATASTORE_SAS = "racwdl"

Written = tuple[dict[str, Any], bool]  # the stored body, and whether it was created (not updated)


def sas_query(permissions: str, resource: str = "c") -> str:
    """A SAS query string in the shape Azure Storage issues (the signature is not checked)."""
    signature = Context.new_id().replace("-", "")
    return (
        f"sv=2021-08-06&sr={resource}&sp={permissions}&st=2024-01-01T00%3A00%3A00Z"
        f"&se=2099-01-01T00%3A00%3A00Z&spr=https&sig={signature}"
    )


def parse_asset_id(asset_id: str) -> tuple[str, str, str] | None:
    """``(plural, name, version)`` of a versioned asset's ARM id (``azureml:`` prefix allowed)."""
    match = _ASSET_ID.match(asset_id.strip())
    if match is None:
        return None
    return match["plural"], match["name"], match["version"]


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequestContent(
            f"The request content was invalid: {what} must be a JSON object, "
            f"got {type(value).__name__}."
        )
    return value


class VersionedAssets:
    """Versions and containers of one asset family (``codes``, ``components``, ...).

    ``check`` validates a version's ``properties`` before it is written; ``freeze`` may compare an
    existing version with the new properties and raise (immutable assets).
    """

    def __init__(
        self,
        ctx: Context,
        *,
        plural: str,
        kind: str,
        label: str,
        check_name: Callable[[str], None],
        check: Callable[[str, dict[str, Any]], None] | None = None,
        freeze: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.plural = plural
        self.kind = kind
        self.label = label
        self.check_name = check_name
        self.check = check
        self.freeze = freeze

    # -- ids and keys ------------------------------------------------------------------------

    def container_id(self, name: str) -> str:
        return f"{self.ctx.config.arm_id}/{self.plural}/{name}"

    def version_id(self, name: str, version: str) -> str:
        return f"{self.container_id(name)}/versions/{version}"

    @staticmethod
    def key(name: str, version: str) -> str:
        return f"{name}/{version}".lower()

    @staticmethod
    def name_of(body: Mapping[str, Any]) -> str:
        """The asset name of a stored version (from its id: ``.../{name}/versions/{v}``)."""
        return str(body["id"]).rsplit("/", 3)[-3]

    # -- versions ----------------------------------------------------------------------------

    def put_version(self, name: str, version: str, body: Any) -> Written:
        """Create or update one version; returns the stored body and whether it is new."""
        self.check_name(name)
        names.check_version(self.label, name, version)
        request = _object(body, "the body")
        properties = _object(request.get("properties"), "'properties'")
        if self.check is not None:
            self.check(name, properties)

        now = self.ctx.now_iso()
        with self.ctx.store.transaction():
            existing = self.ctx.store.get(self.kind, self.key(name, version))
            if existing is not None and self.freeze is not None:
                self.freeze(existing, properties)
            created = existing["systemData"] if existing else None
            stored = {
                "id": self.version_id(name, version),
                "name": version,
                "type": f"{_PROVIDER}/{self.plural}/versions",
                "systemData": _system_data(created, now),
                "properties": {
                    "description": None,
                    "tags": {},
                    "properties": {},
                    "isArchived": False,
                    "isAnonymous": False,
                    **properties,
                    "provisioningState": "Succeeded",
                },
            }
            self.ctx.store.put(self.kind, self.key(name, version), stored)
        logger.info("%s %s:%s %s", self.label, name, version, "updated" if existing else "created")
        return stored, existing is None

    def get_version(self, name: str, version: str) -> dict[str, Any]:
        body = self.ctx.store.get(self.kind, self.key(name, version))
        if body is None:
            raise NotFound(
                f"Could not find {self.label} '{name}' with version '{version}' in workspace "
                f"'{self.ctx.config.workspace_name}'.",
                target=self.label,
            )
        return body

    def find_version(self, name: str, version: str) -> dict[str, Any] | None:
        return self.ctx.store.get(self.kind, self.key(name, version))

    def versions_of(self, name: str) -> list[dict[str, Any]]:
        prefix = name.lower() + "/"
        keys = [k for k in self.ctx.store.keys(self.kind) if k.startswith(prefix)]
        bodies = [self.ctx.store.get(self.kind, k) for k in keys]
        return [b for b in bodies if b is not None]

    def list_versions(self, name: str, query: Mapping[str, str]) -> dict[str, Any]:
        """``GET .../{name}/versions`` with ``$orderBy``, ``$top``, ``$skip``, ``listViewType``,
        ``tags`` (``k=v`` or ``k``, comma-separated) applied."""
        bodies = _filter_view(self.versions_of(name), query.get("listViewType"))
        return {"value": _page(_filter_tags(bodies, query.get("tags")), query)}

    # -- containers --------------------------------------------------------------------------

    def container(self, name: str, versions: list[dict[str, Any]]) -> dict[str, Any]:
        """The container resource of ``name`` derived from its versions (at least one)."""
        first = min(versions, key=lambda b: b["systemData"]["createdAt"])
        latest = max(versions, key=lambda b: b["systemData"]["createdAt"])
        numbers = [int(b["name"]) for b in versions if str(b["name"]).isdigit()]
        return {
            "id": self.container_id(self.name_of(first)),
            "name": self.name_of(first),
            "type": f"{_PROVIDER}/{self.plural}",
            "systemData": {**first["systemData"], **_modified(latest["systemData"])},
            "properties": {
                "description": latest["properties"].get("description"),
                "tags": latest["properties"].get("tags") or {},
                "properties": {},
                "isArchived": all(b["properties"].get("isArchived") for b in versions),
                "latestVersion": str(latest["name"]),
                "nextVersion": str(max(numbers) + 1) if numbers else "1",
                "provisioningState": "Succeeded",
            },
        }

    def get_container(self, name: str) -> dict[str, Any]:
        versions = self.versions_of(name)
        if not versions:
            raise NotFound(
                f"Could not find {self.label} '{name}' in workspace "
                f"'{self.ctx.config.workspace_name}'.",
                target=self.label,
            )
        return self.container(name, versions)

    def list_containers(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Every named asset; assets with only anonymous versions are left out."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for body in self.ctx.store.list(self.kind):
            grouped.setdefault(self.name_of(body).lower(), []).append(body)
        containers = [
            self.container(name, versions)
            for name, versions in grouped.items()
            if not all(v["properties"].get("isAnonymous") for v in versions)
        ]
        containers = _filter_view(containers, query.get("listViewType"))
        return {"value": _page(containers, {**query, "$orderBy": query.get("$orderBy", "")})}


class AssetBackend:
    """The v2 asset routes: datastores, code (with uploads), environments, components, data.

    Not emulated: datastores other than the default ``workspaceblobstore`` and the artifact
      store ``workspaceartifactstore`` (container ``azureml``, where run logs are); no create,
      update or delete either. Their credentials are of type ``Sas`` and ``listSecrets`` hands
      out a SAS that is never verified.
    Not emulated: archiving, restoring and deleting asset versions; ``isArchived`` is kept as
      sent and only filters list views.
    Not emulated: registries and asset labels other than what clients resolve themselves
      (``latest`` works through the version list and the container's ``latestVersion``).
    Not emulated: checking that a component's ``environment`` exists; code references of the
      ARM-id form must exist, other forms (``azureml://``, git) are taken as given.
    Not emulated: environment image builds; an environment version is stored, never built.
    Not emulated: component version immutability; a changed component version is replaced (200).
    Not emulated: anonymous asset containers in list views (they are left out of container lists).
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.codes = VersionedAssets(
            ctx,
            plural="codes",
            kind="arm.code",
            label="code",
            check_name=lambda n: names.check_asset_name("code", n),
            check=self._check_code,
        )
        self.environments = VersionedAssets(
            ctx,
            plural="environments",
            kind="arm.environment",
            label="environment",
            check_name=lambda n: names.check_asset_name("environment", n),
            check=self._check_environment,
            freeze=self._freeze_environment,
        )
        self.components = VersionedAssets(
            ctx,
            plural="components",
            kind="arm.component",
            label="component",
            check_name=names.check_component_name,
            check=self._check_component,
        )
        self.data = VersionedAssets(
            ctx,
            plural="data",
            kind="arm.data",
            label="data",
            check_name=lambda n: names.check_asset_name("data", n),
            check=self._check_data,
        )
        self.families = {
            "codes": self.codes,
            "environments": self.environments,
            "components": self.components,
            "data": self.data,
        }

    def family(self, plural: str) -> VersionedAssets:
        """The asset family of a URL segment (``codes``, ``components``, ...)."""
        return self.families[plural]

    # -- datastores --------------------------------------------------------------------------

    def storage_suffix(self) -> str:
        """The storage suffix of the emulator's cloud for azure-ai-ml (see ``ArmBackend``)."""
        port = self.ctx.base_url.rsplit(":", 1)[-1]
        return f"emu@127.0.0.1:{port}/{self.ctx.config.storage_account}"

    def _datastores(self) -> list[dict[str, Any]]:
        """The workspace's blob datastores: the default one (data) and the artifact store
        (run logs, what ``jobs.download`` reads as a job's ``default`` output), by name."""
        cfg = self.ctx.config
        return sorted(
            [
                self._datastore(cfg.default_datastore, cfg.datastore_container, is_default=True),
                self._datastore(ARTIFACT_DATASTORE, LOG_CONTAINER, is_default=False),
            ],
            key=lambda body: str(body["name"]),
        )

    def _datastore(self, name: str, container: str, *, is_default: bool) -> dict[str, Any]:
        cfg = self.ctx.config
        return {
            "id": f"{cfg.arm_id}/datastores/{name}",
            "name": name,
            "type": f"{_PROVIDER}/datastores",
            "systemData": _system_data(None, "2024-03-04T09:15:30.0000000Z"),
            "properties": {
                "description": None,
                "tags": {},
                "properties": {},
                "isDefault": is_default,
                "datastoreType": "AzureBlob",
                "accountName": cfg.storage_account,
                "containerName": container,
                "endpoint": self.storage_suffix(),
                "protocol": "https",
                "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
                "credentials": {"credentialsType": "Sas"},
            },
        }

    def get_datastore(self, name: str) -> dict[str, Any]:
        datastores = self._datastores()
        for datastore in datastores:
            if datastore["name"].lower() == name.lower():
                return datastore
        emulated = " and ".join(f"'{d['name']}'" for d in datastores)
        raise NotFound(
            f"Datastore '{name}' was not found in workspace "
            f"'{self.ctx.config.workspace_name}'; only {emulated} are emulated.",
            target="datastore",
        )

    def list_datastores(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Every datastore; ``isDefault=true`` lists the default one, ``false`` the others."""
        wanted = query.get("isDefault", "").lower()
        datastores = self._datastores()
        if wanted in ("true", "false"):
            datastores = [
                d for d in datastores if d["properties"]["isDefault"] == (wanted == "true")
            ]
        return {"value": datastores}

    def list_datastore_secrets(self, name: str) -> dict[str, Any]:
        self.get_datastore(name)
        return {"secretsType": "Sas", "sasToken": sas_query(DATASTORE_SAS)}

    # -- code uploads ------------------------------------------------------------------------

    def code_versions_by_hash(self, name: str, query: Mapping[str, str]) -> dict[str, Any] | None:
        """The code versions of any name whose content hash is ``hash`` (None without one).

        The SDK asks with a fresh random name for anonymous code, so the match ignores it.
        """
        digest = query.get("hash")
        if not digest:
            return None
        hits = self.ctx.store.find("arm.code", "properties.properties.hash_sha256", digest)
        wanted = query.get("hashVersion")
        if wanted:
            hits = [
                b for b in hits if str(b["properties"]["properties"].get("hash_version")) == wanted
            ]
        return {"value": _page(hits, query)}

    def start_pending_upload(self, name: str, version: str, body: Any) -> dict[str, Any]:
        """A temporary blob reference (a path-style SAS URL of a fresh container on the
        emulator's own port) where the client uploads a code folder.

        The container is ``{workspace id}-{10 hex digits}``; the code version's ``codeUri`` then
        names it (``{base_url}/{account}/{container}/{folder}``).
        """
        request = _object(body, "the body") if body is not None else {}
        upload_type = request.get("pendingUploadType") or "TemporaryBlobReference"
        if upload_type not in ("TemporaryBlobReference", "None"):
            raise BadArgument(
                f"pendingUploadType '{upload_type}' is not supported; use "
                "'TemporaryBlobReference'.",
                target="pendingUploadType",
            )
        cfg = self.ctx.config
        upload_id = str(request.get("pendingUploadId") or self.ctx.new_id())
        # The client uploads the folder at the container's root, so each upload gets a
        # container of its own: two folders of the same name never overwrite each other.
        container = f"{cfg.workspace_id}-{hashlib.sha256(upload_id.encode()).hexdigest()[:10]}"
        container_url = f"{self.ctx.base_url}/{cfg.storage_account}/{container}"
        rg_id = f"/subscriptions/{cfg.subscription_id}/resourceGroups/{cfg.resource_group}"
        return {
            "blobReferenceForConsumption": {
                "blobUri": container_url,
                "storageAccountArmId": (
                    f"{rg_id}/providers/Microsoft.Storage/storageAccounts/{cfg.storage_account}"
                ),
                "credential": {
                    "credentialType": "SAS",
                    "sasUri": f"{container_url}?{sas_query(DATASTORE_SAS)}",
                },
            },
            "pendingUploadId": upload_id,
            "pendingUploadType": "TemporaryBlobReference",
        }

    # -- per-kind rules ----------------------------------------------------------------------

    @staticmethod
    def _check_code(name: str, properties: dict[str, Any]) -> None:
        if not isinstance(properties.get("codeUri"), str) or not properties["codeUri"]:
            raise BadArgument(
                f"Code '{name}' needs properties.codeUri, the URI of the uploaded folder.",
                target="codeUri",
            )

    @staticmethod
    def _check_data(name: str, properties: dict[str, Any]) -> None:
        data_type = str(properties.get("dataType", ""))
        if data_type.lower() not in ("uri_file", "uri_folder", "mltable"):
            raise BadArgument(
                f"Data '{name}' has dataType '{data_type}'; expected uri_file, uri_folder or "
                "mltable.",
                target="dataType",
            )
        if not isinstance(properties.get("dataUri"), str) or not properties["dataUri"]:
            raise BadArgument(f"Data '{name}' needs properties.dataUri.", target="dataUri")

    @staticmethod
    def _check_environment(name: str, properties: dict[str, Any]) -> None:
        if not properties.get("image") and not properties.get("build"):
            raise BadArgument(
                f"Environment '{name}' needs either an image or a build context.",
                target="image",
            )

    @staticmethod
    def _freeze_environment(existing: dict[str, Any], properties: dict[str, Any]) -> None:
        """Only the description and tags of a registered environment version may change."""
        old = existing["properties"]
        for field in ("image", "condaFile", "build", "osType", "inferenceConfig"):
            if field in properties and properties.get(field) != old.get(field):
                name = VersionedAssets.name_of(existing)
                raise Conflict(
                    f"Environment {name} with version {existing['name']} is already registered "
                    "and cannot be changed.",
                    target="environment",
                )

    def _check_component(self, name: str, properties: dict[str, Any]) -> None:
        spec = properties.get("componentSpec")
        if not isinstance(spec, dict):
            raise BadArgument(
                f"Component '{name}' needs properties.componentSpec (an object).",
                target="componentSpec",
            )
        code = spec.get("code")
        if isinstance(code, str):
            self._require_reference(name, code, "codes", "code")
        if str(spec.get("type", "")).lower() != "pipeline":
            return
        jobs = spec.get("jobs") or {}
        if not isinstance(jobs, dict):
            raise BadArgument(f"Component '{name}': 'jobs' must be an object.", target="jobs")
        for step, job in jobs.items():
            reference = job.get("componentId") if isinstance(job, dict) else None
            if not isinstance(reference, str) or not reference:
                raise BadArgument(
                    f"Pipeline component '{name}': step '{step}' has no componentId.",
                    target=f"jobs.{step}.componentId",
                )
            self._require_reference(name, reference, "components", f"step '{step}'")

    def _require_reference(self, name: str, reference: str, plural: str, what: str) -> None:
        """400 when ``reference`` is the ARM id of an asset version that does not exist."""
        parsed = parse_asset_id(reference)
        if parsed is None or parsed[0].lower() != plural:
            if plural == "components":
                raise BadArgument(
                    f"Component '{name}': {what} references '{reference}', which is not the ARM "
                    "id of a component version.",
                    target="componentId",
                )
            return
        _, ref_name, ref_version = parsed
        if self.family(plural).find_version(ref_name, ref_version) is None:
            label = self.family(plural).label
            raise BadArgument(
                f"Component '{name}': {what} references {label} '{ref_name}' version "
                f"'{ref_version}', which does not exist in workspace "
                f"'{self.ctx.config.workspace_name}'.",
                target=what,
            )


# -- helpers -----------------------------------------------------------------------------------


def _system_data(created: Mapping[str, Any] | None, now: str) -> dict[str, Any]:
    base = (
        dict(created)
        if created
        else {
            "createdAt": now,
            "createdBy": "emulator",
            "createdByType": "Application",
        }
    )
    return {**base, "lastModifiedAt": now, "lastModifiedBy": "emulator",
            "lastModifiedByType": "Application"}  # fmt: skip


def _modified(system_data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in system_data.items() if k.startswith("lastModified")}


def _filter_view(bodies: list[dict[str, Any]], view: str | None) -> list[dict[str, Any]]:
    """``listViewType``: ActiveOnly (default), ArchivedOnly or All."""
    wanted = (view or "ActiveOnly").lower()
    if wanted == "all":
        return bodies
    archived = wanted == "archivedonly"
    return [b for b in bodies if bool(b["properties"].get("isArchived")) == archived]


def _filter_tags(bodies: list[dict[str, Any]], tags: str | None) -> list[dict[str, Any]]:
    if not tags:
        return bodies
    kept = bodies
    for pair in tags.split(","):
        key, has_value, value = pair.partition("=")
        kept = [
            b for b in kept
            if key in (b["properties"].get("tags") or {})
            and (not has_value or b["properties"]["tags"][key] == value)
        ]  # fmt: skip
    return kept


def _page(bodies: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    """Order (``$orderBy``: ``createdtime asc|desc``, newest first by default), skip and top."""
    order = query.get("$orderBy", "createdtime desc").lower()
    newest_first = not order.endswith("asc")
    ordered = sorted(bodies, key=lambda b: b["systemData"]["createdAt"], reverse=newest_first)
    try:
        skip = int(query.get("$skip") or 0)
        top = int(query["$top"]) if query.get("$top") else None
    except ValueError:
        raise BadArgument("$skip and $top must be integers.", target="$top") from None
    window = ordered[skip:]
    return window if top is None else window[:top]
