"""The connect panel: which workspace, with which credential; and the local emulator.

Three sources, as :func:`migrate_kit.connect` takes them:

- ``config.json``: the Azure ML studio download (a path; found upward from the working folder
  by default);
- ``Workspace ids``: subscription, resource group and workspace name typed in;
- ``Local emulator``: an emulator connection file, or none, which starts an emulator in this
  kernel (:func:`start_local_emulator`) seeded with the sample workspace.

The credential choice makes the matching azure-identity credential (``DefaultAzureCredential``,
``InteractiveBrowserCredential`` or ``DeviceCodeCredential``, whose code is shown in the panel)
and passes it to :func:`migrate_kit.connect`. The emulator serves tokens through the managed
identity protocol, so with it the panel always uses ``DefaultAzureCredential``.

"Connect" also proves the connection: it reads the workspace resource and its discovery
document (which needs a token), then says who the token belongs to, decoded from the token's
claims without verifying them (the token itself is never shown or logged).
"""

from __future__ import annotations

import atexit
import base64
import html
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from migrate_kit.connection import Connection, connect, find_config
from migrate_kit.errors import ConfigurationError
from migrate_kit.panels._base import Panel, message_html
from migrate_kit.panels._session import Session

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from migrate_kit.emulator import Emulator

__all__ = [
    "CREDENTIALS",
    "SOURCES",
    "ConnectPanel",
    "make_credential",
    "start_local_emulator",
    "stop_local_emulator",
    "token_identity",
]

logger = logging.getLogger(__name__)

#: Source choices: (label, value).
SOURCES = (("config.json", "config"), ("Workspace ids", "ids"), ("Local emulator", "emulator"))
#: Credential choices: (label, value).
CREDENTIALS = (
    ("DefaultAzureCredential", "default"),
    ("Interactive browser", "browser"),
    ("Device code", "device_code"),
)

# -- the local emulator ----------------------------------------------------------------------

_local_lock = threading.Lock()
_local: Emulator | None = None
_local_temp: Path | None = None  # the state folder we made (removed on stop)


def start_local_emulator(state_dir: Path | str | None = None) -> Path:
    """Start the local workspace emulator in this process and return its connection file.

    The emulator is seeded with the repository's sample workspace and runs until the kernel
    ends (or :func:`stop_local_emulator`). When another process (the kernel of the previous
    notebook, still open) already serves ``state_dir``, its connection file is returned and
    that emulator is shared: it then stops with that kernel, and running this again starts
    one here. ``state_dir`` keeps its state (a fresh temporary
    folder by default, removed when it stops). Calling it again returns the running one's
    connection file; asking for another state folder while one runs is an error.
    """
    global _local, _local_temp
    with _local_lock:
        wanted = Path(state_dir).resolve() if state_dir is not None else None
        if _local is not None:
            if wanted is not None and wanted != _local.state_dir:
                raise ConfigurationError(
                    f"A local emulator already runs with its state in {_local.state_dir}; "
                    "call stop_local_emulator() before starting one in another folder."
                )
            assert _local.connection_file is not None
            return _local.connection_file

        if wanted is not None and _serving(wanted / "connection.json"):
            # Another kernel (the previous notebook's, still open) serves this state folder:
            # share its emulator rather than start a second server on the same SQLite state.
            logger.info("Using the emulator another kernel serves from %s", wanted)
            return wanted / "connection.json"

        from migrate_kit.emulator import Emulator

        temp = None
        if wanted is None:
            temp = wanted = Path(tempfile.mkdtemp(prefix="migrate-kit-emulator-"))
        emulator = Emulator(state_dir=wanted, connection_file=wanted / "connection.json")
        try:
            emulator.start()
        except BaseException:
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)
            raise
        _local, _local_temp = emulator, temp
        logger.info("Local emulator started at %s (state %s)", emulator.base_url, wanted)
        assert emulator.connection_file is not None
        return emulator.connection_file


def _serving(connection_file: Path) -> bool:
    """Whether the emulator of ``connection_file`` answers its health route (loopback only)."""
    import ssl
    import urllib.request

    try:
        info = json.loads(connection_file.read_text(encoding="utf-8"))
        base_url = str(info["base_url"]).rstrip("/")
        if not base_url.startswith(("https://127.0.0.1:", "https://localhost:")):
            return False
        context = ssl.create_default_context(cafile=str(info["ca_bundle"]))
        with urllib.request.urlopen(
            f"{base_url}/_emulator/health", context=context, timeout=2
        ) as answer:
            return bool(answer.status == 200)
    except (OSError, ValueError, KeyError, ssl.SSLError):
        return False


