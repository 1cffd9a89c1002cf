"""The text renderings of the migration report: Markdown (GitHub tables) and one HTML file.

Called by ``migrate_kit.report`` with views it has already checked and redacted. Both
renderings put the summaries first (a status chart, counts by status and by blocking reason),
then the rows that need a person (failed, blocked, or a parity mismatch), then every pipeline.

HTML: everything is escaped with ``html.escape``; the file carries its CSS inline and draws the
status chart as inline SVG; it has no script, loads nothing from elsewhere, and says so to the
browser with a Content-Security-Policy that allows inline styles only. Links (the studio URL
too) are shown as text, not as links, for the same reason.

Markdown: ``\\``, ``|``, backticks and square brackets are backslash-escaped, ``<``, ``>`` and
``&`` become entities and line breaks become ``<br>``, so a cell can neither end its table
column nor turn into a link or markup.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from migrate_kit.report import ReportViews

__all__ = ["STATUS_COLORS", "display_text", "html_report", "markdown", "status_chart"]

#: Bar and badge colours per status (colour-blind-safe Tableau 10 hues).
STATUS_COLORS = {
    "migrated": "#4c78a8",
    "tested": "#72b7b2",
    "verified": "#54a24b",
    "failed": "#e45756",
    "blocked": "#f58518",
    "skipped": "#9d9d9d",
    "pending": "#b279a2",
}
#: Columns shown in the "needs attention" table.
ATTENTION_COLUMNS = (
    "pipeline_name",
    "v1_version",
    "status",
    "stage",
    "blocking_reason",
    "error",
    "parity",
    "parity_diff",
)
_NUMERIC = frozenset({"count", "duration_s"})
_LONG = frozenset({"error", "parity_diff", "blocking_reason", "studio_url"})


def display_text(value: Any) -> str:
    """A cell as a person reads it: empty for missing, ``yes``/``no``, seconds to 0.1."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.1f}"
    return str(getattr(value, "item", lambda: value)())


def needs_attention(pipelines: pd.DataFrame) -> pd.DataFrame:
    """The rows that failed, are blocked, or whose outputs differ from v1's."""
    mask = pipelines["status"].isin(["failed", "blocked"]) | (pipelines["parity"] == "mismatch")
    rows: pd.DataFrame = pipelines.loc[mask, list(ATTENTION_COLUMNS)]
    return rows


# -- Markdown -------------------------------------------------------------------------------------


def markdown(views: ReportViews) -> str:
    """The report as a GitHub-flavoured Markdown document."""
    lines = [f"# {_md(views.title)}", "", _overview(views), ""]
    lines += ["## By status", "", *_md_table(views.by_status), ""]
    lines += ["## By blocking reason", ""]
    if views.by_blocking_reason.empty:
        lines += ["No pipeline has a blocking reason.", ""]
    else:
        lines += [*_md_table(views.by_blocking_reason), ""]
    attention = needs_attention(views.pipelines)
    lines += ["## Needs attention", ""]
    if attention.empty:
        lines += ["Nothing failed, is blocked or differs from v1.", ""]
    else:
        lines += [*_md_table(attention), ""]
    lines += ["## Pipelines", "", *_md_table(views.pipelines)]
    return "\n".join(lines) + "\n"


def _md_table(frame: pd.DataFrame) -> list[str]:
    names = [str(name) for name in frame.columns]
    rule = ["---:" if name in _NUMERIC else "---" for name in names]
    rows = [_md_row(names), _md_row(rule, escape=False)]
    rows += [_md_row([display_text(v) for v in row]) for row in frame.itertuples(index=False)]
    return rows


def _md_row(cells: list[str], *, escape: bool = True) -> str:
    return "| " + " | ".join(_md(c) if escape else c for c in cells) + " |"


def _md(text: str) -> str:
    for plain, escaped in (("\\", "\\\\"), ("|", "\\|"), ("`", "\\`"), ("[", "\\["), ("]", "\\]")):
        text = text.replace(plain, escaped)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<br>".join(text.replace("\r\n", "\n").split("\n"))


