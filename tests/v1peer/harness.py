"""The v1 SDK as a test peer: its own virtual environment, and scripts run in it.

The one module that both the peer tests (``tests/v1peer/test_v1_peer.py``) and the capture
regeneration script (``data/regenerate_capture.py``, which puts this folder on ``sys.path``)
use. It runs in the product environment and needs only the standard library.

- :func:`v1_python` returns the interpreter of the v1 SDK's venv, making it when missing:
  ``${MIGRATE_KIT_CACHE:-~/.cache/migrate_kit}/v1peer`` with ``azureml-core``,
  ``azureml-pipeline-core`` and ``azureml-pipeline-steps`` from PyPI. The v1 SDK never enters
  the product venv and is never vendored (it is proprietary). ``MIGRATE_KIT_V1_PYTHON`` names an
  existing interpreter instead (handy while developing).
- :func:`run_v1` runs a script in that interpreter against a running emulator: the connection
  file's ``env`` exported, a fresh ``HOME`` (pitfall P2: the SDK caches discovery results and
  snapshot trees under ``~/.azureml``), and ``v1_side/`` on ``PYTHONPATH``. That folder holds the
  v1-side half of the harness: ``sitecustomize.py`` (makes ``*.localhost`` resolve to 127.0.0.1
  in that process only, pitfall P1) and ``emulator_v1.py`` (a public-API
  ``AbstractAuthentication`` that takes its token from the emulator's managed-identity route, and
  ``workspace_from_connection()``).
- :func:`read_json_output` picks the JSON document a v1-side script printed after
  :data:`JSON_MARKER` (the SDK may print warnings to stdout before it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "JSON_MARKER",
    "REPO",
    "V1_PACKAGES",
    "V1_SIDE",
    "V1PeerError",
    "make_venv",
    "read_json_output",
    "run_v1",
    "run_v1_json",
    "v1_python",
    "venv_dir",
]

HERE = Path(__file__).resolve().parent
V1_SIDE = HERE / "v1_side"
REPO = HERE.parents[1]
V1_PACKAGES = ("azureml-core", "azureml-pipeline-core", "azureml-pipeline-steps")
JSON_MARKER = "=== v1peer json ==="
_READY = ".migrate_kit_ready"

# Variables of the calling environment that must not leak into the v1 interpreter: they would
# point it at the product venv, or at caches shared with other runs.
_DROPPED_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONSAFEPATH")


class V1PeerError(RuntimeError):
    """The v1 venv could not be made, or a v1-side script failed (message has its stderr tail)."""


def venv_dir() -> Path:
    """Where the harness keeps the v1 SDK's venv."""
    cache = os.environ.get("MIGRATE_KIT_CACHE") or str(Path.home() / ".cache" / "migrate_kit")
    return Path(cache).expanduser() / "v1peer"


def v1_python(*, create: bool = True) -> Path:
    """The v1 SDK's interpreter; makes the venv first when it is missing and ``create`` is set.

    Raises :class:`V1PeerError` when the venv is missing and ``create`` is false, or when making
    it fails (no network to PyPI, for example); the message says how to fix or skip.
    """
    override = os.environ.get("MIGRATE_KIT_V1_PYTHON")
    if override:
        python = Path(override).expanduser()
        if not python.exists():
            raise V1PeerError(
                f"MIGRATE_KIT_V1_PYTHON={override} does not exist; point it at the python of a "
                f"venv holding {' '.join(V1_PACKAGES)}, or unset it to let the harness make one"
            )
        return python

    venv = venv_dir()
    python = venv / "bin" / "python"
    if (venv / _READY).is_file() and python.exists():
        return python
    if not create:
        raise V1PeerError(f"No v1 SDK venv at {venv}; run the v1 peer tests once to make it")
    make_venv(venv)
    return python


def make_venv(venv: Path, *, base_python: str | None = None) -> None:
    """Create ``venv`` and pip-install the v1 SDK into it (about 30 s and 600 MB, cold cache).

    A lock file next to the venv keeps two processes from building it at the same time; a
    half-built venv (no ready marker) is removed and built again.
    """
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.parent / "v1peer.lock"):
        if (venv / _READY).is_file():
            return
        if venv.exists():
            shutil.rmtree(venv)

        base = base_python or os.environ.get("MIGRATE_KIT_V1_BASE_PYTHON") or _base_interpreter()
        _run_checked([base, "-m", "venv", str(venv)], "create the v1 venv")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        _run_checked(
            [*pip, "install", "--quiet", *V1_PACKAGES], "pip-install the v1 SDK", env=_pip_env()
        )

        frozen = subprocess.run([*pip, "freeze"], capture_output=True, text=True, check=False)
        (venv / _READY).write_text(frozen.stdout, encoding="utf-8")


