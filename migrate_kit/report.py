"""The migration report: one row per migrated v1 published pipeline, in five file formats.

``ledger_frame`` builds the report's DataFrame (the columns ``REPORT_COLUMNS``) from the ledger;
the rest of this module checks it, cleans it and writes it. Nothing here talks to Azure.

- ``prepare_report``: the checked frame: exactly ``REPORT_COLUMNS`` in that order, text cells
  as text ("" when empty) passed through ``migrate_kit.redact.redact``, ``is_default`` as bool,
  ``duration_s`` as float (NaN when unknown). A missing column, a ``status`` outside
  ``STATUSES`` or a ``parity`` outside ``PARITY_VALUES`` is a ``ValueError``.
- ``summary_by_status`` (every status, in ``STATUSES`` order, zeros included) and
  ``summary_by_blocking_reason`` (most frequent first, then by reason).
- ``export_report`` writes one format, ``export_all`` all five: CSV (the pipelines), XLSX (a
  sheet per view), HTML (one self-contained file: inline CSS and an inline SVG status chart, no
  script, nothing loaded from elsewhere), Markdown (GitHub tables) and JSON (the records and
  both summaries).

Every export starts from ``prepare_report``, so no token, key or SAS query string reaches a
file. Control characters (terminal colour codes in captured stderr, for one) are dropped from
text cells as well: XLSX cannot hold them and they only clutter the other formats.

Known shortcoming: CSV cells are written as they are, so a cell beginning with ``=``, ``+``,
``-`` or ``@`` may be taken for a formula by a spreadsheet program that opens the CSV. The XLSX
export stores such cells as text; open that one in a spreadsheet.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from migrate_kit import _report_render
from migrate_kit.redact import redact

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from migrate_kit.ledger import Ledger, StageRecord

__all__ = [
    "FORMATS",
    "PARITY_VALUES",
    "REPORT_COLUMNS",
    "STATUSES",
    "export_all",
    "export_report",
    "ledger_frame",
    "prepare_report",
    "status_counts",
    "summary_by_blocking_reason",
    "summary_by_status",
]

logger = logging.getLogger(__name__)

REPORT_COLUMNS: tuple[str, ...] = (
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
#: Row statuses, in the order the summaries and the chart use.
STATUSES: tuple[str, ...] = (
    "migrated",
    "tested",
    "verified",
    "failed",
    "blocked",
    "skipped",
    "pending",
)
PARITY_VALUES: tuple[str, ...] = ("match", "mismatch", "")
FORMATS: tuple[str, ...] = ("csv", "xlsx", "html", "md", "json")

_SUFFIXES = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
    ".md": "md",
    ".markdown": "md",
    ".json": "json",
}
_NOT_TEXT = ("is_default", "duration_s")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


@dataclass(frozen=True)
class ReportViews:
    """What every writer gets: the checked pipelines, both summaries, the title and the time."""

    pipelines: pd.DataFrame
    by_status: pd.DataFrame
    by_blocking_reason: pd.DataFrame
    title: str
    generated: str


# -- checking and summarising -----------------------------------------------------------------


def prepare_report(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the exports write it (see the module docstring); ``frame`` is not changed."""
    missing = [name for name in REPORT_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(
            f"The report frame has no column {', '.join(map(repr, missing))}. It needs exactly "
            f"these columns: {', '.join(REPORT_COLUMNS)}."
        )
    extra = [str(name) for name in frame.columns if name not in REPORT_COLUMNS]
    if extra:
        logger.warning("Columns %s are not report columns; the report leaves them out.", extra)

    columns: dict[str, Any] = {}
    for name in REPORT_COLUMNS:
        values = frame[name].tolist()
        if name == "is_default":
            columns[name] = pd.Series([_as_bool(v, name) for v in values], dtype=bool)
        elif name == "duration_s":
            columns[name] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
        else:
            columns[name] = pd.Series([_clean_text(v) for v in values], dtype=object)
    report: pd.DataFrame = pd.DataFrame(columns)

    _check_values(report, "status", STATUSES)
    _check_values(report, "parity", PARITY_VALUES)
    return report


def summary_by_status(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns ``status, count``: one row per entry of ``STATUSES``, in that order."""
    return _by_status(prepare_report(frame))


def status_counts(frame: pd.DataFrame) -> str:
    """``"11 tested, 2 blocked"``: the non-zero counts of :func:`summary_by_status`, in its
    order ("" for an empty frame)."""
    summary = summary_by_status(frame)
    pairs = zip(summary["status"], summary["count"], strict=True)
    return ", ".join(f"{n} {status}" for status, n in pairs if n)


def summary_by_blocking_reason(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns ``blocking_reason, count`` over the rows that have one; most frequent first,
    ties in alphabetical order."""
    return _by_blocking_reason(prepare_report(frame))


def _by_status(report: pd.DataFrame) -> pd.DataFrame:
    counts = Counter(report["status"])
    summary: pd.DataFrame = pd.DataFrame(
        {"status": list(STATUSES), "count": [counts[s] for s in STATUSES]}
    )
    return summary


def _by_blocking_reason(report: pd.DataFrame) -> pd.DataFrame:
    counts = Counter(reason for reason in report["blocking_reason"] if reason)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    summary: pd.DataFrame = pd.DataFrame(
        {"blocking_reason": [r for r, _ in ordered], "count": [n for _, n in ordered]},
        columns=["blocking_reason", "count"],
    ).astype({"blocking_reason": object, "count": "int64"})
    return summary


# -- exporting ----------------------------------------------------------------------------------


def export_report(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    title: str = "Migration report",
    generated: datetime | None = None,
) -> Path:
    """Write the report to ``path`` in ``fmt`` (one of ``FORMATS``; from the suffix when None).

    ``generated`` (default: now) is the time shown in the HTML, Markdown and JSON files. The
    file is written next to its final name and then renamed, so a failed export leaves no
    half-written report behind. Returns the path written.
    """
    target = Path(path)
    kind = _format_of(target, fmt)
    views = _views(frame, title, generated)
    _write(kind, views, target)
    return target


def export_all(
    frame: pd.DataFrame,
    folder: str | os.PathLike[str],
    stem: str = "migration-report",
    *,
    title: str = "Migration report",
    generated: datetime | None = None,
) -> dict[str, Path]:
    """Write all five formats as ``folder/stem.{csv,xlsx,html,md,json}``; returns format → path."""
    views = _views(frame, title, generated)
    written: dict[str, Path] = {}
    for kind in FORMATS:
        target = Path(folder) / f"{stem}.{kind}"
        _write(kind, views, target)
        written[kind] = target
    return written


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        kind = fmt.lower().lstrip(".")
        if kind in ("htm", "markdown"):
            kind = "html" if kind == "htm" else "md"
        if kind not in FORMATS:
            raise ValueError(f"Unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}.")
        return kind
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"Cannot tell the report format from the file name {path.name!r} (suffix "
            f"{suffix or 'none'!r}); pass fmt= one of {', '.join(FORMATS)}, or use one of "
            f"the suffixes {', '.join(_SUFFIXES)}."
        )
    return _SUFFIXES[suffix]


def _views(frame: pd.DataFrame, title: str, generated: datetime | None) -> ReportViews:
    report = prepare_report(frame)
    when = generated or datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    stamp = when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return ReportViews(
        pipelines=report,
        by_status=_by_status(report),
        by_blocking_reason=_by_blocking_reason(report),
        title=redact(title),
        generated=stamp,
    )


def _write(kind: str, views: ReportViews, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        _WRITERS[kind](views, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("Wrote the %s report of %d pipelines to %s", kind, len(views.pipelines), target)


def _write_csv(views: ReportViews, path: Path) -> None:
    views.pipelines.to_csv(path, index=False, encoding="utf-8")


def _write_json(views: ReportViews, path: Path) -> None:
    document = {
        "title": views.title,
        "generated": views.generated,
        "columns": list(REPORT_COLUMNS),
        "pipelines": _records(views.pipelines),
        "by_status": _records(views.by_status),
        "by_blocking_reason": _records(views.by_blocking_reason),
    }
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _write_markdown(views: ReportViews, path: Path) -> None:
    path.write_text(_report_render.markdown(views), encoding="utf-8")


def _write_html(views: ReportViews, path: Path) -> None:
    path.write_text(_report_render.html_report(views), encoding="utf-8")


def _write_xlsx(views: ReportViews, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None  # a new workbook always has one sheet
    book.remove(first)
    sheets = (
        ("pipelines", views.pipelines),
        ("by status", views.by_status),
        ("by blocking reason", views.by_blocking_reason),
    )
    for name, frame in sheets:
        _fill_sheet(book.create_sheet(name), frame)
    book.properties.title = views.title
    book.save(path)


def _fill_sheet(sheet: Worksheet, frame: pd.DataFrame) -> None:
    """Header row styled and frozen, a filter over the table, columns as wide as their text
    (between 8 and 60 characters)."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    headers = [str(name) for name in frame.columns]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        cell.alignment = Alignment(vertical="center")

    widths = [len(h) for h in headers]
    for row_number, row in enumerate(frame.itertuples(index=False), start=2):
        for column_number, value in enumerate(row, start=1):
            plain = _plain(value)
            cell = sheet.cell(row=row_number, column=column_number, value=plain)
            if isinstance(plain, str) and plain.startswith("="):
                cell.data_type = "s"  # text, never a formula
            shown = _report_render.display_text(plain)
            widths[column_number - 1] = max(widths[column_number - 1], len(shown))

    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = min(max(width + 2, 8), 60)


_WRITERS: dict[str, Callable[[ReportViews, Path], None]] = {
    "csv": _write_csv,
    "xlsx": _write_xlsx,
    "html": _write_html,
    "md": _write_markdown,
    "json": _write_json,
}


# -- cell values ----------------------------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(name): _plain(value) for name, value in row.items()}
        for row in frame.to_dict("records")
    ]


def _plain(value: Any) -> Any:
    """A cell as a plain Python value: numpy scalars unwrapped, NaN as None."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or another container: not a missing scalar
        return False


def _clean_text(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))  # a version read back as 3.0 is "3"
    elif isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = str(value)
    return redact(_CONTROL.sub("", _ANSI.sub("", text)))


def _as_bool(value: Any, column: str) -> bool:
    if _is_missing(value):
        return False
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
    elif isinstance(_plain(value), (bool, int, float)) and _plain(value) in (0, 1):
        return bool(_plain(value))  # SQLite hands booleans back as 0 and 1
    raise ValueError(f"Column {column!r} holds {value!r}; expected true or false.")


def _check_values(report: pd.DataFrame, column: str, allowed: tuple[str, ...]) -> None:
    for position, value in enumerate(report[column]):
        if value not in allowed:
            name = report["pipeline_name"].iloc[position] or report["pipeline_id"].iloc[position]
            raise ValueError(
                f"Row {position} ({name!r}) has {column} {value!r}; expected one of "
                f"{', '.join(repr(a) for a in allowed)}."
            )


# -- the ledger as a report ---------------------------------------------------------------------


def ledger_frame(ledger: Ledger) -> pd.DataFrame:
    """One report row per v1 published pipeline the ledger knows, from its latest stages.

    The status is the furthest the pipeline got: ``blocked`` (its plan stage was skipped),
    ``failed`` (a stage failed, or its endpoint did), ``pending`` (a stage never finished),
    ``migrated`` (deployed), ``tested`` (its test job completed), ``verified`` (and the v1 run's
    outputs matched).
    """
    from migrate_kit.ledger import endpoint_subject

    stages: dict[str, dict[str, StageRecord]] = {}
    for record in ledger.stages():
        stages.setdefault(record.subject, {})[record.stage] = record
    rows = []
    for subject, by_stage in stages.items():
        plan = by_stage.get("plan")
        if plan is None:
            continue  # an endpoint subject
        detail = dict(plan.detail)
        endpoint = stages.get(endpoint_subject(str(detail.get("v2_endpoint"))), {})
        row: dict[str, Any] = {name: "" for name in REPORT_COLUMNS}
        row.update({k: v for k, v in detail.items() if k in REPORT_COLUMNS and v is not None})
        row["pipeline_id"] = subject
        row["is_default"] = bool(detail.get("is_default"))
        row["duration_s"] = math.nan
        row["status"], row["stage"], row["error"] = _status_of(by_stage, endpoint)
        test = by_stage.get("test")
        if test is not None:
            row["job_name"] = test.detail.get("job_name", "")
            row["job_status"] = test.detail.get("status", test.detail.get("job_status", ""))
            row["duration_s"] = test.detail.get("duration_s", math.nan)
            row["studio_url"] = test.detail.get("studio_url", "")
        parity = by_stage.get("parity")
        if parity is not None and parity.done:
            row["parity"] = parity.detail.get("result", "")
            row["parity_diff"] = parity.detail.get("diff", "")
        worked = [r for r in by_stage.values() if r.stage != "plan"] or [plan]
        row["started"] = min(r.started for r in worked)
        row["ended"] = max((r.ended or "" for r in worked), default="")
        rows.append(row)
    frame: pd.DataFrame = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    return frame


def _status_of(
    by_stage: dict[str, StageRecord], endpoint: dict[str, StageRecord]
) -> tuple[str, str, str]:
    """(status, the stage it stands at, error) of one pipeline's stages."""
    plan = by_stage["plan"]
    if plan.status == "skipped":
        return "blocked", "plan", plan.error or ""
    order = ("register", "deploy", "test", "parity")
    for name in order:
        record = by_stage.get(name)
        if record is not None and record.status == "failed":
            return "failed", name, record.error or ""
    created = endpoint.get("endpoint")
    if created is not None and created.status == "failed" and "register" not in by_stage:
        return "failed", "endpoint", created.error or ""
    if any(r.status == "running" for r in by_stage.values()):
        running = next(r.stage for r in by_stage.values() if r.status == "running")
        return "pending", running, ""
    deploy = by_stage.get("deploy")
    if deploy is None or not deploy.done:
        return "pending", "register" if deploy is None else "deploy", ""
    parity = by_stage.get("parity")
    if parity is not None and parity.done and parity.detail.get("result") == "match":
        return "verified", "parity", ""
    test = by_stage.get("test")
    if test is not None and test.done:
        return "tested", "test", ""
    return "migrated", "deploy", ""
