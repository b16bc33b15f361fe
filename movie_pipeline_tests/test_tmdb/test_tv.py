"""TV entries: the stand-in's TV paths, the TV fallback of enrich_films over loopback HTTP, the cache keyed by
(media type, id), overrides pinned to TV, and the mapping of TV details onto our fields.

Expected values are read from the stand-in's data file (corpus/tmdb_tv_series.json) and the fixture exports with
the json and csv modules, not through the code under test."""

import json
from datetime import timedelta
from functools import cache

import aiohttp
import polars as pl
from sqlalchemy import select

from movie_pipeline import database as db
from movie_pipeline.assets.stats import film_details_query
from movie_pipeline.tmdb.enrich import refresh_stale_movies, series_runtime, tv_row
from movie_pipeline.tmdb.overrides import Override, Overrides
from movie_pipeline.tmdb.standin import StandinOptions, running_standin
from movie_pipeline.tmdb.standin.tv import TV_CORPUS_JSON
from movie_pipeline.tmdb.statuses import MediaType
from movie_pipeline_tests.test_letterboxd.real_exports import film_pairs
from movie_pipeline_tests.test_tmdb.enrich_support import (
    client_factory,
    films_frame,
    matches,
    sqlite_engine,
    standin_config,
)
from movie_pipeline_tests.test_tmdb.standin_sources import tmdb_fixture
from movie_pipeline_tests.test_tmdb.test_enrich import T0, run
from movie_pipeline_tests.test_tmdb.test_standin import get_json, json_type

TV_DATA = json.loads(TV_CORPUS_JSON.read_text(encoding="utf-8"))
SPEC_SEARCH_TV = "/3/search/tv"
CHERNOBYL, QUEENS_GAMBIT = 87108, 87739
# The Departed is movie 1422 and The Middle is TV 1422 in the stand-in, as on TMDB: ids collide across the kinds.
COLLIDING_ID = 1422


@cache
def spec_example(path: str) -> dict:
    response = tmdb_fixture("openapi/tmdb-api.json")["paths"][path]["get"]["responses"]["200"]
    value = response["content"]["application/json"]["examples"]["Result"]["value"]
    return json.loads(value) if isinstance(value, str) else value


def filled(series_id: int) -> dict:
    return next(entry for entry in TV_DATA["filled_details"] if entry["id"] == series_id)


def fixture_films(export: str, names: set[str]) -> pl.DataFrame:
    pairs: list[tuple[str, int | None]] = sorted(
        (name, int(year)) for name, year in film_pairs(export) if name in names
    )
    return films_frame(pairs)


def stored_entries(engine) -> dict[tuple[str, int], dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(db.tmdb_movies)).mappings()
        return {(row["media_type"], row["tmdb_id"]): dict(row) for row in rows}


async def test_search_tv_results_have_the_keys_and_types_of_the_spec_example_and_filter_on_first_air_year():
    example = spec_example(SPEC_SEARCH_TV)
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        status, body = await get_json(session, f"{standin.base_url}/search/tv", query="Chernobyl")
        _, this_year = await get_json(
            session, f"{standin.base_url}/search/tv", query="Chernobyl", first_air_date_year="2019"
        )
        _, other_year = await get_json(
            session, f"{standin.base_url}/search/tv", query="Chernobyl", first_air_date_year="2018"
        )
        bad_year, _ = await get_json(session, f"{standin.base_url}/search/tv", query="x", first_air_date_year="soon")
        no_query, _ = await get_json(session, f"{standin.base_url}/search/tv")
    assert status == 200 and body.keys() == example.keys()
    result, recorded = body["results"][0], example["results"][0]
    assert result.keys() == recorded.keys()
    assert {key for key in recorded if key.endswith("_path") or json_type(result[key]) == json_type(recorded[key])} == (
        set(recorded)
    )
    assert [found["id"] for found in this_year["results"]] == [CHERNOBYL]
    assert other_year["results"] == [] and (bad_year, no_query) == (422, 422)


