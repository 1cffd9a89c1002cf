"""What the action panels (migrate, test, report) share: a live log, a live table of pipelines,
and the plan an action starts from.

- :class:`LiveLog`: the records of the ``migrate_kit`` loggers, routed into a panel by a
  :class:`logging.Handler` for as long as an action runs (:meth:`LiveLog.capture`), plus what
  the panel writes itself; every line is redacted and escaped.
- :class:`RowTable`: one row per pipeline, cells updated one at a time from progress callbacks
  (any thread), rendered as an HTML table.
- :func:`current_plan`: the session's plan, planned first when it is missing or no longer
  matches the selection.
- :func:`refresh_quietly`: an observer's refresh through :meth:`Panel.run`, which leaves the
  panel's message as it was when nothing failed.

Known shortcoming: while an action captures, the ``migrate_kit`` logger is set to INFO (and put
back afterwards), so other handlers the notebook configured see those INFO records too.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from migrate_kit.errors import ConfigurationError
from migrate_kit.redact import redact

if TYPE_CHECKING:
    from migrate_kit.connection import Connection
    from migrate_kit.convert.model import Plan
    from migrate_kit.engine import Progress
    from migrate_kit.panels._base import Panel
    from migrate_kit.panels._session import Session

__all__ = [
    "LiveLog",
    "RowTable",
    "current_plan",
    "refresh_quietly",
    "require_connection",
    "start_bar",
]

logger = logging.getLogger(__name__)

#: Loggers whose records a panel's log leaves out: the in-process emulator serves requests on
#: its own threads (its lines are not the action's), and the panels' own logger carries
#: tracebacks that belong in the log file, not in front of the user.
_LEFT_OUT = ("migrate_kit.emulator", "migrate_kit.panels")
_ROOT = "migrate_kit"
_level_lock = threading.Lock()
_capturing = 0
_saved_level = logging.NOTSET


# -- the plan an action starts from -------------------------------------------------------------


def require_connection(session: Session) -> Connection:
    """The session's connection, or a ConfigurationError saying to connect first."""
    connection = session.connection
    if connection is None:
        raise ConfigurationError("Not connected: connect to a workspace in the Connect step first.")
    result: Connection = connection
    return result


def current_plan(session: Session) -> Plan:
    """The plan of the selection: the session's when it covers exactly the selected pipelines,
    else planned now (with the session's name overrides, files under ``plan_dir``) and stored
    in the session."""
    from migrate_kit.convert import plan

    connection = require_connection(session)
    selected = list(session.selected)
    if not selected:
        raise ConfigurationError(
            "Nothing is selected: tick one or more published pipelines in the Inventory step."
        )
    planned: Plan | None = session.plan
    if planned is None or {p.pipeline_id for p in planned.pipelines} != set(selected):
        names = dict(session.names)
        try:
            planned = plan(
                connection, select=selected, names=names, out=session.plan_dir,
                cache=session.cache_path,
            )  # fmt: skip
        except ConfigurationError as exc:
            if not names:
                raise
            # Overrides typed for another selection may match nothing in this one.
            raise ConfigurationError(
                f"{exc} Plan the selection again in the Plan step, which keeps only the "
                "name overrides that apply to it."
            ) from None
        session.plan = planned
    return planned


def start_bar(bar: widgets.IntProgress, total: int) -> None:
    """Set ``bar`` to 0 of ``total``, running."""
    bar.max = max(total, 1)
    bar.value = 0
    bar.bar_style = "info"
    bar.description = f"0 / {total}"


def refresh_quietly(panel: Panel, action: Callable[[], Any], what: str) -> None:
    """Run ``action`` through ``panel.run`` now, in this thread (an observer's refresh); skipped
    while the panel is busy, and the panel's message is left as it was unless it failed."""
    if panel.busy:
        return
    before, before_error = panel.status.value, panel.error
    panel.run(action, what=what, background=False)
    if panel.error is None:
        panel.status.value, panel.error = before, before_error


# -- the live log ---------------------------------------------------------------------------


class _PanelHandler(logging.Handler):
    def __init__(self, log: LiveLog) -> None:
        super().__init__(logging.INFO)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_LEFT_OUT):
            return
        try:
            # The message only: a record's traceback (exc_info) never reaches the panel.
            text = record.getMessage()
        except Exception:  # a bad format string in someone's log call
            text = str(record.msg)
        self._log.write(text, level=record.levelname)


