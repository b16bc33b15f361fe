"""Running the stand-in on a free loopback port: inside an event loop, or on a background thread."""

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from movie_pipeline.tmdb.standin.corpus import StandinCorpus, load_corpus
from movie_pipeline.tmdb.standin.server import STATS_KEY, StandinOptions, StandinStats, build_app

LOOPBACK = "127.0.0.1"
# Nothing needs draining at shutdown; a long wait would only hold up tests that leave a request hanging.
SHUTDOWN_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class RunningStandin:
    base_url: str  # e.g. "http://127.0.0.1:8765/3", a drop-in for TMDB_BASE_URL
    stats: StandinStats


@asynccontextmanager
async def running_standin(
    options: StandinOptions | None = None, corpus: StandinCorpus | None = None, port: int = 0
) -> AsyncIterator[RunningStandin]:
    """Serve the stand-in on 127.0.0.1 (port 0: a free one) for the duration of the block."""
    app = build_app(load_corpus() if corpus is None else corpus, options or StandinOptions())
    # No access log: request lines can carry api_key. Cancelling handlers on disconnect ends "hang" requests.
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, LOOPBACK, port).start()
        bound_port = runner.addresses[0][1]
        yield RunningStandin(base_url=f"http://{LOOPBACK}:{bound_port}/3", stats=app[STATS_KEY])
    finally:
        await runner.cleanup()


class StandinThread:
    """`with StandinThread(options) as standin:` runs the stand-in on its own event loop, for sync callers."""

    def __init__(self, options: StandinOptions | None = None, corpus: StandinCorpus | None = None, port: int = 0):
        self._options = options
        self._corpus = corpus
        self._port = port
        self._running: RunningStandin | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="tmdb-standin", daemon=True)

    @property
    def base_url(self) -> str:
        return self._started().base_url

    @property
    def stats(self) -> StandinStats:
        return self._started().stats

    def __enter__(self) -> "StandinThread":
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc_info) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _started(self) -> RunningStandin:
        if self._running is None:
            raise RuntimeError("The stand-in is not running: use StandinThread as a `with` block.")
        return self._running

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # handed to the caller's thread by __enter__ / __exit__
            self._error = error
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with running_standin(self._options, self._corpus, self._port) as running:
            self._running = running
            self._ready.set()
            await self._stop.wait()
