"""Which planned pipelines to test, and the values each runs with on the v2 and the v1 side.

Values are the plan's ``invoke_inputs`` with v1's defaults, overlaid with the caller's
assignments, given by v1 name as v1's ``ParameterAssignments`` takes them: text such as
``"7"`` or ``"True"`` (or Python values, which v1's SDK would send as ``str(value)``), and for a
DataPath parameter ``{"DataStoreName": ..., "RelativePath": ...}`` (v1's
``DataPathAssignments``), ``"<datastore>/<path>"`` or an ``azureml://datastores/...`` URI. A
literal is typed for v2 by the input's type (``snippets.typed_literal``), a data input becomes
``Input(type=..., path=azureml://datastores/<ds>/paths/<path>)``.

Problems with what the caller gave are gathered into one ``ConfigurationError`` before anything
runs; a plan without a usable value for an input (a v1 dataset) fails only that pipeline.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrate_kit.convert.model import EndpointPlan, InvokeInput, PipelinePlan, Plan
from migrate_kit.convert.wiring import datastore_uri
from migrate_kit.errors import ConfigurationError, MigrateKitError
from migrate_kit.redact import redact
from migrate_kit.snippets import typed_literal

__all__ = ["Values", "resolve_values", "select_planned"]

_DATASTORE_URI = re.compile(r"azureml://datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)")
_NOT_A_DATASTORE_PATH = re.compile(r"(azureml:|https?://|/)")


@dataclass(frozen=True)
class Values:
    """What one pipeline runs with: v2 invoke inputs, and the same values as v1 takes them."""

    v2: Mapping[str, Any]  # pipeline input -> azure.ai.ml.Input
    v1_parameters: Mapping[str, str]  # ParameterAssignments
    v1_data_paths: Mapping[str, Mapping[str, str]]  # DataPathAssignments
    shown: Mapping[str, str]  # v1 name -> the value as text, for the ledger


def select_planned(plan: Plan, patterns: Sequence[str]) -> list[tuple[EndpointPlan, PipelinePlan]]:
    """The planned pipelines (with their endpoint) that ``patterns`` select, all when none.

    A pattern is a v1 pipeline id, or a glob on the pipeline's name, its ``name version``, or
    its v1 or v2 endpoint name. A pattern that selects nothing is a ConfigurationError.
    """
    pairs = [(e, p) for e in plan.endpoints for p in e.pipelines]
    if not patterns:
        return pairs

    def hit(pattern: str, endpoint: EndpointPlan, pipeline: PipelinePlan) -> bool:
        names = (
            pipeline.pipeline_name,
            f"{pipeline.pipeline_name} {pipeline.pipeline_version}",
            endpoint.name,
            endpoint.v1_name,
        )
        return pattern == pipeline.pipeline_id or any(
            fnmatch.fnmatchcase(n, pattern) for n in names
        )

    unmatched = [x for x in patterns if not any(hit(x, e, p) for e, p in pairs)]
    if unmatched:
        planned = ", ".join(sorted({f"{p.pipeline_name} {p.pipeline_version}" for _, p in pairs}))
        raise ConfigurationError(
            f"select {', '.join(map(repr, unmatched))} matches no planned pipeline "
            f"(planned: {planned or 'none'})"
        )
    return [(e, p) for e, p in pairs if any(hit(x, e, p) for x in patterns)]


def resolve_values(
    pipelines: Sequence[PipelinePlan],
    v2_given: Mapping[str, Any],
    v1_given: Mapping[str, Any] | None = None,
) -> dict[str, tuple[Values, Values | None] | str]:
    """By pipeline id: the v2 values and (when ``v1_given`` is not None) the v1 values, or the
    reason the plan gives no usable value. Deployable pipelines only.

    Every problem with ``v2_given`` or ``v1_given`` (an unknown name, a value that does not
    fit) is gathered into one ConfigurationError that names them and the known names.
    """
    problems: list[str] = []
    found: dict[str, tuple[Values, Values | None] | str] = {}
    for pipeline in pipelines:
        if not pipeline.deployable:
            continue
        label = pipeline.label
        known = {i.v1_name for i in pipeline.invoke_inputs}
        sides = [("", v2_given)]
        if v1_given is not None and v1_given != v2_given:
            sides.append(("v1 ", v1_given))
        unknown = [(side, sorted(set(given) - known)) for side, given in sides]
        for side, names in unknown:
            if names:
                problems.append(
                    f"{label} has no {side}parameter {', '.join(map(repr, names))} "
                    f"(its v1 parameters: {', '.join(sorted(known)) or 'none'})"
                )
        if any(names for _, names in unknown):
            continue
        try:
            v2 = _values(pipeline, v2_given)
            v1 = _values(pipeline, v1_given) if v1_given is not None else None
        except ConfigurationError as exc:
            problems.append(f"{label}: {exc}")
        except MigrateKitError as exc:
            found[pipeline.pipeline_id] = str(exc)
        else:
            found[pipeline.pipeline_id] = (v2, v1)
    if problems:
        raise ConfigurationError("Cannot test with these assignments: " + "; ".join(problems))
    return found


def _values(pipeline: PipelinePlan, given: Mapping[str, Any]) -> Values:
    """``given`` over the v1 defaults. A bad assigned value raises ConfigurationError; an input
    without a usable default, not assigned, raises MigrateKitError."""
    from azure.ai.ml import Input

    v2: dict[str, Any] = {}
    v1_parameters: dict[str, str] = {}
    v1_data_paths: dict[str, Mapping[str, str]] = {}
    shown: dict[str, str] = {}
    for item in pipeline.invoke_inputs:
        assigned = item.v1_name in given
        value = given[item.v1_name] if assigned else item.v1_default
        problem = ConfigurationError if assigned else MigrateKitError
        if value is None:
            raise MigrateKitError(
                f"input {item.name!r} (v1 {item.v1_kind} {item.v1_name!r}) has no default a v2 "
                "invoke can use: assign it"
            )
        if item.is_data:
            uri, data_path = _data_value(item, value, problem)
            v2[item.name] = Input(type=item.type, path=uri)
            if data_path is not None:
                v1_data_paths[item.v1_name] = data_path
            shown[item.v1_name] = uri
            continue
        text = value if isinstance(value, str) else str(value)  # what v1's SDK would send
        typed, note = typed_literal(text, item.type)
        if note:
            raise problem(f"{item.v1_name}: {note.removesuffix('; sent as text')}")
        v2[item.name] = Input(type=item.type, default=typed)
        v1_parameters[item.v1_name] = text
        shown[item.v1_name] = redact(text)
    return Values(v2, v1_parameters, v1_data_paths, shown)


def _data_value(
    item: InvokeInput, value: Any, problem: type[MigrateKitError]
) -> tuple[str, Mapping[str, str] | None]:
    """The v2 path of a data input, and v1's ``DataPathAssignments`` entry for a DataPath."""
    where: tuple[str, str] | None = None
    if isinstance(value, Mapping) and value.get("DataStoreName"):
        where = (str(value["DataStoreName"]), str(value.get("RelativePath") or ""))
    elif isinstance(value, str) and (match := _DATASTORE_URI.fullmatch(value)):
        where = (match["datastore"], match["path"])
    elif isinstance(value, str) and value and not _NOT_A_DATASTORE_PATH.match(value):
        store, _, path = value.partition("/")
        where = (store, path)
    if where is not None:
        store, path = where
        entry = {"DataStoreName": store, "RelativePath": path.strip("/")}
        return datastore_uri(store, path), entry if item.v1_kind == "datapath" else None
    if item.v1_kind != "datapath" and isinstance(value, str) and value:
        return value, None  # any v2 path for what was a v1 dataset; v1 keeps its dataset
    raise problem(
        f"{item.v1_name}: {value!r} is not a datastore path; give "
        '{"DataStoreName": ..., "RelativePath": ...}, "<datastore>/<path>" or '
        "azureml://datastores/<datastore>/paths/<path>"
    )
