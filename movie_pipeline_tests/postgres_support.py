"""Throwaway databases in the PostgreSQL server that tests and benchmarks use (MOVIE_PIPELINE_TEST_DATABASE_URL)."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_server_url() -> URL:
    return make_url(os.environ.get("MOVIE_PIPELINE_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL))


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """The URL of a new database in the test server, dropped on exit even while connections to it are open."""
    server = postgres_server_url()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
