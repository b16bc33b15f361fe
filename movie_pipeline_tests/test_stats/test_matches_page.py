"""matches.html from hand-made frames: which films are listed, and what each one shows."""

import csv
import io
import re
from html import unescape

import polars as pl

from movie_pipeline.stats.matches_page import (
    CANDIDATE_COLUMNS,
    FILM_COLUMNS,
    NOTHING_TO_CHECK,
    OverridesFile,
    render_matches_page,
    with_flags,
)
from movie_pipeline.tmdb.enrich import search_key
from movie_pipeline.tmdb.overrides import COLUMNS, read_overrides


def film(name, year, status, *, tmdb_id=None, media_type=None, confidence=0.0, uri=None, chosen=None):
    return {
        "name": name,
        "year": year,
        "letterboxd_uri": uri,
        "status": status,
        "media_type": media_type,
        "tmdb_id": tmdb_id,
        "confidence": confidence,
        "reason": f"reason for {name}",
        "chosen_title": chosen,
        "chosen_year": year if chosen else None,
        "query_key": search_key(name, year),
    }


FILMS = pl.DataFrame(
    [
        film("Heat", 1995, "found", tmdb_id=949, media_type="movie", confidence=0.97, chosen="Heat"),
        film(
            "Crash",
            2004,
            "found",
            tmdb_id=1,
            media_type="movie",
            confidence=0.7,
            chosen="Crash",
            uri="https://boxd.it/c",
        ),
        film("Nowhere Film", 2011, "not_found"),
        film("Chernobyl", 2019, "found", tmdb_id=87108, media_type="tv", confidence=0.9, chosen="Chernobyl"),
        film("Batman", 1989, "override", tmdb_id=268, media_type="movie", confidence=1.0, chosen="Batman"),
        film("Later", 2020, "pending"),
    ],
    schema=FILM_COLUMNS,
)


def candidate(key, rank, tmdb_id, title, year, *, media_type="movie", votes=100, runtime=None):
    return {
        "query_key": key,
        "rank": rank,
        "media_type": media_type,
        "tmdb_id": tmdb_id,
        "title": title,
        "year": year,
        "vote_count": votes,
        "score": 0.9 - rank / 10,
        "reason": f"{title} scored so",
        "runtime": runtime,
    }


CRASH = search_key("Crash", 2004)
CANDIDATES = pl.DataFrame(
    [
        candidate(CRASH, 2, 20, "Crash", 1996, votes=1500),
        candidate(CRASH, 1, 1, "Crash", 2004, votes=9000, runtime=112),
        candidate(CRASH, 3, 30, "Crash", 2008, media_type="tv", votes=None),
    ],
    schema=CANDIDATE_COLUMNS,
)


def render(films=FILMS, candidates=CANDIDATES, overrides=None):
    flagged = with_flags(films, low_confidence=0.8)
    page = render_matches_page(
        flagged, candidates, title="Ann <b>", overrides=overrides or OverridesFile("/data/overrides.csv"), pending=1
    )
    return flagged, page


def film_sections(page: str) -> dict[str, str]:
    sections = re.findall(r'<article class="panel film"><h2>(.*?)</article>', page, flags=re.S)
    return {unescape(re.sub(r"<[^>]+>", "", section.split("<span", 1)[0])).strip(): section for section in sections}


def test_listed_are_the_not_found_low_confidence_tv_and_overridden_films_most_urgent_first():
    flagged, page = render()
    assert flagged.select("name", "flags").rows() == [
        ("Nowhere Film", ["not found"]),
        ("Crash", ["low confidence"]),
        ("Chernobyl", ["TV"]),
        ("Batman", ["overridden"]),
    ]
    assert list(film_sections(page)) == ["Nowhere Film (2011)", "Crash (2004)", "Chernobyl (2019)", "Batman (1989)"]
    assert "<b>1</b> not found · <b>1</b> low confidence · <b>1</b> TV · <b>1</b> overridden" in page
    assert "<b>1</b> still waiting for TMDB" in page
    assert "Ann &lt;b&gt;" in page and "Ann <b>" not in page
    assert '<a href="index.html">' in page


