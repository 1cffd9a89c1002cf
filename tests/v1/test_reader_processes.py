"""The reader's helper process (``migrate_kit.v1._worker``): same models, failures fall back."""

from __future__ import annotations

import asyncio
import copy
import pickle
import sys
from collections import Counter

import pytest
from v1_samples import GRAPH, INTERFACE, PIPELINE, PREP

from migrate_kit.emulator import Emulator
from migrate_kit.emulator.pipelines.backend import backend_for
from migrate_kit.v1._worker import CHUNK, GraphWorker, WorkerFailed, share_with_child
from migrate_kit.v1.client import PipelinesClient
from migrate_kit.v1.models import PublishedPipeline, frozen_map
from migrate_kit.v1.reader import V1Reader


def _add_families(emu: Emulator, families: int, size: int) -> None:
    """``families`` groups of ``size`` pipelines; each group shares its own prep module."""
    backend = backend_for(emu.ctx)
    for family in range(families):
        module_id = f"module-family-{family}"
        modules = [{**copy.deepcopy(PREP), "Data": {**PREP["Data"], "Id": module_id}}]
        for version in range(size):
            graph = copy.deepcopy(GRAPH)
            graph["Id"] = f"graph-{family}-{version}"
            graph["ModuleNodes"][0]["ModuleId"] = module_id
            pipeline = {**copy.deepcopy(PIPELINE), "Id": f"pp-{family}-{version}"}
            pipeline["Name"] = f"family {family} v{version}"
            backend.add_published_pipeline(
                pipeline, graph, copy.deepcopy(INTERFACE), modules if version == 0 else []
            )


def test_models_survive_pickling() -> None:
    pipeline = PublishedPipeline(id="p", name="n", parameter_defaults=frozen_map({"a": "1"}))
    copied = pickle.loads(pickle.dumps(pipeline))
    assert copied == pipeline
    with pytest.raises(TypeError):
        copied.parameter_defaults["a"] = "2"  # type: ignore[index]


def test_two_processes_read_the_same_models(client: PipelinesClient, workspace: Emulator) -> None:
    _add_families(workspace, families=6, size=CHUNK // 2)  # several chunks for the child
    reader = V1Reader(client, max_workers=8)

    alone = reader.published_pipelines(processes=1)
    workspace.clear_request_log()
    shared = reader.published_pipelines(processes=2)

    assert len(shared) == len(alone) == 6 * (CHUNK // 2) + 1
    assert shared == alone  # same order, same graphs, same problems (none)
    assert all(p.graph is not None and not p.problems for p in shared)
    paths = [entry["path"] for entry in workspace.request_log()]
    graph_gets = Counter(p for p in paths if "/Graphs/" in p and not p.endswith("/Interface"))
    module_gets = Counter(p for p in paths if "/Modules/module-family-" in p)
    assert len(graph_gets) == 6 * (CHUNK // 2) + 1 and max(graph_gets.values()) == 1
    # A family's module is read by each process that reads one of its pipelines: at most twice.
    assert len(module_gets) == 6 and max(module_gets.values()) <= 2


def test_a_child_that_cannot_start_leaves_the_work_to_the_parent() -> None:
    async def start() -> GraphWorker:
        raise OSError("no interpreter")

    pending = iter(range(10))
    pipelines = [PublishedPipeline(id=str(i), name=str(i)) for i in range(10)]

    left = asyncio.run(share_with_child(start, lambda n: [next(pending)], pipelines))

    assert left == []
    assert next(pending) == 0  # nothing was taken from the parent's queue


def test_a_child_that_dies_gives_its_share_back() -> None:
    async def start() -> GraphWorker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            # gets ready, then dies before answering its first chunk
            "import pickle, struct, sys; d = pickle.dumps('ready'); "
            "sys.stdout.buffer.write(struct.pack('>Q', len(d)) + d)",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return GraphWorker(process)

    pending = iter(range(5))
    pipelines = [PublishedPipeline(id=str(i), name=str(i)) for i in range(5)]
    taken: list[int] = []

    def take(count: int) -> list[int]:
        chunk = [i for _, i in zip(range(count), pending, strict=False)]
        taken.extend(chunk)
        return chunk

    left = asyncio.run(share_with_child(start, take, pipelines))

    assert taken == [0, 1, 2, 3, 4]
    assert left == taken  # whatever the child was given comes back to the parent
    assert all(p.graph is None for p in pipelines)


def test_worker_failed_names_the_exit_status() -> None:
    async def run() -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "raise SystemExit(3)",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await GraphWorker(process).wait_ready()

    with pytest.raises(WorkerFailed, match="exit status 3"):
        asyncio.run(run())
