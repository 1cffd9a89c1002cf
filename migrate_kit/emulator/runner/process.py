"""One step's subprocess: started in its own process group, logged, killable at any time.

stdout and stderr are read by two threads, line by line, into ``stdout.txt`` and ``stderr.txt``
and, in arrival order, into ``std_log.txt`` (what Azure ML shows as the job's log). The child
gets ``PYTHONUNBUFFERED=1`` from the runner, so a Python script's lines arrive as it prints them.
Killing sends SIGKILL to the whole group, so a shell's children die with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["LOG_FILES", "ProcessResult", "StepControl", "run_process", "tail"]

logger = logging.getLogger(__name__)

#: Log file names in a step's ``logs`` folder, as they are named under ``user_logs/``.
LOG_FILES = ("std_log.txt", "stdout.txt", "stderr.txt")


class StepControl:
    """Lets another thread cancel a step: before its process starts, or while it runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self.canceled = threading.Event()

    def attach(self, process: subprocess.Popen[bytes]) -> None:
        """Remember the running process; kill it at once if the step was canceled already."""
        with self._lock:
            self._process = process
            if self.canceled.is_set():
                _kill_group(process)

    def cancel(self) -> None:
        """Stop the step: its process (if any) is killed, and it will start no other."""
        with self._lock:
            self.canceled.set()
            if self._process is not None:
                _kill_group(self._process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _kill_leftovers(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


@dataclass(frozen=True)
class ProcessResult:
    """How the process ended: its exit code (negative: killed by that signal) and why."""

    exit_code: int
    timed_out: bool
    canceled: bool


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    logs_dir: Path,
    control: StepControl,
    timeout: float,
) -> ProcessResult:
    """Run ``argv`` to its end (or its kill) with its output logged into ``logs_dir``."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    files = {name: (logs_dir / name).open("wb") for name in LOG_FILES}
    combined_lock = threading.Lock()
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, killed as a whole
        )
        control.attach(process)
        assert process.stdout is not None and process.stderr is not None
        pumps = [
            threading.Thread(
                target=_pump,
                args=(pipe, files[own], files["std_log.txt"], combined_lock),
                name=f"log-{own}",
                daemon=True,
            )
            for pipe, own in ((process.stdout, "stdout.txt"), (process.stderr, "stderr.txt"))
        ]
        for pump in pumps:
            pump.start()

        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
            process.wait()
        # Background children the command left behind would keep the pipes open; the job is
        # over, so they go too (a real job's container stops with its main process).
        _kill_leftovers(process.pid)
        for pump in pumps:
            pump.join()
    finally:
        for handle in files.values():
            handle.close()
    return ProcessResult(process.returncode, timed_out, control.canceled.is_set())


def _pump(pipe: IO[bytes], own: IO[bytes], combined: IO[bytes], lock: threading.Lock) -> None:
    """Copy one pipe into its own file and the combined log until the process closes it."""
    with pipe:
        for line in iter(pipe.readline, b""):
            own.write(line)
            own.flush()
            with lock:
                combined.write(line)
                combined.flush()


def tail(path: Path, lines: int = 10, limit: int = 2000) -> str:
    """The last ``lines`` lines of a text file (at most ``limit`` characters), or ``""``."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    last = "\n".join(text.rstrip().splitlines()[-lines:])
    return last[-limit:]
