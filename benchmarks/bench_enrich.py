"""enrich_films against the stand-in, next to the seed plan, as a printed table.

    python benchmarks/bench_enrich.py            # 50 and 1,000 films, with and without connection setup (~4 min)
    python benchmarks/bench_enrich.py --quick    # 50 films only

The stand-in answers each request after a uniform 200–500 ms (plus `connection_setup_s` on a new TCP
connection). With 10 requests in flight, no client can beat the lower bound: the sum of the latencies the
stand-in recorded, divided by 10. The seed plan is what the project started from: films in batches of 10
under asyncio.gather, a new ClientSession per request, the same matching, no database.

Each client runs in its own fresh process (so its peak RSS is its own) against its own stand-in thread in
this process. The pipeline and the seed plan of one scenario run at the same time to keep the whole
benchmark within a few minutes; both are almost entirely waiting on the stand-in's timers.
"""

import argparse
import asyncio
import multiprocessing
import random
import secrets
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import polars as pl
from measure import peak_rss_mib, reset_peak_rss_mib

from movie_pipeline.database import make_engine
from movie_pipeline.tmdb.client import RateLimitedTmdbClient
from movie_pipeline.tmdb.config import TmdbConfig
from movie_pipeline.tmdb.enrich import enrich_films
from movie_pipeline.tmdb.matching import choose_match, is_decisive
from movie_pipeline.tmdb.overrides import Overrides
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread, load_corpus

CONCURRENCY = 10
GENEROUS_RATE = 1000
LATENCY_S = (0.2, 0.5)
SEED_BATCH = 10
TARGETS = {50: 1.10, 1000: 1.03}  # pipeline wall time / lower bound
MAX_CONNECTIONS = 10


@dataclass(frozen=True)
class ClientRun:
    wall_s: float
    found: int
    peak_rss_mib: float
    rss_growth_mib: float


@dataclass(frozen=True)
class Row:
    scenario: str
    films: int
    client: str
    run: ClientRun
    requests: int
    connections: int
    bound_s: float


def corpus_films(count: int) -> list[tuple[str, int]]:
    """Real titles and years: a fixed sample of the stand-in's dated films."""
    dated = sorted((film.title, film.release_year) for film in load_corpus() if film.release_year)
    return random.Random(2017).sample(dated, count)


# --- the two clients, each run in a fresh process -----------------------------------------------------------


def run_pipeline(films: list[tuple[str, int]], base_url: str, token: str, database: str) -> ClientRun:
    frame = pl.DataFrame(
        {
            "film_key": [f"{index:05d}" for index in range(len(films))],
            "name": [name for name, _ in films],
            "year": [year for _, year in films],
            "letterboxd_uri": [None] * len(films),
        },
        schema={"film_key": pl.String, "name": pl.String, "year": pl.Int32, "letterboxd_uri": pl.String},
    )
    config = TmdbConfig(base_url=base_url, read_access_token=token, max_concurrency=CONCURRENCY, max_rate=GENEROUS_RATE)
    engine = make_engine(database)
    before = reset_peak_rss_mib()
    started = time.monotonic()
    summary = asyncio.run(
        enrich_films(
            frame,
            upload="bench",
            engine=engine,
            client_factory=lambda: RateLimitedTmdbClient(config),
            overrides=Overrides(),
            log=lambda line: None,
        )
    )
    wall = time.monotonic() - started
    peak = peak_rss_mib()
    return ClientRun(wall, summary.found + summary.overrides, peak, peak - before)


def run_seed_plan(films: list[tuple[str, int]], base_url: str, token: str, _database: str) -> ClientRun:
    before = reset_peak_rss_mib()
    started = time.monotonic()
    found = asyncio.run(seed_plan(films, base_url, token))
    wall = time.monotonic() - started
    peak = peak_rss_mib()
    return ClientRun(wall, found, peak, peak - before)


async def seed_plan(films: list[tuple[str, int]], base_url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}

    async def get(path: str, params: dict[str, str]) -> dict:
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(f"{base_url}{path}", params=params) as response,
        ):
            return await response.json()

    async def one(name: str, year: int) -> bool:
        candidates = (await get("/search/movie", {"query": name, "year": str(year)}))["results"]
        match = choose_match(name, year, candidates)
        if match is None or not is_decisive(match):
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


