"""One TMDB budget for the whole deployment: clients in separate processes share the rate and the connections."""

import time

import pytest
from sqlalchemy import update

from movie_pipeline import database as db
from movie_pipeline.tmdb.budget import (
    START_WINDOW_S,
    FilmDatabaseBudgetStore,
    Lease,
    fair_shares,
    grant,
    reserve_on_slots,
)
from movie_pipeline_tests.test_tmdb.budget_support import (
    TMDB_CONNECTIONS_PER_IP,
    disjoint_corpus_films,
    run_clients_together,
)

CLIENTS = 3
FILMS_PER_CLIENT = 40


def test_connections_are_shared_max_min_fairly():
    assert fair_shares(20, {"a": 10}) == {"a": 10}
    assert fair_shares(20, {"a": 10, "b": 10}) == {"a": 10, "b": 10}
    assert fair_shares(20, {"c": 10, "a": 10, "b": 10}) == {"a": 7, "b": 7, "c": 6}
    assert fair_shares(20, {"a": 3, "b": 10, "c": 10}) == {"a": 3, "b": 9, "c": 8}
    assert sum(fair_shares(20, {f"h{i}": 10 for i in range(25)}).values()) == 20


def test_a_newcomer_gets_only_what_others_have_given_back():
    holding_all = {"a": Lease(connections=10, wanted=10), "b": Lease(connections=10, wanted=10)}
    assert grant("c", 10, 20, holding_all) == 0
    after_shrinking = {"a": Lease(connections=7, wanted=10), "b": Lease(connections=7, wanted=10)}
    assert grant("c", 10, 20, after_shrinking) == 6


def starts_within(starts: list[float], window_s: float) -> int:
    """The most starts inside any window [t, t + window_s), by brute force over window origins."""
    return max(sum(1 for other in starts if origin <= other < origin + window_s) for origin in starts)


def test_starts_go_at_once_while_the_window_has_room_and_wait_only_when_it_is_full():
    window = START_WINDOW_S
    starts, changed = reserve_on_slots({}, 9, 4, now=100.0)
    assert starts == [100.0] * 4 + [100.0 + window] * 4 + [100.0 + 2 * window]
    assert starts_within(starts, window) == 4
    assert changed == {1: 100.0 + 3 * window, 2: 100.0 + 2 * window, 3: 100.0 + 2 * window, 4: 100.0 + 2 * window}


def test_a_held_slot_waits_for_the_hold_while_a_free_one_carries_on():
    window = START_WINDOW_S
    starts, changed = reserve_on_slots({1: 500.0, 2: 50.0}, 3, 2, now=100.0)
    assert starts == [100.0, 100.0 + window, 100.0 + 2 * window]
    assert changed == {2: 100.0 + 3 * window}


def test_starts_reserved_by_two_processes_on_one_database_keep_the_window(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'films.db'}")
    first_store, second_store = FilmDatabaseBudgetStore(engine), FilmDatabaseBudgetStore(engine)
    starts = []
    for store, count in ((first_store, 3), (second_store, 2), (first_store, 1), (second_store, 3)):
        starts += store.reserve_starts(count, 4)
    assert starts == sorted(starts)
    assert starts_within(starts, START_WINDOW_S - 1e-6) == 4  # wall-clock floats near 1.7e9 s resolve ~0.2 µs
    held_until = time.time() + 5
    second_store.hold_starts_until(held_until)
    assert min(first_store.reserve_starts(4, 4)) >= held_until


def test_a_dead_clients_lease_lapses_and_its_connections_go_to_the_living(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'films.db'}")
    store = FilmDatabaseBudgetStore(engine)
    assert store.lease_connections("dead", 0, 10, 20) == 10
    assert store.lease_connections("alive", 0, 15, 20) == 10
    leases = db.tmdb_connection_leases
    with engine.begin() as conn:  # as if "dead" had stopped renewing LEASE_TTL_S ago
        conn.execute(update(leases).where(leases.c.holder == "dead").values(expires_at=time.time() - 1))
    assert store.lease_connections("alive", 10, 15, 20) == 15
    store.end_lease("alive")
    assert store.lease_connections("next", 0, 20, 20) == 20


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