async def test_tv_details_have_the_recorded_shape_and_credits_only_when_asked():
    recorded = spec_example("/3/tv/{series_id}")
    async with running_standin() as standin, aiohttp.ClientSession() as session:
        _, built = await get_json(session, f"{standin.base_url}/tv/{CHERNOBYL}", append_to_response="credits")
        _, served = await get_json(session, f"{standin.base_url}/tv/{recorded['id']}")
        missing, _ = await get_json(session, f"{standin.base_url}/tv/999999999")
    assert built.keys() - {"credits"} == recorded.keys() and "credits" not in served
    assert served == recorded
    assert [creator["name"] for creator in built["created_by"]] == filled(CHERNOBYL)["created_by"]
    assert [member["name"] for member in built["credits"]["cast"]] == filled(CHERNOBYL)["cast"]
    assert missing == 404


def test_tv_row_maps_the_spec_example_onto_our_fields():
    details = {**spec_example("/3/tv/{series_id}"), "credits": spec_example("/3/tv/{series_id}/credits")}
    row = tv_row(details, T0)
    billed = sorted(details["credits"]["cast"], key=lambda member: member["order"])
    assert (row["media_type"], row["tmdb_id"], row["title"]) == ("tv", 1399, "Game of Thrones")
    assert json.loads(row["directors"]) == ["David Benioff", "D.B. Weiss"]
    assert json.loads(row["genres"]) == ["Sci-Fi & Fantasy", "Drama", "Action & Adventure"]
    assert row["runtime"] == 60 * 73
    assert json.loads(row["top_cast"]) == [member["name"] for member in billed[:5]]
    assert json.loads(row["production_countries"]) == ["GB", "US"]
    assert row["release_date"].isoformat() == "2011-04-17"


def test_a_series_runtime_needs_both_the_episode_runtime_and_the_episodes():
    assert series_runtime({"episode_run_time": [50, 60], "number_of_episodes": 10}) == 550
    assert series_runtime({"episode_run_time": [], "number_of_episodes": 10}) is None
    assert series_runtime({"episode_run_time": [45], "number_of_episodes": 0}) is None


