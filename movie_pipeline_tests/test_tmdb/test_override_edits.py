"""Editing overrides.csv between runs of one upload: only the films whose pin changed cost requests."""

from movie_pipeline.tmdb.overrides import read_overrides
from movie_pipeline.tmdb.standin import StandinOptions, running_standin
from movie_pipeline_tests.test_tmdb.enrich_support import films_frame, matches, sqlite_engine
from movie_pipeline_tests.test_tmdb.test_enrich import run


async def test_a_removed_pin_sends_its_film_back_to_matching_and_a_bad_line_is_left_out(tmp_path):
    engine = sqlite_engine(tmp_path)
    films = films_frame([("Heat", 1995), ("Inception", 2010), ("Alien", 1979)])
    path = tmp_path / "overrides.csv"
    path.write_text("name,year,tmdb_id\nHeat,1995,2661\nAlien,1979,abc\n", encoding="utf-8")
    async with running_standin(StandinOptions()) as standin:
        pinned = await run(engine, standin, films, overrides=read_overrides(path))
        pinned_rows = {row["name"]: row for row in matches(engine, "upload-1").values()}
        before = standin.stats.request_count
        path.write_text("name,year,tmdb_id\n", encoding="utf-8")
        unpinned = await run(engine, standin, films, overrides=read_overrides(path))
        asked = sorted(record.kind for record in standin.stats.requests[before:])
        before = standin.stats.request_count
        (tmp_path / "alone").mkdir()
        await run(sqlite_engine(tmp_path / "alone"), standin, films_frame([("Heat", 1995)]))
        heat_alone = sorted(record.kind for record in standin.stats.requests[before:])
    rows = {row["name"]: row for row in matches(engine, "upload-1").values()}
    # The bad line (Alien's) was left out: Alien was matched by search like Inception.
    assert (pinned.overrides, pinned.found) == (1, 2)
    assert (pinned_rows["Heat"]["status"], pinned_rows["Heat"]["tmdb_id"]) == ("override", 2661)
    assert pinned_rows["Alien"]["status"] == "found"
    # Heat alone goes back to matching, at the cost of matching it from scratch; the other films are stored.
    assert (rows["Heat"]["status"], rows["Heat"]["tmdb_id"]) == ("found", 949)
    assert asked == heat_alone
    assert (unpinned.found, unpinned.overrides, unpinned.cache_hits) == (3, 0, 2)
