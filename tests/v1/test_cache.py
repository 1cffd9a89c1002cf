"""The disk cache of immutable v1 entities: a second read sends only the lists, gives the same
models, and never keeps a failure; plans through it match plans without it."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

from v1_samples import GRAPH, INTERFACE, PIPELINE

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.pipelines.backend import backend_for
from migrate_kit.v1.cache import GRAPH as GRAPH_KIND
from migrate_kit.v1.cache import EntityCache
from migrate_kit.v1.client import PipelinesClient
from migrate_kit.v1.reader import V1Reader


def _add_pipelines(emu: Emulator, count: int) -> None:
    backend = backend_for(emu.ctx)
    for i in range(count):
        pipeline = {**copy.deepcopy(PIPELINE), "Id": f"pp-{i}", "Name": f"copy-{i}"}
        graph = {**copy.deepcopy(GRAPH), "Id": f"graph-{i}"}
        backend.add_published_pipeline(pipeline, graph, copy.deepcopy(INTERFACE))


def _routes(emu: Emulator) -> Counter[str]:
    return Counter(
        r["path"].rsplit("/workspaces/mlw-contoso-forecast/", 1)[-1].split("/")[0]
        for r in emu.request_log()
    )


def test_a_second_read_sends_only_the_list_and_gives_the_same_models(
    client: PipelinesClient, workspace: Emulator, tmp_path: Path
) -> None:
    _add_pipelines(workspace, 4)
    path = tmp_path / "v1-cache.sqlite"
    workspace.clear_request_log()
    with EntityCache(path, "ws") as cache:
        first = V1Reader(client, cache=cache).published_pipelines()
    cold = _routes(workspace)
    workspace.clear_request_log()
    with EntityCache(path, "ws") as cache:
        second = V1Reader(client, cache=cache).published_pipelines()
        hits = cache.hits
    warm = _routes(workspace)

    assert cold["Graphs"] == 10 and cold["Modules"] == 2  # 5 graphs + interfaces, 2 modules
    assert warm == Counter({"Pipelines": 1})
    assert hits == 12 + cold["DataSources"]
    assert second == first


def test_failures_are_not_kept_and_other_workspaces_do_not_share(
    client: PipelinesClient, workspace: Emulator, tmp_path: Path
) -> None:
    _add_pipelines(workspace, 2)
    path = tmp_path / "v1-cache.sqlite"
    workspace.inject_fault(method="GET", path=r"/Graphs/graph-1$", status=500, count=None)
    with EntityCache(path, "ws") as cache:
        broken = {p.id: p for p in V1Reader(client, cache=cache).published_pipelines()}
        assert cache.get(GRAPH_KIND, "graph-1") is None
        assert cache.get(GRAPH_KIND, "graph-0") is not None
    assert broken["pp-1"].graph is None
    workspace.clear_faults()

    with EntityCache(path, "ws") as cache:
        healed = {p.id: p for p in V1Reader(client, cache=cache).published_pipelines()}
    with EntityCache(path, "another workspace") as other:
        assert other.get(GRAPH_KIND, "graph-0") is None
    assert healed["pp-1"].graph is not None and healed["pp-1"].problems == ()
