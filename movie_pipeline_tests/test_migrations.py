"""Schema migrations on SQLite and PostgreSQL: a database made before migrations keeps every row through the upgrade,
an empty one is built to the live schema, and processes racing on first use end with one schema."""

import multiprocessing
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Row,
    Table,
    create_engine,
    select,
)

from movie_pipeline import database as db
from movie_pipeline.migrations import (
    BASELINE,
    alembic_config,
    head_revisions,
    migration_lock_path,
    upgrade_to_head,
)

SCHEMA_FIXTURES = Path(__file__).parent / "fixtures" / "schema"
HEAD = "0004_tmdb_tv_and_candidates"
# Tables made after the last release before migrations (the baseline): revisions 0002 and 0004 add them.
ADDED_SINCE_BASELINE = {"run_heartbeats", "tmdb_start_schedule", "tmdb_connection_leases", "tmdb_search_candidates"}
RACERS = 4

# Rows of film_matches by status: the found and overridden ones have a TMDB id, and only they become movies.
MATCHES = {"found": 603, "override": 680, "pending": None, "not_found": None}


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path) -> Iterator[Callable[[], str]]:
    """Makes URLs of empty databases: SQLite files, or databases of the test PostgreSQL (dropped afterwards)."""
    if request.param == "sqlite":
        yield lambda: f"sqlite:///{tmp_path / uuid.uuid4().hex[:8]}.db"
    else:
        yield request.getfixturevalue("new_postgres_database")


def build_from_baseline_ddl(url: str) -> MetaData:
    """A film database as `metadata.create_all` made it before migrations; returns its reflected tables."""
    engine = create_engine(url)
    ddl = (SCHEMA_FIXTURES / f"baseline_{engine.dialect.name}.sql").read_text()
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";\n")):
            conn.exec_driver_sql(statement)
    reflected = MetaData()
    reflected.reflect(engine)
    engine.dispose()
    return reflected


def sample_value(column, index: int):
    kind = column.type
    if isinstance(kind, Boolean):
        return index % 2 == 0
    if isinstance(kind, Integer):
        return index + 1
    if isinstance(kind, Float):
        return index + 0.5
    if isinstance(kind, DateTime):
        return datetime(2024, 1, index + 1, 12, 30, tzinfo=UTC)
    if isinstance(kind, Date):
        return date(2024, 1, index + 1)
    return f"{column.name[:5]} {index}"


def sample_rows(table: Table) -> list[dict]:
    rows = [{column.name: sample_value(column, index) for column in table.columns} for index in range(len(MATCHES))]
    if table.name == "film_matches":
        for row, (status, tmdb_id) in zip(rows, MATCHES.items(), strict=True):
            row.update(status=status, tmdb_id=tmdb_id)
    return rows


def all_rows(url: str, tables: MetaData) -> dict[str, Sequence[Row[Any]]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = {
            name: conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            for name, table in tables.tables.items()
        }
    engine.dispose()
    return rows


def schema_differences(url: str, target: MetaData) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), target)
    engine.dispose()
    return differences


def revisions(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        heads = list(MigrationContext.configure(conn).get_current_heads())
    engine.dispose()
    return heads


def test_a_database_made_before_migrations_is_stamped_then_upgraded_and_keeps_every_row(new_database):
    url = new_database()
    baseline = build_from_baseline_ddl(url)
    assert set(baseline.tables) == set(db.metadata.tables) - ADDED_SINCE_BASELINE
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in baseline.sorted_tables:
            conn.execute(table.insert(), sample_rows(table))
    engine.dispose()
    before = all_rows(url, baseline)

    db.make_engine(url).dispose()

    assert all_rows(url, baseline) == before
    assert all(len(rows) == len(MATCHES) for rows in before.values())
    assert revisions(url) == [HEAD]
    assert schema_differences(url, db.metadata) == []  # the live schema: the tables added since the baseline too
    engine = create_engine(url)
    with engine.connect() as conn:
        media_types = dict(conn.execute(select(db.film_matches.c.status, db.film_matches.c.media_type)).all())
    engine.dispose()
    assert media_types == {"found": "movie", "override": "movie", "pending": None, "not_found": None}
    assert kinds_by_id(url, db.tmdb_movies) == {row.tmdb_id: "movie" for row in before["tmdb_movies"]}
    found_searches = {row.tmdb_id: "movie" for row in before["tmdb_search_cache"] if row.tmdb_id is not None}
    assert kinds_by_id(url, db.tmdb_search_cache) == found_searches


def kinds_by_id(url: str, table: Table) -> dict[int | None, str | None]:
    engine = create_engine(url)
    with engine.connect() as conn:
        kinds = dict(conn.execute(select(table.c.tmdb_id, table.c.media_type)).all())
    engine.dispose()
    return kinds


def test_the_baseline_revision_builds_the_frozen_ddl(new_database):
    from_ddl, from_revision = new_database(), new_database()
    frozen = build_from_baseline_ddl(from_ddl)
    engine = create_engine(from_revision)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
    engine.dispose()
    assert schema_differences(from_revision, frozen) == []


def test_downgrades_step_back_to_the_frozen_ddl_and_then_to_nothing(new_database):
    frozen, url = build_from_baseline_ddl(new_database()), new_database()
    db.make_engine(url).dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), BASELINE)
    assert schema_differences(url, frozen) == []
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert schema_differences(url, MetaData()) == []
    engine.dispose()


