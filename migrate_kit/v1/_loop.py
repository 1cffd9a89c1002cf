"""Run a coroutine to completion on a private event loop in a worker thread.

The v1 reader's public methods are synchronous, yet they may be called from a thread that
already runs an event loop (a Jupyter kernel does): ``asyncio.run`` would refuse there, and
borrowing the caller's loop would block it. ``run_private`` starts a fresh loop in a thread of
its own and waits for the result. Ctrl-C (or any exception) in the waiting thread cancels the
coroutine, so no request keeps running after the caller gave up.

``relaxed_gc`` makes Python's cyclic garbage collector run less often during a bulk read.
Decoding thousands of JSON bodies allocates millions of dicts and lists, each allocation
counting towards the next collection, and every full collection walks all the (growing) live
models: with the default thresholds that was about a fifth of the reader's CPU time. The
bodies are freed by reference counting anyway, so fewer collections cost little memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["relaxed_gc", "run_private"]

#: Collector thresholds during a bulk read (allocations before a young collection, then young
#: and middle collections before an older one); the defaults are (700, 10, 10).
RELAXED_GC_THRESHOLDS = (50_000, 20, 100)

_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = gc.get_threshold()

T = TypeVar("T")


def run_private(make: Callable[[], Coroutine[Any, Any, T]], *, name: str = "v1-reader-loop") -> T:
    """Return what the coroutine built by ``make()`` returns, run on a new loop in a new thread.

    ``make`` is called inside that thread, so the coroutine (and everything it opens, such as
    an aiohttp session) belongs to the private loop. Exceptions propagate to the caller.
    """
    done: Future[T] = Future()
    started = threading.Event()
    task_box: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[T]]] = []

    async def main() -> T:
        task = asyncio.ensure_future(make())
        task_box.append((asyncio.get_running_loop(), task))
        started.set()
        return await task

    def work() -> None:
        try:
            done.set_result(asyncio.run(main()))
        except BaseException as exc:  # handed to the caller, who re-raises it
            done.set_exception(exc)
        finally:
            started.set()

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        return done.result()
    except BaseException:
        started.wait()
        if task_box and not done.done():  # the caller was interrupted: stop the work
            loop, task = task_box[0]
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to stop
                loop.call_soon_threadsafe(task.cancel)
        raise
    finally:
        thread.join()


@contextlib.contextmanager
def relaxed_gc() -> Iterator[None]:
    """Raise the collector's thresholds (never lower them) until the last user leaves.

    The thresholds are process-wide: while a read runs, other threads of the process (a
    notebook kernel) also collect less often. The previous values come back afterwards; a
    change someone else makes to them meanwhile is overwritten then.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            pairs = zip(_gc_saved, RELAXED_GC_THRESHOLDS, strict=True)
            gc.set_threshold(*(max(current, relaxed) for current, relaxed in pairs))
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)
