"""Shared fixtures: a temp data folder and film database, a test Dagster instance, throwaway PostgreSQL databases."""

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pytest

from movie_pipeline.resources import PipelineStorage
from movie_pipeline_tests.postgres_support import postgres_server_url, throwaway_database

FIXTURES = Path(__file__).parent / "fixtures"
LETTERBOXD = FIXTURES / "letterboxd"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "data" / "uploads").mkdir(parents=True)
    return tmp_path / "data"


@pytest.fixture
def storage(data_dir: Path) -> PipelineStorage:
    return PipelineStorage(data_dir=str(data_dir), database_url=f"sqlite:///{data_dir / 'movie_pipeline.db'}")


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def new_postgres_database() -> Iterator[Callable[[], str]]:
    """Makes fresh databases in the test server, all dropped afterwards. Skips loudly off CI; fails in CI."""
    with ExitStack() as databases:

        def new() -> str:
            try:
                return databases.enter_context(throwaway_database("movie_pipeline_test"))
            except Exception as error:  # any connection failure means "no server here"
                server = postgres_server_url().render_as_string(hide_password=True)
                message = f"PostgreSQL at {server} is unreachable: {error}"
                if os.environ.get("CI") == "true":
                    pytest.fail(message)
                pytest.skip(f"SKIPPING POSTGRES TESTS: {message}")

        yield new


@pytest.fixture
def postgres_url(new_postgres_database: Callable[[], str]) -> str:
    """A fresh database in the test server, dropped afterwards."""
    return new_postgres_database()
