"""Alembic's entry point. The pipeline hands in a connection it holds under the migration lock
(migrations.upgrade_to_head); the `alembic` command line gets a plain engine on MOVIE_PIPELINE_DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from movie_pipeline.database import metadata
from movie_pipeline.settings import load_settings


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters most things only by copying the table; autogenerate then writes batch operations that do so.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("movie_pipeline migrations run against a live database; drop --sql")

handed_in = context.config.attributes.get("connection")
if handed_in is not None:
    run_migrations(handed_in)
else:
    engine = create_engine(load_settings().database_url)
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()
