"""Workspace settings of an emulated workspace, and the context every backend receives.

The sample workspace describes itself in ``workspace.json`` (written next to its capture); when
the file is missing, the built-in defaults below are used, so an empty or half-written sample
still starts.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate_kit.emulator.faults import FaultSet
    from migrate_kit.emulator.state import Store

__all__ = ["DEFAULT_WORKSPACE", "Context", "EmulatorConfig", "load_config"]

logger = logging.getLogger(__name__)

DEFAULT_WORKSPACE: dict[str, str] = {
    "subscription_id": "5f2c6a8e-1b3d-4c7e-9a0f-2d4b6c8e0a13",
    "resource_group": "rg-ml-migration-demo",
    "workspace_name": "mlw-contoso-forecast",
    "region": "westeurope",
    "tenant_id": "72f988bf-0000-4000-8000-00000000c0de",
    "workspace_id": "9b1d7e35-4c2a-4f8e-b6d0-3a5c7e9f1b24",
}


@dataclass(frozen=True)
class EmulatorConfig:
    """Identity of the one workspace the emulator serves.

    ``datastore_container`` defaults to ``azureml-blobstore-<workspace_id>``, the name Azure ML
    gives the default datastore's container.
    """

    subscription_id: str = DEFAULT_WORKSPACE["subscription_id"]
    resource_group: str = DEFAULT_WORKSPACE["resource_group"]
    workspace_name: str = DEFAULT_WORKSPACE["workspace_name"]
    region: str = DEFAULT_WORKSPACE["region"]
    tenant_id: str = DEFAULT_WORKSPACE["tenant_id"]
    workspace_id: str = DEFAULT_WORKSPACE["workspace_id"]
    default_datastore: str = "workspaceblobstore"
    storage_account: str = "stdemo"
    datastore_container: str = field(default="")

    def __post_init__(self) -> None:
        if not self.datastore_container:
            container = f"azureml-blobstore-{self.workspace_id}"
            object.__setattr__(self, "datastore_container", container)

    @property
    def scope(self) -> str:
        """The ARM id without its leading slash: ``subscriptions/.../workspaces/<name>``."""
        return (
            f"subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace_name}"
        )

    @property
    def arm_id(self) -> str:
        """The workspace's ARM resource id."""
        return "/" + self.scope


def load_config(sample: Path | None) -> EmulatorConfig:
    """Read ``<sample>/workspace.json``; fall back to the built-in defaults for missing values.

    Unknown keys in the file are ignored with a warning, so a newer sample still loads.
    """
    if sample is None:
        return EmulatorConfig()

    path = sample / "workspace.json"
    if not path.is_file():
        logger.warning("No %s; using the built-in workspace settings", path)
        return EmulatorConfig()

    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    known = {f.name for f in fields(EmulatorConfig)}
    ignored = sorted(set(raw) - known)
    if ignored:
        logger.warning("Ignoring unknown keys %s in %s", ignored, path)
    return EmulatorConfig(**{k: str(v) for k, v in raw.items() if k in known})


class Context:
    """What every backend gets: the workspace settings, the store and the public URLs.

    ``base_url`` and ``blob_base_url`` are filled in once the listening port is known (before any
    family's routes are built); read them at request time rather than copying them.
    """

    def __init__(self, config: EmulatorConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.base_url = ""
        self.blob_base_url = ""
        #: The running server's faults (None for backends used without a server).
        self.faults: FaultSet | None = None
        #: How many steps of invoked or submitted jobs run at once.
        self.job_workers = 2
        #: Where jobs run; None means a ``jobs`` folder next to the store's file.
        self.scratch_dir: Path | None = None

    def set_port(self, port: int) -> None:
        """Fill in the public URLs for a server listening on 127.0.0.1:``port``."""
        self.base_url = f"https://127.0.0.1:{port}"
        self.blob_base_url = f"https://{self.config.storage_account}.blob.localhost:{port}"

    @staticmethod
    def now_iso() -> str:
        """The current UTC time as ISO 8601 with a ``Z`` suffix (what Azure services send)."""
        now = datetime.now(timezone.utc)
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}0Z"

    @staticmethod
    def new_id() -> str:
        """A fresh uuid4 string."""
        return str(uuid.uuid4())
