"""JupyterLab 4 in a temporary folder, and Debian's chromium through Playwright.

Shared by the browser tests (``conftest.py``) and ``benchmarks/inventory_table.py``. The recipe
is /work/shared/reference/ui-testing.md §2: an isolated settings folder (no "Jupyter news"
toast), a random token, readiness by ``/api/status``, and chromium launched from its Debian path
(no ``playwright install``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """Debian's chromium (``/usr/bin/chromium``), or whatever ``chromium`` is on PATH."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def launch_chromium(playwright: Any) -> Any:
    path = chromium_path()
    if path is None:
        raise RuntimeError(
            "chromium is not installed: `apt-get install -y chromium` (or set "
            "MIGRATE_KIT_SKIP_BROWSER=1 to skip the browser tests)"
        )
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)


@dataclass
class Lab:
    """A running JupyterLab server."""

    process: subprocess.Popen[bytes]
    root: Path  # the server's root_dir: notebooks are copied here
    base_url: str
    token: str
    log_path: Path

    def url(self, notebook: str) -> str:
        return f"{self.base_url}/lab/tree/{notebook}?reset&token={self.token}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_lab(folder: Path, *, timeout_s: float = 60.0) -> Lab:
    """Start ``jupyter lab`` serving ``folder/root``; settings and runtime files go under
    ``folder`` too."""
    root = folder / "root"
    root.mkdir(parents=True, exist_ok=True)
    settings = folder / "lab-settings"
    notify = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notify.parent.mkdir(parents=True, exist_ok=True)
    notify.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell, also those below the fold (JupyterLab 4 windows long notebooks).
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(folder / "config"),
        JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(folder / "workspaces"),
        # This environment's kernel spec first: its "python" is this interpreter.
        JUPYTER_PATH=os.pathsep.join(
            p for p in (str(Path(sys.prefix) / "share" / "jupyter"), env.get("JUPYTER_PATH")) if p
        ),
    )
    port, token = _free_port(), secrets.token_hex(16)
    log_path = folder / "jupyterlab.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
            ],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    lab = Lab(process, root, f"http://127.0.0.1:{port}", token, log_path)
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{lab.log()}")
        try:
            answer = requests.get(f"{lab.base_url}/api/status", params={"token": token}, timeout=2)
            if answer.status_code == 200:
                return lab
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            lab.stop()
            raise RuntimeError(f"jupyter lab did not answer in {timeout_s:.0f} s:\n{lab.log()}")
        time.sleep(0.2)


def open_and_run_all(page: Any, lab: Lab, notebook: str, *, timeout_ms: int = 90_000) -> None:
    """Open ``notebook`` in JupyterLab, wait for its kernel, then Run > Run All Cells."""
    from playwright.sync_api import expect

    page.goto(lab.url(notebook))
    status = page.locator("#jp-main-statusbar")
    expect(status.get_by_text(re.compile(r"\(ipykernel\) \| Idle"))).to_be_visible(
        timeout=timeout_ms
    )
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()


def table_row(page: Any, name: str, version: str) -> Any:
    """The inventory table's row of one published pipeline (exact cells, not concatenated)."""
    return (
        page.locator("table.dataTable tbody tr")
        .filter(has=page.locator("td", has_text=re.compile(rf"^{re.escape(name)}$")))
        .filter(has=page.locator("td", has_text=re.compile(rf"^{re.escape(version)}$")))
    )
