"""What every panel shares: the one wrapper that runs a panel's actions.

Every button of every panel calls :meth:`Panel.run` (or is bound with :meth:`Panel.on_click`).
It shows what is being done, runs the action on a background thread so the notebook's other
widgets keep answering, and turns a failure into one readable line in the panel: an expected
failure (:class:`~migrate_kit.errors.MigrateKitError`, an Azure SDK error) shows its message, an
unexpected one its type and first line, and the traceback goes to this module's logger only.

``background=False`` runs the action in the caller's thread (headless notebooks and tests that
want the effect before the next line); :meth:`Panel.wait` joins background work.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as widgets

from migrate_kit.errors import MigrateKitError, describe
from migrate_kit.inventory import BLOCKED, NEEDS_ATTENTION, READY

__all__ = ["VERDICT_COLOURS", "Panel", "message_html"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_COLOURS = {"info": "#1f6f43", "error": "#a4262c", "working": "#5c5c5c"}
#: The colour of each inventory verdict, wherever a panel shows one.
VERDICT_COLOURS = {READY: "#1f6f43", NEEDS_ATTENTION: "#8a5a00", BLOCKED: "#a4262c"}


def message_html(kind: str, text: str) -> str:
    """``text`` as one escaped line of HTML in the colour of ``kind`` (info, error, working)."""
    colour = _COLOURS.get(kind, _COLOURS["info"])
    return f'<span class="mk-{kind}" style="color:{colour}">{html.escape(text)}</span>'


class Panel:
    """A panel: a titled box of widgets, a status line, and the one action wrapper.

    Subclasses build their widgets in ``__init__`` and put them in :attr:`body` (a VBox);
    :attr:`widget` is what a notebook displays, and displaying the panel itself works too.
    """

    title = "Panel"

    def __init__(self) -> None:
        self.status = widgets.HTML(value="", layout=widgets.Layout(min_height="1.6em"))
        self.body = widgets.VBox([])
        self.widget = widgets.VBox(
            [widgets.HTML(f"<h3>{html.escape(self.title)}</h3>"), self.body, self.status]
        )
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._buttons: list[widgets.Button] = []

    # -- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- messages --------------------------------------------------------------------------

    def info(self, text: str) -> None:
        self.error = None
        self.status.value = message_html("info", text)

    def fail(self, text: str) -> None:
        self.error = text
        self.status.value = message_html("error", text)

    def working(self, text: str) -> None:
        self.status.value = message_html("working", text)

    # -- actions ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def on_click(
        self, button: widgets.Button, action: Callable[[], Any], *, what: str | None = None
    ) -> None:
        """Bind ``action`` to ``button`` through :meth:`run`; the button is disabled while any
        action of this panel runs."""
        self._buttons.append(button)
        button.on_click(lambda _b: self.run(action, what=what or button.description))

    def run(
        self,
        action: Callable[[], T],
        *,
        what: str,
        on_done: Callable[[T], None] | None = None,
        background: bool = True,
    ) -> None:
        """Run ``action`` (then ``on_done`` with its result) through the panel's wrapper."""
        if self.busy:
            self.fail(f"Still working on the previous action; wait for it before '{what}'.")
            return
        self.error = None
        self.working(f"{what} ...")
        for button in self._buttons:
            button.disabled = True

        def body() -> None:
            try:
                result = action()
                if on_done is not None:
                    on_done(result)
                if self.error is None and self.status.value.startswith('<span class="mk-working'):
                    self.info(f"{what}: done.")
            except MigrateKitError as exc:
                logger.info("%s failed: %s", what, exc)
                self.fail(f"{what} failed: {describe(exc).split(': ', 1)[-1]}")
            except Exception as exc:  # every failure shows in the panel, never as a traceback
                logger.exception("%s failed", what)
                self.fail(f"{what} failed: {describe(exc)}")
            finally:
                for button in self._buttons:
                    button.disabled = False

        if background:
            self._thread = threading.Thread(target=body, name=f"panel:{what}", daemon=True)
            self._thread.start()
        else:
            body()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running background action (if any) to end."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