def stop_local_emulator() -> None:
    """Stop the emulator :func:`start_local_emulator` started (nothing when none runs)."""
    global _local, _local_temp
    with _local_lock:
        emulator, temp = _local, _local_temp
        _local = _local_temp = None
    if emulator is not None:
        emulator.stop()
        logger.info("Local emulator stopped")
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)


atexit.register(stop_local_emulator)


# -- credentials and who ---------------------------------------------------------------------


def make_credential(
    kind: str,
    *,
    tenant_id: str | None = None,
    prompt: Any = None,
) -> TokenCredential:
    """The azure-identity credential of a :data:`CREDENTIALS` choice.

    ``default``: ``DefaultAzureCredential`` (as :meth:`Connection.get_credential` makes it);
    ``browser``: ``InteractiveBrowserCredential`` (a browser opens where the kernel runs);
    ``device_code``: ``DeviceCodeCredential``, which calls ``prompt(uri, code, expires_on)``.
    ``tenant_id`` limits the interactive ones to one tenant.
    """
    import azure.identity as identity

    tenant = tenant_id or None
    if kind == "default":
        return identity.DefaultAzureCredential(exclude_interactive_browser_credential=True)
    if kind == "browser":
        return identity.InteractiveBrowserCredential(tenant_id=tenant)
    if kind == "device_code":
        return identity.DeviceCodeCredential(tenant_id=tenant, prompt_callback=prompt)
    raise ConfigurationError(
        f"Unknown credential {kind!r}; choose one of {', '.join(v for _, v in CREDENTIALS)}."
    )


