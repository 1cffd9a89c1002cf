"""Every sample pipeline converts to the reviewed files under ``tests/convert/golden/``.

The golden tree is what ``write_plan`` writes for ``plan(all=True)`` over the sample workspace,
except that each code folder is replaced by ``code.sha256`` (one line per file: digest, path), so
the goldens stay small; ``test_code_folders_hold_the_v1_sources`` checks the files themselves.

On a change the failure shows a unified diff per file. To rewrite the goldens after an intended
change, run with ``MIGRATE_KIT_UPDATE_GOLDEN=1`` and review the diff before committing it: a
golden file must be right, not just what the code produced.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from migrate_kit import Plan

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MIGRATE_KIT_UPDATE_GOLDEN") == "1"
SOURCES = Path(__file__).resolve().parents[2] / "data" / "v1_project" / "steps"


def golden_view(out: Path) -> dict[str, str]:
    """The written plan as golden files: relative path -> text, code folders as manifests."""
    files: dict[str, str] = {}
    manifests: dict[Path, list[str]] = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        relative = path.relative_to(out)
        if "code" in relative.parts:
            at = relative.parts.index("code")
            pipeline = Path(*relative.parts[:at])
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            manifests.setdefault(pipeline, []).append(f"{digest}  {Path(*relative.parts[at:])}")
        else:
            files[relative.as_posix()] = path.read_text(encoding="utf-8")
    for pipeline, lines in manifests.items():
        lines.sort(key=lambda line: line.split("  ", 1)[1])  # by path, as sha256sum lists them
        files[(pipeline / "code.sha256").as_posix()] = "\n".join(lines) + "\n"
    return files


def test_every_sample_pipeline_matches_its_golden_files(sample_out: Path) -> None:
    actual = golden_view(sample_out)
    if UPDATE:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for relative, text in actual.items():
            (GOLDEN / relative).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / relative).write_text(text, encoding="utf-8")
        pytest.skip("golden files rewritten: review the diff before committing them")

    expected = {
        p.relative_to(GOLDEN).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(GOLDEN.rglob("*"))
        if p.is_file()
    }
    problems = []
    for missing in sorted(set(expected) - set(actual)):
        problems.append(f"not written any more: {missing}")
    for extra in sorted(set(actual) - set(expected)):
        problems.append(f"new file, not in the goldens: {extra}")
    for relative in sorted(set(expected) & set(actual)):
        if expected[relative] != actual[relative]:
            diff = difflib.unified_diff(
                expected[relative].splitlines(keepends=True),
                actual[relative].splitlines(keepends=True),
                f"golden/{relative}",
                f"written/{relative}",
            )
            problems.append("".join(diff))
    assert not problems, (
        "the plan differs from tests/convert/golden/ (rerun with MIGRATE_KIT_UPDATE_GOLDEN=1 to "
        "rewrite, then review):\n" + "\n".join(problems)
    )


def test_goldens_cover_all_thirteen_sample_pipelines(sample_plan: Plan) -> None:
    folders = {p.folder for p in sample_plan.pipelines}
    assert len(sample_plan.pipelines) == 13
    assert len(folders) == 13
    for folder in folders:
        assert (GOLDEN / folder / "findings.md").is_file(), folder


def test_code_folders_hold_the_v1_sources(sample_plan: Plan, sample_out: Path) -> None:
    checked = 0
    for pipeline in sample_plan.pipelines:
        for component in pipeline.components:
            assert component.code_folder is not None, component.name
            folder = sample_out / pipeline.folder / component.code_folder
            for path in folder.rglob("*.py"):
                sources = list(SOURCES.rglob(path.name))
                assert len(sources) == 1, path
                assert path.read_bytes() == sources[0].read_bytes(), path
                checked += 1
    assert checked >= 20
