"""Inventory at scale: 2,000 published pipelines and 300 pipeline endpoints.

Builds a synthetic workspace whose pipelines are copies (new ids, names and module versions) of
the sample's real ones, which the v1 SDK published, so graphs, modules and runconfigs have
realistic sizes. Serves it with ``migrate-kit emulator serve`` in a process of its own, then
measures:

- ``migrate-kit inventory --format json`` (every row field): wall time and peak memory (the
  summed RSS of the command and the reader's helper process, sampled every 20 ms; psutil comes
  with azure-ai-ml). Targets: under 5 s and under 400 MB on a 2-core machine.
- for comparison, the v1 SDK's ``PublishedPipeline.list`` plus ``PipelineEndpoint.list`` on the
  same emulator, in the v1 SDK's own virtual environment (skipped with ``--no-v1``). Those two
  calls read only the two lists, not graphs or modules.

Usage: ``.venv/bin/python benchmarks/inventory_scale.py [--pipelines 2000] [--endpoints 300]
[--runs 3] [--no-v1]``. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "v1peer"))

from _workspace import BIN, build_workspace, serve  # noqa: E402

V1_LIST_SCRIPT = Path(__file__).resolve().parent / "v1_list.py"


class TreeMemory:
    """Samples the summed RSS of a process and all its descendants (the reader's helper process
    runs beside the command, so the command's own max RSS would under-count the peak)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.peak_mb = 0.0
        self._root = psutil.Process(pid)
        self._interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.is_set():
            total = 0
            try:
                processes = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                return
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._done.wait(self._interval)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak_mb


def time_inventory(connection: Path, out: Path) -> tuple[float, float, float, int]:
    """Run the inventory command once; wall seconds, CPU seconds (user + system, the helper
    process included), peak memory in MB (the larger of the command's max RSS and the sampled
    sum over its process tree), and row count. CPU is steadier than wall time on a busy
    machine."""
    command = [
        str(BIN / "migrate-kit"), "inventory", "--format", "json",
        "--connection-file", str(connection), "--output", str(out),
    ]  # fmt: skip
    start = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    memory = TreeMemory(process.pid)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    tree_peak = memory.stop()
    if status != 0:
        raise SystemExit(
            f"inventory failed: {process.stderr.read().decode() if process.stderr else ''}"
        )
    rows = json.loads(out.read_text(encoding="utf-8"))
    peak = max(usage.ru_maxrss / 1024, tree_peak)
    return wall, usage.ru_utime + usage.ru_stime, peak, len(rows)


def time_v1_sdk(connection: Path) -> dict[str, Any] | None:
    """The v1 SDK's two list calls on the same emulator, in its own venv (None if unavailable)."""
    try:
        from harness import V1PeerError, run_v1_json
    except ImportError:
        return None
    try:
        result: dict[str, Any] = run_v1_json(V1_LIST_SCRIPT, connection=connection)
    except V1PeerError as exc:
        print(f"v1 SDK comparison skipped: {str(exc).splitlines()[0]}")
        return None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-v1", action="store_true", help="skip the v1 SDK comparison")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mk-bench-") as tmp:
        state = Path(tmp) / "state"
        state.mkdir()
        started = time.perf_counter()
        build_workspace(state, args.pipelines, args.endpoints)
        print(f"synthetic workspace built in {time.perf_counter() - started:.1f} s")
        emulator, connection = serve(state)
        try:
            walls, cpus, peaks = [], [], []
            for run in range(args.runs):
                out = Path(tmp) / f"inventory-{run}.json"
                wall, cpu, peak, rows = time_inventory(connection, out)
                walls.append(wall)
                cpus.append(cpu)
                peaks.append(peak)
                figures = f"{wall:.2f} s wall, {cpu:.2f} s CPU, {peak:.0f} MB, {rows} rows"
                print(f"run {run + 1}: inventory --format json: {figures}")
            print(
                f"migrate-kit inventory: median {statistics.median(walls):.2f} s wall "
                f"(target < 5 s), median {statistics.median(cpus):.2f} s CPU in the command, "
                f"peak {max(peaks):.0f} MB (target < 400 MB), "
                f"{os.cpu_count()} cores"
            )
            v1 = None if args.no_v1 else time_v1_sdk(connection)
            if v1:
                print(
                    f"v1 SDK PublishedPipeline.list + PipelineEndpoint.list: "
                    f"{v1['list_seconds']:.2f} s for {v1['pipelines']} pipelines and "
                    f"{v1['endpoints']} endpoints (lists only; {v1['total_seconds']:.2f} s "
                    "with imports and workspace)"
                )
        finally:
            emulator.send_signal(signal.SIGTERM)
            emulator.wait(timeout=30)
    print(
        f"benchmark process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
