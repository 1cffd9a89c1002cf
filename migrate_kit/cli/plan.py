"""``migrate-kit plan``: v1 published pipelines as v2 YAML, code folders and findings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from migrate_kit.cli._shared import (
    add_selection_options,
    add_workspace_options,
    connect_from,
    name_override,
)
from migrate_kit.convert.model import PLAN_SUMMARY_COLUMNS
from migrate_kit.errors import ConfigurationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_command", "render_plan"]


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan = commands.add_parser(
        "plan", help="convert published pipelines to v2 YAML and findings (writes local files only)"
    )
    add_workspace_options(plan)
    add_selection_options(plan)
    plan.add_argument(
        "--out", type=Path, default=Path("migration-plan"), metavar="DIR",
        help="folder to write the plan to (default: ./migration-plan)",
    )  # fmt: skip
    add_name_options(plan)
    plan.add_argument("--active-only", action="store_true", help="leave out disabled pipelines")
    plan.set_defaults(handler=_plan)


def add_name_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--name", action="append", default=[], type=name_override, metavar="KEY=NAME",
        help="override a target name; KEY is endpoint:<v1 endpoint or pipeline name>, "
        "deployment:<v1 pipeline id> or component:<planned name> (repeatable)",
    )  # fmt: skip


PLAN_TABLE_COLUMNS = PLAN_SUMMARY_COLUMNS[:-1]  # infos: in findings.md


def _plan(args: argparse.Namespace) -> int:
    from migrate_kit.convert import Severity, plan, write_plan

    if args.all and args.select:
        raise ConfigurationError("Give either --select or --all, not both.")
    connection = connect_from(args)
    result = plan(
        connection,
        select=args.select,
        all=args.all,
        names=dict(args.name),
        active_only=args.active_only,
    )
    for problem in result.problems:
        print(f"warning: {problem}", file=sys.stderr)
    written = write_plan(result, args.out)
    sys.stdout.write(render_plan(result.frame()))
    for pipeline in result.pipelines:
        first = next((f for f in pipeline.findings if f.severity is Severity.BLOCKING), None)
        if first is not None:
            print(f"blocked: {pipeline.label}: {first.describe()}")
    print(f"Wrote {len(written)} files to {args.out}", file=sys.stderr)
    return 0


def render_plan(frame: pd.DataFrame) -> str:
    """The plan summary: one line per pipeline, then the verdict counts."""
    if frame.empty:
        return "Nothing planned.\n"
    table = frame[PLAN_TABLE_COLUMNS].fillna("").to_string(index=False, max_colwidth=40)
    counts = frame["verdict"].value_counts()
    summary = ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
    return f"{table}\n\n{len(frame)} published pipelines planned: {summary}\n"
