"""The migration report: checks, summaries, every export read back, and redaction.

Each format is written to a temporary folder and read back with a real reader: pandas for CSV,
openpyxl for XLSX, ``json`` for JSON, a small GitHub-table parser for Markdown and the stdlib
``html.parser`` for HTML.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from migrate_kit.redact import REDACTED, redact
from migrate_kit.report import (
    FORMATS,
    REPORT_COLUMNS,
    STATUSES,
    export_all,
    export_report,
    prepare_report,
    summary_by_blocking_reason,
    summary_by_status,
)

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21sLmF6dXJlLmNvbSJ9.c2lnbmVkU0VDUkVU"
SAS_SIG = "c2FzU0VDUkVUc2ln"
INJECTED = "<script>alert('x')</script> | with pipes"
FORMULA = '=HYPERLINK("x","click")'
STUDIO = (
    "https://ml.azure.com/runs/job-1?wsid=/subscriptions/s1/resourcegroups/rg/workspaces/ws&tid=t1"
)
GENERATED = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def row(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(REPORT_COLUMNS, "")
    base.update(is_default=False, duration_s=None)
    base.update(values)
    return base


def sample() -> pd.DataFrame:
    return pd.DataFrame(
        [
            row(
                pipeline_id="p-1",
                pipeline_name="score nightly",
                v1_version="1",
                v1_endpoint="nightly",
                v2_endpoint="nightly",
                deployment="v1",
                is_default=True,
                component="nightly_pipeline",
                component_version=3.0,  # as SQLite may hand it back
                status="verified",
                stage="parity",
                job_name="job-1",
                job_status="Completed",
                duration_s=42.5,
                studio_url=STUDIO,
                parity="match",
                started="2026-12-01T10:00:00Z",
                ended="2026-12-01T10:00:42Z",
            ),
            row(
                pipeline_id="p-2",
                pipeline_name=INJECTED,
                status="failed",
                stage="test invoke",
                error=f"POST failed. Authorization: Bearer {TOKEN}\nupload to "
                f"https://acct.blob.core.windows.net/c/out.csv?sv=2024-08-04&se=2026-12-05&sig={SAS_SIG}"
                f" raw token {TOKEN} \x1b[31mred\x1b[0m",
                duration_s=3,
            ),
            row(
                pipeline_id="p-3",
                pipeline_name="copy",
                status="blocked",
                blocking_reason="no v2 step",
            ),
            row(
                pipeline_id="p-4",
                pipeline_name="copy2",
                status="blocked",
                blocking_reason="no v2 step",
            ),
            row(
                pipeline_id="p-5", pipeline_name="tab", status="blocked", blocking_reason="MLTable"
            ),
            row(
                pipeline_id="p-6",
                pipeline_name="train",
                status="tested",
                parity="mismatch",
                parity_diff="scores.csv: 3 rows differ\nfirst at row 7",
            ),
            row(pipeline_id="p-7", pipeline_name="later", status="pending"),
            row(pipeline_id="p-8", pipeline_name=FORMULA, status="migrated"),
        ]
    )


EXPECTED_COUNTS = {
    "migrated": 1,
    "tested": 1,
    "verified": 1,
    "failed": 1,
    "blocked": 3,
    "skipped": 0,
    "pending": 1,
}


@pytest.fixture
def written(tmp_path: Path) -> dict[str, Path]:
    return export_all(sample(), tmp_path / "out", generated=GENERATED)


# -- the frame ----------------------------------------------------------------------------------


def test_report_columns_are_the_ledger_contract() -> None:
    expected = (
        "pipeline_id",
        "pipeline_name",
        "v1_version",
        "v1_endpoint",
        "v2_endpoint",
        "deployment",
        "is_default",
        "component",
        "component_version",
        "status",
        "stage",
        "blocking_reason",
        "error",
        "job_name",
        "job_status",
        "duration_s",
        "studio_url",
        "parity",
        "parity_diff",
        "started",
        "ended",
    )
    assert expected == REPORT_COLUMNS


def test_a_missing_column_is_named() -> None:
    frame = sample().drop(columns=["parity_diff", "stage"])
    with pytest.raises(ValueError, match="'stage', 'parity_diff'"):
        prepare_report(frame)


def test_unknown_status_and_parity_are_refused_with_the_value_and_the_choices() -> None:
    frame = sample()
    frame.loc[2, "status"] = "done"
    with pytest.raises(ValueError, match=r"Row 2 \('copy'\) has status 'done'.*'migrated'"):
        prepare_report(frame)
    frame = sample()
    frame.loc[0, "parity"] = "same"
    with pytest.raises(ValueError, match=r"parity 'same'.*'mismatch'"):
        prepare_report(frame)


def test_prepare_cleans_cells_and_leaves_the_input_alone() -> None:
    frame = sample()
    frame["extra"] = "ignored"
    before = frame.copy()
    report = prepare_report(frame)

    pd.testing.assert_frame_equal(frame, before)
    assert tuple(report.columns) == REPORT_COLUMNS
    assert report["component_version"].tolist()[:2] == ["3", ""]
    assert report["is_default"].tolist()[:2] == [True, False]
    assert report["duration_s"].tolist()[:2] == [42.5, 3.0]
    assert pd.isna(report["duration_s"].iloc[2])
    assert "\x1b" not in report["error"].iloc[1]
    assert report["studio_url"].iloc[0] == STUDIO  # workspace and tenant ids are not secrets


def test_is_default_as_sqlite_and_text_give_it() -> None:
    frame = sample()
    frame["is_default"] = [1, 0, "true", "False", 1.0, None, "", True]
    expected = [True, False, True, False, True, False, False, True]
    assert prepare_report(frame)["is_default"].tolist() == expected
    frame.loc[3, "is_default"] = "maybe"
    with pytest.raises(ValueError, match="'is_default' holds 'maybe'"):
        prepare_report(frame)


def test_summaries_count_in_a_stable_order() -> None:
    by_status = summary_by_status(sample())
    assert by_status["status"].tolist() == list(STATUSES)
    assert dict(zip(by_status["status"], by_status["count"], strict=True)) == EXPECTED_COUNTS

    by_reason = summary_by_blocking_reason(sample())
    assert by_reason.to_dict("records") == [
        {"blocking_reason": "no v2 step", "count": 2},
        {"blocking_reason": "MLTable", "count": 1},
    ]


def test_summaries_of_an_empty_frame() -> None:
    empty = pd.DataFrame(columns=list(REPORT_COLUMNS))
    assert summary_by_status(empty)["count"].tolist() == [0] * len(STATUSES)
    reasons = summary_by_blocking_reason(empty)
    assert reasons.empty and list(reasons.columns) == ["blocking_reason", "count"]


# -- formats ------------------------------------------------------------------------------------


def test_export_all_writes_every_format(written: dict[str, Path], tmp_path: Path) -> None:
    assert sorted(written) == sorted(FORMATS)
    for fmt, path in written.items():
        assert path == tmp_path / "out" / f"migration-report.{fmt}"
        assert path.stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"migration-report.{fmt}" for fmt in FORMATS
    )  # no partial files left behind


def test_format_from_suffix_and_unknown_formats(tmp_path: Path) -> None:
    assert export_report(sample(), tmp_path / "r.HTM").read_text().startswith("<!DOCTYPE html>")
    assert json.loads(export_report(sample(), tmp_path / "r.txt", fmt="json").read_text())
    with pytest.raises(ValueError, match=r"'pdf'.*csv, xlsx, html, md, json"):
        export_report(sample(), tmp_path / "r.pdf", fmt="pdf")
    with pytest.raises(ValueError, match=r"'r\.docx'.*fmt="):
        export_report(sample(), tmp_path / "r.docx")
    assert not (tmp_path / "r.pdf").exists()


def test_csv_reads_back(written: dict[str, Path]) -> None:
    back = pd.read_csv(written["csv"], dtype=str, keep_default_na=False)
    expected = prepare_report(sample())
    assert tuple(back.columns) == REPORT_COLUMNS
    assert back["pipeline_name"].tolist() == expected["pipeline_name"].tolist()
    assert back["error"].tolist() == expected["error"].tolist()
    assert back["status"].tolist() == expected["status"].tolist()
    assert back["is_default"].tolist()[:2] == ["True", "False"]


def test_xlsx_has_a_sheet_per_view_with_styled_headers(written: dict[str, Path]) -> None:
    book = openpyxl.load_workbook(written["xlsx"])
    assert book.sheetnames == ["pipelines", "by status", "by blocking reason"]

    sheet = book["pipelines"]
    header = [cell.value for cell in sheet[1]]
    assert tuple(header) == REPORT_COLUMNS
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert len(rows) == len(sample())
    first = dict(zip(header, rows[0], strict=True))
    assert first["pipeline_name"] == "score nightly"
    assert first["is_default"] is True
    assert first["duration_s"] == 42.5
    assert first["studio_url"] == STUDIO
    error_col = header.index("error") + 1
    name_col = header.index("pipeline_name") + 1
    width = sheet.column_dimensions[openpyxl.utils.get_column_letter(error_col)].width
    assert width == 60  # long text: the cap
    assert sheet.column_dimensions["A"].width == len("pipeline_id") + 2

    formula = sheet.cell(row=9, column=name_col)
    assert formula.value == FORMULA and formula.data_type == "s"  # text, not a formula

    statuses = [[c.value for c in r] for r in book["by status"].iter_rows()]
    assert statuses[0] == ["status", "count"]
    assert dict(statuses[1:]) == EXPECTED_COUNTS
    reasons = [[c.value for c in r] for r in book["by blocking reason"].iter_rows()]
    assert reasons == [["blocking_reason", "count"], ["no v2 step", 2], ["MLTable", 1]]


def test_json_holds_records_and_summaries(written: dict[str, Path]) -> None:
    document = json.loads(written["json"].read_text(encoding="utf-8"))
    assert document["generated"] == "2026-12-04T12:00:00Z"
    assert document["columns"] == list(REPORT_COLUMNS)
    records = document["pipelines"]
    assert [r["pipeline_id"] for r in records] == [f"p-{i}" for i in range(1, 9)]
    assert records[0]["is_default"] is True and records[0]["duration_s"] == 42.5
    assert records[2]["duration_s"] is None
    assert records[1]["pipeline_name"] == INJECTED
    assert {r["status"]: r["count"] for r in document["by_status"]} == EXPECTED_COUNTS
    assert document["by_blocking_reason"][0] == {"blocking_reason": "no v2 step", "count": 2}


def markdown_tables(text: str) -> dict[str, list[list[str]]]:
    """``{section heading: rows of cells}`` for the GitHub tables under each ``##`` heading."""
    tables: dict[str, list[list[str]]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:]
        elif line.startswith("| "):
            tables.setdefault(section, []).append(split_markdown_row(line))
    return {name: [r for r in rows if not all(set(c) <= set("-:") for c in r)]
            for name, rows in tables.items()}  # fmt: skip


