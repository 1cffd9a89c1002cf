"""The stderr filter that keeps azure-ai-ml's colour-reset lines out of notebooks and terminals."""

from __future__ import annotations

import contextlib
import io
import sys
import threading

from migrate_kit._streams import quiet_colour_resets

RESET = "\x1b[39m"


def test_only_the_reset_print_is_dropped_from_any_thread() -> None:
    # redirected in the test body: pytest's own capture puts its stream back between phases
    with contextlib.redirect_stderr(io.StringIO()) as stderr, quiet_colour_resets():
        print(RESET + "\n", file=sys.stderr)  # what azure-ai-ml prints after an upload
        print("a warning", file=sys.stderr)
        worker = threading.Thread(target=lambda: print(RESET + "\n", file=sys.stderr))
        worker.start()
        worker.join()
        print("\n", file=sys.stderr, end="")  # a lone newline that follows no reset stays
        print(RESET + "red", file=sys.stderr)

        assert sys.stderr is not stderr
    assert stderr.getvalue() == f"a warning\n\n{RESET}red\n"


def test_nested_users_install_once_and_the_last_one_removes_it() -> None:
    with contextlib.redirect_stderr(io.StringIO()) as stderr:
        with quiet_colour_resets():
            wrapped = sys.stderr
            with quiet_colour_resets():
                assert sys.stderr is wrapped
            assert sys.stderr is wrapped
            print(RESET + "\n", file=sys.stderr)
        assert sys.stderr is stderr and stderr.getvalue() == ""