def test_each_candidate_shows_title_year_votes_runtime_link_and_a_line_that_reads_back_as_its_override(tmp_path):
    crash = film_sections(render()[1])["Crash (2004)"]
    rows = re.findall(
        r"<tr(?: class=chosen)?><td>(\d)</td><td>(.*?)</td><td class=num>(.*?)</td><td class=num>(.*?)</td>", crash
    )
    assert [(rank, unescape(re.sub("<[^>]+>", "", title)), votes, runtime) for rank, title, votes, runtime in rows] == [
        ("1", "Crash (2004)", "9,000", "112 min"),
        ("2", "Crash (1996)", "1,500", "–"),
        ("3", "Crash (2008) (TV)", "–", "–"),
    ]
    assert re.findall(r'href="(https://www.themoviedb.org/[^"]+)"', crash) == [
        "https://www.themoviedb.org/movie/1",  # the chosen one
        "https://www.themoviedb.org/movie/1",
        "https://www.themoviedb.org/movie/20",
        "https://www.themoviedb.org/tv/30",
    ]
    assert "<tr class=chosen><td>1</td>" in crash
    lines = [unescape(line) for line in re.findall(r"overrides.csv line: <code>(.*?)</code>", crash)]
    path = tmp_path / "overrides.csv"
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(lines[1:]) + "\n", encoding="utf-8")
    assert [row.pin for row in read_overrides(path).rows] == ["movie/20"]  # one film: the first line wins
    for line, pin in zip(lines, ["movie/1", "movie/20", "tv/30"], strict=True):
        path.write_text(",".join(COLUMNS) + "\n" + line + "\n", encoding="utf-8")
        overrides = read_overrides(path)
        assert overrides.problems == ()
        assert overrides.find("Crash", 2004, "https://boxd.it/c").pin == pin


def test_a_film_without_candidates_says_why_and_offers_a_line_to_fill_in():
    sections = film_sections(render()[1])
    assert "TMDB was not searched" in sections["Batman (1989)"]
    assert "delete the line" in sections["Batman (1989)"]
    assert "https://www.themoviedb.org/search?query=Nowhere+Film" in sections["Nowhere Film (2011)"]
    assert ",Nowhere Film,2011,&lt;tmdb_id&gt;,movie" in sections["Nowhere Film (2011)"]
    assert "Chosen: nothing." in sections["Nowhere Film (2011)"]
    assert "reason for Nowhere Film" in sections["Nowhere Film (2011)"]


def test_lines_follow_the_header_of_the_users_file_and_problems_are_listed():
    overrides = OverridesFile("/d/overrides.csv", ("name", "tmdb_id", "note"), ["/d/overrides.csv, line 4: bad <id>"])
    page = render(overrides=overrides)[1]
    crash = film_sections(page)["Crash (2004)"]
    assert [unescape(line) for line in re.findall(r"overrides.csv line: <code>(.*?)</code>", crash)] == [
        "Crash,1,",
        "Crash,20,",
        "Crash,30,",
    ]
    assert "Your file’s header is <code>name,tmdb_id,note</code>" in page
    assert "line 4: bad &lt;id&gt;" in page


def test_nothing_to_check_says_so():
    films = pl.DataFrame(
        [film("Heat", 1995, "found", tmdb_id=949, media_type="movie", confidence=0.97)], schema=FILM_COLUMNS
    )
    flagged, page = render(films, CANDIDATES.clear())
    assert flagged.is_empty()
    assert NOTHING_TO_CHECK in page
    assert "<script" not in page


def test_lines_quote_names_with_commas():
    films = pl.DataFrame([film('Me, Myself & "I"', 2000, "not_found")], schema=FILM_COLUMNS)
    key = search_key('Me, Myself & "I"', 2000)
    candidates = pl.DataFrame([candidate(key, 1, 5, "Me, Myself & I", 2000)], schema=CANDIDATE_COLUMNS)
    page = render(films, candidates)[1]
    [line] = [unescape(line) for line in re.findall(r"overrides.csv line: <code>(.*?)</code>", page)]
    assert next(csv.reader(io.StringIO(line))) == ["", 'Me, Myself & "I"', "2000", "5", "movie"]
