"""PipelinesClient over real HTTPS against the emulator: routes, headers, retries, error mapping."""

from __future__ import annotations

import http.server
import io
import logging
import socket
import ssl
import threading
import time
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from v1_samples import GRAPH_ID, PIPELINE_ID, PREP_MODULE

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.content.backend import content_backend_for
from migrate_kit.emulator.tls import ensure_certificates
from migrate_kit.errors import (
    AuthenticationError,
    NotFoundError,
    ServiceCallError,
    ServiceUnavailableError,
)
from migrate_kit.v1.client import LIST_BATCH_SIZE, PipelinesClient

GRAPH_PATH = rf"/Graphs/{GRAPH_ID}$"


def _requests(emu: Emulator, fragment: str) -> list[dict[str, Any]]:
    return [r for r in emu.request_log() if fragment in r["path"]]


# -- routes and headers ---------------------------------------------------------------------------


def test_reads_every_entity_kind(client: PipelinesClient, workspace: Emulator) -> None:
    (row,) = client.list_pipelines()
    assert row["Id"] == PIPELINE_ID

    assert client.get_pipeline(PIPELINE_ID)["GraphId"] == GRAPH_ID
    assert len(client.get_graph(GRAPH_ID)["ModuleNodes"]) == 2
    assert client.get_graph_interface(GRAPH_ID)["Parameters"][0]["Name"] == "learning_rate"
    assert client.get_module(PREP_MODULE)["Data"]["Name"] == "prep"


def test_requests_look_like_the_sdks(client: PipelinesClient, workspace: Emulator) -> None:
    client.list_pipelines()

    (entry,) = _requests(workspace, "/Pipelines")
    assert entry["query"] == "activeOnly=false"
    assert entry["headers"]["accept"] == "application/json"
    assert entry["headers"]["content-type"] == "application/json; charset=utf-8"
    assert entry["status"] == 200  # the server saw a bearer token, or it would answer 401


def test_active_only_is_sent(client: PipelinesClient, workspace: Emulator) -> None:
    client.list_pipelines(active_only=True)

    assert _requests(workspace, "/Pipelines")[0]["query"] == "activeOnly=true"


def test_endpoints_by_list_id_and_name(client: PipelinesClient, workspace: Emulator) -> None:
    backend = workspace.ctx
    from migrate_kit.emulator.pipelines.backend import backend_for

    endpoint_id = backend_for(backend).add_pipeline_endpoint(
        {"Name": "scoring", "DefaultVersion": "0",
         "PipelineVersionList": [{"Version": "0", "PipelineId": PIPELINE_ID}]}
    )  # fmt: skip

    (listed,) = client.list_endpoints()
    assert listed["Name"] == "scoring"
    assert client.get_endpoint(endpoint_id)["Name"] == "scoring"
    assert client.get_endpoint_by_name("scoring")["Id"] == endpoint_id
    (entry,) = _requests(workspace, "/PipelineEndpoints")[:1]
    assert entry["headers"]["batchsize"] == str(LIST_BATCH_SIZE)


def test_list_wrapped_in_entity_with_continuation_token(
    client: PipelinesClient, workspace: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"Entity": [{"Id": "a"}, {"Id": "b"}], "ContinuationToken": "next-page"}
    workspace.inject_fault(method="GET", path=r"/Pipelines$", status=200, body=body)

    with caplog.at_level(logging.WARNING, logger="migrate_kit.v1.client"):
        rows = client.list_pipelines()

    assert [r["Id"] for r in rows] == ["a", "b"]
    assert "continuation token" in caplog.text


