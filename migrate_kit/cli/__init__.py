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
    migrate-kit migrate (--select NAME|ID|GLOB ... | --all) [--ledger PATH] [--concurrency N]
                        [--work-dir DIR] [--writes-per-second N] [--name KEY=NAME ...]
    migrate-kit test (--select ... | --all) [--ledger PATH] [--assign NAME=VALUE ...]
                     [--assignments FILE] [--parity [--disable-v1-after-verify]]
                     [--concurrency N] [--timeout S]
    migrate-kit report [--ledger PATH] [--out DIR] [--format FORMAT ...]
    migrate-kit rollback [--ledger PATH] [--migration ID]
    migrate-kit capture --out DIR (--select ... | --all) [--with-data]
    migrate-kit demo [--state DIR] [--out DIR] [--select ...]

Expected failures (a wrong workspace, a refused credential, an unreachable service, a bad file)
print one line starting ``error:`` and exit with status 2; no traceback. ``-v`` shows progress
(INFO), ``-vv`` everything (DEBUG). This module is the only place, with the notebooks, that
configures logging.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from migrate_kit.cli import capture, demo, emulator, inventory, migration, plan
from migrate_kit.cli.inventory import render_inventory
from migrate_kit.cli.plan import render_plan
from migrate_kit.errors import MigrateKitError

__all__ = ["main", "render_inventory", "render_plan"]

logger = logging.getLogger(__name__)

#: The command modules, in the order ``--help`` lists them; each has ``add_command``.
_COMMANDS = (inventory, plan, migration, capture, emulator, demo)


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
    for module in _COMMANDS:
        module.add_command(commands)
    return parser


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbosity < 2:
        # azure-core and azure-identity are chatty at INFO (one line per header set);
        # azure-ai-ml needs more (``_streams.quiet_azure_ml``) once it is imported.
        logging.getLogger("azure").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
