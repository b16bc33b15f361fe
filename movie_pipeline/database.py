"""The film database: every table, and the few generic ways to move polars frames in and out.

SQLAlchemy Core only, so the same code runs on SQLite (default) and PostgreSQL. List-valued
columns (tags, genres, cast…) are stored as JSON text so both back ends treat them alike.
"""

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeEngine

from movie_pipeline.migrations import upgrade_to_head

metadata = MetaData()

# --- ingest -------------------------------------------------------------------------------

uploads = Table(
    "uploads",
    metadata,
    Column("upload", String(120), primary_key=True),  # the partition key
    Column("source_name", Text, nullable=False),  # file or folder name as dropped
    Column("content_sha256", String(64), nullable=False),
    Column("person", Text),  # Letterboxd username, from profile.csv or the zip name
    Column("exported_at", Text),  # from the zip name, when it has one
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

# Every record of diary/watched/ratings/reviews.csv as read: raw strings, nothing parsed.
raw_rows = Table(
    "raw_rows",
    metadata,
    Column("upload", String(120), primary_key=True),
    Column("source_file", String(200), primary_key=True),
    Column("line", Integer, primary_key=True),  # physical line where the record starts; header is 1
    Column("date", Text),
    Column("name", Text),
    Column("year", Text),
    Column("letterboxd_uri", Text),
    Column("rating", Text),
    Column("rewatch", Text),
    Column("tags", Text),
    Column("watched_date", Text),
    Column("review", Text),
    Column("problem", Text),  # set when the record itself is unreadable (ragged, wrong field count)
    Column("raw", Text, nullable=False),  # the record's original text
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload", String(120), nullable=False, index=True),
    Column("source_file", String(200), nullable=False),
    Column("line", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("upload", String(120), primary_key=True),
    Column("line", Integer, primary_key=True),  # line in diary.csv
    Column("film_key", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("year", Integer),
    Column("letterboxd_uri", Text),  # the diary entry's own URI
    Column("logged_date", Date),
    Column("watched_date", Date),
    Column("rating", Float),
    Column("rewatch", Boolean, nullable=False),
    Column("tags", Text, nullable=False),  # JSON list of strings
    Column("has_review", Boolean, nullable=False),
)

films = Table(
    "films",
    metadata,
    Column("upload", String(120), primary_key=True),
    Column("film_key", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("year", Integer),
    Column("letterboxd_uri", Text),  # the film URI from watched/ratings.csv, when there is one
    Column("rating", Float),  # from ratings.csv
    Column("in_diary", Boolean, nullable=False),
)

# --- enrichment ---------------------------------------------------------------------------

film_matches = Table(
    "film_matches",
    metadata,
    Column("upload", String(120), primary_key=True),
    Column("film_key", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("year", Integer),
    Column("letterboxd_uri", Text),
    Column("tmdb_id", Integer),
    Column("status", String(16), nullable=False),  # found | not_found | pending | override
    Column("confidence", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("media_type", String(8)),  # movie | tv; null while not found
    Index("ix_film_matches_status", "status"),
)

# Shared by all uploads: a known film costs no request. TMDB numbers movies and TV apart, so ids collide: the key is
# both. A TV entry's runtime is its episode runtime × episodes, so hours add up alike.
tmdb_movies = Table(
    "tmdb_movies",
    metadata,
    Column("media_type", String(8), primary_key=True),  # movie | tv
    Column("tmdb_id", Integer, primary_key=True, autoincrement=False),
    Column("title", Text, nullable=False),
    Column("original_title", Text),
    Column("release_date", Date),
    Column("genres", Text, nullable=False),  # JSON list of names
    Column("directors", Text, nullable=False),  # JSON list of names
    Column("top_cast", Text, nullable=False),  # JSON list of up to 5 names, billing order
    Column("runtime", Integer),
    Column("overview", Text),
    Column("vote_average", Float),
    Column("vote_count", Integer),
    Column("popularity", Float),
    Column("poster_path", Text),
    Column("original_language", String(16)),
    Column("production_countries", Text, nullable=False),  # JSON list of ISO 3166-1 codes
    Column("spoken_languages", Text, nullable=False),  # JSON list of ISO 639-1 codes
    Column("imdb_id", String(16)),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
)

# Search outcomes by normalized title + year; not-found entries expire.
tmdb_search_cache = Table(
    "tmdb_search_cache",
    metadata,
    Column("query_key", String(400), primary_key=True),
    Column("tmdb_id", Integer),
    Column("status", String(16), nullable=False),  # found | not_found
    Column("confidence", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("media_type", String(8)),  # movie | tv; null while not found
)

# The top three candidates of each saved search outcome (movies and, when searched, TV), best first: what the
# matches page shows beside a doubtful or missing film.
tmdb_search_candidates = Table(
    "tmdb_search_candidates",
    metadata,
    Column("query_key", String(400), primary_key=True),  # as in tmdb_search_cache
    Column("rank", Integer, primary_key=True, autoincrement=False),  # 1..3
    Column("media_type", String(8), nullable=False),
    Column("tmdb_id", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("original_title", Text),
    Column("year", Integer),
    Column("vote_count", Integer),
    Column("popularity", Float),
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False),
)

# --- statistics ---------------------------------------------------------------------------

# Long format: one row per (period, section, item). period is "all" or a watch year.
movie_stats = Table(
    "movie_stats",
    metadata,
    Column("upload", String(120), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("section", String(64), primary_key=True),
    Column("item", String(400), primary_key=True),
    Column("rank", Integer),
    Column("value", Float),
    Column("count", Integer),
    Column("label", Text),
    Column("films_covered", Integer),  # of the films the stat could use, how many it did
    Column("films_total", Integer),
)

# --- run liveness -------------------------------------------------------------------------

# Each executing run beats here every few seconds, so a run whose process was killed can be told from a slow one
# on any Dagster instance (movie_pipeline/runs.py).
run_heartbeats = Table(
    "run_heartbeats",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("upload", String(120)),  # the run's partition key, when it has one
    Column("heartbeat_at", DateTime(timezone=True), nullable=False, index=True),
)

# --- deployment-wide TMDB budget ------------------------------------------------------------

# TMDB limits a key's request rate and an IP's connections, whatever runs them (uploads together, sweeps, UI runs,
# backfills, the refresh; any process, any Dagster instance). The film database is what every run reaches, so the
# budget lives here (tmdb/budget.py). Times are wall-clock seconds (time.time()).
tmdb_start_schedule = Table(
    "tmdb_start_schedule",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # start slots 1..TMDB_MAX_RATE; row 1 is the lock
    Column("next_start", Float, nullable=False),  # the earliest moment this slot may start a request again
)

tmdb_connection_leases = Table(
    "tmdb_connection_leases",
    metadata,
    Column("holder", String(120), primary_key=True),  # one live TMDB client: host, process, client
    Column("connections", Integer, nullable=False),  # at least as many as it has open
    Column("wanted", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),  # renewed while the client lives; a dead client's lapses
)


def make_engine(url: str) -> Engine:
    """An engine on a database migrated to this schema (migrations/). SQLite gets WAL and a busy timeout, since the
    sensors read while a run writes."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
    _migrate_once(engine)
    return engine


# URLs whose database this process has brought to head: later engines on them skip even the version check.
_migrated_urls: set[str] = set()
_migrating = threading.Lock()


def _migrate_once(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    with _migrating:
        if url not in _migrated_urls:
            upgrade_to_head(engine)
            _migrated_urls.add(url)


WAL_SWITCH_ATTEMPTS = 100  # 5 s of 50 ms waits


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """WAL is a property of the file, so only a new database switches. SQLite answers "database is locked" at once,
    without waiting out the busy timeout, when another connection is switching or writing it then: try again."""
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.05)


def replace_upload_rows(conn: Connection, table: Table, upload: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Re-materializing a partition replaces its rows: delete, then insert, in the caller's transaction."""
    conn.execute(delete(table).where(table.c.upload == upload))
    insert_rows(conn, table, rows)


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], chunk_size: int = 5000) -> None:
    for start in range(0, len(rows), chunk_size):
        conn.execute(table.insert(), list(rows[start : start + chunk_size]))


_DIALECT_INSERTS: dict[str, Callable[[Table], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def upsert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows`, replacing any with the same primary key (safe against a concurrent run of another upload)."""
    if not rows:
        return
    dialect_insert = _DIALECT_INSERTS.get(conn.dialect.name)
    if dialect_insert is None:
        raise RuntimeError(
            f"the film database is {conn.dialect.name}; movie_pipeline supports SQLite and PostgreSQL "
            f"(set MOVIE_PIPELINE_DATABASE_URL to a sqlite:/// or postgresql+psycopg:// URL)"
        )
    keys = [column.name for column in table.primary_key.columns]
    statement = dialect_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={column.name: statement.excluded[column.name] for column in table.columns if column.name not in keys},
    )
    conn.execute(statement, list(rows))


def frame_rows(
    frame: pl.DataFrame, *, upload: str | None = None, json_columns: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Rows ready for insert: list columns become JSON text, and the partition key is added."""
    if upload is not None:
        frame = frame.with_columns(upload=pl.lit(upload))
    rows = frame.to_dicts()
    for row in rows:
        for column in json_columns:
            row[column] = json.dumps(row[column] or [], ensure_ascii=False)
    return rows


def decode_json_lists(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).str.json_decode(pl.List(pl.String)) for c in columns)


def read_frame(conn: Connection, query: Select) -> pl.DataFrame:
    """Run a Core select and return a polars frame typed from the selected columns' SQL types, so an
    empty result still has real dtypes (a Null column breaks later string, list and date expressions)."""
    result = conn.execute(query)
    dtypes = {column.name: polars_dtype(column.type) for column in query.selected_columns}
    return pl.DataFrame([tuple(row) for row in result], schema=dtypes, orient="row")


def polars_dtype(sql_type: TypeEngine) -> pl.DataType | None:
    for sql_class, dtype in _POLARS_DTYPES:
        if isinstance(sql_type, sql_class):
            return dtype
    return None


# DateTime is left to inference: SQLite gives naive values, PostgreSQL timezone-aware ones.
_POLARS_DTYPES = (
    (Boolean, pl.Boolean()),
    (Integer, pl.Int64()),
    (Float, pl.Float64()),
    (Date, pl.Date()),
    (String, pl.String()),
)


def upload_frame(conn: Connection, table: Table, upload: str) -> pl.DataFrame:
    order = [c for c in table.primary_key.columns if c.name != "upload"]
    return read_frame(conn, select(table).where(table.c.upload == upload).order_by(*order))