def test_endpoint_list_of_exactly_batch_size_warns(
    client: PipelinesClient, workspace: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    body = [{"Id": str(i)} for i in range(LIST_BATCH_SIZE)]
    workspace.inject_fault(method="GET", path=r"/PipelineEndpoints$", status=200, body=body)

    with caplog.at_level(logging.WARNING, logger="migrate_kit.v1.client"):
        assert len(client.list_endpoints()) == LIST_BATCH_SIZE

    assert "truncated" in caplog.text


# -- retries --------------------------------------------------------------------------------------


def test_retries_503_and_honours_retry_after(client: PipelinesClient, workspace: Emulator) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=503, count=1, retry_after=1)

    started = time.monotonic()
    assert client.get_graph(GRAPH_ID)["Id"] == GRAPH_ID
    elapsed = time.monotonic() - started

    assert elapsed >= 0.95  # the first retry has no backoff of its own: the wait is Retry-After
    assert [r["status"] for r in _requests(workspace, f"/Graphs/{GRAPH_ID}")] == [503, 200]


def test_retry_after_is_capped(
    make_client: Callable[..., PipelinesClient], workspace: Emulator
) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=429, count=1, retry_after=3600)
    client = make_client(retry_total=1, max_retry_after=0.2)

    started = time.monotonic()
    client.get_graph(GRAPH_ID)

    assert time.monotonic() - started < 5


def test_persistent_5xx_becomes_service_unavailable(
    client: PipelinesClient, workspace: Emulator
) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=500, count=None)

    with pytest.raises(ServiceUnavailableError) as caught:
        client.get_graph(GRAPH_ID)

    assert caught.value.status == 500
    assert "after 1 retries" in str(caught.value)
    assert "mlw-contoso-forecast" in str(caught.value)
    assert len(_requests(workspace, f"/Graphs/{GRAPH_ID}")) == 2


def test_dropped_connection_is_retried(client: PipelinesClient, workspace: Emulator) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=200, drop=True, count=1)

    assert client.get_graph(GRAPH_ID)["Id"] == GRAPH_ID


def test_unreachable_service_is_service_unavailable(
    make_client: Callable[..., PipelinesClient],
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(base_url=f"https://127.0.0.1:{port}", retry_total=1)

    with pytest.raises(ServiceUnavailableError) as caught:
        client.list_pipelines()

    assert caught.value.status is None
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "Check the network" in str(caught.value)


# -- error mapping --------------------------------------------------------------------------------


def test_401_is_an_authentication_error_and_not_retried(
    client: PipelinesClient, workspace: Emulator
) -> None:
    workspace.inject_fault(method="GET", path=r"/Pipelines$", status=401, count=None)

    with pytest.raises(AuthenticationError) as caught:
        client.list_pipelines()

    message = str(caught.value)
    assert message.startswith(
        "Workspace 'mlw-contoso-forecast' in resource group 'rg-ml-migration-demo' (subscription "
    )
    assert "refused the credential (401" in message
    assert "az login" in message
    assert "\n" not in message
    assert len(_requests(workspace, "/Pipelines")) == 1


def test_403_names_the_missing_role(client: PipelinesClient, workspace: Emulator) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=403)

    with pytest.raises(AuthenticationError, match="role on the workspace"):
        client.get_graph(GRAPH_ID)


def test_404_is_not_found_with_the_service_code(client: PipelinesClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_graph("no-such-graph")

    error = caught.value
    assert error.status == 404
    assert error.code  # the innermost code of the service's error body
    assert "has no graph 'no-such-graph'" in str(error)
    assert error.url is not None and error.url.endswith("/Graphs/no-such-graph")


def test_pascal_case_error_body(client: PipelinesClient, workspace: Emulator) -> None:
    body = {"Error": {"Code": "BadArgument", "Message": "GraphId is\nnot valid"}}
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=400, body=body)

    with pytest.raises(ServiceCallError) as caught:
        client.get_graph(GRAPH_ID)

    error = caught.value
    assert type(error) is ServiceCallError
    assert (error.status, error.code, error.service_message) == (
        400,
        "BadArgument",
        "GraphId is not valid",
    )
    assert "(400 BadArgument: GraphId is not valid)" in str(error)


