"""Migration at scale: 200 sample-like published pipelines through the unmodified MLClient.

Builds the synthetic workspace of ``_workspace.py`` (copies of the sample's real pipelines, in
families of re-published versions, with the sample's code snapshots and datastore) once, and
runs each scenario on a fresh copy of it, served by ``migrate-kit emulator serve`` in a process
of its own, so every scenario starts with nothing on the v2 side. Each request to the emulator
waits ``--latency-ms`` (set through ``PUT /_emulator/settings``). The migration is the Python
API in this process: ``plan(connection, all=True)``, then ``engine.migrate`` with a ledger of its
own, one MLClient per worker thread.

Scenarios, in this order (the two of the ratio back to back):

- ``serial``: ``concurrency=1`` (skipped with ``--skip-serial``; the slow one);
- ``parallel``: ``concurrency=8`` (``--concurrency``). Target: at least 6 times faster than
  ``serial``;
- ``rerun``: ``plan`` and ``migrate`` again on the ``parallel`` workspace and ledger, nothing left
  to do. Target: under 5% of the first run's time (printed with ``plan`` and for ``migrate``
  alone);
- ``throttled``: ``concurrency=8`` with the emulator's ARM write throttle at ``--throttle``
  writes a second (429 with Retry-After when its bucket is empty) and the engine's client-side
  pacing at ``--pacing`` (default: the throttle). Targets: ARM writes a second at least 80% of
  the throttle, no failed pipeline.

For each: wall time of ``plan`` and of ``migrate``, pipelines migrated and failed, ARM writes
(PUT, POST, PATCH, DELETE under ``/subscriptions/`` in the emulator's request log; 429 answers
counted apart), writes a second, requests in all, the CPU seconds of this process during
``migrate`` and of the emulator's process, and the load average (other work on the machine
slows the figures down; the emulator's CPU share is small).

Usage: ``.venv/bin/python benchmarks/migrate_scale.py [--pipelines 200] [--latency-ms 100]
[--skip-serial] [--quick]``. ``--quick`` is a smoke size (20 pipelines; its ratio is low, as
20 pipelines on 8 threads leave threads idle). About 12 minutes at the defaults, 7 of them
``serial``. Prints the figures on stdout; asserts nothing. azure-ai-ml prints a colour-reset
line on stderr after each code upload, whatever ``show_progress`` says; ``2>/dev/null`` hides it.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import shutil
import signal
import ssl
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from _workspace import build_workspace, serve

from migrate_kit import connect, plan
from migrate_kit.engine import migrate
from migrate_kit.ledger import Ledger

ARM_WRITE_METHODS = ("PUT", "POST", "PATCH", "DELETE")


@dataclass
class Figures:
    """What one scenario measured."""

    name: str
    plan_s: float
    migrate_s: float
    migrated: int
    unchanged: int
    failed: int
    writes: int  # ARM writes the emulator answered other than 429
    throttled: int  # ARM writes answered 429
    requests: int
    client_cpu_s: float  # CPU seconds of this process during migrate
    emulator_cpu_s: float  # CPU seconds of the emulator's process during plan and migrate
    load: str

    @property
    def total_s(self) -> float:
        return self.plan_s + self.migrate_s

    @property
    def writes_per_s(self) -> float:
        return self.writes / self.migrate_s if self.migrate_s else 0.0

    def line(self) -> str:
        return (
            f"{self.name}: plan {self.plan_s:.1f} s + migrate {self.migrate_s:.1f} s; "
            f"{self.migrated} migrated, {self.unchanged} unchanged, {self.failed} failed; "
            f"{self.writes} ARM writes ({self.throttled} answered 429), "
            f"{self.writes_per_s:.1f} writes/s; {self.requests} requests; CPU "
            f"{self.client_cpu_s:.0f} s here, {self.emulator_cpu_s:.0f} s emulator; "
            f"load {self.load}"
        )


class Workspace:
    """One served copy of the synthetic state, with its admin route."""

    def __init__(self, base: Path, folder: Path) -> None:
        shutil.copytree(base, folder)
        self.folder = folder
        self.process, self.connection_file = serve(folder)
        info = json.loads(self.connection_file.read_text(encoding="utf-8"))
        self._admin_url = info["base_url"].rstrip("/") + "/_emulator/"
        self._tls = ssl.create_default_context(cafile=info["ca_bundle"])

    def admin(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self._admin_url + route, data=data, method=method, headers={"Content-Type": "json"}
        )
        with urllib.request.urlopen(request, context=self._tls, timeout=60) as answer:
            return json.loads(answer.read())

    def cpu_seconds(self) -> float:
        """CPU seconds the emulator's process has used so far."""
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def last_seq(self) -> int:
        return int(self.admin("GET", "health")["last_seq"])

    def requests_since(self, seq: int) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"requests?since={seq}"))

    def close(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def run_once(
    workspace: Workspace,
    ledger: Ledger,
    name: str,
    *,
    concurrency: int,
    pacing: float | None = None,
) -> Figures:
    """Plan everything and migrate it; the figures from the emulator's request log."""
    seq, emulator_cpu = workspace.last_seq(), workspace.cpu_seconds()
    connection = connect(connection_file=workspace.connection_file)
    started = time.perf_counter()
    # as `migrate-kit migrate` does, a v1 entity cache beside the ledger (its own per scenario)
    cache = ledger.path.with_name(f"{ledger.path.stem}-v1-cache.sqlite")
    planned = plan(connection, all=True, cache=cache)
    planned_at, cpu = time.perf_counter(), time.process_time()
    result = migrate(
        planned,
        functools.partial(connection.ml_client, show_progress=False),
        ledger,
        work_dir=workspace.folder / "work",
        concurrency=concurrency,
        writes_per_second=pacing,
    )
    finished, cpu = time.perf_counter(), time.process_time() - cpu
    emulator_cpu = workspace.cpu_seconds() - emulator_cpu

    log = workspace.requests_since(seq)
    arm_writes = [
        e
        for e in log
        if e["method"] in ARM_WRITE_METHODS and e["path"].startswith("/subscriptions/")
    ]
    throttled = sum(1 for e in arm_writes if e["status"] == 429)
    counts = result.counts()
    figures = Figures(
        name,
        planned_at - started,
        finished - planned_at,
        counts.get("migrated", 0),
        counts.get("unchanged", 0),
        counts.get("failed", 0),
        len(arm_writes) - throttled,
        throttled,
        len(log),
        cpu,
        emulator_cpu,
        " ".join(f"{x:.2f}" for x in os.getloadavg()),
    )
    print(figures.line(), flush=True)
    for outcome in result.failed[:5]:
        print(f"  failed: {outcome.pipeline_name} {outcome.pipeline_version}: {outcome.error}")
    return figures


def scenario(
    base: Path,
    tmp: Path,
    name: str,
    settings: dict[str, Any],
    *,
    concurrency: int,
    pacing: float | None = None,
    rerun: bool = False,
) -> list[Figures]:
    """One scenario on a fresh copy of the synthetic state (and its rerun, when asked)."""
    workspace = Workspace(base, tmp / name)
    try:
        workspace.admin("PUT", "settings", settings)
        with Ledger(tmp / f"{name}.sqlite") as ledger:
            first = run_once(workspace, ledger, name, concurrency=concurrency, pacing=pacing)
            if not rerun:
                return [first]
            again = run_once(workspace, ledger, "rerun", concurrency=concurrency)
            return [first, again]
    finally:
        workspace.close()


def summary(figures: dict[str, Figures], throttle: float) -> None:
    serial, parallel = figures.get("serial"), figures.get("parallel")
    if serial and parallel:
        ratio = serial.migrate_s / parallel.migrate_s
        print(f"migrate serial/parallel: {ratio:.2f} (target >= 6)")
    rerun = figures.get("rerun")
    if parallel and rerun:
        print(
            f"rerun/first: {rerun.total_s / parallel.total_s:.1%} with plan "
            f"({rerun.total_s:.1f} s of {parallel.total_s:.1f} s; target < 5%), "
            f"{rerun.migrate_s / parallel.migrate_s:.1%} migrate only "
            f"({rerun.migrate_s:.2f} s); plan is {rerun.plan_s / rerun.total_s:.0%} of the rerun"
        )
    throttled = figures.get("throttled")
    if throttled:
        print(
            f"throttled: {throttled.writes_per_s:.2f} ARM writes/s = "
            f"{throttled.writes_per_s / throttle:.0%} of the {throttle:g}/s throttle "
            f"(target >= 80%), {throttled.failed} failed (target 0), "
            f"{throttled.throttled} answered 429"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=200)
    parser.add_argument("--endpoints", type=int, help="v1 endpoints (default: 15%% of pipelines)")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--throttle", type=float, default=10.0, help="ARM writes a second")
    parser.add_argument("--pacing", type=float, help="client-side writes a second (0: none)")
    parser.add_argument("--skip-serial", action="store_true", help="skip concurrency 1")
    parser.add_argument("--quick", action="store_true", help="smoke size: 20 pipelines")
    args = parser.parse_args()
    pipelines = 20 if args.quick else args.pipelines
    endpoints = args.endpoints if args.endpoints is not None else max(1, pipelines * 3 // 20)
    pacing = args.throttle if args.pacing is None else args.pacing or None
    logging.getLogger("azure").setLevel(logging.ERROR)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    print(f"{pipelines} pipelines, latency {args.latency_ms:g} ms, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="mk-migrate-") as tmp_name:
        tmp = Path(tmp_name)
        base = tmp / "base"
        base.mkdir()
        build_workspace(base, pipelines, endpoints, content=True)
        latency = {"latency_ms": args.latency_ms}
        figures: list[Figures] = []
        if not args.skip_serial:
            figures += scenario(base, tmp, "serial", latency, concurrency=1)
        figures += scenario(
            base, tmp, "parallel", latency, concurrency=args.concurrency, rerun=True
        )
        throttled = {**latency, "arm_write_rate": args.throttle}
        figures += scenario(
            base, tmp, "throttled", throttled, concurrency=args.concurrency, pacing=pacing
        )
        summary({f.name: f for f in figures}, args.throttle)


if __name__ == "__main__":
    main()
