"""One TMDB budget for the whole deployment: clients in separate processes share the rate and the connections."""

import pytest

from movie_pipeline import database as db
from movie_pipeline_tests.test_tmdb.budget_support import (
    TMDB_CONNECTIONS_PER_IP,
    disjoint_corpus_films,
    run_clients_together,
)

CLIENTS = 3
FILMS_PER_CLIENT = 40


def assert_one_budget(database_url: str) -> None:
    db.make_engine(database_url).dispose()  # the schema, before the clients race to create it
    run = run_clients_together(database_url, disjoint_corpus_films(CLIENTS, FILMS_PER_CLIENT))
    print(f"\n{run.line()}")
    assert run.settled == CLIENTS * FILMS_PER_CLIENT and run.pending == 0
    assert run.peak_starts_per_s <= run.max_rate
    assert run.rate_limited == 0
    assert run.peak_open_connections <= TMDB_CONNECTIONS_PER_IP


def test_clients_in_separate_processes_share_one_rate_and_twenty_connections_on_sqlite(tmp_path):
    assert_one_budget(f"sqlite:///{tmp_path / 'films.db'}")


@pytest.mark.postgres
def test_clients_in_separate_processes_share_one_rate_and_twenty_connections_on_postgresql(postgres_url):
    assert_one_budget(postgres_url)
