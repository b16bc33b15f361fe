"""Several enrichment clients, each in its own OS process, against ONE stand-in in this process, measured there."""

import asyncio
import multiprocessing
import random
import secrets
import time
from dataclasses import dataclass

import polars as pl

from movie_pipeline.database import make_engine
from movie_pipeline.tmdb.config import TmdbConfig
from movie_pipeline.tmdb.enrich import enrich_films
from movie_pipeline.tmdb.overrides import Overrides
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread, load_corpus
from movie_pipeline_tests.test_tmdb.enrich_support import films_frame, shared_budget_client_factory

TMDB_CONNECTIONS_PER_IP = 20
READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class SharedBudgetRun:
    clients: int
    requests: int  # as the server saw them
    max_rate: int
    peak_starts_per_s: int  # most request arrivals in any sliding second
    rate_limited: int  # 429 answers from the stand-in's rate limit
    peak_open_connections: int
    connections_opened: int
    wall_s: float  # from the start signal to the last client's result
    settled: int  # films found or not found
    pending: int

    @property
    def time_ratio(self) -> float:
        """Total enrichment time ÷ (requests ÷ TMDB_MAX_RATE): 1.0 is the budget used to the full."""
        return self.wall_s / (self.requests / self.max_rate)

    def line(self) -> str:
        return (
            f"{self.clients} clients, {self.requests} requests: peak {self.peak_starts_per_s} starts in a sliding "
            f"second (cap {self.max_rate}), {self.rate_limited} × 429, {self.peak_open_connections} connections open "
            f"at most ({self.connections_opened} opened), {self.wall_s:.1f} s = {self.time_ratio:.3f} × requests ÷ rate"
        )


def disjoint_corpus_films(groups: int, per_group: int, seed: int = 2024) -> list[list[tuple[str, int]]]:
    """Real dated titles of the stand-in corpus, each title in one group only."""
    dated = sorted({(film.title, film.release_year) for film in load_corpus() if film.release_year})
    sample = random.Random(seed).sample(dated, groups * per_group)
    return [sample[index::groups] for index in range(groups)]


def run_clients_together(
    database_url: str,
    film_groups: list[list[tuple[str, int]]],
    *,
    max_rate: int = 40,
    latency_s: tuple[float, float] = (0.2, 0.5),
) -> SharedBudgetRun:
    """One enrich_films per group, each in a spawned process, all started at one signal against one stand-in."""
    token = secrets.token_urlsafe(16)
    options = StandinOptions(
        latency_s=latency_s, rate_limit_per_s=max_rate, accepted_credentials=frozenset({token}), seed=11
    )
    spawn = multiprocessing.get_context("spawn")  # the stand-in thread makes fork unsafe
    go, ready, results = spawn.Event(), spawn.Queue(), spawn.Queue()
    with StandinThread(options) as standin:
        processes = [
            spawn.Process(
                target=enrich_in_own_process,
                args=(films, f"upload-{index}", standin.base_url, token, database_url, max_rate, go, ready, results),
            )
            for index, films in enumerate(film_groups)
        ]
        for process in processes:
            process.start()
        try:
            for _ in processes:
                ready.get(timeout=READY_TIMEOUT_S)
            started = time.monotonic()
            go.set()
            summaries = [results.get(timeout=READY_TIMEOUT_S + 300) for _ in processes]
            wall = time.monotonic() - started
        finally:
            for process in processes:
                process.join(timeout=10)
                if process.is_alive():
                    process.kill()
        failures = [summary for summary in summaries if isinstance(summary, str)]
        if failures:
            raise AssertionError(f"a client process failed: {failures[0]}")
        stats = standin.stats
        return SharedBudgetRun(
            clients=len(film_groups),
            requests=stats.request_count,
            max_rate=max_rate,
            peak_starts_per_s=stats.peak_starts_per_second(),
            rate_limited=stats.rate_limited,
            peak_open_connections=stats.peak_open_connections,
            connections_opened=stats.connections_opened,
            wall_s=wall,
            settled=sum(found + not_found for found, not_found, _ in summaries),
            pending=sum(pending for _, _, pending in summaries),
        )


def enrich_in_own_process(films, upload, base_url, token, database_url, max_rate, go, ready, results) -> None:
    """The child: one client as a run would make it, on the film database's shared budget."""
    try:
        results.put(_enrich(films, upload, base_url, token, database_url, max_rate, go, ready))
    except BaseException as error:  # reported to the parent, which fails the test with it
        ready.put(upload)  # so a child failing early never leaves the parent waiting for it
        results.put(f"{type(error).__name__}: {error}")
        raise


def _enrich(films, upload, base_url, token, database_url, max_rate, go, ready) -> tuple[int, int, int]:
    engine = make_engine(database_url)
    config = TmdbConfig(base_url=base_url, read_access_token=token, max_rate=max_rate)
    frame = films_frame(films).with_columns(film_key=pl.lit(f"{upload}-") + pl.col("film_key"))
    ready.put(upload)
    go.wait()
    summary = asyncio.run(
        enrich_films(
            frame,
            upload=upload,
            engine=engine,
            client_factory=shared_budget_client_factory(config, engine),
            overrides=Overrides(),
            log=lambda line: None,
        )
    )
    engine.dispose()
    return summary.found, summary.not_found, summary.pending
