"""The whole chain materialized in process against the loopback TMDB stand-in."""

import csv
import shutil
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import func, select

from movie_pipeline import database as db
from movie_pipeline.assets.enrichment import enriched_movies
from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.assets.stats import movie_stats
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.resources import PipelineStorage, TmdbResource
from movie_pipeline.sensors.enrichment_sweep_sensor import enrichment_sweep_sensor
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread
from movie_pipeline_tests.conftest import LETTERBOXD
from movie_pipeline_tests.materialize_support import drop_two_film_diary, metadata_of

TOKEN = "chain-test-token-5b1e9c"
ALL_ASSETS = [raw_diary, parsed_movies, enriched_movies, movie_stats]


@pytest.fixture(scope="module")
def standin():
    with StandinThread(StandinOptions(accepted_credentials=frozenset({TOKEN}))) as standin:
        yield standin


def run_chain(storage, tmdb, instance, key, assets=ALL_ASSETS) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions(uploads_partitions.name, [key])
    return dg.materialize(
        assets, partition_key=key, instance=instance, resources={"storage": storage, "tmdb": tmdb}, raise_on_error=False
    )


def drop_melvin(data_dir) -> str:
    return upload_key(shutil.copytree(LETTERBOXD / "melvincarvalho", data_dir / "uploads" / "melvincarvalho"))


def test_the_chain_enriches_and_a_rerun_costs_no_request(standin, storage, data_dir, instance):
    tmdb = TmdbResource(base_url=standin.base_url, read_access_token=TOKEN, max_rate=200)
    key = drop_melvin(data_dir)
    before = standin.stats.request_count

    first = run_chain(storage, tmdb, instance, key)

    assert first.success
    films = metadata_of(first, "parsed_movies")["films"]
    enriched = metadata_of(first, "enriched_movies")
    assert enriched["dagster/row_count"] == films
    assert enriched["found"] + enriched["not_found"] + enriched["pending"] + enriched["overrides"] == films
    assert enriched["found"] > 0 and enriched["pending"] == 0
    # The client may resend once on a dropped keep-alive connection, never fewer than it counted.
    assert standin.stats.request_count - before >= enriched["tmdb_requests"] >= 2 * enriched["found"]
    stats = metadata_of(first, "movie_stats")
    with storage.engine().connect() as conn:
        stored_stats = conn.scalar(
            select(func.count()).select_from(db.movie_stats).where(db.movie_stats.c.upload == key)
        )
        statuses = dict(
            conn.execute(
                select(db.film_matches.c.status, func.count())
                .where(db.film_matches.c.upload == key)
                .group_by(db.film_matches.c.status)
            ).all()
        )
    assert stats["dagster/row_count"] == stored_stats > 0
    assert statuses.get("found", 0) == enriched["found"] and statuses.get("not_found", 0) == enriched["not_found"]
    report = stats["report_path"]
    assert report.startswith("/") and "This product uses the TMDB API" in Path(report).read_text(encoding="utf-8")

    again_before = standin.stats.request_count
    second = run_chain(storage, tmdb, instance, key, [enriched_movies, movie_stats])
    again = metadata_of(second, "enriched_movies")
    assert (again["tmdb_requests"], again["cache_hits"]) == (0, films)
    assert standin.stats.request_count == again_before


def test_the_token_never_reaches_logs_events_or_the_database(standin, storage, data_dir, instance, capfd):
    tmdb = TmdbResource(base_url=standin.base_url, read_access_token=TOKEN, max_rate=200)
    key = drop_melvin(data_dir)
    result = run_chain(storage, tmdb, instance, key)
    assert result.success

    events = "\n".join(repr(record) for record in instance.all_logs(result.run_id))
    run_config = repr(instance.get_run_by_id(result.run_id))
    with storage.engine().connect() as conn:
        dumped = "\n".join(repr(row) for table in db.metadata.sorted_tables for row in conn.execute(select(table)))
    captured = capfd.readouterr()
    for text in (events, run_config, dumped, captured.out, captured.err):
        assert TOKEN not in text
    assert "found" in dumped and key in events


