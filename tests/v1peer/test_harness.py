"""The v1 peer harness itself, checked with the product interpreter (no v1 SDK needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import harness
import pytest


def _run_in_v1_side(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(harness.V1_SIDE)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout.strip()


def test_sitecustomize_resolves_blob_hosts_to_loopback() -> None:
    code = "import socket; print(socket.getaddrinfo('stdemo.blob.localhost', 443)[0][4][0])"
    assert _run_in_v1_side(code) == "127.0.0.1"


def test_sitecustomize_leaves_other_names_alone() -> None:
    code = "import socket; print(socket.getaddrinfo('127.0.0.2', 443)[0][4][0])"
    assert _run_in_v1_side(code) == "127.0.0.2"


def test_json_output_is_found_after_sdk_progress_lines() -> None:
    progress = "Created step prep [1a2b][uuid], (This step will run)\n"
    assert harness.read_json_output(progress + '{\n "a": 1\n}\n') == {"a": 1}
    marked = f"{progress}{harness.JSON_MARKER}\n" + json.dumps({"b": [1, 2]})
    assert harness.read_json_output(marked) == {"b": [1, 2]}
    with pytest.raises(harness.V1PeerError, match="No JSON document"):
        harness.read_json_output(progress)


def test_run_v1_gives_each_run_a_fresh_home_and_the_connection_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGRATE_KIT_V1_PYTHON", sys.executable)  # any interpreter will do here
    script = tmp_path / "show_env.py"
    script.write_text(
        "import json, os\n"
        "keys = ('HOME', 'PYTHONPATH', 'REQUESTS_CA_BUNDLE', 'MIGRATE_KIT_V1_CONNECTION')\n"
        "print(json.dumps({k: os.environ.get(k) for k in keys}))\n",
        encoding="utf-8",
    )
    connection = {"subscription_id": "s", "env": {"REQUESTS_CA_BUNDLE": "/ca.pem"}}

    first = harness.run_v1_json(script, [], connection)
    second = harness.run_v1_json(script, [], connection)

    assert first["HOME"] != second["HOME"]
    assert first["PYTHONPATH"] == str(harness.V1_SIDE)
    assert first["REQUESTS_CA_BUNDLE"] == "/ca.pem"
    assert first["MIGRATE_KIT_V1_CONNECTION"].endswith("connection.json")


def test_a_failing_v1_script_raises_with_its_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGRATE_KIT_V1_PYTHON", sys.executable)
    script = tmp_path / "fail.py"
    script.write_text("raise SystemExit('no workspace here')\n", encoding="utf-8")

    with pytest.raises(harness.V1PeerError, match="no workspace here"):
        harness.run_v1(script)


def test_a_missing_override_interpreter_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATE_KIT_V1_PYTHON", "/nowhere/bin/python")
    with pytest.raises(harness.V1PeerError, match="/nowhere/bin/python"):
        harness.v1_python()