def split_markdown_row(line: str) -> list[str]:
    cells, current, chars = [], "", iter(line.strip()[1:-1])
    for char in chars:
        if char == "\\":
            current += char + next(chars, "")
        elif char == "|":
            cells.append(current)
            current = ""
        else:
            current += char
    cells.append(current)
    return [unescape_markdown(cell.strip()) for cell in cells]


def unescape_markdown(cell: str) -> str:
    cell = cell.replace("<br>", "\n")
    return html.unescape(re.sub(r"\\(.)", r"\1", cell))


def test_markdown_tables_parse_back(written: dict[str, Path]) -> None:
    text = written["md"].read_text(encoding="utf-8")
    assert text.startswith("# Migration report\n")
    tables = markdown_tables(text)
    assert list(tables) == ["By status", "By blocking reason", "Needs attention", "Pipelines"]

    by_status = tables["By status"]
    assert by_status[0] == ["status", "count"]
    assert {s: int(n) for s, n in by_status[1:]} == EXPECTED_COUNTS

    pipelines = tables["Pipelines"]
    assert tuple(pipelines[0]) == REPORT_COLUMNS
    assert all(len(r) == len(REPORT_COLUMNS) for r in pipelines)  # the pipes stayed inside
    rows = [dict(zip(REPORT_COLUMNS, r, strict=True)) for r in pipelines[1:]]
    assert rows[1]["pipeline_name"] == INJECTED
    assert rows[0]["is_default"] == "yes" and rows[0]["duration_s"] == "42.5"
    assert rows[5]["parity_diff"] == "scores.csv: 3 rows differ\nfirst at row 7"
    assert "<script>" not in text  # escaped, so no renderer runs it

    attention = tables["Needs attention"]
    assert [r[0] for r in attention[1:]] == [INJECTED, "copy", "copy2", "tab", "train"]


