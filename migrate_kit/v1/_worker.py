"""A second process for bulk graph reads, so a large inventory uses two CPU cores.

Reading thousands of graphs is CPU-bound in the client: TLS, HTTP, JSON decoding and parsing
cost about a millisecond per request, all on the one thread of the reader's event loop. For a
large workspace ``V1Reader`` therefore starts a child process (``main`` below, in a new
interpreter) and shares the pipelines with it. The parent's own workers take pipelines one at a
time from the same queue the child takes chunks of ``CHUNK`` from (two chunks ahead), so both
stay busy until the end; the child imports and connects while the parent already reads.
Contiguous chunks keep the pipelines of one family, which share most modules, in one process,
so each module is still fetched about once.

The two processes talk over the child's stdin and stdout in frames (an 8-byte length, then a
pickle): the parent sends a ``_Start`` frame, then ``list[PublishedPipeline]`` chunks, then
``None`` to finish; the child answers ``"ready"`` once, then one list of read pipelines per
chunk, in the order the chunks came. Pickle is safe here: both ends are this package, in
processes of the same user.

The child authenticates with an access token the parent obtained from its own credential (a
credential object cannot cross processes); the parent only uses a child when that token is valid
for at least ``MIN_TOKEN_LIFETIME_S``. The token travels through the pipe only, never through
arguments, the environment, logs or files. Any failure of the child (it cannot start, crashes,
answers garbage) is logged as a warning and the parent reads the rest itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import IO, Any

from azure.core.credentials import AccessToken

from migrate_kit.v1._calls import ClientSettings
from migrate_kit.v1.models import PublishedPipeline

__all__ = ["CHUNK", "MIN_TOKEN_LIFETIME_S", "GraphWorker", "StaticToken", "WorkerFailed"]

logger = logging.getLogger(__name__)

#: Pipelines per request to the child.
CHUNK = 64
#: Chunks handed to the child before its first answer comes back.
_AHEAD = 2
#: Seconds an access token must still be valid for the child to be used.
MIN_TOKEN_LIFETIME_S = 600
_HEADER = struct.Struct(">Q")
_READY = "ready"
#: What the child runs (``-c`` rather than ``-m``: the package imports this module first, and
#: a second copy as ``__main__`` would have classes that pickles do not match).
_CHILD_CODE = "from migrate_kit.v1._worker import main; raise SystemExit(main())"


class WorkerFailed(Exception):
    """The child process could not do its share (the message says why)."""


@dataclass(frozen=True)
class StaticToken:
    """A credential that hands out one access token (the parent's), for the child process."""

    token: str
    expires_on: int

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """The token, whatever the scopes (the parent asked for the reader's scope)."""
        return AccessToken(self.token, self.expires_on)

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"


@dataclass(frozen=True)
class _Start:
    settings: ClientSettings
    parameter_types: bool
    in_flight: int
    log_level: int


class GraphWorker:
    """The parent's handle on one child process; use ``start`` to make one."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._ready = False

    @classmethod
    async def start(
        cls, settings: ClientSettings, token: AccessToken, *, parameter_types: bool, in_flight: int
    ) -> GraphWorker:
        """Start the child and send it what it needs; it gets ready in the background."""
        child_settings = replace(settings, credential=StaticToken(token.token, token.expires_on))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD_CODE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker = cls(process)
        level = logging.getLogger("migrate_kit").getEffectiveLevel()
        await worker._send(_Start(child_settings, parameter_types, in_flight, level))
        return worker

    async def wait_ready(self) -> None:
        """Wait until the child has imported what it needs and opened its client."""
        if not self._ready:
            answer = await self._receive()
            if answer != _READY:
                raise WorkerFailed(f"the reader process did not get ready ({answer!r})")
            self._ready = True

    async def send(self, pipelines: list[PublishedPipeline]) -> None:
        """Hand the child a chunk; its answers come back in the order the chunks were sent."""
        await self._send(pipelines)

    async def receive(self, count: int) -> list[PublishedPipeline]:
        """The next chunk the child finished: ``count`` pipelines with their graphs."""
        result = await self._receive()
        if not isinstance(result, list) or len(result) != count:
            raise WorkerFailed("the reader process answered with something else than pipelines")
        return result

    async def finish(self) -> None:
        """Tell the child to stop and wait for it; kill it if it does not stop in time."""
        try:
            await self._send(None)
            await asyncio.wait_for(self._process.wait(), timeout=10)
        except (OSError, asyncio.TimeoutError, WorkerFailed):
            self.kill()

    def kill(self) -> None:
        """Stop the child at once (cancellation, failures)."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    async def _send(self, value: object) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            stdin.write(_HEADER.pack(len(data)) + data)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerFailed(f"the reader process is gone ({exc})") from exc

    async def _receive(self) -> object:
        stdout = self._process.stdout
        assert stdout is not None
        try:
            header = await stdout.readexactly(_HEADER.size)
            data = await stdout.readexactly(_HEADER.unpack(header)[0])
        except asyncio.IncompleteReadError as exc:
            code = await self._process.wait()
            raise WorkerFailed(f"the reader process ended early (exit status {code})") from exc
        return pickle.loads(data)


async def share_with_child(
    start: Callable[[], Awaitable[GraphWorker]],
    take: Callable[[int], list[int]],
    pipelines: list[PublishedPipeline],
) -> list[int]:
    """Feed chunks of ``pipelines`` (indices from ``take``) to a child until none are left.

    Returns the indices of a chunk the child failed on (the caller reads them itself), or an
    empty list. The pipelines the child read are written back into ``pipelines``.
    """
    try:
        worker = await start()
    except (OSError, WorkerFailed) as exc:
        logger.warning("Reading with one process: the reader process did not start (%s)", exc)
        return []
    sent: deque[list[int]] = deque()
    try:
        await worker.wait_ready()
        while True:
            while len(sent) < _AHEAD and (chunk := take(CHUNK)):
                await worker.send([pipelines[i] for i in chunk])
                sent.append(chunk)
            if not sent:
                break
            read = await worker.receive(len(sent[0]))
            for index, pipeline in zip(sent.popleft(), read, strict=True):
                pipelines[index] = pipeline
        await worker.finish()
        return []
    except WorkerFailed as exc:
        logger.warning("The reader process failed (%s); reading its share here", exc)
        worker.kill()
        return [index for chunk in sent for index in chunk]
    except BaseException:
        worker.kill()
        raise


def token_for_child(token: AccessToken) -> bool:
    """True when ``token`` lives long enough to hand to a child."""
    return token.expires_on - time.time() >= MIN_TOKEN_LIFETIME_S


# -- the child -------------------------------------------------------------------------------


def main() -> int:
    """The child process: read chunks from stdin, answer on the original stdout."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by accident goes to stderr, not into the frames
    source = sys.stdin.buffer

    start = _read_frame(source)
    if not isinstance(start, _Start):
        return 2
    logging.basicConfig(level=start.log_level, format="%(levelname)s %(name)s: %(message)s")
    from migrate_kit.v1.reader import GraphSession  # after logging is set up

    async def serve() -> None:
        async with GraphSession(start.settings, start.in_flight, start.parameter_types) as session:
            _write_frame(out, _READY)
            # Chunks are read concurrently (the parent sends the next before the last is done,
            # so the connections never idle at a chunk's tail) and answered in order.
            reading: asyncio.Queue[asyncio.Future[list[PublishedPipeline]] | None]
            reading = asyncio.Queue()

            async def answer() -> None:
                while (task := await reading.get()) is not None:
                    _write_frame(out, await task)

            answering = asyncio.ensure_future(answer())
            while (chunk := await asyncio.to_thread(_read_frame, source)) is not None:
                reading.put_nowait(asyncio.ensure_future(session.read_all(chunk)))
            reading.put_nowait(None)
            await answering

    from migrate_kit.v1._loop import relaxed_gc

    with relaxed_gc():
        asyncio.run(serve())
    return 0


def _read_frame(source: IO[bytes]) -> Any:
    header = source.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    return pickle.loads(source.read(_HEADER.unpack(header)[0]))


def _write_frame(out: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()
