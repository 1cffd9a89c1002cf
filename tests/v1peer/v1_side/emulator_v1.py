"""Connect the unmodified v1 SDK (azureml-core) to a running migrate_kit emulator.

Runs inside the v1 SDK's own virtual environment, never in the product environment. The harness
(``tests/v1peer/harness.py``) starts this interpreter with the connection file's ``env`` exported
and ``MIGRATE_KIT_V1_CONNECTION`` pointing at the connection file.

Authentication uses only the public ``AbstractAuthentication`` interface (reference §9.5): the
token comes from the emulator's managed-identity route (``IDENTITY_ENDPOINT`` with the
``X-IDENTITY-HEADER`` header, as on Azure App Service), and the ARM endpoint of the known cloud
``AzureCloud`` is pointed at the emulator so no request leaves the machine.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections import namedtuple

import requests
from azureml.core import Workspace
from azureml.core.authentication import AbstractAuthentication, MsiAuthentication

# The tuple type the SDK expects back from _get_all_subscription_ids (subscription_name,
# subscription_id); declared here so that no private SDK name is imported.
SubscriptionInfo = namedtuple("SubscriptionInfo", "subscription_name subscription_id")

ARM_RESOURCE = "https://management.azure.com/"


def load_connection(path: str | None = None) -> dict:
    """Read the emulator connection file named by the argument or MIGRATE_KIT_V1_CONNECTION."""
    path = path or os.environ.get("MIGRATE_KIT_V1_CONNECTION")
    if not path:
        raise SystemExit("MIGRATE_KIT_V1_CONNECTION is not set: run this through the v1 harness")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class EmulatorMsiAuthentication(AbstractAuthentication):
    """Bearer tokens from the emulator's managed-identity route; ARM redirected to the emulator."""

    def __init__(self, connection: dict) -> None:
        super().__init__(cloud="AzureCloud")  # a known cloud: no metadata fetch from the internet
        cloud = copy.deepcopy(self._cloud_type)
        cloud.endpoints.resource_manager = connection["arm_url"].rstrip("/") + "/"
        self._cloud_type = cloud
        self._connection = connection
        self._token: str | None = None
        self._expires_on = 0.0

    def _fetch(self) -> str:
        if self._token and time.time() < self._expires_on - 60:
            return self._token
        env = self._connection["env"]
        response = requests.get(
            env["IDENTITY_ENDPOINT"],
            params={"resource": ARM_RESOURCE, "api-version": "2019-08-01"},
            headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
            verify=env.get("REQUESTS_CA_BUNDLE", True),
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        self._token = body["access_token"]
        self._expires_on = float(body.get("expires_on") or time.time() + 3600)
        return self._token

    def _get_arm_token(self):
        return self._fetch()

    def _get_graph_token(self):
        return self._fetch()

    def _get_azureml_client_token(self):
        return self._fetch()

    def _get_all_subscription_ids(self):
        sub = self._connection["subscription_id"]
        return [SubscriptionInfo("emulator", sub)], self._connection["tenant_id"]

    def _get_workspace(self, subscription_id, resource_group, name):
        return None  # always go through the (emulated) ARM workspace GET


def make_auth(connection: dict) -> AbstractAuthentication:
    """The SDK's own ``MsiAuthentication`` when the connection env serves it, else ours.

    The emulator's connection env carries ``MSI_ENDPOINT``/``MSI_SECRET`` (App Service managed
    identity) and the cloud metadata URL, which is all the built-in class needs.
    ``MIGRATE_KIT_V1_AUTH=token`` forces :class:`EmulatorMsiAuthentication` instead.
    """
    choice = os.environ.get("MIGRATE_KIT_V1_AUTH", "msi")
    if choice == "msi" and os.environ.get("MSI_ENDPOINT"):
        return MsiAuthentication()
    return EmulatorMsiAuthentication(connection)


def workspace_from_connection(path: str | None = None) -> Workspace:
    """The emulator's workspace as a v1 ``Workspace`` object."""
    connection = load_connection(path)
    return Workspace(
        connection["subscription_id"],
        connection["resource_group"],
        connection["workspace_name"],
        auth=make_auth(connection),
    )
