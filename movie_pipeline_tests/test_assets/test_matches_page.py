"""matches.html written by upload_job beside index.html, from the film database, and as Chromium renders it."""

import re
from html import unescape

import dagster as dg
import pytest
from sqlalchemy import select

from movie_pipeline import database as db
from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.definitions import defs
from movie_pipeline.jobs import enrichment_sweep_job, upload_job
from movie_pipeline.letterboxd.uploads import upload_key
from movie_pipeline.resources import TmdbResource
from movie_pipeline.tmdb.enrich import search_key
from movie_pipeline.tmdb.overrides import read_overrides
from movie_pipeline.tmdb.standin import StandinOptions, StandinThread
from movie_pipeline_tests.browser import dump_dom, screenshot

TOKEN = "matches-page-token-7c2e"
NOWHERE = ("Qwxyz Unfilmed Picture", 2099)
DIARY = (
    "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
    "2024-01-02,Heat,1995,https://boxd.it/a1,4.5,,,2024-01-01\n"
    "2024-01-03,Alien,1979,https://boxd.it/a2,4,,,2024-01-02\n"
    f"2024-01-04,{NOWHERE[0]},{NOWHERE[1]},https://boxd.it/a3,3,,,2024-01-03\n"
)


@pytest.fixture
def ran(storage, data_dir, instance):
    """upload_job over the three-film diary, with Alien pinned in overrides.csv beside a bad line."""
    (data_dir / "uploads" / "diary.csv").write_text(DIARY, encoding="utf-8")
    storage.settings.overrides_path.write_text(
        "letterboxd_uri,name,year,tmdb_id,media_type\n,Alien,1979,348,\n,Heat,1995,nine,\n", encoding="utf-8"
    )
    key = upload_key(data_dir / "uploads" / "diary.csv")
    instance.add_dynamic_partitions(uploads_partitions.name, [key])
    with StandinThread(StandinOptions(accepted_credentials=frozenset({TOKEN}))) as standin:
        tmdb = TmdbResource(base_url=standin.base_url, read_access_token=TOKEN, max_rate=200)
        location = dg.Definitions(
            assets=defs.assets,
            asset_checks=defs.asset_checks,
            jobs=[upload_job, enrichment_sweep_job],
            resources={"storage": storage, "tmdb": tmdb},
        )

        def run(job):
            return location.resolve_job_def(job.name).execute_in_process(partition_key=key, instance=instance)

        yield key, run(upload_job), run


def page_of(storage, key):
    return storage.settings.reports_dir / key / "matches.html"


def films_listed(page: str) -> dict[str, list[str]]:
    """Film heading -> its badges."""
    found = re.findall(r'<article class="panel film"><h2>(.*?)</h2>', page)
    return {
        unescape(re.sub(r"<[^>]+>", "", heading.split("<span", 1)[0])).strip(): re.findall(
            r'<span class="badge">(.*?)</span>', heading
        )
        for heading in found
    }


def test_the_page_lists_the_pinned_and_missing_films_and_the_check_links_it(ran, storage):
    key, result, _ = ran
    page = page_of(storage, key).read_text(encoding="utf-8")
    matches = db.film_matches.c
    with storage.engine().connect() as conn:
        heat = conn.execute(select(matches.status, matches.confidence).where(matches.name == "Heat")).one()
    expected = {"Qwxyz Unfilmed Picture (2099)": ["not found"], "Alien (1979)": ["overridden"]}
    if heat.confidence < 0.8:  # the stand-in's Heat may score low against its own year; then it is listed too
        expected = {"Qwxyz Unfilmed Picture (2099)": ["not found"], "Heat (1995)": ["low confidence"], **expected}
    assert heat.status == "found"
    assert films_listed(page) == expected
    assert "line 3: tmdb_id is &#x27;nine&#x27;" in page  # the bad line, with its line number
    assert 'href="https://www.themoviedb.org/movie/348"' in page
    [stats] = result.asset_materializations_for_node("movie_stats")
    assert stats.metadata["matches_page"].value == str(page_of(storage, key))
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "low_confidence_matches"]
    assert check.passed == (heat.confidence >= 0.8)
    assert check.metadata["matches_page"].value == str(page_of(storage, key))


def test_stored_candidates_appear_with_runtime_and_lines_that_pin_the_film(ran, storage):
    key, _, run = ran
    with storage.engine().begin() as conn:
        alien = conn.execute(select(db.tmdb_movies.c.runtime).where(db.tmdb_movies.c.tmdb_id == 348)).scalar_one()
        db.insert_rows(
            conn,
            db.tmdb_search_candidates,
            [
                {
                    "query_key": search_key(*NOWHERE),
                    "rank": rank,
                    "media_type": media_type,
                    "tmdb_id": tmdb_id,
                    "title": title,
                    "original_title": None,
                    "year": 1995,
                    "vote_count": 10 * rank,
                    "popularity": 1.0,
                    "score": 0.5 / rank,
                    "reason": f"candidate {rank}",
                }
                for rank, media_type, tmdb_id, title in [(1, "movie", 348, "Alien"), (2, "tv", 1396, "A Show")]
            ],
        )
    run(enrichment_sweep_job)
    page = page_of(storage, key).read_text(encoding="utf-8")
    nowhere = page.split("Qwxyz Unfilmed Picture (2099)", 1)[1].split("</article>", 1)[0]
    assert alien is not None
    assert f"<td class=num>{alien} min</td>" in nowhere  # Alien's details are stored (pinned): its runtime shows
    assert 'href="https://www.themoviedb.org/tv/1396"' in nowhere
    lines = [unescape(line) for line in re.findall(r"overrides.csv line: <code>(.*?)</code>", nowhere)]
    path = storage.settings.overrides_path
    for line, pin in zip(lines, ["movie/348", "tv/1396"], strict=True):
        path.write_text("letterboxd_uri,name,year,tmdb_id,media_type\n" + line + "\n", encoding="utf-8")
        assert read_overrides(path).find(*NOWHERE, "https://boxd.it/a3").pin == pin


@pytest.mark.browser
def test_chromium_renders_the_page_and_loads_nothing(ran, storage, tmp_path):
    key, _, _ = ran
    page = page_of(storage, key)
    dom = dump_dom(page)
    assert "<script" not in dom
    assert {"Qwxyz Unfilmed Picture (2099)", "Alien (1979)"} <= set(films_listed(dom))
    png = screenshot(page, tmp_path / "matches.png", height=1400)
    assert png.stat().st_size > 10_000  # a blank page compresses to a few hundred bytes