def test_without_credentials_enrichment_fails_naming_the_variables(standin, storage, data_dir, instance):
    key = drop_melvin(data_dir)
    result = run_chain(storage, TmdbResource(base_url=standin.base_url), instance, key)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "enriched_movies"
    message = failure.step_failure_data.user_failure_data.description
    assert "TMDB_API_KEY" in message and "TMDB_READ_ACCESS_TOKEN" in message


def test_a_rejected_token_stops_the_run_and_marks_nothing(standin, storage, data_dir, instance):
    key = drop_melvin(data_dir)
    wrong = "not-the-right-token"
    result = run_chain(storage, TmdbResource(base_url=standin.base_url, read_access_token=wrong), instance, key)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert "401" in message or "rejected" in message.lower() or "invalid" in message.lower()
    assert wrong not in message
    with storage.engine().connect() as conn:
        statuses = set(conn.scalars(select(db.film_matches.c.status).where(db.film_matches.c.upload == key)))
    assert statuses <= {"pending"}


@pytest.mark.postgres
def test_the_chain_on_postgres(standin, postgres_url, data_dir, instance):
    storage = PipelineStorage(data_dir=str(data_dir), database_url=postgres_url)
    tmdb = TmdbResource(base_url=standin.base_url, read_access_token=TOKEN, max_rate=200)
    key = drop_melvin(data_dir)
    result = run_chain(storage, tmdb, instance, key)
    assert result.success
    enriched = metadata_of(result, "enriched_movies")
    with storage.engine().connect() as conn:
        matched = conn.scalar(select(func.count()).select_from(db.film_matches).where(db.film_matches.c.upload == key))
    assert matched == enriched["dagster/row_count"] == metadata_of(result, "parsed_movies")["films"]
    storage.engine().dispose()


def test_films_left_pending_still_materialize_and_the_sweep_settles_them(storage, data_dir, instance):
    diary = drop_two_film_diary(data_dir)
    key = upload_key(diary)
    with StandinThread(StandinOptions(fault_rates={"503": 1.0})) as down:
        first = run_chain(storage, TmdbResource(base_url=down.base_url, read_access_token=TOKEN), instance, key)
    assert first.success, "TMDB being down must not fail the run"
    assert (metadata_of(first, "enriched_movies")["pending"], metadata_of(first, "enriched_movies")["found"]) == (2, 0)
    assert "TMDB details for 0 of 2 films (2 still pending)" in metadata_of(first, "movie_stats")["summary"]

    with dg.build_sensor_context(
        instance=instance,
        resources={"storage": storage, "tmdb": TmdbResource(base_url="http://127.0.0.1:9/3", read_access_token=TOKEN)},
    ) as context:
        (request,) = enrichment_sweep_sensor(context).run_requests
    assert request.partition_key == key

    with StandinThread(StandinOptions()) as up:
        swept = run_chain(
            storage,
            TmdbResource(base_url=up.base_url, read_access_token=TOKEN),
            instance,
            key,
            [enriched_movies, movie_stats],
        )
    assert (metadata_of(swept, "enriched_movies")["pending"], metadata_of(swept, "enriched_movies")["found"]) == (0, 2)


def test_a_lone_ratings_csv_has_films_but_no_entries_and_still_gets_stats(standin, storage, data_dir, instance):
    ratings = shutil.copyfile(LETTERBOXD / "quetzle-2016" / "ratings.csv", data_dir / "uploads" / "ratings.csv")
    tmdb = TmdbResource(base_url=standin.base_url, read_access_token=TOKEN, max_rate=500)
    result = run_chain(storage, tmdb, instance, upload_key(ratings))
    assert result.success
    with ratings.open(encoding="utf-8", newline="") as stream:
        films = len({(row["Name"], row["Year"]) for row in csv.DictReader(stream)})
    assert metadata_of(result, "parsed_movies")["dagster/row_count"] == 0
    assert metadata_of(result, "enriched_movies")["dagster/row_count"] == films
    # Stats describe viewings (diary entries): none here, and they say so instead of failing.
    assert "0 entries · 0 films" in metadata_of(result, "movie_stats")["summary"]