def test_secrets_in_a_service_message_are_redacted(
    client: PipelinesClient, workspace: Emulator
) -> None:
    leak = "see https://acct.blob.core.windows.net/c/x?sv=1&sig=SECRETSIG and Bearer eyJ.SECRET"
    workspace.inject_fault(
        method="GET", path=GRAPH_PATH, status=400, body={"error": {"code": "X", "message": leak}}
    )

    with pytest.raises(ServiceCallError) as caught:
        client.get_graph(GRAPH_ID)

    assert "SECRET" not in str(caught.value)
    assert "SECRET" not in (caught.value.service_message or "")


def test_malformed_json_in_a_200_is_a_service_call_error(
    client: PipelinesClient, workspace: Emulator
) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=200, malformed=True)

    with pytest.raises(ServiceCallError) as caught:
        client.get_graph(GRAPH_ID)

    assert (caught.value.status, caught.value.code) == (200, "MalformedResponse")
    assert "not valid JSON" in str(caught.value)


def test_a_list_that_is_not_a_list(client: PipelinesClient, workspace: Emulator) -> None:
    workspace.inject_fault(method="GET", path=r"/Pipelines$", status=200, body={"value": []})

    with pytest.raises(ServiceCallError, match="expected shape"):
        client.list_pipelines()


# -- logging --------------------------------------------------------------------------------------


def test_one_info_line_per_call_without_secrets(
    client: PipelinesClient, workspace: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    workspace.inject_fault(method="GET", path=GRAPH_PATH, status=503, count=1)

    with caplog.at_level(logging.INFO, logger="migrate_kit.v1"):
        client.get_graph(GRAPH_ID)
        client.list_pipelines()

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("migrate_kit.v1")]
    assert len(lines) == 2
    assert lines[0].startswith("GET /pipelines/v1.0/subscriptions/")
    assert f"/Graphs/{GRAPH_ID} -> 200 (" in lines[0]
    assert "1 retries" in lines[0]
    assert "activeOnly" not in lines[1]  # no query strings in logs
    assert "Bearer" not in caplog.text and "eyJ" not in caplog.text


# -- snapshots ------------------------------------------------------------------------------------


def _seed_snapshot(emu: Emulator, snapshot_id: str) -> None:
    account = emu.ctx.config.storage_account
    emu.ctx.store.put_blob(account, "snapshots", f"{snapshot_id}/train.py", b"print('hi')\n")
    content_backend_for(emu.ctx).create_snapshot(
        snapshot_id,
        {
            "DirTreeNode": {
                "name": "",
                "type": "Directory",
                "children": {"train.py": {"name": "train.py", "type": "File"}},
            },
            "FileRevisionList": {
                "FileNodes": [
                    {
                        "FullName": "train.py",
                        "BlobUri": f"https://127.0.0.1/{account}/snapshots/{snapshot_id}/train.py",
                    }
                ]
            },
        },
    )


