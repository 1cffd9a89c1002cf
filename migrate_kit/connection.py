"""Which workspace to talk to, with which credential, and where its services live.

A :class:`Connection` is resolved once and passed on. It comes from one of:

- explicit ids (``subscription_id``, ``resource_group``, ``workspace_name``);
- an Azure ML ``config.json`` (the Azure ML convention: ``config.json`` or
  ``.azureml/config.json`` in the working folder or any folder above it);
- a connection file written by the local workspace emulator, whose ``env`` map is exported
  into this process so that azure-identity, azure-ai-ml and our own clients reach it.

The v1 pipelines service URL is found the way the v1 SDK finds it: the ARM workspace resource
names a discovery URL, and the discovery document's ``api`` key is the pipelines host (its
``history`` key the content service host). ``pipelines_url`` overrides that.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate_kit.errors import ConfigurationError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential

    from migrate_kit.v1.client import PipelinesClient

__all__ = ["PUBLIC_ARM_URL", "Connection", "WorkspaceRef", "connect", "find_config"]

logger = logging.getLogger(__name__)

PUBLIC_ARM_URL = "https://management.azure.com"
WORKSPACE_API_VERSION = "2024-10-01"
CONFIG_NAMES = ("config.json", os.path.join(".azureml", "config.json"))
_ID_KEYS = ("subscription_id", "resource_group", "workspace_name")


@dataclass(frozen=True)
class WorkspaceRef:
    """The three ids that name an Azure ML workspace."""

    subscription_id: str
    resource_group: str
    workspace_name: str

    def describe(self) -> str:
        """One phrase naming the workspace, for messages."""
        return (
            f"workspace '{self.workspace_name}' (resource group '{self.resource_group}', "
            f"subscription {self.subscription_id})"
        )

    @property
    def arm_path(self) -> str:
        """The workspace's ARM resource path, without a host."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace_name}"
        )


@dataclass
class Connection:
    """A resolved workspace, credential and service URLs. Build it with :func:`connect`."""

    workspace: WorkspaceRef
    arm_url: str = PUBLIC_ARM_URL
    pipelines_url: str | None = None
    content_url: str | None = None
    ca_bundle: str | None = None
    region: str | None = None
    source: str = "explicit options"
    credential: TokenCredential | None = None
    _discovered: bool = field(default=False, repr=False)

    @property
    def arm_scope(self) -> str:
        """Token scope for ARM and, as in Microsoft's examples, for the v1 pipelines service."""
        return self.arm_url.rstrip("/") + "/.default"

    def get_credential(self) -> TokenCredential:
        """The credential, created on first use (``DefaultAzureCredential`` by default)."""
        if self.credential is None:
            from azure.identity import DefaultAzureCredential

            self.credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
        return self.credential

    def resolve_services(self) -> None:
        """Fill ``pipelines_url`` and ``content_url`` from the workspace's discovery document."""
        if self._discovered or (self.pipelines_url and self.content_url):
            return
        services = _discover_services(self)
        self.pipelines_url = self.pipelines_url or services.get("api")
        self.content_url = self.content_url or services.get("history") or self.pipelines_url
        self._discovered = True
        if not self.pipelines_url:
            raise ConfigurationError(
                f"The discovery document of {self.workspace.describe()} names no 'api' service. "
                "Pass the v1 pipelines service URL with --pipelines-url "
                "(e.g. https://<region>.api.azureml.ms)."
            )

    def ml_client(self, **kwargs: Any) -> MLClient:
        """An azure-ai-ml ``MLClient`` of this workspace, with this connection's credential.

        Telemetry is off unless ``enable_telemetry=True`` is passed: in Jupyter, MLClient would
        otherwise set up an Application Insights exporter. So are its upload progress bars
        (``show_progress``). Other keyword arguments go to ``MLClient``.
        """
        from azure.ai.ml import MLClient

        kwargs.setdefault("enable_telemetry", False)
        kwargs.setdefault("show_progress", False)  # no upload bars of its own in our output
        return MLClient(
            self.get_credential(),
            self.workspace.subscription_id,
            self.workspace.resource_group,
            self.workspace.workspace_name,
            **kwargs,
        )

    def v1_client(self, *, max_workers: int = 32) -> PipelinesClient:
        """A client of this workspace's v1 pipelines service."""
        from migrate_kit.v1.client import PipelinesClient

        self.resolve_services()
        assert self.pipelines_url is not None
        return PipelinesClient(
            self.pipelines_url,
            subscription_id=self.workspace.subscription_id,
            resource_group=self.workspace.resource_group,
            workspace_name=self.workspace.workspace_name,
            credential=self.get_credential(),
            scope=self.arm_scope,
            content_url=self.content_url,
            connection_verify=self.ca_bundle or True,
            max_workers=max_workers,
        )


def find_config(start: Path | None = None) -> Path | None:
    """The nearest ``config.json`` (or ``.azureml/config.json``) at or above ``start``."""
    folder = (start or Path.cwd()).resolve()
    for candidate_folder in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            candidate = candidate_folder / name
            if candidate.is_file():
                return candidate
    return None


