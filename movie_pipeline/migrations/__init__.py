"""Alembic revisions of the film database (versions/), and `upgrade_to_head`, which brings any database to them.

An empty database is built by the revisions. One made by `metadata.create_all` before migrations existed has the
baseline's tables but no `alembic_version`: it is stamped as the baseline, then upgraded like any other.
Runs and sensor ticks start in parallel, so the upgrade runs under a lock: a file beside a SQLite database, an
advisory lock in PostgreSQL.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection, Engine

BASELINE = "0001_baseline"
# Every film database has had this table since the first release; its presence tells a pre-migration database.
_BASELINE_MARKER_TABLE = "uploads"
# Any fixed 64-bit number ("movie" in ASCII, then 01): every process migrating a PostgreSQL film database takes it.
_ADVISORY_LOCK_KEY = 0x6D6F766965_01


def alembic_config(connection: Connection | None = None) -> Config:
    """The revisions inside the package, so an installed copy finds them without alembic.ini."""
    config = Config()
    config.set_main_option("script_location", "movie_pipeline:migrations")
    config.attributes["connection"] = connection
    return config


@cache
def _head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade_to_head(engine: Engine) -> None:
    """Stamp a pre-migration database as the baseline and apply every revision it lacks; a database at head costs
    one read of `alembic_version` and takes no lock."""
    with engine.connect() as conn:
        if _is_at_head(conn):
            return
    with _migration_lock(engine) as conn:
        if _is_at_head(conn):  # another process migrated while we waited
            return
        if _made_before_migrations(conn):
            command.stamp(alembic_config(conn), BASELINE)
        command.upgrade(alembic_config(conn), "head")


def _is_at_head(conn: Connection) -> bool:
    return set(MigrationContext.configure(conn).get_current_heads()) == _head_revisions()


def _made_before_migrations(conn: Connection) -> bool:
    return MigrationContext.configure(conn).get_current_revision() is None and inspect(conn).has_table(
        _BASELINE_MARKER_TABLE
    )


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that only one process at a time holds, committed when the block ends."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            # The one SQL function call outside database.py's tables: PostgreSQL's own lock, released at commit.
            conn.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))
            yield conn
        return
    if engine.url.database in (None, "", ":memory:"):
        with engine.begin() as conn:  # a private in-memory SQLite has no one to race with
            yield conn
        return
    with FileLock(migration_lock_path(engine)), engine.begin() as conn:
        yield conn


def migration_lock_path(engine: Engine) -> Path:
    """The lock file beside a SQLite database file."""
    database = Path(str(engine.url.database))
    return database.with_name(database.name + ".migration.lock")
