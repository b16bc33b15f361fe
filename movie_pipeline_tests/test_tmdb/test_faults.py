"""enrich_films under TMDB's faults (5xx, hangs, invalid JSON, 429 with and without Retry-After, resets before and
in the middle of an answer): every film ends as a fault-free run leaves it, and none is not_found by accident."""

import random

from movie_pipeline.tmdb.enrich import enrich_films
from movie_pipeline.tmdb.overrides import Overrides
from movie_pipeline.tmdb.standin import StandinOptions, load_corpus, running_standin
from movie_pipeline_tests.test_tmdb.enrich_support import (
    client_factory,
    films_frame,
    matches,
    sqlite_engine,
    standin_config,
)

FAULT_MIX = {
    "500": 0.05,
    "503": 0.05,
    "hang": 0.02,
    "invalid-json": 0.02,
    "429": 0.01,
    "429-no-retry-after": 0.01,
    "reset": 0.01,
    "reset-mid-body": 0.02,
}
# Two attempts per request, so some films are left pending and settle only in a later run.
FAULT_CONFIG = {"max_concurrency": 10, "request_timeout_s": 0.5, "max_attempts": 2}
MAX_RUNS = 8
UPLOAD = "faults"


def sample_films() -> list[tuple[str, int | None]]:
    """Real corpus films (some dated a year off, as people do), and titles TMDB has never heard of."""
    draw = random.Random(11)
    dated = sorted((film.title, film.release_year) for film in load_corpus() if film.release_year)
    real = draw.sample(dated, 220)
    year_off = [(title, year + 1) for title, year in real[:20]]
    invented = [(f"Quorbleflux {draw.randrange(10**6)} Zyxt", draw.randrange(1950, 2020)) for _ in range(20)]
    return [*real[20:], *year_off, *invented]


async def enrich_until_settled(engine, standin, films, config_changes) -> list[dict[str, dict]]:
    """Run enrichment again while films are pending (as the sweep does); the rows after each run."""
    config = standin_config(standin.base_url, **config_changes)
    after_each_run = []
    for _ in range(MAX_RUNS):
        await enrich_films(
            films,
            upload=UPLOAD,
            engine=engine,
            client_factory=client_factory(config),
            overrides=Overrides(),
            log=lambda line: None,
        )
        after_each_run.append(matches(engine, UPLOAD))
        if all(row["status"] != "pending" for row in after_each_run[-1].values()):
            break
    return after_each_run


def outcome(row: dict) -> tuple:
    return row["status"], row["tmdb_id"], row["reason"] if row["status"] == "not_found" else None


async def test_every_film_ends_as_without_faults_and_none_is_not_found_by_a_transient_error(tmp_path):
    films = films_frame(sample_films())
    (tmp_path / "clean").mkdir()
    (tmp_path / "faulty").mkdir()
    async with running_standin(StandinOptions(latency_s=(0.001, 0.005))) as clean:
        fault_free = (await enrich_until_settled(sqlite_engine(tmp_path / "clean"), clean, films, {}))[-1]
    faulty_options = StandinOptions(latency_s=(0.001, 0.005), fault_rates=FAULT_MIX, seed=5)
    async with running_standin(faulty_options) as faulty:
        runs = await enrich_until_settled(sqlite_engine(tmp_path / "faulty"), faulty, films, FAULT_CONFIG)

    expected = {key: outcome(row) for key, row in fault_free.items()}
    statuses = {status for status, _, _ in expected.values()}
    assert set(expected) == set(films["film_key"]) and statuses == {"found", "not_found"}
    assert faulty.stats.faults().keys() == FAULT_MIX.keys()
    assert len(runs) > 1, "the fault mix should leave films for a later run"
    assert any(row["status"] == "pending" for row in runs[0].values())
    for rows in runs:
        not_found = {key for key, row in rows.items() if row["status"] == "not_found"}
        assert not_found <= {key for key, (status, _, _) in expected.items() if status == "not_found"}
    assert {key: outcome(row) for key, row in runs[-1].items()} == expected
