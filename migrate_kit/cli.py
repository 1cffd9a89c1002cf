"""The ``migrate-kit`` command line: a thin face over migrate_kit's functions.

Commands::

    migrate-kit inventory [--format table|csv|json] [--output PATH] [workspace options]
    migrate-kit plan (--select NAME|ID|GLOB ... | --all) [--out DIR] [--name KEY=NAME ...]
                     [--active-only] [workspace options]
    migrate-kit emulator serve [--sample PATH | --empty] [--state DIR] [--port N]
                               [--connection-file PATH] [--job-workers N]
                               [--seed N] [--rate-429 R] [--retry-after S] [--rate-500 R]
                               [--rate-503 R] [--rate-drop R] [--latency-ms MS]
                               [--lro-failure-rate R] [--arm-write-rate N]
                               [--scope-method RE] [--scope-path RE]
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
import dataclasses
import logging
import math
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate_kit.errors import ConfigurationError, MigrateKitError

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

    plan = commands.add_parser(
        "plan", help="convert published pipelines to v2 YAML and findings (writes local files only)"
    )
    _add_workspace_options(plan)
    plan.add_argument(
        "--select", action="append", default=[], metavar="NAME|ID|GLOB",
        help="a published pipeline or v1 endpoint by name, id or glob (repeatable)",
    )  # fmt: skip
    plan.add_argument("--all", action="store_true", help="every published pipeline")
    plan.add_argument(
        "--out", type=Path, default=Path("migration-plan"), metavar="DIR",
        help="folder to write the plan to (default: ./migration-plan)",
    )  # fmt: skip
    plan.add_argument(
        "--name", action="append", default=[], type=_name_override, metavar="KEY=NAME",
        help="override a target name; KEY is endpoint:<v1 endpoint or pipeline name>, "
        "deployment:<v1 pipeline id> or component:<planned name> (repeatable)",
    )  # fmt: skip
    plan.add_argument("--active-only", action="store_true", help="leave out disabled pipelines")
    plan.set_defaults(handler=_plan)

    emulator = commands.add_parser("emulator", help="the local workspace emulator")
    emulator_commands = emulator.add_subparsers(dest="emulator_command", required=True)
    serve = emulator_commands.add_parser(
        "serve", help="serve until Ctrl+C", usage="migrate-kit emulator serve [options]"
    )
    sample = serve.add_mutually_exclusive_group()
    sample.add_argument("--sample", type=Path, help="sample workspace folder (default: data/)")
    sample.add_argument("--empty", action="store_true", help="start with an empty workspace")
    serve.add_argument("--state", type=Path, help="state folder (default: ./.emulator)")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    serve.add_argument("--connection-file", type=Path, help="where to write connection JSON")
    serve.add_argument(
        "--job-workers", type=_positive_int, default=2, metavar="N",
        help="job steps run at once by invoked and submitted jobs (default: 2)",
    )  # fmt: skip
    _add_fault_options(serve)
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


def _name_override(text: str) -> tuple[str, str]:
    key, sep, value = text.rpartition("=")  # a v1 name may hold "=", a v2 name never does
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected KEY=NAME, got {text!r}")
    return key, value


def _rate(text: str) -> float:
    value = _non_negative(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a rate between 0 and 1, got {text!r}")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text!r}")
    return value


#: The fault settings as ``emulator serve`` flags: flag, type, default, metavar, help.
_FAULT_FLAGS: tuple[tuple[str, Callable[[str], Any], Any, str, str], ...] = (
    ("--seed", int, 0, "N", "seed of the fault sequence (default: 0)"),
    ("--rate-429", _rate, 0.0, "R", "share of requests answered 429 with Retry-After (0 to 1)"),
    ("--retry-after", _non_negative, 1.0, "S",
     "Retry-After seconds sent with injected 429 and 503 (default: 1)"),
    ("--rate-500", _rate, 0.0, "R", "share of requests answered 500"),
    ("--rate-503", _rate, 0.0, "R", "share of requests answered 503 with Retry-After"),
    ("--rate-drop", _rate, 0.0, "R", "share of requests whose connection is closed unanswered"),
    ("--latency-ms", _non_negative, 0.0, "MS", "milliseconds added to every request"),
    ("--lro-failure-rate", _rate, 0.0, "R",
     "share of long-running operations (endpoints, deployments) that end Failed"),
    ("--arm-write-rate", _non_negative, 0.0, "N",
     "ARM writes allowed a second (token bucket, burst N); more get 429 with Retry-After "
     "(default: 0, no limit)"),
    ("--scope-method", str, ".*", "RE",
     "only methods matching this regular expression get faults (default: all)"),
    ("--scope-path", str, "", "RE",
     "only paths in which this regular expression is found get faults (default: all)"),
)  # fmt: skip


def _add_fault_options(parser: argparse.ArgumentParser) -> None:
    """The fault settings (``FaultSettings``) as flags; ``PUT /_emulator/settings`` changes
    them while the emulator runs."""
    group = parser.add_argument_group("faults (the same seed and requests give the same faults)")
    for flag, kind, default, metavar, text in _FAULT_FLAGS:
        group.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)


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


PLAN_TABLE_COLUMNS = [
    "pipeline_name",
    "version",
    "endpoint",
    "deployment",
    "is_default",
    "verdict",
    "blocking",
    "warnings",
]


def _plan(args: argparse.Namespace) -> int:
    from migrate_kit.connection import connect
    from migrate_kit.convert import Severity, plan, write_plan

    if args.all and args.select:
        raise ConfigurationError("Give either --select or --all, not both.")
    connection = connect(
        subscription_id=args.subscription_id,
        resource_group=args.resource_group,
        workspace_name=args.workspace_name,
        config=args.config,
        connection_file=args.connection_file,
        pipelines_url=args.pipelines_url,
    )
    print(f"Reading {connection.workspace.describe()} ...", file=sys.stderr)
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
            where = f"{pipeline.pipeline_name} {pipeline.pipeline_version or ''}".strip()
            print(f"blocked: {where}: {first.describe()}")
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
    from migrate_kit.emulator import DEFAULT_SAMPLE, FaultSettings, FaultSettingsError, serve
    from migrate_kit.errors import ConfigurationError

    names = [f.name for f in dataclasses.fields(FaultSettings)]
    try:
        settings = FaultSettings(**{name: getattr(args, name) for name in names})
    except FaultSettingsError as exc:
        message = str(exc)
        for name in sorted(names, key=len, reverse=True):  # flag names, as the user typed them
            message = message.replace(name, "--" + name.replace("_", "-"))
        raise ConfigurationError(message) from None

    def _ready(connection: dict[str, Any]) -> None:
        where = f", connection file {args.connection_file}" if args.connection_file else ""
        print(f"Emulator serving on {connection['base_url']}{where}; Ctrl+C stops it", flush=True)

    serve(
        state_dir=args.state or Path(".emulator"),
        sample=None if args.empty else (args.sample or DEFAULT_SAMPLE),
        port=args.port,
        connection_file=args.connection_file,
        on_ready=_ready,
        settings=settings,
        job_workers=args.job_workers,
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