def _base_interpreter() -> str:
    """The interpreter the product venv was made from (a venv made from a venv still works)."""
    return getattr(sys, "_base_executable", None) or sys.executable


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip_env() -> dict[str, str]:
    """Our environment for pip, minus the CA bundles of an emulator that a test connected to.

    ``connect()`` exports the emulator's CA as ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE`` into
    the test process; pip would then trust only the emulator and fail to verify the package
    index. An emulator CA is a ``ca.pem`` beside a ``ca-key.pem``.
    """
    env = dict(os.environ)
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        value = env.get(name)
        if value and Path(value).name == "ca.pem" and Path(value).with_name("ca-key.pem").exists():
            del env[name]
    return env


def _run_checked(
    command: Sequence[str], what: str, *, env: Mapping[str, str] | None = None
) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise V1PeerError(
            f"Could not {what} (exit {result.returncode}): {result.stderr.strip()[-2000:]}\n"
            "The v1 peer needs network access to PyPI the first time. To skip these tests, set "
            "MIGRATE_KIT_SKIP_V1_PEER=1; to use an existing venv, set MIGRATE_KIT_V1_PYTHON."
        )


def run_v1(
    script: Path,
    args: Sequence[str] = (),
    connection: Mapping[str, Any] | Path | None = None,
    *,
    home: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with the v1 SDK's interpreter against the emulator in ``connection``.

    ``connection`` is the emulator's connection dict (``Emulator.connection``) or the path of its
    connection file. ``home`` is the HOME of the v1 process; by default a fresh temporary folder
    per call, so no discovery or snapshot cache survives between runs (pitfall P2). Raises
    :class:`V1PeerError` with the script's stderr tail when it exits non-zero.
    """
    python = v1_python()
    with tempfile.TemporaryDirectory(prefix="v1peer-") as scratch:
        env = _v1_env(Path(scratch), connection, home, extra_env)
        result = subprocess.run(
            [str(python), str(script), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            cwd=str(script.parent),
            timeout=timeout,
            check=False,
        )
    if result.returncode != 0:
        raise V1PeerError(
            f"v1 script {script.name} exited {result.returncode}.\n"
            f"--- stderr (tail) ---\n{result.stderr[-6000:]}\n"
            f"--- stdout (tail) ---\n{result.stdout[-2000:]}"
        )
    return result


def run_v1_json(
    script: Path,
    args: Sequence[str] = (),
    connection: Mapping[str, Any] | Path | None = None,
    **kwargs: Any,
) -> Any:
    """:func:`run_v1`, then the JSON document the script printed after :data:`JSON_MARKER`."""
    return read_json_output(run_v1(script, args, connection, **kwargs).stdout)


def read_json_output(stdout: str) -> Any:
    """The JSON document a v1-side script printed last.

    The SDK prints progress lines (``Created step ...``) to stdout, so the document is taken
    after the last :data:`JSON_MARKER` line, or else from the last line that starts with ``{``.
    """
    _, marker, tail = stdout.rpartition(JSON_MARKER)
    if marker:
        return json.loads(tail)
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("{")]
    if not starts:
        raise V1PeerError(f"No JSON document in the v1 script's output:\n{stdout[-2000:]}")
    return json.loads("\n".join(lines[starts[-1] :]))


def _v1_env(
    scratch: Path,
    connection: Mapping[str, Any] | Path | None,
    home: Path | None,
    extra_env: Mapping[str, str] | None,
) -> dict[str, str]:
    """The v1 process environment: ours minus Python paths, plus the emulator's and a HOME."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}

    if connection is not None:
        if isinstance(connection, Path):
            connection_path = connection
            connection = json.loads(connection.read_text(encoding="utf-8"))
        else:
            connection_path = scratch / "connection.json"
            connection_path.write_text(json.dumps(dict(connection)), encoding="utf-8")
        env.update({k: str(v) for k, v in (connection.get("env") or {}).items()})
        env["MIGRATE_KIT_V1_CONNECTION"] = str(connection_path)

    home = home or scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    # A fresh Azure config folder too: the v1 SDK caches the cloud list (with the emulator's
    # port) in $AZURE_CONFIG_DIR/cloudEndpoints.json.
    env["AZURE_CONFIG_DIR"] = str(home / ".azure")
    env["PYTHONPATH"] = str(V1_SIDE)
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep __pycache__ out of data/v1_project/steps
    env.update(extra_env or {})
    return env
