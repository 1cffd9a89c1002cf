"""The emulator server: TLS on loopback, the auth check, faults, the request log, concurrency,
restart persistence, admin routes and the foreground ``serve``."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from azure.core import PipelineClient
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest
from cryptography import x509

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.coverage import coverage_markdown

AUTH = {"Authorization": "Bearer test-token"}


def ws_url(emu: Emulator) -> str:
    return f"{emu.base_url}/{emu.ctx.config.scope}?api-version=2024-10-01-preview"


# -- TLS and loopback --------------------------------------------------------------------------


def test_serves_https_on_loopback_with_its_own_ca(emu: Emulator) -> None:
    parts = urlsplit(emu.base_url)
    assert parts.scheme == "https"
    assert parts.hostname == "127.0.0.1"

    ca = emu.connection["ca_bundle"]
    assert requests.get(f"{emu.base_url}/discovery", verify=ca, timeout=10).status_code == 200
    # Default trust (certifi) does not know the emulator's CA. A session that ignores the
    # environment, because earlier tests may have exported the emulator's REQUESTS_CA_BUNDLE.
    with requests.Session() as plain, pytest.raises(requests.exceptions.SSLError):
        plain.trust_env = False
        plain.get(f"{emu.base_url}/discovery", verify=True, timeout=10)


def test_plain_http_is_refused(emu: Emulator) -> None:
    plain = emu.base_url.replace("https://", "http://")

    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{plain}/discovery", timeout=10)


def test_server_certificate_names(emu: Emulator) -> None:
    pem = ssl.get_server_certificate(("127.0.0.1", urlsplit(emu.base_url).port or 0))
    cert = x509.load_pem_x509_certificate(pem.encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    names = set(sans.get_values_for_type(x509.DNSName))
    assert {"localhost", "*.blob.localhost", "stdemo.blob.localhost"} <= names
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


# -- auth check ----------------------------------------------------------------------------------


def test_arm_request_without_token_gets_arm_401(emu: Emulator, http: requests.Session) -> None:
    response = http.get(ws_url(emu))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_pipelines_request_without_token_gets_401(emu: Emulator, http: requests.Session) -> None:
    url = f"{emu.base_url}/pipelines/v1.0/{emu.ctx.config.scope}/Pipelines"

    response = http.get(url, headers={"Authorization": "Basic abc"})

    assert response.status_code == 401
    assert "error" in response.json()


@pytest.mark.parametrize(
    "path", ["/metadata/endpoints?api-version=2019-05-01", "/discovery", "/_emulator/health"]
)
def test_exempt_routes_need_no_token(emu: Emulator, http: requests.Session, path: str) -> None:
    assert http.get(emu.base_url + path).status_code == 200


def test_unknown_route_is_404_in_arm_shape(emu: Emulator, http: requests.Session) -> None:
    response = http.get(f"{emu.base_url}/subscriptions/x/nothing-here", headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


# -- faults --------------------------------------------------------------------------------------


def test_fault_status_count_and_retry_after(emu: Emulator, http: requests.Session) -> None:
    emu.inject_fault("GET", r"/workspaces/", status=503, count=2, retry_after=7)

    first, second, third = (http.get(ws_url(emu), headers=AUTH) for _ in range(3))

    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.headers["Retry-After"] == "7"
    assert first.json()["error"]["code"] == "ServiceUnavailable"


def test_azure_core_retries_through_an_injected_503(emu: Emulator) -> None:
    emu.inject_fault("GET", r"/workspaces/", status=503, count=1, retry_after=0)
    client = PipelineClient(
        emu.base_url,
        policies=[RetryPolicy(retry_backoff_factor=0.01)],
        connection_verify=emu.connection["ca_bundle"],
    )

    with client:
        response = client.send_request(HttpRequest("GET", ws_url(emu), headers=AUTH))

    assert response.status_code == 200
    assert [e["status"] for e in emu.request_log()] == [503, 200]


def test_fault_custom_and_malformed_bodies(emu: Emulator, http: requests.Session) -> None:
    emu.inject_fault("GET", r"/discovery$", status=429, body={"error": {"code": "Throttled"}})
    emu.inject_fault("GET", r"/discovery$", status=None, malformed=True)

    custom = http.get(f"{emu.base_url}/discovery")
    malformed = http.get(f"{emu.base_url}/discovery")

    assert custom.status_code == 429
    assert custom.json() == {"error": {"code": "Throttled"}}
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.text)


def test_fault_delay_lets_the_request_through(emu: Emulator, http: requests.Session) -> None:
    emu.inject_fault("*", r"/discovery$", status=None, delay=0.3)

    started = time.perf_counter()
    response = http.get(f"{emu.base_url}/discovery")

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_fault_drop_breaks_the_connection(emu: Emulator, http: requests.Session) -> None:
    emu.inject_fault("GET", r"/discovery$", drop=True)

    with pytest.raises(requests.exceptions.RequestException):
        http.get(f"{emu.base_url}/discovery", timeout=10)
    assert http.get(f"{emu.base_url}/discovery").status_code == 200


def test_faults_through_admin_routes(emu: Emulator, http: requests.Session) -> None:
    fault: dict[str, Any] = {"method": "GET", "path": "/discovery$", "status": 500, "count": None}

    added = http.post(f"{emu.base_url}/_emulator/faults", json=fault)
    listed = http.get(f"{emu.base_url}/_emulator/faults").json()
    failing = [http.get(f"{emu.base_url}/discovery").status_code for _ in range(3)]
    cleared = http.delete(f"{emu.base_url}/_emulator/faults").json()

    assert added.status_code == 201
    assert [f["id"] for f in listed] == [added.json()["id"]]
    assert failing == [500, 500, 500]
    assert cleared == []
    assert http.get(f"{emu.base_url}/discovery").status_code == 200
    bad = http.post(f"{emu.base_url}/_emulator/faults", json={"nonsense": 1})
    assert bad.status_code == 400


# -- request log ---------------------------------------------------------------------------------


def test_request_log_leaves_out_secrets(emu: Emulator, http: requests.Session) -> None:
    http.get(f"{emu.base_url}/discovery?sv=2021&sig=SECRETSIG&se=x", headers=AUTH)

    entry = emu.request_log()[-1]
    logged = http.get(f"{emu.base_url}/_emulator/requests").json()

    assert entry["path"] == "/discovery"
    assert entry["status"] == 200
    assert entry["query"] == "sv=2021&se=x"
    assert "authorization" not in entry["headers"]
    assert entry["duration_ms"] >= 0
    assert "SECRETSIG" not in json.dumps(logged)
    assert "test-token" not in json.dumps(logged)


# -- concurrency ---------------------------------------------------------------------------------


def test_many_parallel_requests(emu: Emulator) -> None:
    ca = emu.connection["ca_bundle"]

    def call(i: int) -> int:
        url = ws_url(emu) if i % 2 else f"{emu.base_url}/discovery"
        return requests.get(url, headers=AUTH, verify=ca, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(call, range(200)))

    assert statuses == [200] * 200
    assert len(emu.request_log()) == 200


# -- blobs ---------------------------------------------------------------------------------------


def test_blob_requests_reach_the_blob_app_in_both_styles(emu: Emulator) -> None:
    if not emu.ctx.store or not _has_blob_app(emu):
        pytest.skip("the content family's blob routes are not written yet")
    ca, port = emu.connection["ca_bundle"], urlsplit(emu.base_url).port
    container, sas = "test-container", "sv=2021-08-06&sr=b&sp=rcw&sig=abc"
    path_style = f"{emu.base_url}/stdemo/{container}/dir/hello.txt?{sas}"
    host_style = f"{emu.base_url}/{container}/dir/hello.txt?{sas}"
    blob_host = {"Host": f"stdemo.blob.localhost:{port}"}

    put = requests.put(path_style, data=b"hello", headers={"x-ms-blob-type": "BlockBlob"},
                       verify=ca, timeout=10)  # fmt: skip
    got = requests.get(host_style, headers=blob_host, verify=ca, timeout=10)

    assert put.status_code == 201
    assert got.status_code == 200
    assert got.content == b"hello"
    assert emu.ctx.store.get_blob("stdemo", container, "dir/hello.txt") is not None


def _has_blob_app(emu: Emulator) -> bool:
    ca = emu.connection["ca_bundle"]
    health = requests.get(f"{emu.base_url}/_emulator/health", verify=ca, timeout=10).json()
    return bool(health["blob_storage"])


# -- restart, reset, serve -----------------------------------------------------------------------


def test_restart_keeps_state_and_ca(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Emulator(state_dir=state, sample=None) as first:
        first.ctx.store.put("pipelines.pipeline", "p1", {"Id": "p1"})
        ca_before = Path(first.connection["ca_bundle"]).read_bytes()
        port = urlsplit(first.base_url).port
        requests.get(f"{first.base_url}/discovery", verify=first.connection["ca_bundle"])

    with Emulator(state_dir=state, sample=None, port=port or 0) as second:
        ca = second.connection["ca_bundle"]
        health = requests.get(f"{second.base_url}/_emulator/health", verify=ca, timeout=10)

        assert second.base_url == f"https://127.0.0.1:{port}"
        assert second.ctx.store.get("pipelines.pipeline", "p1") == {"Id": "p1"}
        assert Path(ca).read_bytes() == ca_before
        assert health.json()["entities"] == 1


def test_busy_port_is_reported(emu: Emulator, tmp_path: Path) -> None:
    port = urlsplit(emu.base_url).port

    with pytest.raises(OSError, match=f"Cannot listen on 127.0.0.1:{port}"):
        Emulator(state_dir=tmp_path / "state", sample=None, port=port or 0).start()


def test_connection_file_fields(emu: Emulator, connection_file: Path) -> None:
    info = json.loads(connection_file.read_text())
    cfg = emu.ctx.config

    assert info == emu.connection
    assert info["subscription_id"] == cfg.subscription_id
    assert info["resource_group"] == cfg.resource_group
    assert info["workspace_name"] == cfg.workspace_name
    assert info["region"] == cfg.region
    assert info["tenant_id"] == cfg.tenant_id
    assert info["arm_url"] == info["pipelines_url"] == info["base_url"] == emu.base_url
    assert Path(info["ca_bundle"]).is_file()
    assert Path(info["state_dir"]).is_dir()
    assert set(info["env"]) >= {
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "ARM_CLOUD_METADATA_URL",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZUREML_CURRENT_CLOUD",
    }


def test_existing_state_is_not_reseeded(tmp_path: Path, emulator: Emulator) -> None:
    sample = Path(emulator.sample or ".")
    state = tmp_path / "state"
    with Emulator(state_dir=state, sample=sample) as first:
        cfg = first.ctx.config
        blobs = first.ctx.store.list_blobs(cfg.storage_account, cfg.datastore_container)
        first.ctx.store.clear()
        first.ctx.store.set_meta("seeded_at", "earlier")

    with Emulator(state_dir=state, sample=sample) as second:
        assert blobs
        assert second.ctx.store.count() == 0
        assert second.ctx.store.list_blobs(cfg.storage_account, cfg.datastore_container) == []


def test_reset_reseeds(tmp_path: Path, emulator: Emulator) -> None:
    with Emulator(state_dir=tmp_path / "state", sample=emulator.sample) as emu:
        cfg, ca = emu.ctx.config, emu.connection["ca_bundle"]
        seeded = emu.ctx.store.count()
        emu.ctx.store.put("pipelines.pipeline", "extra", {"Id": "extra"})

        response = requests.post(f"{emu.base_url}/_emulator/reset", verify=ca, timeout=30)

        assert response.json()["entities"] == seeded
        assert emu.ctx.store.get("pipelines.pipeline", "extra") is None
        assert emu.ctx.store.list_blobs(cfg.storage_account, cfg.datastore_container)


def test_export_route_writes_a_capture(
    emu: Emulator, http: requests.Session, tmp_path: Path
) -> None:
    folder = tmp_path / "capture"

    done = http.post(f"{emu.base_url}/_emulator/export", json={"folder": str(folder)})
    bad = http.post(f"{emu.base_url}/_emulator/export", json={})

    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    assert done.status_code == 200
    assert sum(len(items) for items in state["entities"].values()) == emu.ctx.store.count()
    assert bad.status_code == 400


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_runs_until_signalled(tmp_path: Path, signum: signal.Signals) -> None:
    conn = tmp_path / "connection.json"
    code = (
        "from migrate_kit.emulator import serve; "
        f"serve(sample=None, state_dir={str(tmp_path / 'state')!r}, port=0, "
        f"connection_file={str(conn)!r})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while not conn.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        info = json.loads(conn.read_text())
        health = requests.get(f"{info['base_url']}/_emulator/health",
                              verify=info["ca_bundle"], timeout=10)  # fmt: skip

        proc.send_signal(signum)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()

    assert health.json()["status"] == "ok"
    assert info["pid"] == proc.pid
    assert not conn.exists()


def test_coverage_page_lists_the_arm_simplifications() -> None:
    page = coverage_markdown()

    assert page.startswith("# What the emulator does not emulate")
    assert "## arm" in page
    assert "- token validation; any bearer token is accepted" in page
    # Items of a family's other modules are gathered too, under their class or module name.
    assert "`EndpointBackend`:" in page
    assert "- key authentication; `authMode` is always `AADToken`." in page
    assert "`parallel_driver`:" in page
