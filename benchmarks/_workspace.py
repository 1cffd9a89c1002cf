"""The synthetic workspace the benchmarks share: thousands of sample-like published pipelines.

Pipelines are copies (new ids, names and module versions) of the sample's real ones, which the
v1 SDK published, so graphs, modules and runconfigs have realistic sizes. :func:`build_workspace`
writes them into an emulator state folder; :func:`serve` runs ``migrate-kit emulator serve`` on
that folder in a process of its own.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from migrate_kit.emulator.config import Context, load_config
from migrate_kit.emulator.pipelines.backend import PipelinesBackend
from migrate_kit.emulator.seed import seed
from migrate_kit.emulator.state import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data"
BIN = Path(sys.executable).parent

#: The kinds of the sample's own published pipelines and endpoints (removed by ``content=True``).
_LISTED_KINDS = ("pipelines.pipeline", "pipelines.endpoint")


def build_workspace(
    state_dir: Path,
    n_pipelines: int,
    n_endpoints: int,
    seed_: int = 7,
    *,
    content: bool = False,
) -> None:
    """Fill ``state_dir`` with ``n_pipelines`` published pipelines and ``n_endpoints`` endpoints.

    Pipelines come in families (one per endpoint, plus standalone families of about five
    re-published versions). Each new version keeps most modules of the previous one and gets a
    new module for one step, as re-publishing after a code change does with the v1 SDK.

    ``content=False`` starts from an empty workspace (enough to read the pipelines);
    ``content=True`` starts from the whole sample (code snapshots, datastore files, compute) so
    the pipelines can be planned and migrated, and removes the sample's own published pipelines
    and endpoints, so only the synthetic ones are listed.
    """
    templates = _templates()
    config = load_config(SAMPLE)
    store = Store(state_dir / "emulator.sqlite")
    seed(store, SAMPLE if content else None, config)  # marks the state seeded: no reseeding
    if content:
        for kind in _LISTED_KINDS:
            for key in list(store.keys(kind)):
                store.delete(kind, key)
    backend = PipelinesBackend(Context(config, store))
    rng = random.Random(seed_)

    families = _family_sizes(n_pipelines, n_endpoints, rng)
    made = 0
    for family, size in enumerate(families):
        template = templates[family % len(templates)]
        ids = []
        modules: dict[str, dict[str, Any]] = {}
        for version in range(size):
            pipeline, graph, modules = _new_version(template, family, version, modules, rng)
            ids.append(
                backend.add_published_pipeline(
                    pipeline, graph, template["interface"], modules.values(), template["sources"]
                )
            )
            made += 1
        if family < n_endpoints:
            backend.add_pipeline_endpoint(_endpoint(family, template, ids, rng))
    store.close()
    print(f"built {made} published pipelines, {min(n_endpoints, len(families))} endpoints")


def _templates() -> list[dict[str, Any]]:
    """The sample's published pipelines whose graph and modules are all in the capture."""
    state = json.loads((SAMPLE / "capture" / "state.json").read_text(encoding="utf-8"))
    kinds = {
        kind: {e["key"]: e["body"] for e in items} for kind, items in state["entities"].items()
    }
    templates = []
    for pipeline in kinds["pipelines.pipeline"].values():
        graph = kinds["pipelines.graph"].get(pipeline.get("GraphId"))
        if not graph:
            continue
        module_ids = {node["ModuleId"] for node in graph.get("ModuleNodes", [])}
        if not module_ids <= set(kinds["pipelines.module"]):
            continue
        source_ids = {n["DatasetId"] for n in graph.get("DatasetNodes", []) if n.get("DatasetId")}
        templates.append(
            {
                "pipeline": pipeline,
                "graph": graph,
                "interface": kinds["pipelines.graph_interface"].get(pipeline["GraphId"], {}),
                "modules": {m: kinds["pipelines.module"][m] for m in module_ids},
                "sources": [kinds["pipelines.data_source"][s] for s in source_ids],
            }
        )
    return templates


def _family_sizes(n_pipelines: int, n_endpoints: int, rng: random.Random) -> list[int]:
    sizes = [rng.randint(1, 8) for _ in range(n_endpoints)]
    while sum(sizes) > n_pipelines * 0.7:
        sizes[sizes.index(max(sizes))] -= 1
    remaining = n_pipelines - sum(sizes)
    while remaining > 0:
        size = min(remaining, rng.randint(1, 9))
        sizes.append(size)
        remaining -= size
    return sizes


def _new_version(
    template: dict[str, Any],
    family: int,
    version: int,
    previous: dict[str, dict[str, Any]],
    rng: random.Random,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """A copy of the template pipeline as version ``version`` of family ``family``."""
    modules = dict(previous)
    if not modules:
        for old_id, module in template["modules"].items():
            modules[old_id] = _module_copy(module, f"{family:04d}{old_id[:8]}")
    else:
        changed = rng.choice(sorted(modules))
        modules[changed] = _module_copy(template["modules"][changed], f"{family:04d}v{version}")

    graph = copy.deepcopy(template["graph"])
    graph.pop("Id", None)
    for node in graph.get("ModuleNodes", []):
        node["ModuleId"] = modules[node["ModuleId"]]["Data"]["Id"]
    pipeline = copy.deepcopy(template["pipeline"])
    for key in ("Id", "GraphId", "Etag", "CreatedDate", "LastModifiedDate", "Url"):
        pipeline.pop(key, None)
    pipeline["Name"] = f"{template['pipeline']['Name']} {family:04d}"
    pipeline["Version"] = f"1.{version}"
    return pipeline, graph, modules


def _module_copy(module: dict[str, Any], tag: str) -> dict[str, Any]:
    copied = copy.deepcopy(module)
    data = copied.get("Data", copied)
    data["Id"] = f"{data['Id'][:-12]}{tag[-12:].rjust(12, '0')}"
    data["IdentifierHash"] = f"{data.get('IdentifierHash', '')[:40]}{tag}"
    return copied


def _endpoint(
    family: int, template: dict[str, Any], ids: list[str], rng: random.Random
) -> dict[str, Any]:
    versions = [{"Version": str(i), "PipelineId": pid} for i, pid in enumerate(ids)]
    return {
        "Name": f"{template['pipeline']['Name']} endpoint {family:04d}",
        "Description": "synthetic endpoint",
        "DefaultVersion": str(rng.randrange(len(ids))),
        "PipelineVersionList": versions,
        "EntityStatus": "Active",
        "Properties": {},
    }


def serve(state_dir: Path, extra: list[str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``migrate-kit emulator serve`` on ``state_dir`` (``extra``: more flags, e.g.
    ``["--latency-ms", "100"]``); returns the process and its connection file."""
    connection = state_dir / "connection.json"
    process = subprocess.Popen(
        [str(BIN / "migrate-kit"), "emulator", "serve", "--state", str(state_dir),
         "--connection-file", str(connection), *(extra or [])],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not connection.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the emulator did not start")
        time.sleep(0.1)
    return process, connection
