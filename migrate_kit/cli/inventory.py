"""``migrate-kit inventory``: every v1 published pipeline of a workspace in one table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from migrate_kit.cli._shared import add_workspace_options, connect_from

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_command", "render_inventory"]


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inv = commands.add_parser("inventory", help="list every v1 published pipeline")
    add_workspace_options(inv)
    inv.add_argument("--format", choices=("table", "csv", "json"), default="table")
    inv.add_argument("--output", type=Path, help="write to this file instead of standard output")
    inv.add_argument("--active-only", action="store_true", help="leave out disabled pipelines")
    inv.set_defaults(handler=_inventory)


TABLE_COLUMNS = [
    "pipeline_name",
    "version",
    "status",
    "endpoint",
    "endpoint_version",
    "is_default",
    "v2_endpoint",
    "step_count",
    "verdict",
]


def _inventory(args: argparse.Namespace) -> int:
    from migrate_kit.inventory import read_inventory, rows_to_json, to_frame

    connection = connect_from(args)
    rows = read_inventory(connection, active_only=args.active_only)
    # JSON needs no DataFrame; pandas is imported only for the table and CSV.
    if args.format == "json":
        text = rows_to_json(rows)
    else:
        text = render_inventory(to_frame(rows), args.format)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"Wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def render_inventory(frame: pd.DataFrame, fmt: str) -> str:
    """The inventory as text: an aligned table, CSV, or JSON records with every field."""
    from migrate_kit.inventory import frame_for_output

    if fmt == "json":
        return str(frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=1))
    flat = frame_for_output(frame)
    if fmt == "csv":
        return str(flat.to_csv(index=False))
    if flat.empty:
        return "No published pipelines found.\n"
    counts = frame["verdict"].value_counts()
    summary = ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
    table = flat[TABLE_COLUMNS].fillna("").to_string(index=False, max_colwidth=40)
    return f"{table}\n\n{len(frame)} published pipelines: {summary}\n"
