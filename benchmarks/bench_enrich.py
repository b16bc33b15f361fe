"""enrich_films against its bound, next to the seed plan, as a printed table.

    python benchmarks/bench_enrich.py            # 50 and 760 films of the bundled sample, 5 seeded runs each (~12 min)
    python benchmarks/bench_enrich.py --quick    # 50 films only

The stand-in answers each request after a uniform 200–500 ms, plus 100 ms on a new TCP connection (TCP + TLS);
the run's seed draws the latencies (and, at 50 films, which of the sample's films). The client may have 10
requests in flight and start 40 in any sliding second (TMDB_MAX_RATE's default), so none can beat its *bound*:
the larger of the sum of the latencies the stand-in recorded for it ÷ 10, and (its requests − 1) ÷ 40.
The seed plan is what the project started from: films in batches of 10 under asyncio.gather, a new ClientSession
per request (so it pays the connection set-up on every request), the same matching, no database, no rate limit.
Each figure is the median of the seeded runs.

Each client runs in its own fresh process (so its peak RSS is its own) against its own stand-in thread in
this process. The pipeline and the seed plan of one run go at the same time, so the host's load falls on both;
both are almost entirely waiting on the stand-in's timers.
"""

import argparse
import asyncio
import multiprocessing
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import polars as pl
from measure import REPO_ROOT, peak_rss_mib, reset_peak_rss_mib

from movie_pipeline.database import make_engine
from movie_pipeline.letterboxd.parse import parse_export
from movie_pipeline.letterboxd.reader import open_upload, read_raw_rows
from movie_pipeline.tmdb.client import RateLimitedTmdbClient
from movie_pipeline.tmdb.config import TmdbConfig
from movie_pipeline.tmdb.enrich import enrich_films
from movie_pipeline.tmdb.matching import choose_match, is_decisive
from movie_pipeline.tmdb.overrides import Overrides
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread

SAMPLE = REPO_ROOT / "data" / "sample" / "letterboxd-choicehoney-2026-01-02.zip"
CONCURRENCY = 10
MAX_RATE = TmdbConfig.max_rate
LATENCY_S = (0.2, 0.5)
CONNECTION_SETUP_S = 0.1
SEEDS = (1, 2, 3, 4, 5)
SEED_BATCH = 10
TARGETS = {50: 1.10, 760: 1.05}  # median pipeline wall time ÷ its bound
MAX_CONNECTIONS = 10


@dataclass(frozen=True)
class ClientRun:
    wall_s: float
    found: int
    peak_rss_mib: float


@dataclass(frozen=True)
class Measured:
    run: ClientRun
    requests: int
    connections: int
    bound_s: float

    @property
    def ratio(self) -> float:
        return self.run.wall_s / self.bound_s


@dataclass(frozen=True)
class Row:
    films: int
    seed: int
    pipeline: Measured
    seed_plan: Measured
    rerun_requests: int | None  # the pipeline again on the same database (first seed only)


def sample_films(count: int, seed: int) -> pl.DataFrame:
    """`count` films of the bundled sample (all of them, or a seeded choice), as enrich_films takes them."""
    films = parse_export(read_raw_rows(open_upload(SAMPLE)).rows).films.select(
        "film_key", "name", "year", "letterboxd_uri"
    )
    if count >= len(films):
        return films
    return films[sorted(random.Random(seed).sample(range(len(films)), count))]


# --- the two clients, each run in a fresh process -----------------------------------------------------------


def run_pipeline(films: pl.DataFrame, base_url: str, token: str, database: str) -> ClientRun:
    config = TmdbConfig(base_url=base_url, read_access_token=token, max_concurrency=CONCURRENCY, max_rate=MAX_RATE)
    engine = make_engine(database)
    reset_peak_rss_mib()
    started = time.monotonic()
    summary = asyncio.run(
        enrich_films(
            films,
            upload="bench",
            engine=engine,
            client_factory=lambda: RateLimitedTmdbClient(config),
            overrides=Overrides(),
            log=lambda line: None,
        )
    )
    return ClientRun(time.monotonic() - started, summary.found + summary.overrides, peak_rss_mib())


def run_seed_plan(films: pl.DataFrame, base_url: str, token: str, _database: str) -> ClientRun:
    reset_peak_rss_mib()
    started = time.monotonic()
    found = asyncio.run(seed_plan(list(films.select("name", "year").iter_rows()), base_url, token))
    return ClientRun(time.monotonic() - started, found, peak_rss_mib())


async def seed_plan(films: list[tuple[str, int | None]], base_url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}

    async def get(path: str, params: dict[str, str]) -> dict:
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(f"{base_url}{path}", params=params) as response,
        ):
            return await response.json()

    async def one(name: str, year: int | None) -> bool:
        dated = {"query": name} if year is None else {"query": name, "year": str(year)}
        candidates = (await get("/search/movie", dated))["results"]
        match = choose_match(name, year, candidates)
        if year is not None and (match is None or not is_decisive(match)):
            candidates += (await get("/search/movie", {"query": name}))["results"]
            match = choose_match(name, year, candidates)
        if match is not None:
            await get(f"/movie/{match.tmdb_id}", {"append_to_response": "credits"})
        return match is not None

    found = 0
    for start in range(0, len(films), SEED_BATCH):
        found += sum(await asyncio.gather(*(one(name, year) for name, year in films[start : start + SEED_BATCH])))
    return found


# --- measuring ----------------------------------------------------------------------------------------------


