"""``migrate-kit demo``: the guided workbook run headless against the local emulator.

It starts the emulator with the sample workspace in this process, runs the notebooks of
``notebooks/`` in order with papermill (each in its own kernel, given the emulator's connection
file, the output folder as ``work_dir`` and the selection), and writes the executed notebooks,
the plan, the ledger and the report to the output folder. The summary at the end counts the
pipelines by status (read from the ledger) and says how to open the same notebooks in
JupyterLab.

Known shortcoming: the notebooks are read from the source checkout (``notebooks/`` beside the
package, as the sample workspace is read from ``data/``); an installed wheel has neither.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate_kit.errors import ConfigurationError, MigrateKitError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NOTEBOOKS", "NotebookFailed", "add_command", "notebooks_folder", "run_notebook"]

logger = logging.getLogger(__name__)

#: The workbook, in the order the demo runs it.
NOTEBOOKS = (
    "00_start_here.ipynb",
    "01_inventory.ipynb",
    "02_plan.ipynb",
    "03_migrate.ipynb",
    "04_test.ipynb",
    "05_report.ipynb",
)


class NotebookFailed(MigrateKitError):
    """A notebook's cell raised: the message names the notebook, the cell and the error."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="run the guided notebooks headless against the local emulator"
    )
    demo.add_argument("--state", type=Path, help="emulator state folder (default: a temp dir)")
    demo.add_argument(
        "--out", type=Path, default=Path("migrate-kit-demo"), metavar="DIR",
        help="where the executed notebooks, plan, ledger and report go "
        "(default: ./migrate-kit-demo)",
    )  # fmt: skip
    demo.add_argument(
        "--select", action="append", default=[], metavar="NAME|ID|GLOB",
        help="the pipelines the notebooks migrate: 'ready', or names, ids or globs "
        "(repeatable; default: every published pipeline)",
    )  # fmt: skip
    demo.set_defaults(handler=_demo)


def notebooks_folder() -> Path:
    """The workbook's folder in the source checkout."""
    import migrate_kit

    folder = Path(migrate_kit.__file__).resolve().parents[1] / "notebooks"
    missing = [name for name in NOTEBOOKS if not (folder / name).is_file()]
    if missing:
        raise ConfigurationError(
            f"The demo runs the notebooks of a source checkout, and {folder} lacks "
            f"{', '.join(missing)}; install migrate_kit with `pip install -e .` from the checkout."
        )
    return folder


def run_notebook(
    source: Path,
    target: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path | None = None,
    kernel_log: bool = False,
) -> None:
    """Execute ``source`` with papermill in a fresh kernel of this interpreter into ``target``.

    The kernel's own log lines (e.g. a harmless "KeyboardInterrupt caught in kernel" when it is
    stopped) are left out of the output unless ``kernel_log``.

    Raises :class:`NotebookFailed` naming the failing cell's error (the executed notebook,
    with the traceback, is at ``target``).
    """
    import papermill
    import zmq
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    target.parent.mkdir(parents=True, exist_ok=True)
    # The kernel spec of this environment first: its "python" is this interpreter (a user's
    # own python3 kernel spec could name another one, without migrate_kit).
    before = os.environ.get("JUPYTER_PATH")
    share = str(Path(sys.prefix) / "share" / "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (share, before) if p)
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(cwd or target.parent),
            progress_bar=False,
            log_output=False,
            extra_arguments=[] if kernel_log else ["--IPKernelApp.log_level=CRITICAL"],
            # CurveZMQ between this process and the kernel where pyzmq has it (it usually does).
            config=Config(
                {
                    "KernelManager": {
                        "transport_encryption": "auto" if zmq.has("curve") else "disabled"
                    }
                }
            ),
        )
    except PapermillExecutionError as exc:
        raise NotebookFailed(
            f"{source.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
            f"(the executed notebook is {target})"
        ) from None
    finally:
        if before is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = before


