"""The ``migrate-kit`` command line: a thin face over migrate_kit's functions.

Commands::

    migrate-kit inventory [--format table|csv|json] [--output PATH] [workspace options]
    migrate-kit emulator serve [--sample PATH | --empty] [--state DIR] [--port N]
                               [--connection-file PATH]
    migrate-kit emulator env --connection-file PATH     (prints `export` lines for a shell)
    migrate-kit emulator coverage
    migrate-kit demo [--state DIR]

Expected failures (a wrong workspace, a refused credential, an unreachable service, a bad file)
print one line starting ``error:`` and exit with status 2; no traceback. ``-v`` shows progress
(INFO), ``-vv`` everything (DEBUG). This module is the only place, with the notebooks, that
configures logging.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate_kit.errors import MigrateKitError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["main"]

logger = logging.getLogger(__name__)

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        status: int = args.handler(args)
        return status
    except MigrateKitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migrate-kit",
        description="Move Azure ML SDK v1 published pipelines to SDK v2 batch endpoints.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more output")
    commands = parser.add_subparsers(dest="command", required=True)

    inv = commands.add_parser("inventory", help="list every v1 published pipeline")
    _add_workspace_options(inv)
    inv.add_argument("--format", choices=("table", "csv", "json"), default="table")
    inv.add_argument("--output", type=Path, help="write to this file instead of standard output")
    inv.add_argument("--active-only", action="store_true", help="leave out disabled pipelines")
    inv.set_defaults(handler=_inventory)

    emulator = commands.add_parser("emulator", help="the local workspace emulator")
    emulator_commands = emulator.add_subparsers(dest="emulator_command", required=True)
    serve = emulator_commands.add_parser("serve", help="serve until Ctrl+C")
    sample = serve.add_mutually_exclusive_group()
    sample.add_argument("--sample", type=Path, help="sample workspace folder (default: data/)")
    sample.add_argument("--empty", action="store_true", help="start with an empty workspace")
    serve.add_argument("--state", type=Path, help="state folder (default: ./.emulator)")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    serve.add_argument("--connection-file", type=Path, help="where to write connection JSON")
    serve.set_defaults(handler=_emulator_serve)
    env = emulator_commands.add_parser(
        "env", help="print export lines that point azure-ai-ml and the v1 SDK at the emulator"
    )
    env.add_argument("--connection-file", type=Path, required=True)
    env.set_defaults(handler=_emulator_env)
    coverage = emulator_commands.add_parser("coverage", help="print what the emulator simplifies")
    coverage.set_defaults(handler=_emulator_coverage)

    demo = commands.add_parser("demo", help="run the sample workspace through migrate_kit")
    demo.add_argument("--state", type=Path, help="emulator state folder (default: a temp dir)")
    demo.set_defaults(handler=_demo)
    return parser


def _add_workspace_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workspace (default: config.json found upward)")
    group.add_argument("--config", type=Path, help="an Azure ML config.json")
    group.add_argument("--connection-file", type=Path, help="an emulator connection file")
    group.add_argument("--subscription-id")
    group.add_argument("--resource-group")
    group.add_argument("--workspace-name")
    group.add_argument("--pipelines-url", help="v1 pipelines service URL (skips discovery)")


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbosity < 2:
        # azure-core and azure-identity are chatty at INFO (one line per header set).
        logging.getLogger("azure").setLevel(logging.WARNING)


def _inventory(args: argparse.Namespace) -> int:
    from migrate_kit.connection import connect
    from migrate_kit.inventory import read_inventory, rows_to_json, to_frame

    connection = connect(
        subscription_id=args.subscription_id,
        resource_group=args.resource_group,
        workspace_name=args.workspace_name,
        config=args.config,
        connection_file=args.connection_file,
        pipelines_url=args.pipelines_url,
    )
    print(f"Reading {connection.workspace.describe()} ...", file=sys.stderr)
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


def _emulator_serve(args: argparse.Namespace) -> int:
    from migrate_kit.emulator import DEFAULT_SAMPLE, serve

    def _ready(connection: dict[str, Any]) -> None:
        where = f", connection file {args.connection_file}" if args.connection_file else ""
        print(f"Emulator serving on {connection['base_url']}{where}; Ctrl+C stops it", flush=True)

    serve(
        state_dir=args.state or Path(".emulator"),
        sample=None if args.empty else (args.sample or DEFAULT_SAMPLE),
        port=args.port,
        connection_file=args.connection_file,
        on_ready=_ready,
    )
    return 0


def _emulator_env(args: argparse.Namespace) -> int:
    import json
    import shlex

    from migrate_kit.errors import ConfigurationError

    try:
        connection = json.loads(args.connection_file.read_text(encoding="utf-8"))
        env = connection["env"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"{args.connection_file} is not an emulator connection file ({exc}). Use the file "
            "that `migrate-kit emulator serve --connection-file PATH` writes."
        ) from None
    for name, value in sorted(env.items()):
        print(f"export {name}={shlex.quote(str(value))}")
    return 0


def _emulator_coverage(args: argparse.Namespace) -> int:
    from migrate_kit.emulator.coverage import coverage_markdown

    sys.stdout.write(coverage_markdown())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from migrate_kit.connection import connect
    from migrate_kit.emulator import Emulator
    from migrate_kit.inventory import inventory

    with tempfile.TemporaryDirectory(prefix="migrate-kit-demo-") as tmp:
        state = args.state or Path(tmp) / "state"
        connection_file = Path(tmp) / "connection.json"
        print(f"Starting the local workspace emulator (state in {state}) ...", file=sys.stderr)
        with Emulator(state_dir=state, connection_file=connection_file) as emu:
            print(f"Emulator ready at {emu.base_url}", file=sys.stderr)
            connection = connect(connection_file=connection_file)
            print(f"Inventory of {connection.workspace.describe()}:\n", file=sys.stderr)
            frame = inventory(connection)
            sys.stdout.write(render_inventory(frame, "table"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