def measure(client, films: pl.DataFrame, seed: int, database: str, pool_context) -> Measured:
    token = secrets.token_urlsafe(16)
    options = StandinOptions(
        latency_s=LATENCY_S,
        connection_setup_s=CONNECTION_SETUP_S,
        accepted_credentials=frozenset({token}),
        seed=seed,
    )
    with StandinThread(options) as standin, ProcessPoolExecutor(1, mp_context=pool_context) as process:
        run = process.submit(client, films, standin.base_url, token, database).result()
        records = list(standin.stats.requests)
        connections = standin.stats.connections_opened
    latencies = sum(record.end - record.start for record in records if record.end is not None)
    bound = max(latencies / CONCURRENCY, (len(records) - 1) / MAX_RATE)
    return Measured(run, len(records), connections, bound)


def measure_run(films_count: int, seed: int, workdir: Path, pool_context) -> Row:
    films = sample_films(films_count, seed)
    database = f"sqlite:///{workdir / f'bench-{films_count}-{seed}.db'}"
    with ThreadPoolExecutor(2) as pair:  # each thread drives one client process; see the module docstring
        pipeline = pair.submit(measure, run_pipeline, films, seed, database, pool_context)
        seed_run = pair.submit(measure, run_seed_plan, films, seed, database, pool_context)
        row = Row(films_count, seed, pipeline.result(), seed_run.result(), None)
    if seed != SEEDS[0]:
        return row
    rerun = measure(run_pipeline, films, seed, database, pool_context)
    return Row(films_count, seed, row.pipeline, row.seed_plan, rerun.requests)


def print_runs(rows: list[Row]) -> None:
    header = (
        f"{'films':>5} {'seed':>4}  {'pipeline s':>10} {'bound s':>7} {'÷bound':>6}  {'seed plan s':>11} "
        f"{'bound s':>7} {'÷bound':>6}  {'requests':>8} {'TCP conns':>9} {'found':>5} {'peak RSS MiB':>12}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        pipeline, seed = row.pipeline, row.seed_plan
        print(
            f"{row.films:>5} {row.seed:>4}  {pipeline.run.wall_s:>10.2f} {pipeline.bound_s:>7.2f} "
            f"{pipeline.ratio:>6.3f}  {seed.run.wall_s:>11.2f} {seed.bound_s:>7.2f} {seed.ratio:>6.3f}  "
            f"{pipeline.requests:>8} {pipeline.connections:>4} / {seed.connections:<4} {pipeline.run.found:>5} "
            f"{pipeline.run.peak_rss_mib:>12.1f}"
        )


def median_of(runs: list[Row], figure: Callable[[Row], float]) -> float:
    return statistics.median(figure(row) for row in runs)


def print_medians(rows: list[Row]) -> None:
    header = (
        f"{'films':>5}  {'pipeline s':>10} {'÷ its bound':>11}  {'seed plan s':>11} {'÷ its bound':>11}  "
        f"{'÷ pipeline bound':>16}  {'target':>6}"
    )
    print(header)
    print("-" * len(header))
    for films in sorted({row.films for row in rows}):
        runs = [row for row in rows if row.films == films]
        print(
            f"{films:>5}  {median_of(runs, lambda row: row.pipeline.run.wall_s):>10.2f} "
            f"{median_of(runs, lambda row: row.pipeline.ratio):>11.3f}  "
            f"{median_of(runs, lambda row: row.seed_plan.run.wall_s):>11.2f} "
            f"{median_of(runs, lambda row: row.seed_plan.ratio):>11.3f}  "
            f"{median_of(runs, lambda row: row.seed_plan.run.wall_s / row.pipeline.bound_s):>16.3f}  "
            f"≤ {TARGETS[films]:.2f}"
        )


def check_targets(rows: list[Row]) -> list[str]:
    misses = []
    for films in sorted({row.films for row in rows}):
        ratio = median_of([row for row in rows if row.films == films], lambda row: row.pipeline.ratio)
        if ratio > TARGETS[films]:
            misses.append(f"{films} films: median {ratio:.3f}× the bound")
    for row in rows:
        if row.pipeline.connections > MAX_CONNECTIONS:
            misses.append(f"{row.films} films, seed {row.seed}: {row.pipeline.connections} connections")
        if row.rerun_requests:
            misses.append(f"{row.films} films: the re-run made {row.rerun_requests} requests")
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 films only")
    args = parser.parse_args()
    sizes = [50] if args.quick else [50, 760]
    spawn = multiprocessing.get_context("spawn")  # the stand-in threads make fork unsafe
    with tempfile.TemporaryDirectory() as workdir:
        rows = [measure_run(size, seed, Path(workdir), spawn) for size in sizes for seed in SEEDS]
    print(
        f"\nenrich_films vs the seed plan: stand-in latency {LATENCY_S[0]:g}–{LATENCY_S[1]:g} s "
        f"+ {CONNECTION_SETUP_S * 1000:g} ms per new connection, {CONCURRENCY} in flight, TMDB_MAX_RATE {MAX_RATE}\n"
        f"bound = max(sum of the latencies the stand-in recorded ÷ {CONCURRENCY}, (requests − 1) ÷ {MAX_RATE}), "
        f"each client its own\n"
    )
    print_runs(rows)
    print(f"\nmedians of {len(SEEDS)} seeded runs\n")
    print_medians(rows)
    misses = check_targets(rows)
    print(
        f"\ntargets: ≤ {TARGETS[50]}× at 50 films, ≤ {TARGETS[760]}× at 760, ≤ {MAX_CONNECTIONS} connections, "
        f"0 requests on a re-run: " + ("all met" if not misses else "missed: " + "; ".join(misses))
    )


if __name__ == "__main__":
    main()
