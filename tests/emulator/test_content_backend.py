"""Unit tests of the content (snapshot) and blob backends on a real Store, without HTTP."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import pytest

from migrate_kit.emulator.config import Context
from migrate_kit.emulator.content import errors
from migrate_kit.emulator.content.backend import BlobBackend, ContentBackend
from migrate_kit.emulator.content.listing import BlobListing, ListedBlob, ListedPrefix, listing_xml
from migrate_kit.emulator.content.snapshots import tree_files

PUT_HEADERS = {"x-ms-blob-type": "BlockBlob", "if-none-match": "*"}


@pytest.fixture
def content(ctx: Context) -> ContentBackend:
    return ContentBackend(ctx)


@pytest.fixture
def blobs(ctx: Context) -> BlobBackend:
    return BlobBackend(ctx)


def sdk_account_url(blob_uri: str) -> tuple[str, str, str]:
    """What the v1 SDK does with a getblob URL (pitfall P1), written from the reference:
    split the netloc into account / "blob" / suffix, rebuild the account URL, split the path."""
    parts = urlsplit(blob_uri)
    account, _, suffix = parts.netloc.split(".", 2)
    container, blob = parts.path.lstrip("/").split("/", 1)
    return f"https://{account}.blob.{suffix}", container, blob


def tree(files: dict[str, str]) -> dict[str, Any]:
    """A DirTreeNode (children as a map, as the SDK sends it) for ``{path: content}``."""
    root: dict[str, Any] = {"name": "", "type": "Directory", "hash": "h", "timestamp": "t",
                            "children": {}}  # fmt: skip
    for path in files:
        node = root
        *folders, name = path.split("/")
        for folder in folders:
            node = node["children"].setdefault(
                folder,
                {"name": folder, "type": "Directory", "hash": "h", "timestamp": "t",
                 "children": {}},
            )  # fmt: skip
        node["children"][name] = {"name": name, "type": "File", "hash": "h", "timestamp": "t",
                                  "children": {}}  # fmt: skip
    return root


def upload(
    content: ContentBackend, blobs: BlobBackend, files: dict[str, str]
) -> list[dict[str, Any]]:
    """getblob + PUT per file; returns the FileRevisionList nodes the SDK would send."""
    nodes = content.get_blob_uris({"FileNames": list(files)})["fileNodes"]
    revisions = []
    for node in nodes:
        _, container, blob = sdk_account_url(node["blobUri"])
        data = files[node["fullName"]].encode()
        blobs.put_blob("stdemo", container, unquote(blob), data, PUT_HEADERS)
        revisions.append({"FullName": node["fullName"], "BlobUri": node["blobUri"],
                          "FileSize": len(data)})  # fmt: skip
    return revisions


def manifest(
    parent: str | None, files: dict[str, str], uploaded: list[dict[str, Any]]
) -> dict[str, Any]:
    return {"ParentSnapshotId": parent, "Tags": None, "Properties": {},
            "DirTreeNode": tree(files), "FileRevisionList": {"FileNodes": uploaded}}  # fmt: skip


def zip_blob(ctx: Context, content: ContentBackend, snapshot_id: str) -> bytes:
    uri = content.get_snapshot_zip(snapshot_id)["zipSasUri"]
    account, container, path = urlsplit(uri).path.lstrip("/").split("/", 2)
    found = ctx.store.get_blob(account, container, path)
    assert found is not None
    return found[0]


def zip_contents(ctx: Context, content: ContentBackend, snapshot_id: str) -> dict[str, bytes]:
    uri = content.get_snapshot_zip(snapshot_id)["zipSasUri"]
    parts = urlsplit(uri)
    assert parts.netloc == "127.0.0.1:4443" and "sig=" in parts.query
    account, container, path = parts.path.lstrip("/").split("/", 2)
    found = ctx.store.get_blob(account, container, path)
    assert found is not None
    with zipfile.ZipFile(io.BytesIO(found[0])) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# -- snapshots --------------------------------------------------------------------------------


def test_latest_metadata_is_empty_without_snapshots(content: ContentBackend) -> None:
    assert content.get_latest_snapshot_metadata() == {"id": None, "root": {}}


def test_getblob_hands_out_host_style_urls_that_survive_the_sdk_rebuild(
    content: ContentBackend,
) -> None:
    nodes = content.get_blob_uris({"FileNames": ["train.py", "sub/util.py"]})["fileNodes"]
    assert [n["fullName"] for n in nodes] == ["train.py", "sub/util.py"]
    account_url, container, blob = sdk_account_url(nodes[1]["blobUri"])
    assert account_url == "https://stdemo.blob.localhost:4443"
    assert container == "snapshots" and blob.endswith("/sub/util.py")
    assert "sig=" in urlsplit(nodes[0]["blobUri"]).query
    with pytest.raises(errors.BadRequest):
        content.get_blob_uris({"FileNames": "train.py"})


def test_snapshot_chain_resolves_unchanged_files_from_the_parent(
    ctx: Context, content: ContentBackend, blobs: BlobBackend
) -> None:
    first_files = {"a.py": "print('a1')", "sub/b.py": "print('b')"}
    content.create_snapshot(
        "snap-1", manifest(None, first_files, upload(content, blobs, first_files))
    )

    second_files = {"a.py": "print('a2')", "sub/b.py": "print('b')", "c.py": "print('c')"}
    changed = {"a.py": second_files["a.py"], "c.py": second_files["c.py"]}
    content.create_snapshot(
        "snap-2", manifest("snap-1", second_files, upload(content, blobs, changed))
    )

    latest = content.get_latest_snapshot_metadata()
    assert latest["id"] == "snap-2"
    assert sorted(latest["root"]["children"]) == ["a.py", "c.py", "sub"]
    assert tree_files(latest["root"]) == ["a.py", "sub/b.py", "c.py"]
    assert zip_contents(ctx, content, "snap-2") == {
        "a.py": b"print('a2')", "c.py": b"print('c')", "sub/b.py": b"print('b')"
    }  # fmt: skip
    assert zip_contents(ctx, content, "snap-1") == {
        "a.py": b"print('a1')",
        "sub/b.py": b"print('b')",
    }


def test_snapshot_zip_is_deterministic_and_404_for_unknown(
    ctx: Context, content: ContentBackend, blobs: BlobBackend
) -> None:
    files = {"train.py": "x = 1"}
    content.create_snapshot("s", manifest(None, files, upload(content, blobs, files)))
    first = zip_blob(ctx, content, "s")
    ctx.store.clear()  # the zip is rebuilt from scratch: same bytes
    content.create_snapshot("s", manifest(None, files, upload(content, blobs, files)))
    assert zip_blob(ctx, content, "s") == first
    with pytest.raises(errors.NotFound):
        content.get_snapshot_zip("missing")


def test_snapshot_manifest_errors(content: ContentBackend, blobs: BlobBackend) -> None:
    files = {"a.py": "a"}
    with pytest.raises(errors.BadRequest, match="ParentSnapshotId"):
        content.create_snapshot("s1", manifest("gone", files, upload(content, blobs, files)))
    with pytest.raises(errors.BadRequest, match=r"a\.py"):
        content.create_snapshot("s1", manifest(None, files, []))
    never_put = content.get_blob_uris({"FileNames": ["a.py"]})["fileNodes"][0]
    revision = [{"FullName": "a.py", "BlobUri": never_put["blobUri"], "FileSize": 1}]
    with pytest.raises(errors.BadRequest, match="not uploaded"):
        content.create_snapshot("s1", manifest(None, files, revision))
    with pytest.raises(errors.BadRequest):
        content.create_snapshot("s1", {"ParentSnapshotId": None})

    content.create_snapshot("s1", manifest(None, files, upload(content, blobs, files)))
    with pytest.raises(errors.Conflict):
        content.create_snapshot("s1", manifest("s1", files, []))


def test_snapshot_accepts_path_style_blob_uris(
    ctx: Context, content: ContentBackend, blobs: BlobBackend
) -> None:
    blobs.put_blob("stdemo", "snapshots", "x/run.py", b"run", PUT_HEADERS)
    revision = [{"FullName": "run.py", "BlobUri": "https://127.0.0.1:4443/stdemo/snapshots/x/run.py",
                 "FileSize": 3}]  # fmt: skip
    content.create_snapshot("p", manifest(None, {"run.py": ""}, revision))
    assert zip_contents(ctx, content, "p") == {"run.py": b"run"}


# -- blobs ------------------------------------------------------------------------------------


def test_put_blob_then_head_and_get(blobs: BlobBackend) -> None:
    props = blobs.put_blob("stdemo", "c", "dir/f.txt", b"hello world", PUT_HEADERS)
    assert props["etag"] and props["last_modified"]
    assert props["content_md5"] == base64.b64encode(hashlib.md5(b"hello world").digest()).decode()

    head = blobs.get_blob_properties("stdemo", "c", "dir/f.txt")
    assert head["content_length"] == "11" and head["blob_type"] == "BlockBlob"
    assert blobs.get_blob("stdemo", "c", "dir/f.txt", None).data == b"hello world"
    part = blobs.get_blob("stdemo", "c", "dir/f.txt", "bytes=6-")
    assert (part.data, part.content_range) == (b"world", "bytes 6-10/11")
    assert blobs.get_blob("stdemo", "c", "dir/f.txt", "bytes=0-4").data == b"hello"
    with pytest.raises(errors.InvalidRange):
        blobs.get_blob("stdemo", "c", "dir/f.txt", "bytes=50-60")


def test_put_blob_conditions_and_validation(blobs: BlobBackend) -> None:
    blobs.put_blob("stdemo", "c", "f", b"1", PUT_HEADERS)
    with pytest.raises(errors.BlobAlreadyExists) as caught:
        blobs.put_blob("stdemo", "c", "f", b"2", PUT_HEADERS)
    assert caught.value.status == 409
    assert "<Code>BlobAlreadyExists</Code>" in caught.value.xml()
    assert caught.value.headers()["x-ms-error-code"] == "BlobAlreadyExists"

    blobs.put_blob("stdemo", "c", "f", b"2", {"x-ms-blob-type": "BlockBlob"})  # overwrite
    with pytest.raises(errors.ConditionNotMet):
        blobs.put_blob("stdemo", "c", "f", b"3", {"x-ms-blob-type": "BlockBlob", "if-match": '"x"'})
    with pytest.raises(errors.InvalidHeaderValue):
        blobs.put_blob("stdemo", "c", "g", b"1", {"x-ms-blob-type": "PageBlob"})
    with pytest.raises(errors.Md5Mismatch):
        blobs.put_blob(
            "stdemo", "c", "g", b"1", {"x-ms-blob-type": "BlockBlob", "content-md5": "AAAA"}
        )
    with pytest.raises(errors.BlobNotFound):
        blobs.get_blob_properties("stdemo", "c", "missing")
    with pytest.raises(errors.AuthenticationFailed):
        blobs.check_sas({"sv": "2021-08-06"})
    blobs.check_sas({"sig": "anything"})


def test_blob_metadata_and_block_upload(blobs: BlobBackend) -> None:
    blobs.put_blob("stdemo", "c", "f", b"data", {**PUT_HEADERS, "x-ms-meta-origin": "test"})
    assert blobs.get_blob("stdemo", "c", "f", None).metadata == {"origin": "test"}
    before = blobs.get_blob_properties("stdemo", "c", "f")["etag"]
    after = blobs.set_blob_metadata("stdemo", "c", "f", {"x-ms-meta-stage": "2"})
    assert after["etag"] != before
    assert blobs.get_blob("stdemo", "c", "f", None).metadata == {"stage": "2"}

    first, second = base64.b64encode(b"b1").decode(), base64.b64encode(b"b2").decode()
    blobs.put_block("stdemo", "c", "big", second, b"world", {})
    blobs.put_block("stdemo", "c", "big", first, b"hello ", {})
    body = f"<BlockList><Latest>{first}</Latest><Latest>{second}</Latest></BlockList>".encode()
    blobs.put_block_list("stdemo", "c", "big", body, {})
    assert blobs.get_blob("stdemo", "c", "big", None).data == b"hello world"
    with pytest.raises(errors.InvalidBlockList):
        blobs.put_block_list("stdemo", "c", "big", body, {})
    with pytest.raises(errors.InvalidHeaderValue):
        blobs.put_block("stdemo", "c", "big", "not base64!", b"x", {})


# -- List Blobs -------------------------------------------------------------------------------

TREE = ["a.txt", "run/a.txt", "run/logs/err.txt", "run/logs/std.txt", "run/z.txt", "top.txt"]


def fill(blobs: BlobBackend, names: list[str], container: str = "c") -> None:
    for name in reversed(names):  # stored out of order: the listing sorts
        blobs.put_blob("stdemo", container, name, name.encode(), PUT_HEADERS)


def entries(listing: BlobListing) -> list[str]:
    """Names of a page, prefixes marked with a trailing ``*``."""
    return [e.name + ("*" if isinstance(e, ListedPrefix) else "") for e in listing.entries]


def test_list_blobs_by_prefix_with_properties(blobs: BlobBackend) -> None:
    fill(blobs, TREE)
    fill(blobs, ["run/other.txt"], container="elsewhere")

    everything = blobs.list_blobs("stdemo", "c", {})
    assert entries(everything) == TREE and everything.next_marker is None
    run = blobs.list_blobs("stdemo", "c", {"prefix": "run/"})
    assert entries(run) == ["run/a.txt", "run/logs/err.txt", "run/logs/std.txt", "run/z.txt"]
    first = run.entries[0]
    assert isinstance(first, ListedBlob)
    assert first.properties == blobs.get_blob_properties("stdemo", "c", "run/a.txt")
    assert entries(blobs.list_blobs("stdemo", "c", {"prefix": "nothing/"})) == []
    assert entries(blobs.list_blobs("stdemo", "empty", {})) == []  # any container exists


def test_list_blobs_with_a_delimiter_gives_virtual_folders(blobs: BlobBackend) -> None:
    fill(blobs, TREE)

    top = blobs.list_blobs("stdemo", "c", {"delimiter": "/"})
    assert entries(top) == ["a.txt", "run/*", "top.txt"]
    run = blobs.list_blobs("stdemo", "c", {"prefix": "run/", "delimiter": "/"})
    assert entries(run) == ["run/a.txt", "run/logs/*", "run/z.txt"]
    partial = blobs.list_blobs("stdemo", "c", {"prefix": "run/l", "delimiter": "/"})
    assert entries(partial) == ["run/logs/*"]
    strings = blobs.list_blobs("stdemo", "c", {"delimiter": "logs/"})  # any string delimits
    assert entries(strings) == ["a.txt", "run/a.txt", "run/logs/*", "run/z.txt", "top.txt"]


@pytest.mark.parametrize("delimiter", [None, "/"])
@pytest.mark.parametrize("size", [1, 2, 3, 5000])
def test_list_blobs_pages_follow_the_marker(
    blobs: BlobBackend, delimiter: str | None, size: int
) -> None:
    fill(blobs, TREE)
    delimited = {"delimiter": delimiter} if delimiter else {}
    whole = entries(blobs.list_blobs("stdemo", "c", delimited))

    pages, marker = [], None
    while True:
        query = {**delimited, "maxresults": str(size), **({"marker": marker} if marker else {})}
        page = blobs.list_blobs("stdemo", "c", query)
        assert page.options.marker == marker and page.options.max_results == size
        pages.append(entries(page))
        marker = page.next_marker
        if marker is None:
            break
        assert "run/" not in marker  # opaque, not the name it resumes at
    assert [name for page in pages for name in page] == whole
    assert all(len(page) == size for page in pages[:-1]) and 0 < len(pages[-1]) <= size


def test_list_blobs_rejects_bad_options(blobs: BlobBackend) -> None:
    with pytest.raises(errors.OutOfRangeQueryParameterValue) as zero:
        blobs.list_blobs("stdemo", "c", {"maxresults": "0"})
    assert zero.value.status == 400 and "maxresults=0" in zero.value.message
    with pytest.raises(errors.InvalidQueryParameterValue, match="not an integer"):
        blobs.list_blobs("stdemo", "c", {"maxresults": "ten"})
    with pytest.raises(errors.InvalidQueryParameterValue, match="include=colour"):
        blobs.list_blobs("stdemo", "c", {"include": "metadata,colour"})
    with pytest.raises(errors.InvalidQueryParameterValue, match="marker"):
        blobs.list_blobs("stdemo", "c", {"marker": "run/a.txt"})
    assert blobs.list_blobs("stdemo", "c", {"maxresults": "99999"}).options.limit == 5000


def test_list_blobs_xml_is_the_service_shape(blobs: BlobBackend) -> None:
    fill(blobs, ["run/a.txt", "run/logs/std.txt", "top.txt"])
    blobs.put_blob(
        "stdemo", "c", "odd\x01name", b"", {**PUT_HEADERS, "x-ms-meta-hdi_isfolder": "true"}
    )
    query = {"delimiter": "/", "prefix": "", "maxresults": "2", "include": "metadata"}
    listing = blobs.list_blobs("stdemo", "c", query)
    root = ElementTree.fromstring(listing_xml(listing, "https://stdemo.blob.localhost/", "c"))

    assert root.tag == "EnumerationResults" and root.get("ContainerName") == "c"
    assert root.get("ServiceEndpoint") == "https://stdemo.blob.localhost/"
    assert [root.findtext(t) for t in ("Prefix", "MaxResults", "Delimiter")] == ["", "2", "/"]
    assert root.find("Marker") is None  # echoed only when sent
    odd, folder = root.find("Blobs")  # type: ignore[misc]
    assert (odd.tag, folder.tag) == ("Blob", "BlobPrefix")
    name = odd.find("Name")
    assert name is not None and name.get("Encoded") == "true" and name.text == "odd%01name"
    assert folder.findtext("Name") == "run/"
    stored = blobs.get_blob_properties("stdemo", "c", "odd\x01name")
    assert odd.findtext("Properties/Etag") == stored["etag"].strip('"')  # unquoted in lists
    assert odd.findtext("Properties/Content-Length") == "0"
    assert odd.findtext("Properties/Content-MD5") == stored["content_md5"]
    assert odd.findtext("Properties/BlobType") == "BlockBlob"
    assert odd.findtext("Properties/Last-Modified") == stored["last_modified"]
    assert odd.findtext("Metadata/hdi_isfolder") == "true"
    assert listing.next_marker and root.findtext("NextMarker") == listing.next_marker

    plain = blobs.list_blobs("stdemo", "c", {"prefix": "run/"})
    root = ElementTree.fromstring(listing_xml(plain, "https://stdemo.blob.localhost/", "c"))
    assert root.find("Blobs/Blob/Metadata") is None  # only with include=metadata
    assert root.find("NextMarker") is not None and root.findtext("NextMarker") == ""


def test_add_snapshot_fast_path_is_zippable(ctx: Context, content: ContentBackend) -> None:
    content.add_snapshot("bulk", {"main.py": b"print(1)", "pkg/util.py": b"X = 2"})
    assert zip_contents(ctx, content, "bulk") == {"main.py": b"print(1)", "pkg/util.py": b"X = 2"}
    latest = content.get_latest_snapshot_metadata()
    assert latest["id"] == "bulk"
    assert tree_files(latest["root"]) == ["main.py", "pkg/util.py"]
