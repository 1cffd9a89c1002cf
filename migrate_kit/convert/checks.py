"""Checks of a v1 graph before it is converted: every problem becomes a blocking finding.

A graph read from the service is normally sound, but a hand-written or partly read one may not
be: a cycle, an edge to a node that does not exist, an edge to a port the step does not have, two
steps with the same name, a step whose module could not be read, a required input nothing feeds.
The converter runs these checks first and never raises for what they find, so one bad pipeline
cannot stop a plan of many.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from migrate_kit.convert.findings import Finding, blocking
from migrate_kit.v1.models import Graph, Step

__all__ = ["DATA_PORT", "check_graph", "cycle_steps"]

#: The output port of every data node (DataReference, DataPath, dataset) in a v1 graph.
DATA_PORT = "data"


def check_graph(graph: Graph) -> list[Finding]:
    """Blocking findings for everything in ``graph`` that the converter cannot map."""
    findings: list[Finding] = []
    findings.extend(_duplicates(graph))
    findings.extend(_modules(graph.steps))
    findings.extend(_edges(graph))
    findings.extend(_unfed_inputs(graph))
    cycle = cycle_steps(graph)
    if cycle:
        names = ", ".join(f"'{name}'" for name in cycle)
        findings.append(
            blocking(
                "graph-cycle",
                f"the steps {names} depend on each other in a cycle; a pipeline must run each "
                "step after the steps it reads from, so fix the edges in v1 first",
            )
        )
    if not graph.steps:
        findings.append(blocking("graph-empty", "the pipeline graph has no steps"))
    return findings


def _duplicates(graph: Graph) -> Iterable[Finding]:
    counts = Counter(step.name for step in graph.steps)
    for name, count in counts.items():
        if count > 1:
            yield blocking(
                "duplicate-step-name",
                f"{count} steps are named '{name}'; v2 pipeline nodes need distinct names, so "
                "rename them in v1 (or in the plan's pipeline.yml) before converting",
                name,
            )
    node_counts = Counter(step.node_id for step in graph.steps)
    node_counts.update(data.node_id for data in graph.data_inputs)
    for node_id, count in node_counts.items():
        if count > 1:
            yield blocking(
                "duplicate-node-id",
                f"node id '{node_id}' is used by {count} nodes, so edges cannot tell them apart",
            )


def _modules(steps: Iterable[Step]) -> Iterable[Finding]:
    for step in steps:
        if not step.module_read:
            detail = "; ".join(step.problems) or "no reason given"
            yield blocking(
                "missing-module",
                f"the step's module '{step.module_id}' could not be read ({detail}), so its "
                "script, ports and arguments are unknown",
                step.name,
            )


def _edges(graph: Graph) -> Iterable[Finding]:
    steps = {step.node_id: step for step in graph.steps}
    data_nodes = {data.node_id for data in graph.data_inputs}
    for edge in graph.edges:
        source = steps.get(edge.source_node)
        if source is None and edge.source_node not in data_nodes:
            yield blocking(
                "dangling-edge",
                f"an edge starts at node '{edge.source_node}', which is not in the graph",
            )
        elif source is not None and edge.source_port not in {p.name for p in source.outputs}:
            yield blocking(
                "unknown-port",
                f"an edge starts at output '{edge.source_port}', which the step does not have "
                f"(outputs: {_names(p.name for p in source.outputs)})",
                source.name,
            )
        elif source is None and edge.source_port != DATA_PORT:
            yield blocking(
                "unknown-port",
                f"an edge starts at port '{edge.source_port}' of data node '{edge.source_node}'; "
                f"data nodes have only the port '{DATA_PORT}'",
            )

        if edge.dest_node is None:
            if not edge.graph_port_name:
                yield blocking(
                    "dangling-edge",
                    f"an edge from '{edge.source_port}' leads nowhere (no node, no pipeline "
                    "output)",
                )
            continue
        dest = steps.get(edge.dest_node)
        if dest is None:
            yield blocking(
                "dangling-edge",
                f"an edge ends at node '{edge.dest_node}', which is not a step of the graph",
            )
        elif edge.dest_port not in {p.name for p in dest.inputs}:
            yield blocking(
                "unknown-port",
                f"an edge ends at input '{edge.dest_port}', which the step does not have "
                f"(inputs: {_names(p.name for p in dest.inputs)})",
                dest.name,
            )


def _unfed_inputs(graph: Graph) -> Iterable[Finding]:
    fed = {(e.dest_node, e.dest_port) for e in graph.edges if e.dest_node}
    for step in graph.steps:
        if not step.module_read:
            continue  # its ports are unknown; the missing module is reported already
        for port in step.inputs:
            if not port.optional and (step.node_id, port.name) not in fed:
                yield blocking(
                    "unfed-input",
                    f"required input '{port.name}' has no edge feeding it",
                    step.name,
                )


def cycle_steps(graph: Graph) -> list[str]:
    """Names of the steps on or behind a cycle (Kahn's algorithm leaves them); [] when none."""
    steps = {step.node_id: step for step in graph.steps}
    after: dict[str, set[str]] = {node: set() for node in steps}
    waiting: dict[str, set[str]] = {node: set() for node in steps}
    for edge in graph.edges:
        if edge.source_node in steps and edge.dest_node in steps:
            after[edge.source_node].add(edge.dest_node)
            waiting[edge.dest_node].add(edge.source_node)
    ready = [node for node, sources in waiting.items() if not sources]
    while ready:
        node = ready.pop()
        for later in after[node]:
            waiting[later].discard(node)
            if not waiting[later]:
                ready.append(later)
        waiting.pop(node)
    return [steps[node].name for node in steps if node in waiting]


def _names(names: Iterable[str]) -> str:
    listed = ", ".join(f"'{name}'" for name in names)
    return listed or "none"