def _overview(views: ReportViews) -> str:
    counts = dict(zip(views.by_status["status"], views.by_status["count"], strict=True))
    total = len(views.pipelines)
    return (
        f"Generated {views.generated}: {total} pipeline{'s' if total != 1 else ''}, "
        f"{counts.get('verified', 0)} verified, {counts.get('failed', 0)} failed, "
        f"{counts.get('blocked', 0)} blocked."
    )


# -- HTML ---------------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
       max-width: 1280px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
.meta { color: #57606a; margin-top: 0; }
.summary { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #1f4e79; color: #fff; white-space: nowrap; }
tbody tr:nth-child(even) { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.long { min-width: 14em; max-width: 36em; white-space: pre-wrap; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: .7rem; color: #fff; }
svg.chart text { font-size: 12px; fill: #1b1f24; }
p.empty { color: #57606a; font-style: italic; }
"""


def html_report(views: ReportViews) -> str:
    """The report as one self-contained HTML5 document."""
    badges = "\n".join(
        f".badge-{status} {{ background: {color}; }}" for status, color in STATUS_COLORS.items()
    )
    title = html.escape(views.title)
    attention = needs_attention(views.pipelines)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{_CSS}{badges}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
        f'<p class="meta">{html.escape(_overview(views))}</p>',
        '<section id="summary">',
        "<h2>Summary</h2>",
        '<div class="summary">',
        status_chart(views.by_status),
        _html_table(views.by_status, caption="By status"),
        _html_table(views.by_blocking_reason, caption="By blocking reason")
        if not views.by_blocking_reason.empty
        else '<p class="empty">No pipeline has a blocking reason.</p>',
        "</div>",
        "</section>",
        '<section id="attention">',
        "<h2>Needs attention</h2>",
        f'<div class="scroll">{_html_table(attention)}</div>'
        if not attention.empty
        else '<p class="empty">Nothing failed, is blocked or differs from v1.</p>',
        "</section>",
        '<section id="pipelines">',
        "<h2>Pipelines</h2>",
        f'<div class="scroll">{_html_table(views.pipelines)}</div>',
        "</section>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def status_chart(by_status: pd.DataFrame) -> str:
    """A horizontal bar chart as inline SVG: one ``rect.bar`` per status, with ``data-status``
    and ``data-count`` attributes, a tooltip and the count printed after the bar."""
    rows = [(str(s), int(n)) for s, n in zip(by_status["status"], by_status["count"], strict=True)]
    top = max((n for _, n in rows), default=0)
    label_w, bar_w, count_w, bar_h, gap = 80, 320, 48, 18, 6
    width, height = label_w + bar_w + count_w, gap + len(rows) * (bar_h + gap)
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="status-chart-title" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        '<title id="status-chart-title">Pipelines by status</title>',
    ]
    for index, (status, count) in enumerate(rows):
        y = gap + index * (bar_h + gap)
        bar = round(bar_w * count / top) if top else 0
        name = html.escape(status)
        color = STATUS_COLORS.get(status, "#777777")
        baseline = y + bar_h - 5
        parts += [
            f'<text x="{label_w - 6}" y="{baseline}" text-anchor="end">{name}</text>',
            f'<rect class="bar" data-status="{name}" data-count="{count}" x="{label_w}" '
            f'y="{y}" width="{bar}" height="{bar_h}" fill="{color}">'
            f"<title>{name}: {count}</title></rect>",
            f'<text x="{label_w + bar + 6}" y="{baseline}">{count}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def _html_table(frame: pd.DataFrame, *, caption: str | None = None) -> str:
    names = [str(name) for name in frame.columns]
    head = "".join(f'<th scope="col">{html.escape(name)}</th>' for name in names)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(_html_cell(name, value) for name, value in zip(names, row, strict=True))
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html_cell(name: str, value: Any) -> str:
    text = html.escape(display_text(value))
    if name == "status" and text in STATUS_COLORS:
        return f'<td><span class="badge badge-{text}">{text}</span></td>'
    if name in _NUMERIC:
        return f'<td class="num">{text}</td>'
    if name in _LONG:
        return f'<td class="long">{text}</td>'
    return f"<td>{text}</td>"
