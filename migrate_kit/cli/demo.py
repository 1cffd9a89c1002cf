"""``migrate-kit demo``: the sample workspace through migrate_kit, against the emulator."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from migrate_kit.cli._shared import quiet_azure_ml
from migrate_kit.cli.inventory import render_inventory
from migrate_kit.cli.migration import render_result
from migrate_kit.cli.plan import render_plan

__all__ = ["add_command"]


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="migrate the sample workspace end to end against the local emulator"
    )
    demo.add_argument("--state", type=Path, help="emulator state folder (default: a temp dir)")
    demo.add_argument(
        "--out", type=Path, default=Path("migrate-kit-demo"), metavar="DIR",
        help="where the plan, the ledger and the report go (default: ./migrate-kit-demo)",
    )  # fmt: skip
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from migrate_kit.connection import connect
    from migrate_kit.convert import plan, write_plan
    from migrate_kit.emulator import Emulator
    from migrate_kit.engine import migrate
    from migrate_kit.inventory import inventory
    from migrate_kit.ledger import Ledger
    from migrate_kit.report import export_all, ledger_frame

    out: Path = args.out
    ledger_path = out / "ledger.sqlite"
    # Every demo starts from a fresh sample workspace, so it starts a fresh ledger too.
    for stale in (ledger_path, ledger_path.with_name("ledger.sqlite-wal")):
        stale.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="migrate-kit-demo-") as tmp:
        state = args.state or Path(tmp) / "state"
        connection_file = Path(tmp) / "connection.json"
        print(f"Starting the local workspace emulator (state in {state}) ...", file=sys.stderr)
        with Emulator(state_dir=state, connection_file=connection_file) as emu:
            print(f"Emulator ready at {emu.base_url}", file=sys.stderr)
            connection = connect(connection_file=connection_file)
            quiet_azure_ml(args.verbose)
            print(f"\n1. Inventory of {connection.workspace.describe()}:\n")
            sys.stdout.write(render_inventory(inventory(connection), "table"))

            print("\n2. Plan (every published pipeline):\n")
            planned = plan(connection, all=True)
            write_plan(planned, out / "plan")
            sys.stdout.write(render_plan(planned.frame()))

            print("\n3. Migrate to batch endpoints and pipeline-component deployments:\n")
            with Ledger(ledger_path) as ledger:
                result = migrate(
                    planned, connection.ml_client, ledger, work_dir=out / "plan",
                    workspace=connection.workspace.describe(),
                )  # fmt: skip
                sys.stdout.write(render_result(result))
                print("\n4. Report:\n")
                written = export_all(ledger_frame(ledger), out / "report")
    for path in written.values():
        print(f"wrote {path}")
    print(f"\nThe plan (YAML, code, findings) is in {out / 'plan'}, the ledger in {ledger_path}.")
    return 0 if result.ok else 1
