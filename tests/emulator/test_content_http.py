"""Snapshots and blob storage over real HTTPS: an in-process emulator, ``requests`` and the
unmodified ``azure-storage-blob`` client (the v1 SDK vendors a copy of it for snapshot uploads).

Host-style blob URLs (``https://stdemo.blob.localhost:PORT``) do not resolve on every machine
(pitfall P1): plain ``requests`` calls connect to 127.0.0.1 and send the ``Host`` header; the
azure-storage-blob test resolves ``*.localhost`` to 127.0.0.1 in this process only.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from azure.storage.blob import BlobClient, BlobPrefix, BlobServiceClient, ContainerClient

from migrate_kit.emulator import Emulator


class Client:
    """A requests session trusting the emulator's CA, with a bearer token for the service."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.ca = emu.connection["ca_bundle"]
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would replace our CA bundle
        self.session.verify = self.ca
        scope = emu.ctx.config.scope
        self.v1 = f"{emu.base_url}/content/v1.0/{scope}/snapshots"
        self.v2 = f"{emu.base_url}/content/v2.0/{scope}/snapshots"
        self.auth = {"Authorization": "Bearer any-token"}

    def service(self, method: str, url: str, body: Any = None) -> requests.Response:
        data = None if body is None else json.dumps(body)
        headers = {**self.auth, "Content-Type": "application/json; charset=UTF-8"}
        return self.session.request(method, url, data=data, headers=headers, timeout=30)

    def blob(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send to a host-style blob URL: connect to 127.0.0.1, name the host in ``Host``."""
        parts = urlsplit(url)
        local = parts._replace(netloc=f"127.0.0.1:{parts.port}").geturl()
        headers = {"Host": parts.netloc, **kwargs.pop("headers", {})}
        return self.session.request(method, local, headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state = tmp_path_factory.mktemp("content-http")
    with Emulator(state_dir=Path(state), sample=None) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Client]:
    emulator.reset()
    client = Client(emulator)
    yield client
    client.session.close()


@pytest.fixture
def resolve_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve ``*.localhost`` to 127.0.0.1 in this process (not every resolver does)."""
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return original(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def tree(names: list[str]) -> dict[str, Any]:
    """A flat DirTreeNode as the SDK serialises it (children as a map)."""
    children = {n: {"name": n, "type": "File", "hash": "h", "timestamp": "t", "children": {}}
                for n in names}  # fmt: skip
    return {"name": "", "type": "Directory", "hash": "h", "timestamp": "t", "children": children}


def upload_snapshot(
    client: Client, snapshot_id: str, parent: str | None, files: dict[str, bytes],
    changed: list[str],
) -> requests.Response:  # fmt: skip
    """The SDK's snapshot sequence: getblob, PUT + HEAD per changed file, POST manifest."""
    response = client.service("POST", f"{client.v2}/getblob", {"FileNames": changed})
    assert response.status_code == 200, response.text
    revisions = []
    for node in response.json()["fileNodes"]:
        data = files[node["fullName"]]
        headers = {
            "x-ms-blob-type": "BlockBlob",
            "If-None-Match": "*",
            "x-ms-version": "2021-08-06",
        }
        put = client.blob("PUT", node["blobUri"], data=data, headers=headers)
        assert put.status_code == 201, put.text
        assert put.headers["ETag"] and put.headers["Last-Modified"] and put.headers["Content-MD5"]
        head = client.blob("HEAD", node["blobUri"])
        assert head.status_code == 200
        assert head.headers["Content-Length"] == str(len(data))
        assert head.headers["x-ms-blob-type"] == "BlockBlob" and head.headers["ETag"]
        revisions.append({"FullName": node["fullName"], "BlobUri": node["blobUri"],
                          "FileSize": len(data)})  # fmt: skip
    manifest = {"ParentSnapshotId": parent, "Tags": None, "Properties": {},
                "DirTreeNode": tree(sorted(files)),
                "FileRevisionList": {"FileNodes": revisions}}  # fmt: skip
    return client.service("POST", f"{client.v2}/{snapshot_id}", manifest)


def download_zip(client: Client, snapshot_id: str) -> dict[str, bytes]:
    response = client.service("POST", f"{client.v2}/{snapshot_id}/zip")
    assert response.status_code == 200, response.text
    uri = response.json()["zipSasUri"]
    assert uri.startswith(client.emu.base_url + "/") and "sig=" in uri
    download = client.session.get(uri, timeout=30)  # path style, no bearer token needed
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# -- snapshots --------------------------------------------------------------------------------


def test_latest_metadata_of_an_empty_workspace(client: Client) -> None:
    response = client.service("GET", f"{client.v1}/latest/metadata")
    assert response.status_code == 200
    assert response.json() == {"id": None, "root": {}}


def test_snapshot_upload_chain_and_zip_download(client: Client) -> None:
    first = {"train.py": b"print('v1')", "util.py": b"X = 1"}
    assert (
        upload_snapshot(client, "snap-a", None, first, ["train.py", "util.py"]).status_code == 200
    )
    second = {"train.py": b"print('v2')", "util.py": b"X = 1", "extra.py": b""}
    response = upload_snapshot(client, "snap-b", "snap-a", second, ["train.py", "extra.py"])
    assert response.status_code == 200, response.text

    latest = client.service("GET", f"{client.v1}/latest/metadata").json()
    assert latest["id"] == "snap-b"
    assert sorted(latest["root"]["children"]) == ["extra.py", "train.py", "util.py"]
    assert download_zip(client, "snap-b") == second
    assert download_zip(client, "snap-a") == first


def test_snapshot_errors(client: Client) -> None:
    stale = upload_snapshot(client, "snap-c", "parent-gone", {"a.py": b"a"}, ["a.py"])
    assert stale.status_code == 400
    assert stale.json()["error"]["innerError"]["code"] == "BadArgument"
    missing = client.service("POST", f"{client.v2}/nope/zip")
    assert missing.status_code == 404
    assert missing.json()["error"]["innerError"]["code"] == "NotFoundError"
    wrong = client.v2.replace("mlw-contoso-forecast", "other-ws")
    assert client.service("POST", f"{wrong}/getblob", {"FileNames": ["a"]}).status_code == 404
    bad = client.service("POST", f"{client.v2}/getblob", {"FileNames": [1, 2]})
    assert bad.status_code == 400


# -- blobs ------------------------------------------------------------------------------------


def test_blob_put_conflict_head_get_and_errors(client: Client) -> None:
    port = urlsplit(client.emu.base_url).port
    url = f"https://stdemo.blob.localhost:{port}/c1/dir/a.txt?sv=2021-08-06&sig=abc"
    headers = {"x-ms-blob-type": "BlockBlob", "If-None-Match": "*"}
    assert client.blob("PUT", url, data=b"abc", headers=headers).status_code == 201

    again = client.blob("PUT", url, data=b"xyz", headers=headers)
    assert again.status_code == 409
    assert again.headers["x-ms-error-code"] == "BlobAlreadyExists"
    assert "<Code>BlobAlreadyExists</Code>" in again.text and "sig=" not in again.text

    got = client.blob("GET", url)
    assert (got.status_code, got.content) == (200, b"abc")
    ranged = client.blob("GET", url, headers={"x-ms-range": "bytes=1-"})
    assert (ranged.status_code, ranged.content) == (206, b"bc")
    assert ranged.headers["Content-Range"] == "bytes 1-2/3"

    gone = url.replace("a.txt", "missing.txt")
    head = client.blob("HEAD", gone)
    assert head.status_code == 404 and head.headers["x-ms-error-code"] == "BlobNotFound"
    assert head.content == b""
    get = client.blob("GET", gone)
    assert get.status_code == 404 and "<Code>BlobNotFound</Code>" in get.text

    unsigned = client.blob("GET", url.split("?")[0])
    assert unsigned.status_code == 403
    assert unsigned.headers["x-ms-error-code"] == "AuthenticationFailed"
    container = client.blob(
        "PUT", f"https://stdemo.blob.localhost:{port}/c1?restype=container&sig=a"
    )
    assert container.status_code == 501


def test_path_style_blobs_with_azure_storage_blob(client: Client) -> None:
    url = f"{client.emu.base_url}/stdemo/c2/data/big.bin?sv=2021-08-06&sig=abc"
    blob = BlobClient.from_blob_url(url, connection_verify=client.ca, max_single_put_size=4096,
                                    max_block_size=4096)  # fmt: skip
    payload = bytes(range(256)) * 64  # 16 KiB: uploaded as 4 staged blocks + a block list
    blob.upload_blob(payload, metadata={"origin": "test"})
    properties = blob.get_blob_properties()
    assert properties.size == len(payload) and properties.metadata == {"origin": "test"}
    assert blob.download_blob().readall() == payload
    blob.set_blob_metadata({"stage": "2"})
    assert blob.get_blob_properties().metadata == {"stage": "2"}

    empty = BlobClient.from_blob_url(
        url.replace("big.bin", "empty.txt"), connection_verify=client.ca
    )
    empty.upload_blob(b"")
    assert empty.download_blob().readall() == b""  # 416 on the ranged GET, then a plain GET

    queries = [e["query"] for e in client.emu.request_log() if e["path"].endswith("/big.bin")]
    assert sum("comp=block&" in q or q.startswith("comp=block&") for q in queries) == 4
    assert any("comp=blocklist" in q for q in queries)
    assert any("comp=metadata" in q for q in queries)


def test_host_style_blobs_with_azure_storage_blob(client: Client, resolve_localhost: None) -> None:
    """What the v1 SDK does with a getblob URL: rebuild the account URL, upload, check size."""
    node = client.service("POST", f"{client.v2}/getblob", {"FileNames": ["score.py"]}).json()
    parts = urlsplit(node["fileNodes"][0]["blobUri"])
    account, _, suffix = parts.netloc.split(".", 2)
    container, name = parts.path.lstrip("/").split("/", 1)
    service = BlobServiceClient(f"https://{account}.blob.{suffix}", credential=parts.query,
                                connection_verify=client.ca)  # fmt: skip
    blob = service.get_blob_client(container=container, blob=name)
    blob.upload_blob(b"def run(): pass\n", blob_type="BlockBlob", validate_content=True)
    assert blob.get_blob_properties().size == 16
    assert blob.download_blob().readall() == b"def run(): pass\n"


# -- List Blobs and downloads ------------------------------------------------------------------

LISTED = {
    "run/a.txt": b"a" * 10,
    "run/logs/err.txt": b"",
    "run/logs/std.txt": b"std\n",
    "top.txt": b"top",
    "zz/big.bin": bytes(range(256)) * 20,  # 5 KiB: read in ranged chunks below
}


def container_sas_url(client: Client) -> str:
    """A container SAS URL as the emulator hands one out (a code upload's, path style)."""
    cfg = client.emu.ctx.config
    url = (f"{client.emu.base_url}{cfg.arm_id}/codes/listing/versions/1/startPendingUpload"
           "?api-version=2023-04-01")  # fmt: skip
    answer = client.service("POST", url, {"pendingUploadType": "TemporaryBlobReference"})
    assert answer.status_code == 200, answer.text
    sas_uri: str = answer.json()["blobReferenceForConsumption"]["credential"]["sasUri"]
    return sas_uri


@pytest.fixture
def listed(client: Client) -> ContainerClient:
    """A container holding ``LISTED`` (each blob with its size as metadata), small GET sizes."""
    container = ContainerClient.from_container_url(
        container_sas_url(client), connection_verify=client.ca,
        max_single_get_size=1024, max_chunk_get_size=1024,
    )  # fmt: skip
    for name, data in LISTED.items():
        container.upload_blob(name, data, metadata={"size": str(len(data))})
    return container


def test_list_blobs_with_azure_storage_blob(client: Client, listed: ContainerClient) -> None:
    blobs = list(listed.list_blobs(include="metadata"))
    assert [b.name for b in blobs] == sorted(LISTED)

    big = next(b for b in blobs if b.name == "zz/big.bin")
    head = listed.get_blob_client("zz/big.bin").get_blob_properties()
    assert big.size == 5120 and big.metadata == {"size": "5120"}
    assert big.etag == head.etag.strip('"')  # lists carry the ETag unquoted, as Azure does
    assert big.last_modified == head.last_modified and big.blob_type == "BlockBlob"
    assert big.content_settings.content_md5 == hashlib.md5(LISTED["zz/big.bin"]).digest()
    assert big.container == listed.container_name
    assert next(b.metadata for b in listed.list_blobs()) == {}  # metadata only when asked

    assert [b.name for b in listed.list_blobs(name_starts_with="run/logs/")] == [
        "run/logs/err.txt", "run/logs/std.txt"
    ]  # fmt: skip
    pages = [[b.name for b in page] for page in listed.list_blobs(results_per_page=2).by_page()]
    assert pages == [["run/a.txt", "run/logs/err.txt"], ["run/logs/std.txt", "top.txt"],
                     ["zz/big.bin"]]  # fmt: skip
    assert list(listed.list_blob_names(name_starts_with="t")) == ["top.txt"]


def test_walk_blobs_gives_virtual_folders(client: Client, listed: ContainerClient) -> None:
    top = list(listed.walk_blobs())  # the SDK puts a page's prefixes before its blobs
    assert [item.name for item in top] == ["run/", "zz/", "top.txt"]
    assert isinstance(top[0], BlobPrefix)
    assert [item.name for item in top[0]] == ["run/logs/", "run/a.txt"]  # one level down
    paged = listed.walk_blobs(name_starts_with="run/", results_per_page=1).by_page()
    assert [[item.name for item in page] for page in paged] == [["run/a.txt"], ["run/logs/"]]


@pytest.mark.filterwarnings("ignore:The use of a 'BlobProperties'")  # azure-ai-ml passes one
def test_download_blob_whole_ranged_and_from_a_listing(
    client: Client, listed: ContainerClient
) -> None:
    start = client.emu.log.last_seq
    assert listed.download_blob("zz/big.bin").readall() == LISTED["zz/big.bin"]
    gets = client.emu.request_log(since=start, method="GET", path=".*/zz/big.bin$")
    assert [e["status"] for e in gets] == [206] * 5  # 1 KiB chunks, each a ranged GET

    for blob in listed.list_blobs(name_starts_with="run/"):  # what azure-ai-ml's download does
        assert listed.download_blob(blob).readall() == LISTED[blob.name]
    assert (
        listed.download_blob("zz/big.bin", offset=1000, length=30).readall()
        == (LISTED["zz/big.bin"][1000:1030])
    )


def test_list_blobs_errors_and_both_url_styles(client: Client, listed: ContainerClient) -> None:
    path_style = listed.url.split("?")[0]
    port = urlsplit(client.emu.base_url).port
    host_style = f"https://stdemo.blob.localhost:{port}/{listed.container_name}"
    query = {"restype": "container", "comp": "list", "prefix": "run/", "sig": "x"}
    by_path = client.session.get(path_style, params=query, timeout=30)
    by_host = client.blob("GET", host_style, params=query)
    for answer in (by_path, by_host):
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/xml"
        assert answer.text.startswith('<?xml version="1.0" encoding="utf-8"?><EnumerationResults')
    assert by_path.text.count("<Blob>") == by_host.text.count("<Blob>") == 3
    assert f'ServiceEndpoint="https://stdemo.blob.localhost:{port}/"' in by_host.text

    for bad, code in (({"maxresults": "0"}, "OutOfRangeQueryParameterValue"),
                      ({"marker": "top.txt"}, "InvalidQueryParameterValue"),
                      ({"include": "colour"}, "InvalidQueryParameterValue")):  # fmt: skip
        answer = client.blob("GET", host_style, params={**query, **bad})
        assert answer.status_code == 400 and answer.headers["x-ms-error-code"] == code
        assert f"<Code>{code}</Code>" in answer.text
    unsigned = client.blob("GET", host_style, params={"restype": "container", "comp": "list"})
    assert unsigned.status_code == 403
    assert unsigned.headers["x-ms-error-code"] == "AuthenticationFailed"
    properties = client.blob("GET", host_style, params={"restype": "container", "sig": "x"})
    assert properties.status_code == 501  # Get Container Properties is not emulated
