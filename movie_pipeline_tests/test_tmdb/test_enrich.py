"""enrich_films over loopback HTTP against the stand-in, on a temp SQLite database (one test on PostgreSQL)."""

import asyncio
import json
import re
import traceback
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from movie_pipeline import database as db
from movie_pipeline.tmdb import enrich
from movie_pipeline.tmdb.client import TmdbAuthError
from movie_pipeline.tmdb.enrich import FILMS_PER_REQUEST_SLOT, enrich_films, movie_row, refresh_stale_movies
from movie_pipeline.tmdb.overrides import Overrides, read_overrides
from movie_pipeline.tmdb.standin import StandinOptions, running_standin
from movie_pipeline_tests.test_tmdb.enrich_support import (
    API_KEY,
    TOKEN,
    WELL_KNOWN,
    client_factory,
    every_stored_text,
    films_frame,
    matches,
    sqlite_engine,
    standin_config,
    table_count,
    wait_until,
)
from movie_pipeline_tests.test_tmdb.standin_sources import kaggle_rows, tmdb_fixture, udacity_rows

T0 = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


def no_client():
    raise AssertionError("no TMDB client should be opened when everything is known")


async def run(engine, standin, films, *, upload="upload-1", overrides=None, log=None, now=None, **config_changes):
    config = standin_config(standin.base_url, **config_changes)
    return await enrich_films(
        films,
        upload=upload,
        engine=engine,
        client_factory=client_factory(config),
        overrides=overrides or Overrides(),
        log=log or (lambda line: None),
        now=now or (lambda: T0),
    )


