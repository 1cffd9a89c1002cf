"""``capture``: a workspace saved into a sample folder, and a second emulator serving it.

A private emulator seeded from the repository's sample is captured over HTTPS with our own v1
client; a second emulator seeded from the captured folder must then show the kit the same
inventory, the same reader models and the same code. With ``MIGRATE_KIT_LIVE=1`` the tests
marked ``live`` capture the real workspace of the ``config.json`` found upward instead (only
the replica is an emulator then).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from migrate_kit import Connection, PipelinesClient, V1Reader, connect, inventory
from migrate_kit.capture import CaptureResult, PipelineCapture, capture
from migrate_kit.cli.capture import add_capture_command
from migrate_kit.emulator import DEFAULT_SAMPLE, Emulator, Store
from migrate_kit.emulator.config import load_config
from migrate_kit.errors import ConfigurationError, MigrateKitError

LIVE = os.environ.get("MIGRATE_KIT_LIVE") == "1"


@dataclass
class View:
    """What the kit reads from one workspace."""

    frame: pd.DataFrame
    pipelines: list[Any]
    endpoints: list[Any]
    code: dict[str, dict[str, bytes] | str]  # snapshot id -> {path: bytes}, or the error


def read_view(conn: Connection) -> View:
    frame = inventory(conn).drop(columns=["url"])  # the submit URL names the emulator's port
    client = conn.v1_client()
    with client:
        reader = V1Reader(client)
        pipelines = sorted(
            (replace(p, url=None) for p in reader.published_pipelines()), key=lambda p: p.id
        )
        endpoints = sorted((replace(e, url=None) for e in reader.endpoints()), key=lambda e: e.id)
        snapshot_ids = {
            step.snapshot.snapshot_id
            for p in pipelines
            for step in (p.graph.steps if p.graph else ())
            if step.snapshot is not None
        }
        code = {sid: download(client, sid) for sid in sorted(snapshot_ids)}
    return View(frame.reset_index(drop=True), pipelines, endpoints, code)


def download(client: PipelinesClient, snapshot_id: str) -> dict[str, bytes] | str:
    try:
        data = client.download_snapshot(snapshot_id)
    except MigrateKitError as exc:  # shown in the comparison instead of failing the fixture
        return str(exc)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


def state_of(folder: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((folder / "capture" / "state.json").read_text("utf-8"))
    return state


def keys(state: dict[str, Any], kind: str) -> list[str]:
    return [item["key"] for item in state["entities"].get(kind, [])]


@dataclass
class Captured:
    conn: Connection
    result: CaptureResult
    progress: list[tuple[int, int, PipelineCapture]]
    before: View
    secrets: list[str]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator | None]:
    if LIVE:
        yield None
        return
    state = tmp_path_factory.mktemp("capture-source")
    with Emulator(
        state_dir=state, sample=DEFAULT_SAMPLE, connection_file=state / "connection.json"
    ) as emu:
        logging.getLogger("azure").setLevel(logging.ERROR)
        yield emu


def connect_to(emu: Emulator | None) -> Connection:
    if emu is None:
        return connect()
    assert emu.connection_file is not None
    return connect(connection_file=emu.connection_file)  # exports that emulator's env


@pytest.fixture(scope="module")
def captured(source: Emulator | None, tmp_path_factory: pytest.TempPathFactory) -> Captured:
    conn = connect_to(source)
    out = tmp_path_factory.mktemp("captured") / "sample"
    seen: list[tuple[int, int, PipelineCapture]] = []
    result = capture(conn, out, progress=lambda *call: seen.append(call))
    secrets = [conn.get_credential().get_token(conn.arm_scope).token]
    secrets += [os.environ[n] for n in ("IDENTITY_HEADER", "MSI_SECRET") if os.environ.get(n)]
    return Captured(conn, result, seen, read_view(conn), secrets)


@pytest.fixture(scope="module")
def replica(captured: Captured, tmp_path_factory: pytest.TempPathFactory) -> Iterator[View]:
    state = tmp_path_factory.mktemp("capture-replica")
    with Emulator(
        state_dir=state, sample=captured.result.out, connection_file=state / "connection.json"
    ) as emu:
        yield read_view(connect_to(emu))


@pytest.fixture
def emu(source: Emulator | None) -> Iterator[Emulator]:
    if source is None:
        pytest.skip("needs the emulator (fault rules and the sample's names)")
    source.clear_faults()
    yield source
    source.clear_faults()


@pytest.mark.live
def test_the_folder_is_a_sample_the_emulator_can_seed_from(
    captured: Captured, source: Emulator | None
) -> None:
    out, result = captured.result.out, captured.result
    assert {p.name for p in out.iterdir()} == {"capture", "workspace.json", "README.md"}
    workspace = json.loads((out / "workspace.json").read_text("utf-8"))
    ref = captured.conn.workspace
    assert (workspace["subscription_id"], workspace["resource_group"]) == (
        ref.subscription_id,
        ref.resource_group,
    )
    assert workspace["workspace_name"] == ref.workspace_name
    assert {"region", "tenant_id", "workspace_id", "storage_account"} <= set(workspace)
    if source is not None:  # the emulator's own settings come back unchanged
        assert load_config(out) == source.ctx.config

    state = state_of(out)
    assert state["format"] == 1
    pipelines = keys(state, "pipelines.pipeline")
    assert len(pipelines) == len(result.pipelines) == len(captured.before.pipelines)
    assert len(keys(state, "pipelines.graph")) == len(pipelines)
    for blob in state["blobs"]:
        assert (out / "capture" / "blobs" / blob["sha256"]).is_file()
        assert blob["container"] == "snapshots"
    assert sorted(p.id for p in result.pipelines) == sorted(pipelines)

    # one progress call per pipeline, counting up
    assert [(done, total) for done, total, _ in captured.progress] == [
        (i, len(pipelines)) for i in range(1, len(pipelines) + 1)
    ]
    readme = (out / "README.md").read_text("utf-8")
    assert ref.workspace_name in readme and "emulator serve --sample" in readme
    assert "not downloaded" in readme


@pytest.mark.live
def test_the_replica_shows_the_same_inventory(captured: Captured, replica: View) -> None:
    if not LIVE:
        assert not captured.result.warnings and not captured.result.partial
        assert len(replica.frame) == 13 and set(replica.frame["endpoint"].dropna()) == {
            "weekly-demand-forecast",
            "price-elasticity",
            "store_replenishment endpoint",
        }
    pd.testing.assert_frame_equal(replica.frame, captured.before.frame)


@pytest.mark.live
def test_the_replica_reads_the_same_models(captured: Captured, replica: View) -> None:
    before = captured.before
    assert replica.endpoints == before.endpoints  # versions and defaults
    assert [p.id for p in replica.pipelines] == [p.id for p in before.pipelines]
    for mine, theirs in zip(replica.pipelines, before.pipelines, strict=True):
        assert mine.parameter_defaults == theirs.parameter_defaults, mine.name
        assert mine.graph == theirs.graph, mine.name  # steps, edges, parameters, inputs
        assert mine == theirs


@pytest.mark.live
def test_every_snapshot_downloads_with_the_same_code(captured: Captured, replica: View) -> None:
    assert replica.code == captured.before.code
    if not LIVE:
        assert len(replica.code) >= 10
        assert all(isinstance(files, dict) and files for files in replica.code.values())
        assert any(
            b"def " in data for files in replica.code.values() for data in dict(files).values()
        )


@pytest.mark.live
def test_no_token_or_sas_reaches_a_file(captured: Captured) -> None:
    assert all(len(secret) > 8 for secret in captured.secrets)
    for path in captured.result.out.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for secret in captured.secrets:
            assert secret.encode() not in data, path
        if not LIVE or path.parent.name != "blobs":  # live code may say anything
            assert b"sig=" not in data, path
            assert b"Bearer" not in data, path


def test_a_selection_captures_those_pipelines_and_just_their_endpoint_versions(
    emu: Emulator, captured: Captured, tmp_path: Path
) -> None:
    by_name = {(p.name, p.version): p for p in captured.before.pipelines}
    weekly_11 = by_name["weekly-demand-forecast", "1.1"].id  # version 1, the default
    elasticity_10 = by_name["price_elasticity_weekly_estimation_by_store", "1.0"].id  # version 0
    zurich = by_name["zurich_store_forecast", "1.0"].id

    result = capture(
        connect_to(emu), tmp_path, select=[weekly_11, elasticity_10, "zurich*", "no-such-*"]
    )

    state = state_of(tmp_path)
    assert sorted(keys(state, "pipelines.pipeline")) == sorted([weekly_11, elasticity_10, zurich])
    graphs = {p.graph_id for p in captured.before.pipelines if p.id in {weekly_11, zurich}}
    assert graphs < set(keys(state, "pipelines.graph")) and len(keys(state, "pipelines.graph")) == 3
    wanted_modules = {
        step.module_id
        for p in captured.before.pipelines
        if p.id in {weekly_11, elasticity_10, zurich} and p.graph
        for step in p.graph.steps
    }
    assert set(keys(state, "pipelines.module")) == wanted_modules

    endpoints = {
        item["body"]["Name"]: item["body"] for item in state["entities"]["pipelines.endpoint"]
    }
    assert set(endpoints) == {"weekly-demand-forecast", "price-elasticity"}
    weekly = endpoints["weekly-demand-forecast"]
    assert weekly["PipelineVersionList"] == [{"Version": "1", "PipelineId": weekly_11}]
    assert weekly["DefaultVersion"] == "1"
    elasticity = endpoints["price-elasticity"]
    assert elasticity["PipelineVersionList"] == [{"Version": "0", "PipelineId": elasticity_10}]
    assert elasticity["DefaultVersion"] == "1"  # kept as the service sent it, with a warning
    assert any("price-elasticity" in w and "default version 1" in w for w in result.warnings)
    assert any("'no-such-*' matched no published pipeline" in w for w in result.warnings)

    store = Store(tmp_path / "check" / "emulator.sqlite")  # the emulator's own loader takes it
    try:
        store.import_capture(tmp_path / "capture")
        assert store.count("pipelines.pipeline") == 3
    finally:
        store.close()


def test_a_selection_that_matches_nothing_writes_nothing(emu: Emulator, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="matched no published pipeline"):
        capture(connect_to(emu), tmp_path / "out", select=["no-such-pipeline"])
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigurationError, match="--select"):
        capture(connect_to(emu), tmp_path / "out", all=False)


def test_a_module_that_fails_leaves_its_pipeline_partial_and_the_rest_complete(
    emu: Emulator, captured: Captured, tmp_path: Path
) -> None:
    uses: dict[str, set[str]] = {}
    for p in captured.before.pipelines:
        for step in p.graph.steps if p.graph else ():
            uses.setdefault(step.module_id, set()).add(p.id)
    module_id, owners = next((m, o) for m, o in sorted(uses.items()) if len(o) == 1)
    (broken,) = owners
    emu.inject_fault(method="GET", path=rf"/Modules/{module_id}$", status=500, count=None)

    conn = connect_to(emu)
    conn.resolve_services()
    assert conn.pipelines_url is not None
    client = PipelinesClient(  # no retries: the fault answers 500 for good
        conn.pipelines_url,
        subscription_id=conn.workspace.subscription_id,
        resource_group=conn.workspace.resource_group,
        workspace_name=conn.workspace.workspace_name,
        credential=conn.get_credential(),
        scope=conn.arm_scope,
        content_url=conn.content_url,
        connection_verify=conn.ca_bundle or True,
        retry_total=0,
    )
    with client:
        result = capture(client, tmp_path)

    assert [p.id for p in result.partial] == [broken]
    (partial,) = result.partial
    assert any(module_id in w and "500" in w for w in partial.warnings), partial.warnings
    assert len(result.pipelines) == len(captured.before.pipelines)
    assert all(p.complete for p in result.pipelines if p.id != broken)

    state = state_of(tmp_path)
    assert module_id not in keys(state, "pipelines.module")
    assert broken in keys(state, "pipelines.pipeline")
    graph_id = next(p.graph_id for p in captured.before.pipelines if p.id == broken)
    assert graph_id in keys(state, "pipelines.graph")
    assert graph_id in keys(state, "pipelines.graph_interface")
    others = {m for m, o in uses.items() if m != module_id}
    assert others <= set(keys(state, "pipelines.module"))
    assert "partial" in (tmp_path / "README.md").read_text("utf-8")
    workspace = json.loads((tmp_path / "workspace.json").read_text("utf-8"))
    assert set(workspace) == {
        "subscription_id",
        "resource_group",
        "workspace_name",
        "storage_account",
    }
    assert any("bare v1 client" in w for w in result.warnings)


def test_the_command_captures_through_its_handler(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="migrate-kit")
    add_capture_command(parser.add_subparsers(dest="command", required=True))
    assert emu.connection_file is not None
    argv = ["capture", "--out", str(tmp_path / "out"), "--select", "zurich*"]
    args = parser.parse_args([*argv, "--connection-file", str(emu.connection_file)])

    assert args.handler(args) == 0
    out, err = capsys.readouterr()
    assert "Captured 1 published pipelines, 0 endpoints" in out
    assert "[1/1] zurich_store_forecast 1.0: ok" in err
    assert keys(state_of(tmp_path / "out"), "pipelines.pipeline") != []

    both = parser.parse_args([*argv, "--all"])
    with pytest.raises(ConfigurationError, match="not both"):
        both.handler(both)


def test_a_recapture_replaces_the_capture_and_keeps_the_team_data(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "sample"
    capture(connect_to(emu), out, select=["zurich*"], with_data=True)
    (out / "datastore" / "retail").mkdir(parents=True)
    (out / "datastore" / "retail" / "a.csv").write_text("x\n")

    capture(connect_to(emu), out, select=["promo-uplift-legacy"], with_data=True)
    assert [b["Name"] for b in bodies(state_of(out), "pipelines.pipeline")] == [
        "promo-uplift-legacy"
    ]
    assert (out / "datastore" / "retail" / "a.csv").read_text() == "x\n"
    assert "`workspaceblobstore`: `retail/prices`" in (out / "README.md").read_text("utf-8")

    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigurationError, match="not empty"):
        capture(connect_to(emu), tmp_path / "other")


def test_capturing_never_imports_the_emulator() -> None:
    code = (
        "import sys, migrate_kit.capture, migrate_kit.convert.plan, migrate_kit.connection\n"
        "print([m for m in sys.modules if m.startswith('migrate_kit.emulator')])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def bodies(state: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item["body"] for item in state["entities"].get(kind, [])]
