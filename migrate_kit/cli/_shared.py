"""What the commands share: workspace and selection options, argument types, connecting."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from migrate_kit._streams import quiet_azure_ml
from migrate_kit.errors import ConfigurationError

if TYPE_CHECKING:
    from migrate_kit.connection import Connection

__all__ = [
    "add_selection_options",
    "add_workspace_options",
    "assignment",
    "connect_from",
    "name_override",
    "non_negative",
    "positive_int",
    "quiet_azure_ml",
    "rate",
    "selection",
]


def add_workspace_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workspace (default: config.json found upward)")
    group.add_argument("--config", type=Path, help="an Azure ML config.json")
    group.add_argument("--connection-file", type=Path, help="an emulator connection file")
    group.add_argument("--subscription-id")
    group.add_argument("--resource-group")
    group.add_argument("--workspace-name")
    group.add_argument("--pipelines-url", help="v1 pipelines service URL (skips discovery)")


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--select", action="append", default=[], metavar="NAME|ID|GLOB",
        help="a published pipeline or v1 endpoint by name, id or glob (repeatable)",
    )  # fmt: skip
    parser.add_argument("--all", action="store_true", help="every published pipeline")


def selection(args: argparse.Namespace) -> tuple[list[str], bool]:
    """The ``--select`` patterns and ``--all``, checked: exactly one of the two is given."""
    if args.all and args.select:
        raise ConfigurationError("Give either --select or --all, not both.")
    if not args.all and not args.select:
        raise ConfigurationError(
            "Say which pipelines: give one or more --select NAME|ID|GLOB, or --all."
        )
    return list(args.select), bool(args.all)


def connect_from(args: argparse.Namespace, *, announce: bool = True) -> Connection:
    """The workspace the workspace options name (see :func:`migrate_kit.connect`)."""
    from migrate_kit.connection import connect

    connection = connect(
        subscription_id=args.subscription_id,
        resource_group=args.resource_group,
        workspace_name=args.workspace_name,
        config=args.config,
        connection_file=args.connection_file,
        pipelines_url=args.pipelines_url,
    )
    if announce:
        print(f"Reading {connection.workspace.describe()} ...", file=sys.stderr)
    return connection


def assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` (a parameter name never holds "=", a value may)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key, value


def name_override(text: str) -> tuple[str, str]:
    key, sep, value = text.rpartition("=")  # a v1 name may hold "=", a v2 name never does
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected KEY=NAME, got {text!r}")
    return key, value


def rate(text: str) -> float:
    value = non_negative(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a rate between 0 and 1, got {text!r}")
    return value


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text!r}")
    return value
