"""State and rules of the ARM family (see ``ArmBackend``)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from migrate_kit.emulator.arm.errors import (
    DatastoreNotFound,
    IdentityHeaderMismatch,
    ResourceGroupNotFound,
    ResourceNotFound,
    SubscriptionNotFound,
)
from migrate_kit.emulator.config import Context

__all__ = ["CLOUD_NAME", "TOKEN_LIFETIME_S", "ArmBackend", "make_token"]

#: Name of the emulator's cloud in the cloud metadata; exported as AZUREML_CURRENT_CLOUD.
CLOUD_NAME = "MigrateKitEmulator"
TOKEN_LIFETIME_S = 3600

_WS_TYPE = "Microsoft.MachineLearningServices/workspaces"
_COMPUTE_TYPE = "Microsoft.MachineLearningServices/workspaces/computes"


def make_token(*, resource: str, tenant_id: str, object_id: str, now: float | None = None) -> str:
    """An unsigned JWT (``alg: none``) with the claims SDKs read: ``exp``, ``tid``, ``oid``."""
    issued = int(now if now is not None else time.time())
    header = {"alg": "none", "typ": "JWT"}
    claims = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": issued,
        "nbf": issued,
        "exp": issued + TOKEN_LIFETIME_S,
        "tid": tenant_id,
        "oid": object_id,
        "sub": object_id,
        "appid": object_id,
        "idtyp": "app",
    }
    return f"{_b64(header)}.{_b64(claims)}."


def _b64(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class ArmBackend:
    """Answers for the ARM routes and the v1 workspace-level helper routes.

    Everything is derived from the workspace settings; nothing here is stored.

    Not emulated: workspace PUT, DELETE and listing (the v2 assets, batch endpoints and their
      long-running operations are in ``assets.py``, ``endpoints.py`` and ``lro.py``).
    Not emulated: case-insensitive ARM paths; requests must use ARM's usual casing
      (``resourceGroups``, ``Microsoft.MachineLearningServices``).
    Not emulated: token validation; any bearer token is accepted, and managed-identity tokens
      are unsigned JWTs.
    Not emulated: user-assigned identities; ``client_id``, ``object_id`` and ``mi_res_id`` are
      ignored by the token route.
    Not emulated: the default datastore's credentials; it reports ``credentialType: None`` and
      the endpoint ``localhost:PORT`` (so blob URLs point at the emulator).
    Not emulated: datastores other than the default one (by name or as the default).
    Not emulated: compute management; the v1 compute list always holds one AmlCompute cluster,
      ``cpu-cluster``.
    """

    def __init__(self, ctx: Context, *, identity_secret: str) -> None:
        self.ctx = ctx
        self.identity_secret = identity_secret
        self.principal_id = f"00000000-0000-4000-8000-{ctx.config.workspace_id[-12:]}"

    # -- cloud and identity ------------------------------------------------------------------

    def cloud_metadata(self) -> list[dict[str, Any]]:
        """The ARM cloud list (api-version 2019-05-01 format) naming the emulator's cloud.

        The same cloud is listed twice: as ``MigrateKitEmulator`` (azure-ai-ml keeps its own
        ``AzureCloud``, so it needs a name of its own; it picks the cloud whose
        ``resourceManager`` occurs in the metadata URL) and as ``AzureCloud`` (the v1 SDK replaces
        its built-in clouds with this list and uses ``AzureCloud`` when no cloud is named).
        The two differ only in their storage suffix (see the comments below).
        """
        port = self.ctx.base_url.rsplit(":", 1)[-1]
        # azure-ai-ml builds a datastore's account URL as https://{account}.blob.{suffix}. With
        # this suffix the URL is https://{account}.blob.emu@127.0.0.1:PORT/{account}/...: the
        # part before "@" is user info, so the request goes to the emulator, path style, with
        # the datastore SAS (whose "sig" makes server.py route it to blob storage).
        ml_suffix = f"emu@127.0.0.1:{port}/{self.ctx.config.storage_account}"
        # The v1 SDK keeps host style (https://{account}.blob.localhost:PORT, see server.py).
        return [self._cloud(CLOUD_NAME, ml_suffix), self._cloud("AzureCloud", f"localhost:{port}")]

    def _cloud(self, name: str, storage_suffix: str) -> dict[str, Any]:
        base = self.ctx.base_url + "/"
        return {
            "name": name,
            "portal": "https://portal.azure.com",
            "resourceManager": base,
            "authentication": {
                "loginEndpoint": base,
                "audiences": [
                    "https://management.core.windows.net/",
                    "https://management.azure.com/",
                ],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "graphAudience": "https://graph.windows.net/",
            "graph": "https://graph.windows.net/",
            "media": "https://rest.media.azure.net",
            "batch": "https://batch.core.windows.net/",
            "gallery": "https://gallery.azure.com/",
            "sqlManagement": "https://management.core.windows.net:8443/",
            "activeDirectoryDataLake": "https://datalake.azure.net/",
            "vmImageAliasDoc": base + "vmImageAliasDoc",
            "suffixes": {
                "storage": storage_suffix,
                "keyVaultDns": "vault.azure.net",
                "sqlServerHostname": "database.windows.net",
                "acrLoginServer": "azurecr.io",
                "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
                "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            },
        }

    def check_identity_header(self, header: str, value: str | None) -> None:
        """Raise unless the managed-identity secret header carries this emulator's secret."""
        if value != self.identity_secret:
            raise IdentityHeaderMismatch(header)

    def check_metadata_header(self, value: str | None) -> None:
        """Raise unless the legacy managed-identity POST carries ``Metadata: true``."""
        if value != "true":
            raise IdentityHeaderMismatch("Metadata")

    def issue_token(self, resource: str) -> dict[str, Any]:
        """A managed-identity token answer for ``resource``.

        ``expires_on`` is epoch seconds for every api-version. App Service's old 2017-09-01
        protocol sent ``MM/DD/YYYY HH:MM:SS +00:00`` text instead; msrestazure (v1 SDK) accepts
        both, but azure-identity's ``MSI_ENDPOINT`` path accepts only epoch seconds.
        """
        now = time.time()
        token = make_token(
            resource=resource,
            tenant_id=self.ctx.config.tenant_id,
            object_id=self.principal_id,
            now=now,
        )
        expires_on = str(int(now) + TOKEN_LIFETIME_S)
        return {
            "access_token": token,
            "expires_on": expires_on,
            "expires_in": str(TOKEN_LIFETIME_S),
            "not_before": str(int(now)),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": self.principal_id,
        }

    def list_subscriptions(self) -> dict[str, Any]:
        """ARM's subscription list: the one subscription of the workspace."""
        cfg = self.ctx.config
        subscription = {
            "id": f"/subscriptions/{cfg.subscription_id}",
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": cfg.subscription_id,
            "tenantId": cfg.tenant_id,
            "displayName": "Contoso ML (emulated)",
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        }
        return {"value": [subscription], "count": {"type": "Total", "value": 1}}

    # -- workspace ---------------------------------------------------------------------------

    def check_workspace(self, subscription_id: str, resource_group: str, workspace: str) -> None:
        """Raise ARM's 404 unless the ids name the emulated workspace."""
        cfg = self.ctx.config
        if subscription_id.lower() != cfg.subscription_id.lower():
            raise SubscriptionNotFound(subscription_id)
        if resource_group.lower() != cfg.resource_group.lower():
            raise ResourceGroupNotFound(resource_group)
        if workspace.lower() != cfg.workspace_name.lower():
            raise ResourceNotFound(_WS_TYPE, workspace, resource_group)

    def get_workspace(
        self, subscription_id: str, resource_group: str, workspace: str
    ) -> dict[str, Any]:
        """The workspace resource, as ARM returns it."""
        self.check_workspace(subscription_id, resource_group, workspace)
        cfg = self.ctx.config
        rg_id = f"/subscriptions/{cfg.subscription_id}/resourceGroups/{cfg.resource_group}"
        short = cfg.workspace_name.replace("-", "")[:16]
        return {
            "id": cfg.arm_id,
            "name": cfg.workspace_name,
            "type": _WS_TYPE,
            "location": cfg.region,
            "tags": {},
            "kind": "Default",
            "sku": {"name": "Basic", "tier": "Basic"},
            "identity": {
                "type": "SystemAssigned",
                "principalId": self.principal_id,
                "tenantId": cfg.tenant_id,
            },
            "systemData": {
                "createdAt": "2024-03-04T09:15:27.1234567Z",
                "createdBy": "emulator",
                "createdByType": "Application",
            },
            "properties": {
                "friendlyName": cfg.workspace_name,
                "description": "Emulated Azure ML workspace (migrate_kit)",
                "workspaceId": cfg.workspace_id,
                "tenantId": cfg.tenant_id,
                "provisioningState": "Succeeded",
                "creationTime": "2024-03-04T09:15:27.1234567Z",
                "discoveryUrl": f"{self.ctx.base_url}/discovery",
                "storageAccount": f"{rg_id}/providers/Microsoft.Storage/storageAccounts/"
                f"{cfg.storage_account}",
                "keyVault": f"{rg_id}/providers/Microsoft.KeyVault/vaults/kv{short}",
                "applicationInsights": f"{rg_id}/providers/Microsoft.insights/components/ai{short}",
                "containerRegistry": None,
                "hbiWorkspace": False,
                "v1LegacyMode": False,
                "publicNetworkAccess": "Enabled",
                "storageHnsEnabled": False,
                "sdkTelemetryAppInsightsKey": None,
            },
        }

    def discovery(self) -> dict[str, str]:
        """The workspace discovery document: every data-plane service at the emulator's base."""
        base = self.ctx.base_url
        keys = (
            "api",
            "catalog",
            "experimentation",
            "gallery",
            "history",
            "hyperdrive",
            "labeling",
            "modelmanagement",
            "pipelines",
        )
        document = {key: base for key in keys}
        document["studio"] = "https://ml.azure.com"  # only used to build portal links
        return document

    # -- v1 workspace helpers ----------------------------------------------------------------

    def default_datastore(
        self, subscription_id: str, resource_group: str, workspace: str
    ) -> dict[str, Any]:
        """The v1 datastore service's DTO of the default datastore (camelCase)."""
        self.check_workspace(subscription_id, resource_group, workspace)
        cfg = self.ctx.config
        port = self.ctx.base_url.rsplit(":", 1)[-1]
        return {
            "name": cfg.default_datastore,
            "dataStoreType": "AzureBlob",
            "hasBeenValidated": True,
            "isDefault": True,
            "tags": {},
            "azureStorageSection": {
                "accountName": cfg.storage_account,
                "containerName": cfg.datastore_container,
                "endpoint": f"localhost:{port}",
                "protocol": "https",
                "credentialType": "None",
                "blobCacheTimeout": 0,
                "isSas": False,
                "serviceDataAccessAuthIdentity": "None",
            },
        }

    def get_datastore(
        self, subscription_id: str, resource_group: str, workspace: str, name: str
    ) -> dict[str, Any]:
        """One datastore by name, as the v1 datastore service returns it (camelCase)."""
        default = self.default_datastore(subscription_id, resource_group, workspace)
        if name != default["name"]:
            raise DatastoreNotFound(name)
        return default

    def list_computes(
        self, subscription_id: str, resource_group: str, workspace: str
    ) -> dict[str, Any]:
        """The v1 compute list (ARM-style ``{"value": [...]}``) with one AmlCompute cluster."""
        self.check_workspace(subscription_id, resource_group, workspace)
        cfg = self.ctx.config
        compute_id = f"{cfg.arm_id}/computes/cpu-cluster"
        cluster = {
            "id": compute_id,
            "name": "cpu-cluster",
            "type": _COMPUTE_TYPE,
            "location": cfg.region,
            "tags": {},
            "properties": {
                "computeType": "AmlCompute",
                "computeLocation": cfg.region,
                "isAttachedCompute": False,
                "description": "CPU cluster used by the sample pipelines",
                "provisioningState": "Succeeded",
                "provisioningErrors": None,
                "resourceId": None,
                "createdOn": "2024-03-04T09:20:00.0000000+00:00",
                "modifiedOn": "2024-03-04T09:20:00.0000000+00:00",
                "properties": {
                    "vmSize": "STANDARD_DS3_V2",
                    "vmPriority": "Dedicated",
                    "scaleSettings": {
                        "minNodeCount": 0,
                        "maxNodeCount": 4,
                        "nodeIdleTimeBeforeScaleDown": "PT120S",
                    },
                    # The v1 SDK's AmlCompute reads these two without a guard.
                    "subnet": None,
                    "remoteLoginPortPublicAccess": "NotSpecified",
                    "currentNodeCount": 0,
                    "targetNodeCount": 0,
                    "allocationState": "Steady",
                },
            },
        }
        return {"value": [cluster]}