def measure(client, films, setup_s: float, database: str, pool_context) -> tuple[ClientRun, int, int, float]:
    token = secrets.token_urlsafe(16)
    options = StandinOptions(
        latency_s=LATENCY_S, connection_setup_s=setup_s, accepted_credentials=frozenset({token}), seed=7
    )
    with StandinThread(options) as standin, ProcessPoolExecutor(1, mp_context=pool_context) as process:
        run = process.submit(client, films, standin.base_url, token, database).result()
        records = list(standin.stats.requests)
        connections = standin.stats.connections_opened
    latencies = sum(record.end - record.start for record in records if record.end is not None)
    return run, len(records), connections, latencies / CONCURRENCY


def scenario_rows(films_count: int, setup_s: float, workdir: Path, pool_context) -> list[Row]:
    films = corpus_films(films_count)
    database = f"sqlite:///{workdir / f'bench-{films_count}-{setup_s}.db'}"
    scenario = f"setup {setup_s:g} s"
    with ThreadPoolExecutor(2) as pair:  # each thread drives one client process; see the module docstring
        pipeline = pair.submit(measure, run_pipeline, films, setup_s, database, pool_context)
        seed = pair.submit(measure, run_seed_plan, films, setup_s, database, pool_context)
        measured = [("pipeline", pipeline.result()), ("seed plan", seed.result())]
    rows = [Row(scenario, films_count, name, *result) for name, result in measured]
    rerun = measure(run_pipeline, films, setup_s, database, pool_context)
    rows.append(Row(scenario, films_count, "pipeline, re-run", *rerun))
    return rows


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'scenario':<12} {'films':>5}  {'client':<17} {'wall s':>7} {'bound s':>7} {'÷bound':>6} "
        f"{'÷pipeline bound':>15} {'requests':>8} {'TCP conns':>9} {'found':>5} {'peak RSS MiB':>12} {'(+run)':>7}"
    )
    print(header)
    print("-" * len(header))
    bounds = {(row.scenario, row.films): row.bound_s for row in rows if row.client == "pipeline"}
    for row in rows:
        pipeline_bound = bounds[(row.scenario, row.films)]
        ratio = f"{row.run.wall_s / row.bound_s:.3f}" if row.bound_s else "-"
        print(
            f"{row.scenario:<12} {row.films:>5}  {row.client:<17} {row.run.wall_s:>7.2f} {row.bound_s:>7.2f} "
            f"{ratio:>6} {row.run.wall_s / pipeline_bound:>15.3f} {row.requests:>8} {row.connections:>9} "
            f"{row.run.found:>5} {row.run.peak_rss_mib:>12.1f} {row.run.rss_growth_mib:>+7.1f}"
        )


def check_targets(rows: list[Row]) -> list[str]:
    misses = []
    for row in rows:
        if row.client == "pipeline" and row.run.wall_s / row.bound_s > TARGETS[row.films]:
            misses.append(f"{row.scenario}, {row.films} films: {row.run.wall_s / row.bound_s:.3f}× the bound")
        if row.client.startswith("pipeline") and row.connections > MAX_CONNECTIONS:
            misses.append(f"{row.scenario}, {row.films} films, {row.client}: {row.connections} connections")
        if row.client == "pipeline, re-run" and row.requests:
            misses.append(f"{row.scenario}, {row.films} films: the re-run made {row.requests} requests")
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 films only")
    args = parser.parse_args()
    sizes = [50] if args.quick else [50, 1000]
    spawn = multiprocessing.get_context("spawn")  # the stand-in threads make fork unsafe
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as workdir:
        for setup_s in (0.0, 0.1):
            for size in sizes:
                rows += scenario_rows(size, setup_s, Path(workdir), spawn)
    print(
        f"\nenrich_films vs the seed plan: stand-in latency {LATENCY_S[0]:g}–{LATENCY_S[1]:g} s, "
        f"{CONCURRENCY} in flight, rate limit {GENEROUS_RATE}/s\n"
        f"bound = sum of the latencies the stand-in recorded ÷ {CONCURRENCY}; "
        f"targets: ≤ {TARGETS[50]}× at 50 films, ≤ {TARGETS[1000]}× at 1,000, ≤ {MAX_CONNECTIONS} connections, "
        f"0 requests on a re-run\n"
    )
    print_table(rows)
    misses = check_targets(rows)
    print("\nall targets met" if not misses else "\nmissed: " + "; ".join(misses))


if __name__ == "__main__":
    main()