def _demo(args: argparse.Namespace) -> int:
    from migrate_kit.emulator import Emulator
    from migrate_kit.report import status_counts

    logging.getLogger("papermill").setLevel(logging.WARNING if args.verbose < 2 else logging.DEBUG)
    folder = notebooks_folder()
    out: Path = args.out.resolve()
    executed = out / "notebooks"
    ledger_path = out / "ledger.sqlite"
    # Every demo starts from a fresh sample workspace, so it starts a fresh ledger too.
    for suffix in ("", "-wal", "-shm"):
        ledger_path.with_name(ledger_path.name + suffix).unlink(missing_ok=True)
    select: str | list[str] = args.select or "all"
    if select == ["ready"]:
        select = "ready"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="migrate-kit-demo-") as tmp:
        state = args.state or Path(tmp) / "state"
        connection_file = Path(tmp) / "connection.json"
        print(f"Starting the local workspace emulator (state in {state}) ...", file=sys.stderr)
        with Emulator(state_dir=state, connection_file=connection_file) as emu:
            print(f"Emulator ready at {emu.base_url}", file=sys.stderr)
            print(_inventory_line(connection_file))
            print(f"\nRunning the workbook headless (papermill), work_dir {out}:")
            parameters = {
                "workspace": "emulator",
                "connection_file": str(connection_file),
                "work_dir": str(out),
                "select": select,
            }
            for name in NOTEBOOKS:
                print(f"  {name:<22}", end="", flush=True)
                began = time.perf_counter()
                try:
                    run_notebook(
                        folder / name, executed / name, parameters, cwd=out,
                        kernel_log=args.verbose > 0,
                    )  # fmt: skip
                except NotebookFailed as exc:
                    print("failed")
                    print(f"error: {exc}", file=sys.stderr)
                    return 1
                print(f"{time.perf_counter() - began:5.1f} s")
    report = _ledger_report(ledger_path)
    print(f"\nDone in {time.perf_counter() - started:.0f} s. {_summary(report)}")
    print(f"By status: {status_counts(report) or 'nothing in the ledger'}\n")
    print(f"Executed notebooks  {executed}")
    print(f"Plan (YAML, code)   {out / 'plan'}")
    print(f"Ledger              {ledger_path}")
    print(f"Report              {out / 'report'}")
    print(
        "\nOpen the same notebooks in JupyterLab (they start the emulator themselves):\n"
        f"  {_jupyter_command(folder)}"
    )
    return 1 if (report["status"] == "failed").any() else 0


def _inventory_line(connection_file: Path) -> str:
    from migrate_kit.connection import connect
    from migrate_kit.inventory import inventory

    connection = connect(connection_file=connection_file)
    frame = inventory(connection)
    counts = frame["verdict"].value_counts()
    summary = ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
    return (
        f"\nInventory of {connection.workspace.describe()}:\n"
        f"{len(frame)} published pipelines: {summary}"
    )


def _ledger_report(ledger_path: Path) -> pd.DataFrame:
    from migrate_kit.ledger import Ledger
    from migrate_kit.report import ledger_frame

    with Ledger(ledger_path) as ledger:
        return ledger_frame(ledger)


def _summary(report: pd.DataFrame) -> str:
    """ "11 migrated (11 tested), 2 blocked": migrated counts what got at least that far."""
    status = report["status"]
    migrated = int(status.isin(["migrated", "tested", "verified"]).sum())
    tested = int(status.isin(["tested", "verified"]).sum())
    parts = [f"{migrated} migrated ({tested} tested)"]
    parts += [f"{int((status == s).sum())} {s}" for s in ("failed", "pending", "blocked")]
    return f"{len(report)} published pipelines: " + ", ".join(
        p for p in parts if not p.startswith("0 ")
    )


def _jupyter_command(folder: Path) -> str:
    jupyter = Path(sys.executable).parent / "jupyter"
    here = Path.cwd()

    def short(path: Path) -> str:
        try:
            return str(path.relative_to(here))
        except ValueError:
            return str(path)

    return f"{short(jupyter)} lab {short(folder)}/"
