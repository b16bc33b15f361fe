"""Hand-made stats inputs: typed `entries` and `film_details` frames built from short tables.

A film is a dict of the film_details columns that matter to a test; the rest are filled with
the nulls an unenriched film has. An entry names its film by key and gives its dates as text.
"""

from datetime import date
from typing import Any

import polars as pl

from movie_pipeline.letterboxd.parse import ENTRIES_SCHEMA, FILMS_SCHEMA

# A film's row, its match and its TMDB details, as assets/stats.py's film_details_query reads them.
DETAIL_SCHEMA: dict[str, pl.DataType] = {
    **FILMS_SCHEMA,
    "status": pl.String(),
    "tmdb_id": pl.Int64(),
    "confidence": pl.Float64(),
    "title": pl.String(),
    "original_title": pl.String(),
    "release_date": pl.Date(),
    "genres": pl.List(pl.String()),
    "directors": pl.List(pl.String()),
    "top_cast": pl.List(pl.String()),
    "production_countries": pl.List(pl.String()),
    "spoken_languages": pl.List(pl.String()),
    "runtime": pl.Int64(),
    "vote_average": pl.Float64(),
    "vote_count": pl.Int64(),
    "popularity": pl.Float64(),
    "original_language": pl.String(),
    "poster_path": pl.String(),
    "overview": pl.String(),
    "imdb_id": pl.String(),
}


def details_frame(films: list[dict[str, Any]]) -> pl.DataFrame:
    rows = [
        {column: film.get(column) for column in DETAIL_SCHEMA} | {"in_diary": film.get("in_diary", True)}
        for film in films
    ]
    return pl.DataFrame(rows, schema=DETAIL_SCHEMA)


def entries_frame(films: list[dict[str, Any]], rows: list[tuple]) -> pl.DataFrame:
    """rows: (line, film_key, watched 'YYYY-MM-DD', rating or None, rewatch, has_review[, logged 'YYYY-MM-DD'])."""
    by_key = {film["film_key"]: film for film in films}
    entries = []
    for line, key, watched, rating, rewatch, reviewed, *logged in rows:
        entries.append(
            {
                "line": line,
                "film_key": key,
                "name": by_key[key]["name"],
                "year": by_key[key]["year"],
                "letterboxd_uri": f"https://boxd.it/entry{line}",
                "logged_date": date.fromisoformat(logged[0] if logged else watched),
                "watched_date": date.fromisoformat(watched),
                "rating": rating,
                "rewatch": rewatch,
                "tags": [],
                "has_review": reviewed,
            }
        )
    return pl.DataFrame(entries, schema=ENTRIES_SCHEMA)


def film(key: str, name: str, year: int | None, status: str | None = None, **tmdb: Any) -> dict[str, Any]:
    return {"film_key": key, "name": name, "year": year, "status": status, "title": name if tmdb else None, **tmdb}


def tmdb(
    directors: list[str],
    cast: list[str],
    genres: list[str],
    countries: list[str],
    language: str,
    runtime: int,
    vote_average: float,
    vote_count: int,
    popularity: float,
) -> dict[str, Any]:
    return {
        "directors": directors,
        "top_cast": cast,
        "genres": genres,
        "production_countries": countries,
        "original_language": language,
        "runtime": runtime,
        "vote_average": vote_average,
        "vote_count": vote_count,
        "popularity": popularity,
    }


