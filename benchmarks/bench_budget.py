"""Several enrichment clients in separate processes sharing the deployment's TMDB budget, as a printed table.

    python benchmarks/bench_budget.py            # 2, 3 and 5 clients × 100 films, on SQLite and PostgreSQL (~3 min)
    python benchmarks/bench_budget.py --quick    # 3 clients × 60 films

Each client runs enrich_films on its own films (disjoint titles of the stand-in corpus) in a spawned process, all
started at one signal, against ONE stand-in in this process that answers after 200–500 ms and answers 429 above
TMDB_MAX_RATE requests in a sliding second. Everything is measured at the server. PostgreSQL is the server at
MOVIE_PIPELINE_TEST_DATABASE_URL, in a database this script creates and drops; it is skipped, saying so, when
that server is unreachable.
"""

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import measure  # noqa: F401 (it puts the repo root, and so movie_pipeline_tests, on sys.path)
from sqlalchemy.exc import OperationalError

from movie_pipeline.database import make_engine
from movie_pipeline_tests.postgres_support import throwaway_database
from movie_pipeline_tests.test_tmdb.budget_support import (
    TMDB_CONNECTIONS_PER_IP,
    SharedBudgetRun,
    disjoint_corpus_films,
    run_clients_together,
)

TIME_RATIO_TARGET = 1.15


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'films.db'}"


def run_scenario(database, clients: int, films_per_client: int) -> SharedBudgetRun:
    with database() as url:
        make_engine(url).dispose()  # the schema, before the clients race to create it
        return run_clients_together(url, disjoint_corpus_films(clients, films_per_client, seed=clients))


def print_table(rows: list[tuple[str, SharedBudgetRun]]) -> None:
    header = (
        f"{'database':<10} {'clients':>7} {'requests':>8} {'peak/s':>6} {'cap':>4} {'429s':>5} "
        f"{'conns open':>10} {'opened':>6} {'time s':>7} {'÷(req÷rate)':>11} {'settled':>7} {'pending':>7}"
    )
    print(header)
    print("-" * len(header))
    for database, run in rows:
        print(
            f"{database:<10} {run.clients:>7} {run.requests:>8} {run.peak_starts_per_s:>6} {run.max_rate:>4} "
            f"{run.rate_limited:>5} {run.peak_open_connections:>10} {run.connections_opened:>6} {run.wall_s:>7.2f} "
            f"{run.time_ratio:>11.3f} {run.settled:>7} {run.pending:>7}"
        )


def misses(rows: list[tuple[str, SharedBudgetRun]]) -> list[str]:
    found = []
    for database, run in rows:
        where = f"{database}, {run.clients} clients"
        if run.peak_starts_per_s > run.max_rate or run.rate_limited:
            found.append(f"{where}: peak {run.peak_starts_per_s}/s, {run.rate_limited} × 429")
        if run.peak_open_connections > TMDB_CONNECTIONS_PER_IP:
            found.append(f"{where}: {run.peak_open_connections} connections open")
        if run.time_ratio > TIME_RATIO_TARGET:
            found.append(f"{where}: {run.time_ratio:.3f} × requests ÷ rate")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 clients × 60 films")
    args = parser.parse_args()
    scenarios = [(3, 60)] if args.quick else [(2, 100), (3, 100), (5, 100)]
    rows = []
    for label, database in (("SQLite", sqlite_database), ("PostgreSQL", partial(throwaway_database, "bench_budget"))):
        for clients, films in scenarios:
            try:
                rows.append((label, run_scenario(database, clients, films)))
            except OperationalError as error:
                print(f"SKIPPING {label}: {error.orig}")
                break
    print(
        f"\nenrich_films clients in separate processes on one budget: stand-in latency 0.2–0.5 s, "
        f"429 above the cap; targets: peak ≤ cap, no 429, ≤ {TMDB_CONNECTIONS_PER_IP} connections open, "
        f"time ≤ {TIME_RATIO_TARGET} × requests ÷ rate\n"
    )
    print_table(rows)
    found = misses(rows)
    print("\nall targets met" if not found else "\nmissed: " + "; ".join(found))


if __name__ == "__main__":
    main()
