"""Small factories of v1 models for converter tests that need no server."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence

from migrate_kit.v1.models import (
    Argument,
    ArgumentKind,
    CodeSnapshot,
    DataInput,
    DataInputKind,
    Edge,
    Graph,
    GraphParameter,
    ParameterType,
    Port,
    PublishedPipeline,
    Step,
    frozen_map,
)

RUNCONFIG = json.dumps(
    {
        "environment": {
            "name": "team-env",
            "version": None,
            "environmentVariables": {"TEAM": "retail"},
            "python": {
                "userManagedDependencies": False,
                "condaDependencies": {"dependencies": ["python=3.10"]},
            },
            "docker": {"baseImage": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"},
        }
    }
)


def literal(value: str) -> Argument:
    return Argument(ArgumentKind.LITERAL, value)


def ref(kind: str, value: str) -> Argument:
    return Argument(ArgumentKind(kind), value)


def step(
    name: str,
    node_id: str,
    *,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    arguments: Sequence[Argument] = (),
    step_type: str = "PythonScriptStep",
    bindings: dict[str, str] | None = None,
    literals: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
    input_mode: str = "mount",
    **kwargs: object,
) -> Step:
    values: dict[str, object] = {
        "script": f"{name}.py",
        "compute": "cpu-cluster",
        "runconfig": RUNCONFIG,
        "snapshot": CodeSnapshot(f"snap-{node_id}"),
    }
    values.update(kwargs)
    return Step(
        node_id=node_id,
        module_id=f"module-{node_id}",
        name=name,
        step_type=step_type,
        execution_type="escloud",
        arguments=tuple(arguments),
        inputs=tuple(Port(p, ("AnyFile", "AnyDirectory"), mode=input_mode) for p in inputs),
        outputs=tuple(Port(p, ("AnyFile",), datastore="workspaceblobstore") for p in outputs),
        parameter_bindings=frozen_map(bindings),
        literal_parameters=frozen_map(literals),
        metadata_parameters=frozen_map(metadata),
        **values,  # type: ignore[arg-type]
    )


def data_reference(name: str, node_id: str, path: str = "retail/sales") -> DataInput:
    return DataInput(
        node_id, DataInputKind.DATA_REFERENCE, name, datastore="workspaceblobstore", path=path
    )


def edge(source: str, port: str, dest: str | None, dest_port: str | None) -> Edge:
    return Edge(source, port, dest, dest_port)


def pipeline(
    name: str,
    steps: Sequence[Step],
    edges: Sequence[Edge] = (),
    data: Sequence[DataInput] = (),
    parameters: Sequence[GraphParameter] = (),
    *,
    pipeline_id: str | None = None,
    version: str = "1.0",
    **kwargs: object,
) -> PublishedPipeline:
    pid = pipeline_id or f"id-{name}"
    graph = Graph(f"graph-{pid}", tuple(steps), tuple(data), tuple(edges), tuple(parameters))
    return PublishedPipeline(
        id=pid,
        name=name,
        version=version,
        graph=graph,
        **kwargs,  # type: ignore[arg-type]
    )


def two_steps(name: str = "good", **kwargs: object) -> PublishedPipeline:
    """A sound pipeline: a data reference into ``prep``, whose output feeds ``train``."""
    prep = step(
        "prep",
        "n1",
        inputs=["raw"],
        outputs=["clean"],
        arguments=[literal("--in"), ref("input", "raw"), literal("--out"), ref("output", "clean")],
    )
    train = step(
        "train",
        "n2",
        inputs=["clean"],
        outputs=["model"],
        arguments=[
            literal("--data"),
            ref("input", "clean"),
            literal("--rate"),
            ref("parameter", "rate"),
        ],
        bindings={"rate": "rate"},
    )
    return pipeline(
        name,
        [prep, train],
        [edge("d1", "data", "n1", "raw"), edge("n1", "clean", "n2", "clean")],
        [data_reference("raw", "d1")],
        [GraphParameter("rate", ParameterType.FLOAT, "0.1")],
        **kwargs,
    )


def snapshots_for(*pipelines: PublishedPipeline) -> dict[str, bytes]:
    """A small zip for every snapshot the pipelines' steps name."""
    found: dict[str, bytes] = {}
    for p in pipelines:
        for s in p.graph.steps if p.graph else ():
            if s.snapshot:
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w") as archive:
                    archive.writestr(s.script or "main.py", f"print({s.name!r})\n")
                found[s.snapshot.snapshot_id] = buffer.getvalue()
    return found