def test_download_snapshot_zip_without_token_on_the_sas_request(
    client: PipelinesClient, workspace: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    _seed_snapshot(workspace, "snap-dl-1")

    with caplog.at_level(logging.INFO, logger="migrate_kit.v1"):
        data = client.download_snapshot("snap-dl-1")

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("train.py") == b"print('hi')\n"
    zip_post, blob_get = workspace.request_log()[-2:]
    assert zip_post["method"] == "POST" and zip_post["path"].endswith("/snapshots/snap-dl-1/zip")
    assert blob_get["method"] == "GET" and blob_get["path"].endswith("snap-dl-1.zip")
    assert "sig=" not in caplog.text


def test_download_missing_snapshot(client: PipelinesClient) -> None:
    with pytest.raises(NotFoundError, match="code snapshot 'nope'"):
        client.download_snapshot("nope")


def test_snapshot_zip_answered_with_202_is_polled(
    make_client: Callable[..., PipelinesClient], workspace: Emulator
) -> None:
    _seed_snapshot(workspace, "snap-poll")
    sas_url = content_backend_for(workspace.ctx).get_snapshot_zip("snap-poll")["zipSasUri"]
    poll_url = f"{workspace.base_url}/content/v2.0/operations/zip-op-1"
    workspace.inject_fault(method="POST", path=r"/snap-poll/zip$", status=202,
                           body={"location": poll_url})  # fmt: skip
    workspace.inject_fault(method="GET", path=r"/operations/zip-op-1$", status=202, body={})
    workspace.inject_fault(method="GET", path=r"/operations/zip-op-1$", status=200,
                           body={"zipSasUri": sas_url})  # fmt: skip
    client = make_client(snapshot_poll_interval=0.05)

    data = client.download_snapshot("snap-poll")

    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["train.py"]
    assert len(_requests(workspace, "/operations/zip-op-1")) == 2


def test_snapshot_polling_is_bounded(
    make_client: Callable[..., PipelinesClient], workspace: Emulator
) -> None:
    poll_url = f"{workspace.base_url}/content/v2.0/operations/zip-op-2"
    workspace.inject_fault(method="POST", path=r"/zip$", status=202, body={"location": poll_url})
    workspace.inject_fault(method="GET", path=r"/zip-op-2$", status=202, body={}, count=None)
    client = make_client(snapshot_poll_interval=0.05, snapshot_poll_timeout=0.3)

    with pytest.raises(ServiceUnavailableError, match="not ready within"):
        client.download_snapshot("snap-any")


# -- credentials and certificates ------------------------------------------------------------


def test_a_credential_without_a_token_is_an_authentication_error(
    make_client: Callable[..., PipelinesClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-emulators-secret")
    client = make_client()

    with pytest.raises(AuthenticationError) as caught:
        client.list_pipelines()

    assert "no token for https://management.azure.com/.default" in str(caught.value)
    assert "az login" in str(caught.value)


def test_ca_bundle_from_the_environment(
    make_client: Callable[..., PipelinesClient], workspace: Emulator
) -> None:
    # The workspace fixture exported REQUESTS_CA_BUNDLE, as the connection file's env says.
    client = make_client(connection_verify=True)

    assert client.get_pipeline(PIPELINE_ID)["Id"] == PIPELINE_ID


def test_the_sas_download_carries_no_bearer_token(
    client: PipelinesClient, workspace: Emulator
) -> None:
    # A second HTTPS server (the emulator's own certificate) stands in for blob storage and
    # records the headers it receives: the emulator's request log leaves Authorization out.
    seen: list[dict[str, str]] = []

    class Blob(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"zip")

        def log_message(self, *args: object) -> None:
            pass

    tls = ensure_certificates(workspace.state_dir / "tls")  # the emulator's existing files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.server_cert, tls.server_key)
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blob) as blob_server:
        blob_server.socket = context.wrap_socket(blob_server.socket, server_side=True)
        threading.Thread(target=blob_server.serve_forever, daemon=True).start()
        sas = f"https://127.0.0.1:{blob_server.server_address[1]}/zips/s.zip?sv=1&sig=SECRET"
        workspace.inject_fault(method="POST", path=r"/zip$", status=200, body={"zipSasUri": sas})
        try:
            assert client.download_snapshot("snap-any") == b"zip"
        finally:
            blob_server.shutdown()

    (headers,) = seen
    assert "authorization" not in headers
    assert _requests(workspace, "/zip")  # the zip request itself went to the emulator


def test_unknown_workspace_on_a_list_route(make_client: Callable[..., PipelinesClient]) -> None:
    client = make_client(workspace_name="no-such-workspace")

    with pytest.raises(NotFoundError) as caught:
        client.list_pipelines()

    assert str(caught.value).startswith("Workspace 'no-such-workspace' in resource group")
    assert "was not found when reading the list of published pipelines (404" in str(caught.value)
