"""``migrate-kit capture``: the command-line face of :func:`migrate_kit.capture.capture`.

``add_command(commands)`` (also named ``add_capture_command``) adds the command to the
top-level subparsers object. Exit status 0 when every pipeline was
captured completely, 1 when some were captured only in part (the warnings say what is missing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from migrate_kit.cli._shared import add_workspace_options, connect_from
from migrate_kit.errors import ConfigurationError

__all__ = ["add_capture_command", "add_command", "run_capture"]


def add_capture_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``capture`` command to ``subparsers`` (``ArgumentParser.add_subparsers()``)."""
    parser = subparsers.add_parser(
        "capture",
        help="save the workspace's v1 pipelines, endpoints and code into a folder the emulator "
        "serves (emulator serve --sample DIR)",
    )
    add_workspace_options(parser)
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR",
        help="folder to write (empty, new, or an earlier capture)",
    )  # fmt: skip
    parser.add_argument(
        "--select", action="append", default=[], metavar="NAME|ID|GLOB",
        help="a published pipeline or v1 endpoint by name, id or glob (repeatable)",
    )  # fmt: skip
    parser.add_argument("--all", action="store_true", help="every published pipeline (the default)")
    parser.add_argument(
        "--with-data", action="store_true",
        help="create datastore/ and list the datastore paths the pipelines read "
        "(files are never downloaded)",
    )  # fmt: skip
    parser.set_defaults(handler=run_capture)
    return parser


add_command = add_capture_command


def run_capture(args: argparse.Namespace) -> int:
    """Handle ``migrate-kit capture``; returns the exit status."""
    from migrate_kit.capture import PipelineCapture, capture

    if args.all and args.select:
        raise ConfigurationError("Give either --select or --all, not both.")
    connection = connect_from(args)

    def progress(done: int, total: int, item: PipelineCapture) -> None:
        state = "ok" if item.complete else "partial"
        print(f"[{done}/{total}] {item.name} {item.version or ''}: {state}", file=sys.stderr)

    result = capture(
        connection, args.out, select=args.select, with_data=args.with_data, progress=progress
    )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"Captured {len(result.pipelines)} published pipelines, {len(result.endpoints)} "
        f"endpoints and {result.snapshots} code snapshots into {result.out}; serve them with "
        f"`migrate-kit emulator serve --sample {result.out}`"
    )
    return 1 if result.partial else 0