class LiveLog:
    """The last ``max_lines`` lines of an action's log, as an escaped ``<pre>`` in an HTML
    widget (:attr:`widget`); :attr:`lines` holds them as text."""

    def __init__(self, max_lines: int = 400) -> None:
        self.max_lines = max_lines
        self.lines: list[str] = []
        self.widget = widgets.HTML(value="", layout=widgets.Layout(width="100%"))
        self._lock = threading.Lock()

    @property
    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def clear(self) -> None:
        with self._lock:
            self.lines = []
        self._render()

    def write(self, text: str, *, level: str = "INFO") -> None:
        """Add ``text`` (redacted; one line per line of it) with the time and ``level``."""
        stamp = time.strftime("%H:%M:%S")
        new = [f"{stamp} {level:<7} {redact(line)}" for line in str(text).splitlines() or [""]]
        with self._lock:
            self.lines = (self.lines + new)[-self.max_lines :]
        self._render()

    def event(self, event: Progress) -> None:
        """One line for a progress event: ``<pipeline>: <status> (<message>)``."""
        message = f" ({event.message})" if event.message else ""
        self.write(f"{event.pipeline}: {event.status}{message}")

    def _render(self) -> None:
        with self._lock:
            body = html.escape("\n".join(self.lines))
        self.widget.value = (
            '<pre class="mk-log" style="max-height:16em;overflow:auto;margin:0;'
            f'font-size:0.85em;white-space:pre-wrap">{body}</pre>'
            if body
            else ""
        )

    @contextmanager
    def capture(self) -> Iterator[None]:
        """Route the ``migrate_kit`` loggers' INFO and higher records into this log meanwhile."""
        global _capturing, _saved_level
        root = logging.getLogger(_ROOT)
        handler = _PanelHandler(self)
        with _level_lock:
            if _capturing == 0:
                _saved_level = root.level
                if root.getEffectiveLevel() > logging.INFO:
                    root.setLevel(logging.INFO)
            _capturing += 1
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)
            with _level_lock:
                _capturing -= 1
                if _capturing == 0:
                    root.setLevel(_saved_level)


# -- the live table -------------------------------------------------------------------------


class RowTable:
    """Rows of cells keyed by a row key (a pipeline's ``name version``), rendered as an HTML
    table in :attr:`widget`. ``columns`` are ``(key, heading)`` pairs; a column listed in
    ``links`` holds a URL and is shown as a link. Cells are text: redacted and escaped."""

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        links: Sequence[str] = (),
        link_text: str = "open",
    ) -> None:
        self.columns = list(columns)
        self.links = set(links)
        self.link_text = link_text
        self.rows: dict[str, dict[str, str]] = {}
        self.widget = widgets.HTML(value="")
        self._lock = threading.Lock()

    def reset(self, rows: Mapping[str, Mapping[str, str]]) -> None:
        with self._lock:
            self.rows = {key: {k: str(v) for k, v in cells.items()} for key, cells in rows.items()}
        self._render()

    def update(self, key: str, **cells: str | None) -> None:
        """Set cells of row ``key`` (a new row when unknown); None leaves a cell as it is."""
        with self._lock:
            row = self.rows.setdefault(key, {self.columns[0][0]: key})
            row.update({k: str(v) for k, v in cells.items() if v is not None})
        self._render()

    def _render(self) -> None:
        with self._lock:
            rows = [dict(r) for r in self.rows.values()]
        if not rows:
            self.widget.value = ""
            return
        head = "".join(
            f'<th style="text-align:left;padding:2px 8px">{html.escape(h)}</th>'
            for _, h in self.columns
        )
        body = "".join(
            "<tr>" + "".join(self._cell(key, row.get(key, "")) for key, _ in self.columns) + "</tr>"
            for row in rows
        )
        self.widget.value = (
            f'<table class="mk-rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        )

    def _cell(self, key: str, value: str) -> str:
        text = html.escape(redact(value))
        style = "padding:2px 8px;vertical-align:top"
        if key in self.links and value.startswith(("https://", "http://")):
            link = html.escape(self.link_text)
            return f'<td style="{style}"><a href="{text}" target="_blank">{link}</a></td>'
        if key == "status":
            return f'<td class="mk-status mk-status-{text}" style="{style}">{text}</td>'
        return f'<td style="{style}">{text}</td>'
