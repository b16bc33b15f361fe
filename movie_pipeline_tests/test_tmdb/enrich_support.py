"""Shared pieces of the enrichment tests: credentials, configs against the stand-in, films, database reads."""

import asyncio
import csv
from dataclasses import replace
from pathlib import Path

import aiohttp
import polars as pl
from sqlalchemy import select
from sqlalchemy.engine import Engine

from movie_pipeline import database as db
from movie_pipeline.tmdb.budget import FilmDatabaseBudgetStore
from movie_pipeline.tmdb.client import RateLimitedTmdbClient
from movie_pipeline.tmdb.config import TmdbConfig

DATA = Path(__file__).parent / "data"
# Distinctive, so a leak anywhere is found by a plain substring search.
TOKEN = "tok-9f3b7c1e-SECRET-do-not-log"
API_KEY = "key-4d2a8e6b-SECRET-do-not-log"

# Well-known films (thousands of votes), each the only film of its title and year in the corpus: exactly one search and
# one details request each. Read from corpus/tmdb_5000_movies.csv by hand.
WELL_KNOWN = [
    ("Fight Club", 1999, 550),
    ("Pulp Fiction", 1994, 680),
    ("The Dark Knight", 2008, 155),
    ("Forrest Gump", 1994, 13),
    ("The Matrix", 1999, 603),
    ("Inception", 2010, 27205),
    ("Interstellar", 2014, 157336),
    ("The Shawshank Redemption", 1994, 278),
    ("Django Unchained", 2012, 68718),
    ("The Avengers", 2012, 24428),
    ("Avatar", 2009, 19995),
    ("Guardians of the Galaxy", 2014, 118340),
]


def standin_config(base_url: str, **changes) -> TmdbConfig:
    """Bearer auth with the test token; quick retries so fault tests stay fast."""
    config = TmdbConfig(
        base_url=base_url,
        read_access_token=TOKEN,
        max_concurrency=4,
        max_rate=1000,
        request_timeout_s=2.0,
        max_attempts=4,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )
    return replace(config, **changes)


def client_factory(config: TmdbConfig):
    return lambda: RateLimitedTmdbClient(config)


def films_frame(films: list[tuple[str, int | None]], uris: list[str | None] | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "film_key": [f"key-{index:04d}" for index in range(len(films))],
            "name": [name for name, _ in films],
            "year": [year for _, year in films],
            "letterboxd_uri": uris or [None] * len(films),
        },
        schema={"film_key": pl.String, "name": pl.String, "year": pl.Int32, "letterboxd_uri": pl.String},
    )


def sqlite_engine(tmp_path: Path) -> Engine:
    return db.make_engine(f"sqlite:///{tmp_path / 'films.db'}")


def matches(engine: Engine, upload: str) -> dict[str, dict]:
    """film_matches rows of the upload by film_key."""
    with engine.connect() as conn:
        rows = conn.execute(select(db.film_matches).where(db.film_matches.c.upload == upload)).mappings()
        return {row["film_key"]: dict(row) for row in rows}


def table_count(engine: Engine, table) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(table)).all())


def every_stored_text(engine: Engine) -> str:
    """Every value of every table, as text, for leak searches."""
    parts: list[str] = []
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def labelled_cases() -> list[dict[str, str]]:
    with (DATA / "matching_cases.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def max_starts_in_any_second(starts: list[float]) -> int:
    """The most request starts inside any window [t, t + 1 s), by brute force over window origins."""
    ordered = sorted(starts)
    return max(sum(1 for other in ordered if origin <= other < origin + 1.0) for origin in ordered)


async def wait_until(condition, timeout_s: float = 10.0) -> None:
    """Poll `condition` until it holds (a guard against a hung test, not a speed check)."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


class FakeStreamWriter:
    output_size = 0


class MockedResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 builds responses without the `stream_writer` aiohttp 3.14 requires
    (pnuckowski/aioresponses#289); pass this as `response_class=` to every mocked call."""

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("stream_writer", FakeStreamWriter())
        super().__init__(method, url, **kwargs)


def shared_budget_client_factory(config: TmdbConfig, engine: Engine):
    """Clients as the runs make them: on the film database's deployment-wide budget."""
    budget = FilmDatabaseBudgetStore(engine)
    return lambda: RateLimitedTmdbClient(config, budget=budget)
