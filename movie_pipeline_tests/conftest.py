"""Shared fixtures: a temp data folder and film database per test, and a throwaway PostgreSQL database."""

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from movie_pipeline.resources import PipelineStorage

FIXTURES = Path(__file__).parent / "fixtures"
LETTERBOXD = FIXTURES / "letterboxd"
DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "data" / "uploads").mkdir(parents=True)
    return tmp_path / "data"


@pytest.fixture
def storage(data_dir: Path) -> PipelineStorage:
    return PipelineStorage(data_dir=str(data_dir), database_url=f"sqlite:///{data_dir / 'movie_pipeline.db'}")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A fresh database inside the test server, dropped afterwards. Skips loudly off CI; fails in CI."""
    server_url = make_url(os.environ.get("MOVIE_PIPELINE_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL))
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"movie_pipeline_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any connection failure means "no server here"
        message = f"PostgreSQL at {server_url.render_as_string(hide_password=True)} is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(f"SKIPPING POSTGRES TESTS: {message}")
    yield server_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