def connect(
    *,
    subscription_id: str | None = None,
    resource_group: str | None = None,
    workspace_name: str | None = None,
    config: str | Path | None = None,
    connection_file: str | Path | None = None,
    pipelines_url: str | None = None,
    credential: TokenCredential | None = None,
) -> Connection:
    """Resolve a workspace connection.

    Precedence: explicit ids, then ``connection_file``, then ``config`` (a path), then the
    ``MIGRATE_KIT_CONNECTION_FILE`` environment variable, then a ``config.json`` found upward
    from the working folder. Explicit ids also override single fields of a file. Nothing is
    contacted here; the first remote call happens when a client is used.
    """
    explicit = {
        "subscription_id": subscription_id,
        "resource_group": resource_group,
        "workspace_name": workspace_name,
    }
    settings: dict[str, Any] = {}
    source = "explicit options"
    path = _settings_path(explicit, config, connection_file)
    if path is not None:
        settings = _read_settings(path)
        source = str(path)
    settings.update({k: v for k, v in explicit.items() if v})

    missing = [key for key in _ID_KEYS if not settings.get(key)]
    if missing:
        raise ConfigurationError(
            f"No workspace given: {', '.join(missing)} missing (read from {source}). Put a "
            "config.json (download it from the workspace's overview page in Azure ML studio) "
            "in this folder, or pass --subscription-id, --resource-group and --workspace-name, "
            "or --connection-file for the local emulator."
        )

    env = settings.get("env")
    if isinstance(env, Mapping):
        _export_env(env)
    workspace = WorkspaceRef(*(str(settings[key]) for key in _ID_KEYS))
    logger.info("Using %s from %s", workspace.describe(), source)
    return Connection(
        workspace=workspace,
        arm_url=str(settings.get("arm_url") or PUBLIC_ARM_URL),
        # Only an explicit override skips discovery: the URLs an emulator connection file
        # lists are found through the workspace's discovery document, as on Azure.
        pipelines_url=pipelines_url,
        ca_bundle=settings.get("ca_bundle"),
        region=settings.get("region"),
        source=source,
        credential=credential,
    )


def _settings_path(
    explicit: Mapping[str, str | None],
    config: str | Path | None,
    connection_file: str | Path | None,
) -> Path | None:
    if connection_file is not None:
        return Path(connection_file)
    if config is not None:
        return Path(config)
    if all(explicit.values()):
        return None
    from_env = os.environ.get("MIGRATE_KIT_CONNECTION_FILE")
    if from_env:
        return Path(from_env)
    return find_config()


def _read_settings(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"Workspace settings file {path} does not exist. Check the path, or start the "
            "emulator with `migrate-kit emulator serve --connection-file PATH`."
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(
            f"Workspace settings file {path} is not valid JSON ({exc}). Download config.json "
            "again from Azure ML studio."
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"Workspace settings file {path} holds a JSON {type(data).__name__}, expected an "
            "object with subscription_id, resource_group and workspace_name."
        )
    # The Azure ML studio download names the workspace "workspace_name"; older files used
    # "workspace". Accept both.
    if "workspace_name" not in data and "workspace" in data:
        data["workspace_name"] = data["workspace"]
    return data


def _export_env(env: Mapping[str, Any]) -> None:
    """Export an emulator connection file's variables, overriding what is set already.

    Overriding matters for ``REQUESTS_CA_BUNDLE``: a value already in the environment (often
    the system bundle) would hide the emulator's CA.
    """
    for name, value in env.items():
        os.environ[str(name)] = str(value)
    logger.debug("Exported %d emulator variables: %s", len(env), ", ".join(sorted(env)))


def _discover_services(connection: Connection) -> dict[str, str]:
    """GET the ARM workspace, then its discovery document (which takes no token)."""
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy

    policies: list[Any] = [
        RetryPolicy(retry_total=2, retry_backoff_factor=0.5, retry_backoff_max=10),
        BearerTokenCredentialPolicy(connection.get_credential(), connection.arm_scope),
    ]
    workspace = connection.workspace
    arm_url = f"{connection.arm_url.rstrip('/')}{workspace.arm_path}"
    client: Any  # azure-core's generics do not express rest.HttpRequest here
    with PipelineClient(connection.arm_url, policies=policies) as client:
        resource = _get_json(connection, client, arm_url, "the workspace resource")
        connection.region = connection.region or resource.get("location")
        discovery_url = (resource.get("properties") or {}).get("discoveryUrl")
        if not discovery_url:
            raise ConfigurationError(
                f"The ARM resource of {workspace.describe()} names no discoveryUrl. "
                "Pass the v1 pipelines service URL with --pipelines-url."
            )
        services = _get_json(connection, client, discovery_url, "the discovery document")
    logger.info("Discovered services of %s: %s", workspace.describe(), ", ".join(services))
    return {str(k): str(v).rstrip("/") for k, v in services.items() if v}


def _get_json(connection: Connection, client: Any, url: str, what: str) -> dict[str, Any]:
    """GET ``url`` (the ARM api-version added for ARM); errors become one-line exceptions."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError
    from azure.core.rest import HttpRequest

    from migrate_kit.v1._errors import (
        credential_error,
        error_from_exception,
        error_from_response,
        malformed_error,
    )

    phrase = connection.workspace.describe()
    phrase = phrase[0].upper() + phrase[1:]
    params = {"api-version": WORKSPACE_API_VERSION} if "/providers/" in url else {}
    try:
        response = client.send_request(
            HttpRequest("GET", url, params=params), connection_verify=connection.ca_bundle or True
        )
    except ClientAuthenticationError as exc:
        raise credential_error(phrase, what, connection.arm_scope, exc) from None
    except AzureError as exc:
        raise error_from_exception(phrase, what, url, exc) from None
    if response.status_code >= 400:
        raise error_from_response(phrase, what, url, response.status_code, response.content, 0)
    try:
        body = response.json()
    except ValueError as exc:
        raise malformed_error(phrase, what, url, str(exc)) from None
    if not isinstance(body, dict):
        raise malformed_error(phrase, what, url, f"a JSON {type(body).__name__}, not an object")
    return body
