"""Alembic revisions of the film database (versions/), and `upgrade_to_head`, which brings any database to them.

An empty database is built by the revisions. One made by `metadata.create_all` before migrations existed has the
baseline's tables but no `alembic_version`: it is stamped as the baseline, then upgraded like any other.
Runs and sensor ticks start in parallel, so the upgrade runs under a lock: a file beside a SQLite database, an
advisory lock in PostgreSQL.

A database already at head is told apart without Alembic: it and Mako are a quarter of what a run worker imports
beyond Dagster before its first step, and every run worker makes an engine. Alembic is imported only to migrate.
"""

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock
from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

BASELINE = "0001_baseline"
# Every film database has had this table since the first release; its presence tells a pre-migration database.
_BASELINE_MARKER_TABLE = "uploads"
VERSIONS = Path(__file__).parent / "versions"
_VERSION_TABLE = table("alembic_version", column("version_num"))  # Alembic's own table, as Alembic names it
# Any fixed 64-bit number ("movie" in ASCII, then 01): every process migrating a PostgreSQL film database takes it.
_ADVISORY_LOCK_KEY = 0x6D6F766965_01


def alembic_config(connection: Connection | None = None) -> "Config":
    """The revisions inside the package, so an installed copy finds them without alembic.ini."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "movie_pipeline:migrations")
    config.attributes["connection"] = connection
    return config


@cache
def head_revisions() -> frozenset[str]:
    """The revisions no other revision builds on, read from the `revision` and `down_revision` lines of versions/."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        for statement in ast.parse(script.read_text(encoding="utf-8")).body:
            if not isinstance(statement, ast.Assign):  # script.py.mako writes `revision = "..."`
                continue
            target = statement.targets[0]
            if not (isinstance(target, ast.Name) and target.id in ("revision", "down_revision")):
                continue
            value = ast.literal_eval(statement.value)  # a string, None, or a tuple of strings for a merge
            if target.id == "revision":
                revisions.add(value)
            elif value is not None:
                built_on.update([value] if isinstance(value, str) else value)
    return frozenset(revisions - built_on)


def upgrade_to_head(engine: Engine) -> None:
    """Stamp a pre-migration database as the baseline and apply every revision it lacks; a database at head costs
    one read of `alembic_version` and takes no lock."""
    with engine.connect() as conn:
        if _is_at_head(conn):
            return
    from alembic import command

    with _migration_lock(engine) as conn:
        if _is_at_head(conn):  # another process migrated while we waited
            return
        if _made_before_migrations(conn):
            command.stamp(alembic_config(conn), BASELINE)
        command.upgrade(alembic_config(conn), "head")


def _current_revisions(conn: Connection) -> set[str]:
    if not inspect(conn).has_table(_VERSION_TABLE.name):
        return set()
    return set(conn.scalars(select(_VERSION_TABLE.c.version_num)))


def _is_at_head(conn: Connection) -> bool:
    return _current_revisions(conn) == head_revisions()


def _made_before_migrations(conn: Connection) -> bool:
    return not _current_revisions(conn) and inspect(conn).has_table(_BASELINE_MARKER_TABLE)


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
