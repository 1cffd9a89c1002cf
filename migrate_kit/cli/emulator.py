"""``migrate-kit emulator serve|env|coverage``: the local workspace emulator."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrate_kit.cli._shared import non_negative, positive_int, rate

__all__ = ["add_command"]


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        "--job-workers", type=positive_int, default=2, metavar="N",
        help="job steps run at once by invoked and submitted jobs (default: 2)",
    )  # fmt: skip
    add_fault_options(serve)
    serve.set_defaults(handler=_emulator_serve)
    env = emulator_commands.add_parser(
        "env", help="print export lines that point azure-ai-ml and the v1 SDK at the emulator"
    )
    env.add_argument("--connection-file", type=Path, required=True)
    env.set_defaults(handler=_emulator_env)
    coverage = emulator_commands.add_parser("coverage", help="print what the emulator simplifies")
    coverage.set_defaults(handler=_emulator_coverage)


#: The fault settings as ``emulator serve`` flags: flag, type, default, metavar, help.
_FAULT_FLAGS: tuple[tuple[str, Callable[[str], Any], Any, str, str], ...] = (
    ("--seed", int, 0, "N", "seed of the fault sequence (default: 0)"),
    ("--rate-429", rate, 0.0, "R", "share of requests answered 429 with Retry-After (0 to 1)"),
    ("--retry-after", non_negative, 1.0, "S",
     "Retry-After seconds sent with injected 429 and 503 (default: 1)"),
    ("--rate-500", rate, 0.0, "R", "share of requests answered 500"),
    ("--rate-503", rate, 0.0, "R", "share of requests answered 503 with Retry-After"),
    ("--rate-drop", rate, 0.0, "R", "share of requests whose connection is closed unanswered"),
    ("--latency-ms", non_negative, 0.0, "MS", "milliseconds added to every request"),
    ("--lro-failure-rate", rate, 0.0, "R",
     "share of long-running operations (endpoints, deployments) that end Failed"),
    ("--arm-write-rate", non_negative, 0.0, "N",
     "ARM writes allowed a second (token bucket, burst N); more get 429 with Retry-After "
     "(default: 0, no limit)"),
    ("--scope-method", str, ".*", "RE",
     "only methods matching this regular expression get faults (default: all)"),
    ("--scope-path", str, "", "RE",
     "only paths in which this regular expression is found get faults (default: all)"),
)  # fmt: skip


def add_fault_options(parser: argparse.ArgumentParser) -> None:
    """The fault settings (``FaultSettings``) as flags; ``PUT /_emulator/settings`` changes
    them while the emulator runs."""
    group = parser.add_argument_group("faults (the same seed and requests give the same faults)")
    for flag, kind, default, metavar, text in _FAULT_FLAGS:
        group.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)


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