# The dozen-entry diary most tests use. Weekdays: 2021-01-01 was a Friday, 2022-01-01 a Saturday.
FILMS = [
    film(
        "alpha",
        "Alpha",
        1999,
        "found",
        **tmdb(["Ann Lee"], ["Pat Roe", "Quin Ash"], ["Drama"], ["US"], "en", 100, 7.0, 100, 50.0),
    ),
    film(
        "beta",
        "Beta",
        2021,
        "found",
        **tmdb(["Ann Lee"], ["Pat Roe"], ["Drama", "Comedy"], ["FR"], "fr", 90, 6.0, 10, 5.0),
    ),
    # vote_count 0: TMDB's 8.0 is no one's opinion, so Gamma is left out of "you vs TMDB".
    film(
        "gamma",
        "Gamma",
        1985,
        "override",
        **tmdb(["Bo Chan"], ["Quin Ash"], ["Comedy"], ["US"], "en", 120, 8.0, 0, 20.0),
    ),
    film("delta", "Delta", 2020, "not_found"),
    film("eps", "Epsilon", 2021, "pending"),
    # runtime 0 is TMDB's "unknown".
    film("zeta", "Zeta", 1999, "found", **tmdb(["Bo Chan"], [], ["Drama"], ["GB", "US"], "en", 0, 5.0, 50, 1.0)),
    # Only in watched.csv: a film of the upload, but with no entry it is in no period.
    film("omega", "Omega", 2010, None) | {"in_diary": False},
]

ENTRIES = [
    # line, film, watched, rating, rewatch, review[, logged]
    (2, "alpha", "2021-01-04", 4.0, False, False),  # Mon
    (3, "beta", "2021-01-05", 3.0, False, True),  # Tue
    (4, "gamma", "2021-01-06", None, False, False),  # Wed
    (5, "alpha", "2021-01-06", 5.0, True, False, "2021-01-07"),  # Wed
    (6, "delta", "2021-01-08", 2.0, False, False),  # Fri
    (7, "eps", "2021-03-01", None, False, False, "2021-03-02"),  # Mon
    (8, "zeta", "2021-12-31", 4.5, False, False, "2022-01-02"),  # Fri; logged in 2022, watched in 2021
    (9, "beta", "2022-01-01", 5.0, True, False),  # Sat
    (10, "gamma", "2022-01-02", 3.5, False, False),  # Sun
    (11, "delta", "2022-01-03", None, False, False),  # Mon
    (12, "alpha", "2022-01-03", 1.0, True, False, "2022-01-04"),  # Mon
    (13, "eps", "2022-06-15", None, False, False),  # Wed
]


def diary() -> tuple[pl.DataFrame, pl.DataFrame]:
    return entries_frame(FILMS, ENTRIES), details_frame(FILMS)


# Release dates against first viewings, for the release-to-watch lag; day counts worked out by hand.
LAG_FILMS = [
    film("a", "A", 2020, "found", release_date=date(2020, 1, 10)),
    film("b", "B", 2019, "found", release_date=date(2019, 6, 1)),
    film("c", "C", 2021, "found", release_date=date(2021, 12, 17)),  # a festival screening before release
    film("d", "D", 2021, "pending"),
    film("e", "E", 1950, "found", release_date=date(1950, 1, 1)),
    film("f", "F", 1960, "found", release_date=date(1960, 1, 1)),  # seen only on a placeholder date
    film("g", "G", 2020, "found", release_date=date(2020, 2, 1)),
]
LAG_ENTRIES = [
    (2, "a", "2020-01-15", None, False, False),  # 5 days
    (3, "a", "2021-03-01", None, True, False),  # a rewatch: only the first viewing counts
    (4, "b", "2020-06-01", None, False, False),  # 2019-06-01 + 366 days (2020 is a leap year)
    (5, "c", "2021-09-03", None, False, False),  # Sep 27 + Oct 31 + Nov 30 + Dec 17 = 105 days early
    (6, "c", "2022-01-10", None, True, False),
    (7, "d", "2021-05-05", None, False, False),
    # 1950-01-01 .. 2021-01-01 = 71 x 365 + 18 leap days (1952..2020) = 25,933; + 125 days to May 6 = 26,058.
    (8, "e", "2021-05-06", None, False, False),
    (9, "f", "1970-01-01", None, False, False),
    (10, "g", "2020-03-02", None, False, False),  # Feb 2020 has 29 days: 30 days, the first of "1–6 mo"
]


def lag_diary() -> tuple[pl.DataFrame, pl.DataFrame]:
    return entries_frame(LAG_FILMS, LAG_ENTRIES), details_frame(LAG_FILMS)