async def test_chernobyl_and_the_queens_gambit_from_the_fixtures_are_matched_as_tv(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = fixture_films("countingthedots", {"Chernobyl", "The Queen's Gambit"})
    assert len(films) == 2
    async with running_standin(StandinOptions()) as standin:
        summary = await run(engine, standin, films)
        again = await run(engine, standin, films)
    rows = {row["name"]: row for row in matches(engine, "upload-1").values()}
    assert {name: (row["status"], row["media_type"], row["tmdb_id"]) for name, row in rows.items()} == {
        "Chernobyl": ("found", "tv", CHERNOBYL),
        "The Queen's Gambit": ("found", "tv", QUEENS_GAMBIT),
    }
    entries = stored_entries(engine)
    for series_id in (CHERNOBYL, QUEENS_GAMBIT):
        entry, expected = entries[("tv", series_id)], filled(series_id)
        assert json.loads(entry["directors"]) == expected["created_by"]
        assert entry["runtime"] == expected["episode_run_time"][0] * expected["number_of_episodes"]
        assert json.loads(entry["genres"]) == ["Drama"]
    kinds = standin.stats.requests_by_kind()
    assert (kinds["tv_search"], kinds["tv_details"]) == (2, 2)  # the fallback's two requests per film
    assert (summary.found, again.tmdb_requests, again.cache_hits) == (2, 0, 2)


async def test_the_top_three_candidates_of_each_search_are_kept_films_and_tv_ranked_together(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([("Chernobyl", 2019), ("Fight Club", 1999)])
    async with running_standin(StandinOptions()) as standin:
        await run(engine, standin, films)
    with engine.connect() as conn:
        rows = conn.execute(select(db.tmdb_search_candidates).order_by("query_key", "rank")).mappings().all()
    by_key: dict[str, list] = {}
    for row in rows:
        by_key.setdefault(row["query_key"], []).append(row)
    chernobyl, fight_club = by_key["chernobyl|2019"], by_key["fight club|1999"]
    assert (chernobyl[0]["media_type"], chernobyl[0]["tmdb_id"], chernobyl[0]["year"]) == ("tv", CHERNOBYL, 2019)
    assert (fight_club[0]["media_type"], fight_club[0]["tmdb_id"]) == ("movie", 550)
    for ranked in by_key.values():
        assert [row["rank"] for row in ranked] == list(range(1, len(ranked) + 1)) and len(ranked) <= 3
        assert [row["score"] for row in ranked] == sorted((row["score"] for row in ranked), reverse=True)
    assert "movie" in {row["media_type"] for row in chernobyl}  # the film search's best are there too


async def test_a_movie_and_a_series_with_the_same_id_are_two_entries(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([("The Departed", 2006), ("The Middle", 2009)])
    async with running_standin(StandinOptions()) as standin:
        await run(engine, standin, films)
        again = await run(engine, standin, films)
    titles = {key: row["title"] for key, row in stored_entries(engine).items()}
    assert titles == {("movie", COLLIDING_ID): "The Departed", ("tv", COLLIDING_ID): "The Middle"}
    assert (again.tmdb_requests, again.cache_hits) == (0, 2)
    with engine.begin() as conn:
        db.insert_rows(conn, db.films, db.frame_rows(films.with_columns(rating=None, in_diary=True), upload="upload-1"))
        details = db.read_frame(conn, film_details_query("upload-1"))
    # The stats join each film to its own kind of entry, not to both rows of the id.
    assert sorted(details["title"].to_list()) == ["The Departed", "The Middle"]


async def test_an_override_with_media_type_tv_fetches_the_series(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([("Game of Thrones: the whole thing", None)])
    pin = Override(tmdb_id=1399, line=2, name="Game of Thrones: the whole thing", media_type=MediaType.TV)
    async with running_standin(StandinOptions()) as standin:
        summary = await run(engine, standin, films, overrides=Overrides([pin]))
    row = next(iter(matches(engine, "upload-1").values()))
    assert (row["status"], row["media_type"], row["tmdb_id"]) == ("override", "tv", 1399)
    assert standin.stats.requests_by_kind() == {"tv_details": 1}
    assert stored_entries(engine)[("tv", 1399)]["title"] == "Game of Thrones"
    assert summary.overrides == 1


async def test_the_tv_fallback_adds_at_most_two_requests_per_film_no_film_search_accepts(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame(sorted((name, int(year)) for name, year in film_pairs("countingthedots") if year))
    async with running_standin(StandinOptions()) as standin:
        summary = await run(engine, standin, films, max_concurrency=8)
    rows = matches(engine, "upload-1").values()
    not_films = sum(1 for row in rows if row["media_type"] != "movie")  # no film search accepted these
    kinds = standin.stats.requests_by_kind()
    assert kinds["tv_search"] == not_films and kinds["tv_details"] <= not_films
    assert kinds["tv_search"] + kinds["tv_details"] <= 2 * not_films
    found_as_tv = {row["name"] for row in rows if row["media_type"] == "tv"}
    # Olive Kitteridge is also an undated credits-only film of the movie corpus, which the film search accepts.
    assert {"Chernobyl", "The Queen's Gambit", "Normal People"} <= found_as_tv
    assert summary.films == len(films)


async def test_a_stale_series_is_refreshed_from_tv_details(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([("Chernobyl", 2019)])
    later = T0 + timedelta(days=40)
    async with running_standin(StandinOptions()) as standin:
        await run(engine, standin, films)
        before = standin.stats.requests_by_kind()["tv_details"]
        factory = client_factory(standin_config(standin.base_url))
        refreshed = await refresh_stale_movies(engine, factory, 30, upload="upload-1", now=lambda: later, log=print)
        after = standin.stats.requests_by_kind()
    assert refreshed == 1 and after["tv_details"] == before + 1 and "details" not in after
    fetched_at = stored_entries(engine)[("tv", CHERNOBYL)]["fetched_at"]
    assert fetched_at.replace(tzinfo=None) == later.replace(tzinfo=None)
