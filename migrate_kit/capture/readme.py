"""The README.md of a captured sample folder (see ``migrate_kit.capture``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate_kit.capture import CaptureResult

__all__ = ["datastore_paths", "render_readme"]

_DATASTORE_KEYS = ("AmlDataStoreName", "DataStoreName")


def datastore_paths(*entity_lists: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every ``(datastore, relative path)`` named in captured ``{"key", "body"}`` entities."""
    found: set[tuple[str, str]] = set()
    for items in entity_lists:
        for item in items:
            _collect(item.get("body"), found)
    return sorted(found)


def _collect(value: Any, found: set[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        store = next((value[k] for k in _DATASTORE_KEYS if isinstance(value.get(k), str)), None)
        if store and isinstance(value.get("RelativePath"), str):
            found.add((store, value["RelativePath"]))
        for child in value.values():
            _collect(child, found)
    elif isinstance(value, list):
        for child in value:
            _collect(child, found)


def render_readme(result: CaptureResult, paths: list[tuple[str, str]], with_data: bool) -> str:
    """What was captured, when, from where, what is missing, and how to serve it."""
    complete = len(result.pipelines) - len(result.partial)
    lines = [
        "# Captured v1 workspace",
        "",
        f"Captured by `migrate-kit capture` on {result.captured_at} from {result.source},",
        f"through the v1 pipelines service at {result.service_url}.",
        "",
        f"- {len(result.pipelines)} published pipelines ({complete} complete, "
        f"{len(result.partial)} partial)",
        f"- {len(result.endpoints)} pipeline endpoints",
        f"- {result.snapshots} code snapshots ({result.blobs} files)",
        "",
        "| Published pipeline | Version | Modules | Snapshots | Captured |",
        "|---|---|---|---|---|",
    ]
    for p in result.pipelines:
        state = "complete" if p.complete else "partial"
        lines.append(f"| {_cell(p.name)} | {_cell(p.version or '')} | {p.modules} | "
                     f"{p.snapshots} | {state} |")  # fmt: skip
    if result.endpoints:
        lines += ["", "Pipeline endpoints: " + ", ".join(f"`{e}`" for e in result.endpoints)]
    if result.warnings:
        lines += ["", "## Warnings", ""] + [f"- {_cell(w)}" for w in result.warnings]

    lines += [
        "",
        "## Data",
        "",
        "Datastore files were not downloaded: they can be large, and a datastore may hold data",
        "that must not leave the workspace. Copy what the rehearsal needs into `datastore/`: a",
        "file at `datastore/<path>` is served at `<path>` of the default datastore.",
    ]
    if with_data and paths:
        lines += ["", "The captured pipelines name these datastore paths:", ""]
        lines += [f"- `{store}`: `{path}`" for store, path in paths]

    lines += [
        "",
        "## Serving it",
        "",
        "    migrate-kit emulator serve --sample <this folder> --connection-file conn.json",
        "    migrate-kit inventory --connection-file conn.json",
        "",
        "`capture/` is in the emulator's capture format (`state.json` + `blobs/<sha256>`);",
        "`workspace.json` names the workspace the emulator pretends to be. The files hold no",
        "token, key or SAS; the code snapshots are the team's own files, copied as they are.",
        "",
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
