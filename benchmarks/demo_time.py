"""How long ``migrate-kit demo`` takes: the workbook run headless against the emulator.

Runs ``migrate-kit demo`` in a temporary folder ``--runs`` times with this environment and
prints each run's wall time and the per-notebook times the demo reports. Target: under 60 s
once set up.

``--fresh`` also measures a fresh checkout: the working tree's files (``git ls-files``, tracked
and untracked, without ignored ones) copied to a temporary folder, then the README's first
command there: ``python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/migrate-kit
demo``, timing the setup and the demo apart (pip uses its cache and index as configured).

Usage: ``.venv/bin/python benchmarks/demo_time.py [--runs 2] [--fresh]``. Prints the figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _demo(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"demo failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return seconds, result.stdout


def _notebook_times(stdout: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r"^\s+(\S+\.ipynb)\s+([\d.]+) s$", stdout, re.M)}


def measure_installed(runs: int) -> None:
    print(f"migrate-kit demo with {BIN.parent} ({runs} runs)")
    walls, per_notebook = [], {}
    for run in range(1, runs + 1):
        with tempfile.TemporaryDirectory(prefix="demo-time-") as tmp:
            seconds, stdout = _demo([str(BIN / "migrate-kit"), "demo"], Path(tmp))
        walls.append(seconds)
        for name, value in _notebook_times(stdout).items():
            per_notebook.setdefault(name, []).append(value)
        summary = next((line for line in stdout.splitlines() if line.startswith("Done in")), "")
        print(f"  run {run}: {seconds:5.1f} s wall  ({summary})")
    print(f"  median {statistics.median(walls):.1f} s, max {max(walls):.1f} s (target: < 60 s)")
    for name, values in per_notebook.items():
        print(f"    {name:<22} median {statistics.median(values):4.1f} s")


def measure_fresh() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="demo-fresh-") as tmp:
        checkout = Path(tmp) / "migrate_kit"
        for name in filter(None, listed):
            source = ROOT / name
            if source.is_file():
                (checkout / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, checkout / name)
        print(f"fresh checkout ({len(listed)} files) in {checkout}")
        started = time.perf_counter()
        subprocess.run(["python3", "-m", "venv", ".venv"], cwd=checkout, check=True)
        subprocess.run(
            [".venv/bin/pip", "install", "-q", "-e", "."],
            cwd=checkout, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        setup = time.perf_counter() - started
        seconds, stdout = _demo([".venv/bin/migrate-kit", "demo"], checkout)
        summary = next((line for line in stdout.splitlines() if line.startswith("Done in")), "")
        print(f"  setup (venv + pip install -e .): {setup:5.1f} s")
        print(f"  first demo:                      {seconds:5.1f} s  ({summary})")
        print(f"  total:                           {setup + seconds:5.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--fresh", action="store_true", help="also time a fresh checkout")
    args = parser.parse_args()
    measure_installed(args.runs)
    if args.fresh:
        measure_fresh()


if __name__ == "__main__":
    main()
