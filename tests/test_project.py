"""Project hygiene: lint, format, types, dependency lists in step, README commands, public API."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint_is_clean() -> None:
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_the_package() -> None:
    result = _run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def _requirement_key(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement).lower()


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = [d for d in pip_section if not d.startswith("-e")]
    assert sorted(map(_requirement_key, listed)) == sorted(map(_requirement_key, wanted))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace("python", "") == project["requires-python"]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line for block in blocks[:2] for line in block.splitlines() if line and line[0] != "#"]


def test_readme_starts_with_demo_and_test_commands_and_ci_runs_the_test_command() -> None:
    demo, tests = _readme_commands()
    assert demo.endswith("migrate-kit demo")
    assert tests.endswith("pytest")
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()


def test_public_api_is_listed_and_importable() -> None:
    import migrate_kit

    for name in migrate_kit.__all__:
        assert getattr(migrate_kit, name) is not None, name
    public = {n for n in vars(migrate_kit) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(migrate_kit, n)).__name__ == "module"}
    assert public - modules == set(migrate_kit.__all__) - {"__version__"}


@pytest.mark.parametrize("folder", ["migrate_kit", "notebooks", "data", "tests", "benchmarks"])
def test_top_level_layout(folder: str) -> None:
    assert (ROOT / folder).is_dir()