class Page(HTMLParser):
    """Start tags with their attributes, all text, and the cell texts of every table."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def test_html_is_self_contained_escaped_and_has_the_chart(written: dict[str, Path]) -> None:
    source = written["html"].read_text(encoding="utf-8")
    page = Page()
    page.feed(source)
    names = [tag for tag, _ in page.tags]

    # nothing runs and nothing is fetched
    assert "script" not in names and "link" not in names and "img" not in names
    for tag, attrs in page.tags:
        for attr in ("src", "href", "xlink:href", "action", "srcset"):
            value = (attrs.get(attr) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, attr, value)
    assert "@import" not in source and "url(" not in source
    csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")

    # the injected name is text
    assert INJECTED in "".join(page.text)

    # one bar per status, in order, with its count
    bars = [a for t, a in page.tags if t == "rect" and a.get("class") == "bar"]
    assert [b["data-status"] for b in bars] == list(STATUSES)
    assert {b["data-status"]: int(b["data-count"] or "") for b in bars} == EXPECTED_COUNTS
    widths = {b["data-status"]: float(b["width"] or "") for b in bars}
    assert widths["blocked"] > widths["failed"] > widths["skipped"] == 0

    # the summaries come first, then the rows that need a person, then every pipeline
    by_status, by_reason, attention, pipelines = page.tables
    assert by_status[0] == ["status", "count"]
    assert {s: int(n) for s, n in by_status[1:]} == EXPECTED_COUNTS
    assert by_reason[1:] == [["no v2 step", "2"], ["MLTable", "1"]]
    assert [r[0] for r in attention[1:]] == [INJECTED, "copy", "copy2", "tab", "train"]
    assert tuple(pipelines[0]) == REPORT_COLUMNS and len(pipelines) == 9
    assert source.index('id="summary"') < source.index('id="pipelines"')


def test_an_empty_report_exports(tmp_path: Path) -> None:
    empty = pd.DataFrame(columns=list(REPORT_COLUMNS))
    written = export_all(empty, tmp_path, stem="empty", generated=GENERATED)
    assert "No pipeline has a blocking reason." in written["md"].read_text()
    page = Page()
    page.feed(written["html"].read_text())
    bars = [a for t, a in page.tags if t == "rect"]
    assert [b["data-count"] for b in bars] == ["0"] * len(STATUSES)
    assert json.loads(written["json"].read_text())["pipelines"] == []


# -- redaction ----------------------------------------------------------------------------------


def test_no_file_holds_a_token_or_a_sas_signature(written: dict[str, Path]) -> None:
    secrets = (TOKEN, SAS_SIG, TOKEN.split(".")[2])
    for fmt, path in written.items():
        if fmt == "xlsx":
            with zipfile.ZipFile(path) as archive:
                blobs = [archive.read(name) for name in archive.namelist()]
        else:
            blobs = [path.read_bytes()]
        for blob in blobs:
            text = blob.decode("utf-8", errors="replace")
            for secret in secrets:
                assert secret not in text, (fmt, secret)
    error = json.loads(written["json"].read_text())["pipelines"][1]["error"]
    assert f"Bearer {REDACTED}" in error
    assert f"?sv={REDACTED}&se={REDACTED}&sig={REDACTED}" in error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bearer abc.def-ghi", f"Bearer {REDACTED}"),
        (f"token {TOKEN} end", f"token {REDACTED} end"),
        ("https://h/p?code=FUNCKEY#frag", f"https://h/p?code={REDACTED}#{REDACTED}"),
        (STUDIO, STUDIO),
        (
            "AccountName=a;AccountKey=Zm9v==;Suffix=x",
            f"AccountName=a;AccountKey={REDACTED};Suffix=x",
        ),
        ('{"client_secret": "s3cr3t"}', f'{{"client_secret": "{REDACTED}"}}'),
        (
            "Authorization: Basic dXNlcjpw and a basic idea",
            f"Authorization: Basic {REDACTED} and a basic idea",
        ),
        ("exit code=1", "exit code=1"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(expected) == expected  # stable
