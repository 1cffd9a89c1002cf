"""``migrate-kit demo``: the sample workspace through migrate_kit, against the emulator."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from migrate_kit.cli.inventory import render_inventory

__all__ = ["add_command"]


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser("demo", help="run the sample workspace through migrate_kit")
    demo.add_argument("--state", type=Path, help="emulator state folder (default: a temp dir)")
    demo.set_defaults(handler=_demo)


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