def token_identity(token: str) -> str:
    """Who an access token was issued to, from its claims (decoded, not verified): the user's
    ``upn`` or ``unique_name``, else the application's ``appid``, else the ``oid``."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return "an identity whose token could not be read"
    if not isinstance(claims, dict):
        return "an identity whose token could not be read"
    for key in ("upn", "unique_name"):
        if claims.get(key):
            return str(claims[key])
    if claims.get("appid"):
        return f"application {claims['appid']}"
    if claims.get("oid"):
        return f"object {claims['oid']}"
    return "an identity the token does not name"


# -- the panel -------------------------------------------------------------------------------


class ConnectPanel(Panel):
    """Choose a workspace and a credential, then "Connect": sets ``session.connection``.

    ``config`` preselects a config.json, ``connection_file`` an emulator connection file.
    Without either, the panel starts on ``MIGRATE_KIT_CONNECTION_FILE`` if set, else on a
    config.json found upward from the working folder, else on the local emulator.
    """

    title = "1. Connect"

    def __init__(
        self,
        session: Session,
        *,
        config: Path | str | None = None,
        connection_file: Path | str | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.who: str | None = None
        source, config_path, emulator_file = _defaults(config, connection_file)

        wide = widgets.Layout(width="36em")
        label_style = {"description_width": "11em"}
        self.source = widgets.ToggleButtons(
            options=list(SOURCES), value=source, description="Workspace from", style=label_style
        )
        self.config_path = widgets.Text(
            value=config_path,
            description="config.json",
            placeholder="path to the config.json downloaded from Azure ML studio",
            layout=wide,
            style=label_style,
        )
        self.subscription_id = widgets.Text(
            description="Subscription id", layout=wide, style=label_style
        )
        self.resource_group = widgets.Text(
            description="Resource group", layout=wide, style=label_style
        )
        self.workspace_name = widgets.Text(
            description="Workspace name", layout=wide, style=label_style
        )
        self.connection_file = widgets.Text(
            value=emulator_file,
            description="Connection file",
            placeholder="empty: start a local emulator in this kernel",
            layout=wide,
            style=label_style,
        )
        self.credential = widgets.Dropdown(
            options=list(CREDENTIALS), value="default", description="Credential", style=label_style
        )
        self.tenant_id = widgets.Text(
            description="Tenant (optional)",
            placeholder="for interactive sign-in into one tenant",
            layout=wide,
            style=label_style,
        )
        self.connect_button = widgets.Button(
            description="Connect",
            button_style="primary",
            icon="plug",
            layout=widgets.Layout(width="auto"),
        )
        self.prompt = widgets.HTML(value="")  # the device code sign-in instruction
        self.summary = widgets.HTML(value="")  # "Connected to ... as ..."

        self._ids_box = widgets.VBox(
            [self.subscription_id, self.resource_group, self.workspace_name]
        )
        self._credential_box = widgets.VBox([self.credential, self.tenant_id])
        self.body.children = [
            self.source,
            self.config_path,
            self._ids_box,
            self.connection_file,
            self._credential_box,
            widgets.HBox([self.connect_button]),
            self.prompt,
            self.summary,
        ]
        if session.connection is not None:
            text = f"Connected to {session.connection.workspace.describe()}"
            self.summary.value = message_html("info", text)
        self.source.observe(lambda _change: self._show_fields(), names="value")
        self._show_fields()
        self.on_click(self.connect_button, self.connect)

    # -- actions ---------------------------------------------------------------------------

    def connect(self) -> Connection:
        """Connect with the form's values (what the "Connect" button runs)."""
        self.prompt.value = ""
        source = self.source.value
        if source == "config":
            path = self.config_path.value.strip()
            if not path:
                raise ConfigurationError(
                    "Give the path of the workspace's config.json (download it from the "
                    "workspace's overview page in Azure ML studio)."
                )
            connection = connect(config=Path(path).expanduser(), credential=self._credential())
        elif source == "ids":
            ids = {
                "subscription id": self.subscription_id.value.strip(),
                "resource group": self.resource_group.value.strip(),
                "workspace name": self.workspace_name.value.strip(),
            }
            missing = [name for name, value in ids.items() if not value]
            if missing:
                raise ConfigurationError(f"Give the workspace's {', '.join(missing)}.")
            subscription, group, workspace = ids.values()
            connection = connect(
                subscription_id=subscription,
                resource_group=group,
                workspace_name=workspace,
                credential=self._credential(),
            )
        else:
            path = self.connection_file.value.strip()
            if not path:
                self.working("Starting a local workspace emulator in this kernel ...")
                started = start_local_emulator()
                self.connection_file.value = str(started)
                path = str(started)
            connection = connect(connection_file=Path(path).expanduser())

        self.working(f"Reading {connection.workspace.describe()} ...")
        connection.resolve_services()
        token = connection.get_credential().get_token(connection.arm_scope).token
        self.who = token_identity(token)
        del token
        self._set_connection(connection)
        text = f"Connected to {connection.workspace.describe()} as {self.who}"
        self.summary.value = message_html("info", text)
        self.prompt.value = ""
        return connection

    # -- helpers ---------------------------------------------------------------------------

    def _credential(self) -> TokenCredential:
        return make_credential(
            self.credential.value, tenant_id=self.tenant_id.value.strip(), prompt=self._prompt
        )

    def _prompt(self, uri: str, code: str, expires_on: Any = None) -> None:
        """Device code sign-in: show where to go and the code to enter (not a secret)."""
        link = html.escape(uri)
        self.prompt.value = (
            f'To sign in, open <a href="{link}" target="_blank">{link}</a> and enter the code '
            f"<b>{html.escape(code)}</b>."
        )

    def _set_connection(self, connection: Connection) -> None:
        previous = self.session.connection
        if previous is None or previous.workspace != connection.workspace:
            # Another workspace: what was read from the last one no longer applies.
            with self.session.hold_trait_notifications():
                self.session.plan = None
                self.session.selected = []
                self.session.inventory = None
        self.session.connection = connection

    def _show_fields(self) -> None:
        source = self.source.value

        def show(widget: Any, visible: bool) -> None:
            widget.layout.display = None if visible else "none"

        show(self.config_path, source == "config")
        show(self._ids_box, source == "ids")
        show(self.connection_file, source == "emulator")
        show(self._credential_box, source != "emulator")


def _defaults(
    config: Path | str | None, connection_file: Path | str | None
) -> tuple[str, str, str]:
    """The source to start on, the config.json path and the emulator connection file."""
    found = find_config()
    config_path = str(config) if config is not None else str(found) if found else ""
    if connection_file is not None:
        return "emulator", config_path, str(connection_file)
    if config is not None:
        return "config", config_path, ""
    from_env = os.environ.get("MIGRATE_KIT_CONNECTION_FILE", "")
    if from_env:
        return "emulator", config_path, from_env
    if found is not None:
        return "config", config_path, ""
    return "emulator", config_path, ""