def test_a_downgrade_below_tv_keeps_the_movies_and_sends_tv_matches_back_to_matching(new_database):
    url = new_database()
    engine = db.make_engine(url)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    entry = {column.name: sample_value(column, 0) for column in db.tmdb_movies.columns}
    match = {column.name: sample_value(column, 0) for column in db.film_matches.columns}
    with engine.begin() as conn:  # movie 87108 and TV 87108 are different entries
        conn.execute(
            db.tmdb_movies.insert(), [{**entry, "media_type": kind, "tmdb_id": 87108} for kind in ("movie", "tv")]
        )
        conn.execute(
            db.film_matches.insert(),
            [
                {**match, "film_key": "film", "media_type": "movie", "tmdb_id": 87108, "status": "found"},
                {**match, "film_key": "series", "media_type": "tv", "tmdb_id": 87108, "status": "found"},
            ],
        )
        conn.execute(
            db.tmdb_search_cache.insert(),
            [
                {
                    "query_key": key,
                    "tmdb_id": 87108,
                    "status": "found",
                    "confidence": 0.9,
                    "reason": "r",
                    "fetched_at": at,
                }
                | {"media_type": kind}
                for key, kind in (("film|", "movie"), ("series|", "tv"))
            ],
        )
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003_film_matches_media_type")
    before = MetaData()
    before.reflect(engine)
    engine.dispose()
    rows = all_rows(url, before)
    assert [(row.tmdb_id, row.title) for row in rows["tmdb_movies"]] == [(87108, entry["title"])]
    assert [row.query_key for row in rows["tmdb_search_cache"]] == ["film|"]
    assert {row.film_key: (row.status, row.tmdb_id, row.media_type) for row in rows["film_matches"]} == {
        "film": ("found", 87108, "movie"),
        "series": ("pending", None, None),
    }
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    engine.dispose()
    assert schema_differences(url, db.metadata) == []
    assert kinds_by_id(url, db.tmdb_movies) == {87108: "movie"}


def test_an_empty_database_is_migrated_to_the_live_schema(new_database):
    url = new_database()
    db.make_engine(url).dispose()
    assert revisions(url) == [HEAD]
    assert schema_differences(url, db.metadata) == []


def migrate_after(barrier: threading.Barrier, url: str) -> None:
    barrier.wait()
    db.make_engine(url).dispose()


def test_processes_and_threads_racing_on_first_use_end_with_one_schema(new_database):
    url = new_database()
    spawn = multiprocessing.get_context("spawn")
    process_barrier = spawn.Barrier(RACERS)
    processes = [spawn.Process(target=migrate_after, args=(process_barrier, url)) for _ in range(RACERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * RACERS

    threads_url = new_database()
    thread_barrier = threading.Barrier(RACERS)
    with ThreadPoolExecutor(RACERS) as pool:
        racers = [pool.submit(migrate_after, thread_barrier, threads_url) for _ in range(RACERS)]
        for racer in racers:
            racer.result(timeout=120)  # raises what the racer raised

    for migrated in (url, threads_url):
        assert revisions(migrated) == [HEAD]
        assert schema_differences(migrated, db.metadata) == []


def test_a_database_at_head_is_checked_without_waiting_for_the_lock(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'films.db'}")
    with FileLock(migration_lock_path(engine)):  # as if another process were migrating
        checker = threading.Thread(target=upgrade_to_head, args=(engine,), daemon=True)
        checker.start()
        checker.join(timeout=10)
        assert not checker.is_alive()
    engine.dispose()


def test_the_heads_read_without_alembic_are_alembics():
    assert head_revisions() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads()) == {HEAD}


def test_a_process_on_a_database_at_head_never_imports_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'films.db'}"
    db.make_engine(url).dispose()
    # What a run worker does before its first step: load the code location, then make the film database's engine.
    probe = (
        "import sys; import movie_pipeline.definitions; from movie_pipeline import database as db; "
        f"db.make_engine({url!r}); print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
