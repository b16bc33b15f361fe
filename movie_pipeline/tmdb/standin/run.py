"""Running the stand-in on a free loopback port: inside an event loop, on a background thread, or as a process."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    def __exit__(self, *exc_info: object) -> None:
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


class StandinProcess:
    """`with StandinProcess(stats_file, ["--rate-limit", "40"]) as standin:` runs `python -m
    movie_pipeline.tmdb.standin` in its own process group, so its load never shares a core's event loop with the
    caller; `stats()` reads the figures it writes, and leaving the block stops it and reads them one last time."""

    def __init__(self, stats_file: Path, arguments: Sequence[str] = ()):
        self.stats_file = stats_file
        self._command = [
            sys.executable,
            "-m",
            "movie_pipeline.tmdb.standin",
            "--port",
            "0",
            "--stats-file",
            str(stats_file),
            *arguments,
        ]
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> "StandinProcess":
        process = self._process = subprocess.Popen(
            self._command, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        assert process.stdout is not None  # stdout=PIPE
        first_line = process.stdout.readline()
        found = re.search(rf"http://{re.escape(LOOPBACK)}:\d+/3", first_line)
        if found is None:
            self.stop()
            raise RuntimeError(f"the stand-in did not start: {first_line!r} (exit code {process.returncode})")
        self.base_url = found.group()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("The stand-in is not running: use StandinProcess as a `with` block.")
        return self._process.pid

    def stats(self) -> dict[str, Any]:
        """The latest StandinStats.summary() the process wrote (empty before its first write)."""
        if not self.stats_file.exists():
            return {}
        summary: dict[str, Any] = json.loads(self.stats_file.read_text(encoding="utf-8"))
        return summary

    def stop(self) -> None:
        """SIGTERM (the process writes its stats and exits), then SIGKILL if it does not within 10 s."""
        if self._process is None:
            return
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
