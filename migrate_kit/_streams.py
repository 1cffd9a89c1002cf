"""Keeps azure-ai-ml's own output out of what migrate_kit's faces (command line, panels) show.

:func:`quiet_azure_ml` silences its logger below CRITICAL (see there).

After every code upload azure-ai-ml 1.35 prints ``Fore.RESET + "\\n"`` to ``sys.stderr``
(``_artifacts/_blob_storage_helper.py``), whatever ``show_progress`` says: in a notebook each
one shows as an empty red stderr block, in a terminal as blank lines. :func:`quiet_colour_resets`
puts a thin filter in front of ``sys.stderr`` that drops exactly those writes and passes every
other write through unchanged, from any thread. It is installed once however many callers
nest, and removed by the last one to leave (unless something else replaced ``sys.stderr``
meanwhile, which is then left as it is).

Known shortcoming: a newer azure-ai-ml that prints something else there is not filtered; the
lines are harmless either way.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["quiet_azure_ml", "quiet_colour_resets"]

_RESET = "\x1b[39m"
_lock = threading.Lock()
_users = 0
_installed: _ResetFilter | None = None


class _ResetFilter:
    """Forwards to ``stream``, minus ``print(Fore.RESET + "\\n")``: its two writes, the text and
    the newline ``print`` adds, come one after the other from the same thread."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._after_reset = threading.local()

    def write(self, text: str) -> int:
        if text == _RESET + "\n":
            self._after_reset.value = True
            return len(text)
        if text == "\n" and getattr(self._after_reset, "value", False):
            self._after_reset.value = False
            return len(text)
        self._after_reset.value = False
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def quiet_colour_resets() -> Iterator[None]:
    """While inside, azure-ai-ml's colour-reset lines do not reach ``sys.stderr``."""
    global _users, _installed
    with _lock:
        if _users == 0:
            _installed = _ResetFilter(sys.stderr)
            sys.stderr = _installed
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _installed is not None:
                if sys.stderr is _installed:
                    sys.stderr = _installed.stream
                _installed = None


def quiet_azure_ml(verbosity: int) -> None:
    """Keep azure-ai-ml's own log lines out of the output unless ``-vv`` was given.

    On import, azure-ai-ml sets its logger to INFO with a stream handler of its own, so the
    logging set up before the import cannot reach it; it then reports every lookup that finds
    nothing (which the engine does before each create) as an ERROR, and every experimental class
    it uses as a WARNING. Call this after the import, before the first MLClient call.
    """
    import azure.ai.ml  # noqa: F401  (the import is what installs its handler)

    if verbosity < 2:
        logging.getLogger("azure.ai.ml").setLevel(logging.CRITICAL)