async def test_new_films_cost_one_search_and_one_details_each_and_a_rerun_costs_nothing(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([(name, year) for name, year, _ in WELL_KNOWN])
    async with running_standin(StandinOptions()) as standin:
        first = await run(engine, standin, films)
        assert standin.stats.requests_by_kind() == {"search": len(WELL_KNOWN), "details": len(WELL_KNOWN)}
        second = await enrich_films(
            films, upload="upload-1", engine=engine, client_factory=no_client, overrides=Overrides(), log=print
        )
    assert (first.found, first.tmdb_requests, first.cache_hits) == (len(WELL_KNOWN), 2 * len(WELL_KNOWN), 0)
    assert (second.found, second.tmdb_requests, second.cache_hits) == (len(WELL_KNOWN), 0, len(WELL_KNOWN))
    assert standin.stats.request_count == 2 * len(WELL_KNOWN)
    rows = matches(engine, "upload-1")
    assert {row["name"]: row["tmdb_id"] for row in rows.values()} == {name: tmdb_id for name, _, tmdb_id in WELL_KNOWN}
    assert {row["status"] for row in rows.values()} == {"found"}


async def test_stored_film_holds_details_and_credits_from_the_corpus(tmp_path):
    engine = sqlite_engine(tmp_path)
    async with running_standin(StandinOptions()) as standin:
        await run(engine, standin, films_frame([("Fight Club", 1999)]))
    with engine.connect() as conn:
        stored = conn.execute(select(db.tmdb_movies)).mappings().one()
    kaggle, credits = kaggle_rows()["550"], udacity_rows()["550"]
    assert stored["title"] == kaggle["title"]
    assert stored["release_date"] == date.fromisoformat(kaggle["release_date"])
    assert stored["runtime"] == int(float(kaggle["runtime"]))
    assert stored["vote_count"] == int(kaggle["vote_count"])
    assert json.loads(stored["genres"]) == [genre["name"] for genre in json.loads(kaggle["genres"])]
    assert json.loads(stored["directors"]) == credits["director"].split("|")
    assert json.loads(stored["top_cast"]) == credits["cast"].split("|")[:5]
    countries, languages = json.loads(kaggle["production_countries"]), json.loads(kaggle["spoken_languages"])
    assert json.loads(stored["production_countries"]) == [country["iso_3166_1"] for country in countries]
    assert json.loads(stored["spoken_languages"]) == [language["iso_639_1"] for language in languages]


def test_movie_row_from_recorded_tmdb_responses():
    details = tmdb_fixture("jdrouet-tmdb-api/movie-details.json")
    details["credits"] = tmdb_fixture("jdrouet-tmdb-api/movie-credits.json")
    row = movie_row(details, T0)
    assert row["tmdb_id"] == 550
    assert row["release_date"] == date(1999, 10, 15)
    assert row["imdb_id"] == "tt0137523"
    assert row["runtime"] == 139
    assert json.loads(row["genres"]) == ["Drama"]
    assert json.loads(row["directors"]) == ["David Fincher"]
    top_five = ["Edward Norton", "Brad Pitt", "Helena Bonham Carter", "Meat Loaf", "Jared Leto"]
    assert json.loads(row["top_cast"]) == top_five
    assert json.loads(row["production_countries"]) == ["DE", "US"]
    assert json.loads(row["spoken_languages"]) == ["en"]
    assert row["fetched_at"] == T0


async def test_every_film_has_one_row_and_films_gone_from_the_upload_lose_theirs(tmp_path):
    engine = sqlite_engine(tmp_path)
    three = films_frame([("Fight Club", 1999), ("Parasite", 2019), ("Inception", 2010)])
    async with running_standin(StandinOptions()) as standin:
        await run(engine, standin, three)
        await run(engine, standin, three.filter(three["name"] != "Parasite"))
        await run(engine, standin, three.head(1), upload="upload-2")
    assert {row["name"]: row["status"] for row in matches(engine, "upload-1").values()} == {
        "Fight Club": "found",
        "Inception": "found",
    }
    assert [row["name"] for row in matches(engine, "upload-2").values()] == ["Fight Club"]


async def test_one_tmdb_film_under_two_names_is_fetched_once(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([("Amélie", 2001), ("Le Fabuleux Destin d'Amélie Poulain", 2001)])
    async with running_standin(StandinOptions()) as standin:
        summary = await run(engine, standin, films)
    assert standin.stats.requests_by_kind() == {"search": 2, "details": 1}
    assert summary.found == 2
    assert {row["tmdb_id"] for row in matches(engine, "upload-1").values()} == {194}


async def test_a_killed_run_resumes_without_asking_again_for_anything_stored(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([(name, year) for name, year, _ in WELL_KNOWN])
    expected = {name: tmdb_id for name, _, tmdb_id in WELL_KNOWN}
    concurrency = 2
    async with running_standin(StandinOptions(latency_s=(0.02, 0.05))) as standin:
        task = asyncio.create_task(run(engine, standin, films, max_concurrency=concurrency))
        await wait_until(lambda: "found" in {row["status"] for row in matches(engine, "upload-1").values()})
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        killed_run_requests = standin.stats.request_count

        statuses = [row["status"] for row in matches(engine, "upload-1").values()]
        assert len(statuses) == len(WELL_KNOWN)  # every film has its row from the start
        assert statuses.count("found") >= 1 and statuses.count("pending") >= 1
        with engine.connect() as conn:
            searched = set(conn.scalars(select(db.tmdb_search_cache.c.tmdb_id)))
            stored = set(conn.scalars(select(db.tmdb_movies.c.tmdb_id)))
        still_needed = sum((tmdb_id not in searched) + (tmdb_id not in stored) for tmdb_id in expected.values())

        summary = await run(engine, standin, films, max_concurrency=concurrency)
    assert standin.stats.request_count - killed_run_requests == still_needed == summary.tmdb_requests
    # The killed run lost only the requests of the films in progress, at most FILMS_PER_REQUEST_SLOT per request
    # slot: a search is stored once the details it is weighed by are in, so such a film loses both its requests
    # (each film here costs one search and one details request; every stored id stands for one answered request).
    lost = killed_run_requests - (len(searched) + len(stored))
    assert 0 <= lost <= 2 * FILMS_PER_REQUEST_SLOT * concurrency
    rows = matches(engine, "upload-1")
    assert {row["name"]: row["tmdb_id"] for row in rows.values()} == expected
    assert table_count(engine, db.film_matches) == len(WELL_KNOWN)
    assert table_count(engine, db.tmdb_movies) == len(WELL_KNOWN)
    assert table_count(engine, db.tmdb_search_cache) == len(WELL_KNOWN)


async def test_failures_after_every_retry_leave_films_pending_and_nothing_cached(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([("Fight Club", 1999), ("Inception", 2010)])
    async with running_standin(StandinOptions(fault_rates={"503": 1.0})) as failing:
        summary = await run(engine, failing, films, max_attempts=2)
    assert (summary.pending, summary.not_found, summary.found) == (2, 0, 0)
    assert failing.stats.request_count == 2 * 2  # one search per film, two attempts each
    assert all("HTTP 503" in row["reason"] for row in matches(engine, "upload-1").values())
    assert table_count(engine, db.tmdb_search_cache) == 0

    async with running_standin(StandinOptions()) as healthy:
        summary = await run(engine, healthy, films)
    assert (summary.found, summary.pending, healthy.stats.request_count) == (2, 0, 4)


async def test_details_that_fail_leave_the_search_unsettled_for_the_next_run(tmp_path):
    # The choice weighs the winner's details (a short is rarely the film meant), so without them there is no
    # search outcome to keep: the next run searches again.
    engine = sqlite_engine(tmp_path)
    films = films_frame([("Fight Club", 1999)])
    async with running_standin(StandinOptions(faults=["ok", "500", "500"])) as failing:
        summary = await run(engine, failing, films, max_attempts=2)
    assert summary.pending == 1
    assert table_count(engine, db.tmdb_search_cache) == 0
    async with running_standin(StandinOptions()) as healthy:
        summary = await run(engine, healthy, films)
    assert healthy.stats.requests_by_kind() == {"search": 1, "details": 1}
    assert summary.found == 1


async def test_rejected_credentials_abort_the_run_and_mark_nothing(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([(name, year) for name, year, _ in WELL_KNOWN])
    async with running_standin(StandinOptions(accepted_credentials=frozenset({"the-right-token"}))) as standin:
        with pytest.raises(TmdbAuthError) as raised:
            await run(engine, standin, films, max_concurrency=2)
    assert "TMDB_READ_ACCESS_TOKEN" in str(raised.value)
    assert "Invalid API key" in str(raised.value)
    assert standin.stats.request_count < len(WELL_KNOWN)  # aborted, not ground through every film
    assert {row["status"] for row in matches(engine, "upload-1").values()} == {"pending"}
    assert table_count(engine, db.tmdb_search_cache) == 0


@pytest.mark.parametrize("credential", ["token", "api_key"])
async def test_credentials_never_reach_logs_errors_or_the_database(tmp_path, credential):
    secret = TOKEN if credential == "token" else API_KEY
    auth = {"read_access_token": TOKEN} if credential == "token" else {"read_access_token": None, "api_key": API_KEY}
    engine = sqlite_engine(tmp_path)
    films = films_frame([(name, year) for name, year, _ in WELL_KNOWN[:6]] + [("Parasite", 2019)])
    lines: list[str] = []
    faults = ["hang", "reset", "500", "invalid-json", "429", "503", "hang", "hang", "reset", "reset"]
    options = StandinOptions(accepted_credentials=frozenset({secret}), faults=faults)
    async with running_standin(options) as standin:
        # One attempt per request: the first request's fault surely leaves its film pending, with a reason.
        summary = await run(engine, standin, films, log=lines.append, max_attempts=1, request_timeout_s=0.3, **auth)
        wrong = {**auth, next(iter(auth)): f"{secret}-wrong"}
        with pytest.raises(TmdbAuthError) as raised:
            await run(engine, standin, films_frame([("Avatar", 2009)]), upload="upload-2", log=lines.append, **wrong)
    assert summary.pending >= 1
    assert lines
    for text in [*lines, every_stored_text(engine), "".join(traceback.format_exception(raised.value))]:
        assert secret not in text
    assert any("left for a later run" in row["reason"] for row in matches(engine, "upload-1").values())


async def test_overrides_beat_search_and_cached_matches(tmp_path):
    engine = sqlite_engine(tmp_path)
    uri = "https://letterboxd.com/film/batman-1989/"
    films = films_frame([("Batman", 1989), ("Heat", 1995), ("Inception", 2010)], uris=[uri, None, None])
    overrides_path = tmp_path / "overrides.csv"
    overrides_path.write_text(
        f"letterboxd_uri,name,year,tmdb_id\n{uri},,,2661\n,Heat,1995,999999999\n", encoding="utf-8"
    )
    async with running_standin(StandinOptions()) as standin:
        await run(engine, standin, films)
        before = standin.stats.request_count
        summary = await run(engine, standin, films, overrides=read_overrides(overrides_path))
        asked = standin.stats.requests[before:]
    rows = {row["name"]: row for row in matches(engine, "upload-1").values()}
    batman = rows["Batman"]
    assert (batman["status"], batman["tmdb_id"], batman["confidence"]) == ("override", 2661, 1.0)
    assert "overrides.csv line 2" in batman["reason"]
    assert (rows["Heat"]["status"], rows["Heat"]["tmdb_id"]) == ("not_found", None)
    assert "overrides.csv line 3" in rows["Heat"]["reason"]
    assert rows["Inception"]["status"] == "found"
    assert [record.kind for record in asked] == ["details", "details"]  # 2661 and 999999999; no search at all
    assert (summary.overrides, summary.found, summary.not_found) == (1, 1, 1)


async def test_a_definitive_not_found_is_cached_until_it_expires(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([("Parasite", 2019)])
    async with running_standin(StandinOptions()) as standin:
        first = await run(engine, standin, films, now=lambda: T0)
        within = await run(engine, standin, films, now=lambda: T0 + timedelta(days=29))
        expired = await run(engine, standin, films, now=lambda: T0 + timedelta(days=31))
    # Nothing acceptable with the year, so a second search without it, and one of TV; then 30 days of silence.
    assert (first.not_found, first.tmdb_requests) == (1, 3)
    assert (within.not_found, within.tmdb_requests, within.cache_hits) == (1, 0, 1)
    assert (expired.not_found, expired.tmdb_requests) == (1, 3)
    assert standin.stats.requests_by_kind() == {"search": 4, "tv_search": 2}


async def test_progress_lines_count_films_requests_and_retries(tmp_path, monkeypatch):
    monkeypatch.setattr(enrich, "PROGRESS_EVERY_S", 0.0)
    engine = sqlite_engine(tmp_path)
    films = films_frame([(name, year) for name, year, _ in WELL_KNOWN[:5]])
    lines: list[str] = []
    async with running_standin(StandinOptions()) as standin:
        await run(engine, standin, films, log=lines.append)
    progress = [re.fullmatch(r"(\d+)/5 films, \d+ req/s, (\d+) retries", line) for line in lines]
    assert [int(found.group(1)) for found in progress if found] == [1, 2, 3, 4, 5]
    assert lines[0] == "5 films: 0 known from the database, 5 to look up on TMDB"
    assert lines[-1].startswith("5 films in ") and "5 found" in lines[-1] and "10 TMDB requests" in lines[-1]


async def test_refresh_fetches_again_only_films_older_than_asked(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([(name, year) for name, year, _ in WELL_KNOWN[:3]])
    later = T0 + timedelta(days=8)
    async with running_standin(StandinOptions()) as standin:
        await run(engine, standin, films, now=lambda: T0)
        config = standin_config(standin.base_url)
        refreshed = await refresh_stale_movies(
            engine, client_factory(config), 7, upload="upload-1", now=lambda: later, log=lambda _: None
        )
        kinds_after_refresh = standin.stats.requests_by_kind()
        untouched = await refresh_stale_movies(
            engine, no_client, 30, upload="upload-1", now=lambda: later, log=lambda _: None
        )
    assert (refreshed, untouched) == (3, 0)
    assert kinds_after_refresh == {"search": 3, "details": 6}
    with engine.connect() as conn:
        fetched = list(conn.scalars(select(db.tmdb_movies.c.fetched_at)))
    assert [moment.replace(tzinfo=None) for moment in fetched] == [later.replace(tzinfo=None)] * 3


async def test_two_uploads_sharing_stale_films_refresh_each_film_once(tmp_path):
    engine = sqlite_engine(tmp_path)
    first, shared, second = WELL_KNOWN[:2], WELL_KNOWN[2:5], WELL_KNOWN[5:6]
    later = T0 + timedelta(days=31)
    async with running_standin(StandinOptions(latency_s=(0.01, 0.03))) as standin:
        await run(engine, standin, films_frame([(n, y) for n, y, _ in first + shared]), upload="alice")
        await run(engine, standin, films_frame([(n, y) for n, y, _ in shared + second]), upload="bob")
        assert enrich.uploads_with_stale_films(engine, 30, now=lambda: later) == ["alice", "bob"]
        before = len(standin.stats.requests)
        config = standin_config(standin.base_url)
        refreshed = await asyncio.gather(
            *(
                refresh_stale_movies(engine, client_factory(config), 30, upload=upload, now=lambda: later, log=print)
                for upload in ("alice", "bob")
            )
        )
        refresh_requests = Counter(record.kind for record in standin.stats.requests[before:])
    # Six distinct films, three of them held by both uploads: fetched twice, they would cost nine.
    assert refresh_requests == {"details": 6}
    assert sum(refreshed) == 6
    assert enrich.uploads_with_stale_films(engine, 30, now=lambda: later) == []


async def test_a_refresh_that_fails_gives_the_film_back_for_a_later_one(tmp_path):
    engine = sqlite_engine(tmp_path)
    later = T0 + timedelta(days=31)
    async with running_standin(StandinOptions()) as standin:
        await run(engine, standin, films_frame([("Fight Club", 1999)]), upload="alice")
    async with running_standin(StandinOptions(fault_rates={"503": 1.0})) as failing:
        config = standin_config(failing.base_url, max_attempts=2)
        refreshed = await refresh_stale_movies(
            engine, client_factory(config), 30, upload="alice", now=lambda: later, log=lambda _: None
        )
    assert refreshed == 0
    assert enrich.uploads_with_stale_films(engine, 30, now=lambda: later) == ["alice"]
    with engine.connect() as conn:
        fetched_at = conn.scalar(select(db.tmdb_movies.c.fetched_at))
    assert fetched_at.replace(tzinfo=None) == T0.replace(tzinfo=None)


@pytest.mark.postgres
async def test_enrichment_on_postgresql(postgres_url):
    engine = db.make_engine(postgres_url)
    films = films_frame([(name, year) for name, year, _ in WELL_KNOWN[:4]] + [("Parasite", 2019)])
    try:
        async with running_standin(StandinOptions()) as standin:
            first = await run(engine, standin, films)
            second = await run(engine, standin, films)
        assert (first.found, first.not_found, first.tmdb_requests) == (4, 1, 4 * 2 + 3)
        assert (second.found, second.tmdb_requests, second.cache_hits) == (4, 0, 5)
        rows = matches(engine, "upload-1")
        assert {row["name"]: row["tmdb_id"] for row in rows.values()} == {
            **{name: tmdb_id for name, _, tmdb_id in WELL_KNOWN[:4]},
            "Parasite": None,
        }
        assert table_count(engine, db.tmdb_movies) == 4
        assert TOKEN not in every_stored_text(engine)
    finally:
        engine.dispose()
