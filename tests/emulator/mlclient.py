"""An unmodified azure-ai-ml ``MLClient`` pointed at an emulator, the way a user would do it.

A user exports the connection file's ``env`` map (``migrate-kit emulator env``) and then writes
``MLClient(DefaultAzureCredential(), sub, rg, ws)``. ``ml_client`` does exactly that in this
process. The variables stay exported: the SDK reads them again later (cloud metadata, the CA
bundle of azure-storage-blob), so they must outlive the call. Tests that want them restored use
the ``ml_client`` fixture of ``conftest.py`` (monkeypatched) instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from azure.ai.ml import MLClient
from azure.identity import DefaultAzureCredential

from migrate_kit.emulator import Emulator

__all__ = ["SHADOWING", "connection_of", "export_env", "ml_client"]

#: Variables that would make DefaultAzureCredential use something other than the emulator's
#: managed-identity route (EnvironmentCredential comes first in its chain).
SHADOWING = (
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_FEDERATED_TOKEN_FILE",
)


def connection_of(source: Emulator | Path | str) -> dict[str, Any]:
    """The connection dict of a running emulator or of a connection file."""
    if isinstance(source, Emulator):
        return source.connection
    loaded: dict[str, Any] = json.loads(Path(source).read_text(encoding="utf-8"))
    return loaded


def export_env(connection: dict[str, Any], environ: MutableMapping[str, str] | None = None) -> None:
    """Export the connection's ``env`` map (overriding what is there) and drop shadowing ones."""
    target = os.environ if environ is None else environ
    for name in SHADOWING:
        target.pop(name, None)
    target.update(connection["env"])


def ml_client(source: Emulator | Path | str) -> MLClient:
    """``MLClient(DefaultAzureCredential(), sub, rg, ws)`` after exporting the connection env."""
    connection = connection_of(source)
    export_env(connection)
    return MLClient(
        DefaultAzureCredential(),
        connection["subscription_id"],
        connection["resource_group"],
        connection["workspace_name"],
        enable_telemetry=False,
    )
