"""The connect panel, driven through its widgets against the emulator over real HTTPS."""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Iterator
from pathlib import Path

import azure.identity as identity
import pytest
from _fixtures import widget_texts

from migrate_kit import connect
from migrate_kit.emulator import Emulator
from migrate_kit.errors import ConfigurationError
from migrate_kit.panels import ConnectPanel, Session
from migrate_kit.panels.connect import (
    make_credential,
    start_local_emulator,
    stop_local_emulator,
    token_identity,
)

WORKSPACE = "workspace 'mlw-contoso-forecast'"


@pytest.fixture
def fresh(tmp_path: Path) -> Session:
    return Session(work_dir=tmp_path / "migration")


@pytest.fixture
def own_environment() -> Iterator[None]:
    """Connecting to another emulator exports its variables; put the test run's back."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _texts(panel: ConnectPanel) -> str:
    return "\n".join(widget_texts(panel.widget))


def _token(claims: dict[str, str]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJub25lIn0.{body}."


def test_connects_with_an_emulator_connection_file(
    fresh: Session, emulator: Emulator, connection_file: Path
) -> None:
    panel = ConnectPanel(fresh, connection_file=connection_file)
    assert panel.source.value == "emulator"
    assert panel._credential_box.layout.display == "none"  # the emulator takes no choice
    panel.connect_button.click()
    panel.wait()

    assert panel.error is None, panel.error
    assert fresh.connection is not None
    assert fresh.connection.workspace.workspace_name == "mlw-contoso-forecast"
    principal = emulator.ctx.config.workspace_id[-12:]
    assert "Connected to " + WORKSPACE in html.unescape(panel.summary.value)
    assert f"as application 00000000-0000-4000-8000-{principal}" in html.unescape(
        panel.summary.value
    )
    token = fresh.connection.get_credential().get_token(fresh.connection.arm_scope).token
    assert token.split(".")[1] not in _texts(panel)  # the token is never shown


def test_connects_with_a_config_json_and_the_chosen_credential(
    fresh: Session, emulator: Emulator, connection_file: Path, tmp_path: Path
) -> None:
    # A config.json as Azure ML studio gives it, plus the emulator's ARM URL and CA; the
    # managed-identity variables DefaultAzureCredential uses come from the connection file.
    connect(connection_file=connection_file)
    settings = {k: emulator.connection[k] for k in ("arm_url", "ca_bundle")}
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "subscription_id": emulator.connection["subscription_id"],
                "resource_group": emulator.connection["resource_group"],
                "workspace_name": emulator.connection["workspace_name"],
                **settings,
            }
        )
    )
    panel = ConnectPanel(fresh, config=config)
    assert panel.source.value == "config"
    assert panel.config_path.value == str(config)
    assert panel.credential.value == "default"
    panel.connect_button.click()
    panel.wait()

    assert panel.error is None, panel.error
    assert fresh.connection is not None
    assert isinstance(fresh.connection.credential, identity.DefaultAzureCredential)
    assert fresh.connection.source == str(config)
    assert "Connected to " + WORKSPACE in html.unescape(panel.summary.value)
    assert "Connect: done." in panel.status.value


def test_a_missing_config_file_is_one_line_in_the_panel(fresh: Session, tmp_path: Path) -> None:
    panel = ConnectPanel(fresh, config=tmp_path / "nowhere" / "config.json")
    panel.connect_button.click()
    panel.wait()

    assert panel.error is not None
    assert "does not exist" in panel.error
    assert 'class="mk-error"' in panel.status.value
    assert "Traceback" not in _texts(panel)
    assert fresh.connection is None
    assert not panel.connect_button.disabled


def test_missing_workspace_ids_are_named(fresh: Session) -> None:
    panel = ConnectPanel(fresh, config="unused.json")
    panel.source.value = "ids"
    assert panel._ids_box.layout.display is None
    assert panel.config_path.layout.display == "none"
    panel.subscription_id.value = "00000000-0000-0000-0000-000000000000"
    panel.connect_button.click()
    panel.wait()
    assert panel.error == "Connect failed: Give the workspace's resource group, workspace name."


def test_a_refused_workspace_read_shows_the_service_error(
    fresh: Session, emu: Emulator, connection_file: Path
) -> None:
    emu.inject_fault("GET", r"/workspaces/[^/]+$", status=403, count=None)
    panel = ConnectPanel(fresh, connection_file=connection_file)
    panel.connect_button.click()
    panel.wait()

    assert panel.error is not None
    assert panel.error.startswith("Connect failed: ")
    assert "403" in panel.error or "permission" in panel.error.lower()
    assert "Traceback" not in _texts(panel)
    assert fresh.connection is None


def test_a_new_workspace_clears_what_was_read_from_the_last(
    fresh: Session, connection_file: Path
) -> None:
    fresh.selected = ["a"]
    panel = ConnectPanel(fresh, connection_file=connection_file)
    panel.run(panel.connect, what="Connect", background=False)
    assert fresh.selected == []
    fresh.selected = ["b"]
    panel.run(panel.connect, what="Connect", background=False)  # the same workspace again
    assert fresh.selected == ["b"]


def test_no_connection_file_starts_a_local_emulator(
    fresh: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_environment: None
) -> None:
    monkeypatch.delenv("MIGRATE_KIT_CONNECTION_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # no config.json here or above
    panel = ConnectPanel(fresh)
    assert panel.source.value == "emulator"
    assert panel.connection_file.value == ""
    try:
        panel.connect_button.click()
        panel.wait()
        assert panel.error is None, panel.error
        started = Path(panel.connection_file.value)
        assert started.is_file()
        assert fresh.connection is not None
        assert "Connected to " + WORKSPACE in html.unescape(panel.summary.value)
    finally:
        stop_local_emulator()
    assert not started.exists()


def test_each_credential_choice_makes_its_azure_identity_credential() -> None:
    assert isinstance(make_credential("default"), identity.DefaultAzureCredential)
    assert isinstance(make_credential("browser"), identity.InteractiveBrowserCredential)
    device = make_credential(
        "device_code", tenant_id="contoso.onmicrosoft.com", prompt=lambda *args: None
    )
    assert isinstance(device, identity.DeviceCodeCredential)
    with pytest.raises(ConfigurationError, match="Unknown credential"):
        make_credential("password")


def test_the_panel_passes_its_credential_choice_to_connect(fresh: Session, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"subscription_id": "s", "resource_group": "r", "workspace_name": "w"}')
    panel = ConnectPanel(fresh, config=config)
    for choice, kind in [
        ("browser", identity.InteractiveBrowserCredential),
        ("device_code", identity.DeviceCodeCredential),
        ("default", identity.DefaultAzureCredential),
    ]:
        panel.credential.value = choice
        assert isinstance(panel._credential(), kind)
    panel._prompt("https://microsoft.com/devicelogin", "ABCD-1234")
    assert "ABCD-1234" in panel.prompt.value
    assert 'href="https://microsoft.com/devicelogin"' in panel.prompt.value


def test_who_comes_from_the_token_claims() -> None:
    assert token_identity(_token({"upn": "ana@contoso.com", "oid": "1"})) == "ana@contoso.com"
    assert token_identity(_token({"unique_name": "live.com#bo@x.com"})) == "live.com#bo@x.com"
    assert token_identity(_token({"appid": "app-1", "oid": "1"})) == "application app-1"
    assert token_identity(_token({"oid": "o-1"})) == "object o-1"
    assert token_identity("not-a-jwt") == "an identity whose token could not be read"


def test_a_state_folder_another_process_serves_is_shared_not_served_twice(
    emulator: Emulator, tmp_path: Path
) -> None:
    from migrate_kit.panels import connect as connect_module

    shared = start_local_emulator(emulator.state_dir)  # served by the test run's emulator
    assert shared == emulator.state_dir / "connection.json"
    assert connect_module._local is None  # nothing started in this process

    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / "connection.json").write_text(
        json.dumps({"base_url": "https://127.0.0.1:9", "ca_bundle": str(stale / "ca.pem")})
    )
    assert not connect_module._serving(stale / "connection.json")  # a dead one is not used
