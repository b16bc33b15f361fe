"""Entries, films and quarantine from small hand-written exports, with expectations worked out by hand."""

import hashlib
from datetime import date

import polars as pl
import pytest

from movie_pipeline.letterboxd.parse import ENTRIES_SCHEMA, FILMS_SCHEMA, QUARANTINE_SCHEMA, film_key, parse_export
from movie_pipeline.letterboxd.reader import RAW_ROWS_SCHEMA, LetterboxdExport, read_raw_rows

DIARY_HEADER = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date"
GOOD = '2024-01-02,Arrival,2016,https://boxd.it/a1,4.5,Yes,"a24, in-theaters",2024-01-01'


def _parse(files: dict[str, str]):
    export = LetterboxdExport("t.zip", {name: text.encode() for name, text in files.items()}, None, None)
    return parse_export(read_raw_rows(export).rows)


def _diary(*records: str) -> str:
    return "\n".join([DIARY_HEADER, *records]) + "\n"


def _reasons(files: dict[str, str]) -> dict[tuple[str, int], str]:
    return {
        (file, line): reason
        for file, line, reason in _parse(files).quarantine.select("source_file", "line", "reason").iter_rows()
    }


# --- quarantine ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("2024-01-02,,2016,https://boxd.it/x,,,,2024-01-01", "Name is empty"),
        ("2024-13-02,Her,2013,https://boxd.it/x,,,,2024-01-01", "Date '2024-13-02' is not a YYYY-MM-DD date"),
        ("2024-01-02,Her,2013,https://boxd.it/x,,,,2024/01/01", "Watched Date '2024/01/01' is not a YYYY-MM-DD date"),
        ("2024-01-02,Her,2013,https://boxd.it/x,,,,2023-02-30", "Watched Date '2023-02-30' is not a YYYY-MM-DD date"),
        (",Her,2013,https://boxd.it/x,,,,", "Date and Watched Date are both empty"),
        ("2024-01-02,Her,201x,https://boxd.it/x,,,,2024-01-01", "Year '201x' is not a whole year from 1870 to 2100"),
        ("2024-01-02,Her,1869,https://boxd.it/x,,,,2024-01-01", "Year '1869' is not a whole year from 1870 to 2100"),
        (
            "2024-01-02,Her,2013.0,https://boxd.it/x,,,,2024-01-01",
            "Year '2013.0' is not a whole year from 1870 to 2100",
        ),
        ("2024-01-02,Her,2013,https://boxd.it/x,4.3,,,2024-01-01", "Rating '4.3' is not 0.5 to 5 in half steps"),
        ("2024-01-02,Her,2013,https://boxd.it/x,0,,,2024-01-01", "Rating '0' is not 0.5 to 5 in half steps"),
        ("2024-01-02,Her,2013,https://boxd.it/x,5.5,,,2024-01-01", "Rating '5.5' is not 0.5 to 5 in half steps"),
        ("2024-01-02,Her,2013,https://boxd.it/x,★★★,,,2024-01-01", "Rating '★★★' is not 0.5 to 5 in half steps"),
        ("2024-01-02,Her,2013,https://boxd.it/x,,yes,,2024-01-01", "Rewatch 'yes' is neither 'Yes' nor empty"),
        ("2024-01-02,Her,2013,https://boxd.it/x,,,2024-01-01", "7 fields where the header has 8"),
    ],
)
def test_each_bad_diary_record_is_quarantined_with_its_reason(record, reason):
    result = _parse({"diary.csv": _diary(GOOD, record)})

    assert result.entries["line"].to_list() == [2]
    assert result.quarantine.rows() == [("diary.csv", 3, reason, record)]


def test_several_faults_are_all_named():
    reasons = _reasons({"diary.csv": _diary("2024-01-02,,1700,https://boxd.it/x,9,,,2024-01-01")})

    assert reasons == {
        (
            "diary.csv",
            2,
        ): "Name is empty; Year '1700' is not a whole year from 1870 to 2100; Rating '9' is not 0.5 to 5 in half steps"
    }


def test_duplicate_uri_keeps_the_first():
    duplicate = "2024-02-02,Arrival,2016,https://boxd.it/a1,3,,,2024-02-01"
    result = _parse({"diary.csv": _diary(GOOD, duplicate)})

    assert result.entries["line"].to_list() == [2]
    assert result.quarantine.rows() == [
        ("diary.csv", 3, "duplicate of the entry at line 2 (same Letterboxd URI https://boxd.it/a1)", duplicate)
    ]


def test_duplicate_without_uri_needs_every_field_equal():
    first = "2024-01-02,Her,2013,,4,,,2024-01-01"
    other_rating = "2024-01-02,Her,2013,,3,,,2024-01-01"
    reasons = _reasons({"diary.csv": _diary(first, other_rating, first)})

    assert reasons == {
        (
            "diary.csv",
            4,
        ): "duplicate of the entry at line 2 (same Name, Year, Watched Date, Date and Rating, and no Letterboxd URI)"
    }


def test_a_bad_record_does_not_make_a_later_good_one_a_duplicate():
    bad = "2024-01-02,Arrival,2016,https://boxd.it/a1,7,,,2024-01-01"
    result = _parse({"diary.csv": _diary(bad, GOOD)})

    assert result.entries["line"].to_list() == [3]
    assert list(_reasons({"diary.csv": _diary(bad, GOOD)})) == [("diary.csv", 2)]


def test_other_files_quarantine_records_that_cannot_name_a_film():
    files = {
        "diary.csv": _diary(GOOD),
        "watched.csv": "Date,Name,Year,Letterboxd URI\n2024-01-01,,2016,https://boxd.it/w1\n2024-01-01,Her,20013,https://boxd.it/w2\n",
        "ratings.csv": "Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Her,2013,https://boxd.it/w2,11\n",
        "reviews.csv": "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\n2024-01-01,Heat\n",
    }
    result = _parse(files)

    assert _reasons(files) == {
        ("ratings.csv", 2): "Rating '11' is not 0.5 to 5 in half steps",
        ("reviews.csv", 2): "2 fields where the header has 9",
        ("watched.csv", 2): "Name is empty",
        ("watched.csv", 3): "Year '20013' is not a whole year from 1870 to 2100",
    }
    assert result.films["name"].to_list() == ["Arrival"]


def test_no_records_at_all():
    result = parse_export(pl.DataFrame(schema=RAW_ROWS_SCHEMA))

    assert (result.entries.schema, result.films.schema, result.quarantine.schema) == (
        pl.Schema(ENTRIES_SCHEMA),
        pl.Schema(FILMS_SCHEMA),
        pl.Schema(QUARANTINE_SCHEMA),
    )
    assert result.entries.height == result.films.height == result.quarantine.height == 0


# --- entries -------------------------------------------------------------------------------


def test_entry_values():
    no_watched_date = "2024-03-05,1917,2019,https://boxd.it/a2,,,,"
    entries = _parse({"diary.csv": _diary(GOOD, no_watched_date)}).entries

    assert entries.schema == pl.Schema(ENTRIES_SCHEMA)
    assert entries.drop("film_key").rows() == [
        (
            2,
            "Arrival",
            2016,
            "https://boxd.it/a1",
            date(2024, 1, 2),
            date(2024, 1, 1),
            4.5,
            True,
            ["a24", "in-theaters"],
            False,
        ),
        (3, "1917", 2019, "https://boxd.it/a2", date(2024, 3, 5), date(2024, 3, 5), None, False, [], False),
    ]


def test_watched_date_alone_is_enough():
    entries = _parse({"diary.csv": _diary(",Her,2013,https://boxd.it/h,,,,2024-01-01")}).entries

    assert entries.select("logged_date", "watched_date").rows() == [(None, date(2024, 1, 1))]


def test_has_review_by_uri_or_by_name_year_and_watched_date():
    reviews = (
        "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\n"
        "2024-01-02,Arrival,2016,https://boxd.it/a1,,,great,,2024-01-01\n"
        "2016-05-01,Her,2013,http://letterboxd.com/u/film/her/,,,old style,,2016-04-30\n"
        "2024-05-01,Heat,1995,https://boxd.it/zz,,,not this viewing,,2024-04-30\n"
    )
    diary = _diary(
        GOOD,
        "2016-05-01,Her,2013,http://letterboxd.com/u/film/her/1/,,,,2016-04-30",
        "2024-05-01,Heat,1995,https://boxd.it/h2,,,,2024-01-01",
    )
    entries = _parse({"diary.csv": diary, "reviews.csv": reviews}).entries

    assert entries.select("name", "has_review").rows() == [("Arrival", True), ("Her", True), ("Heat", False)]


# --- films ---------------------------------------------------------------------------------


def test_film_key_is_sha1_of_name_and_year():
    assert film_key("Arrival", 2016) == hashlib.sha1(b"Arrival\x1f2016").hexdigest()[:16]
    assert film_key("Never Hike in the Snow", None) == hashlib.sha1(b"Never Hike in the Snow\x1f").hexdigest()[:16]


def test_films_across_files():
    files = {
        "diary.csv": _diary(
            GOOD, "2024-02-02,Arrival,2016,https://boxd.it/a9,,,,2024-02-01", "2024-02-03,Odd,,,,,,2024-02-03"
        ),
        "watched.csv": "Date,Name,Year,Letterboxd URI\n2024-01-01,Arrival,2016,https://boxd.it/film1\n2024-01-01,Her,2013,https://boxd.it/film2\n",
        "ratings.csv": "Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Her,2013,https://boxd.it/film2,3.5\n2024-01-01,Heat,1995,https://boxd.it/film3,5\n",
        "reviews.csv": "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\n2024-01-01,Alien,1979,https://boxd.it/r,,,scary,,2024-01-01\n",
    }
    result = _parse(files)

    assert result.films.schema == pl.Schema(FILMS_SCHEMA)
    assert result.films.drop("film_key").rows() == [
        ("Alien", 1979, None, None, False),
        ("Arrival", 2016, "https://boxd.it/film1", None, True),
        ("Heat", 1995, "https://boxd.it/film3", 5.0, False),
        ("Her", 2013, "https://boxd.it/film2", 3.5, False),
        ("Odd", None, None, None, True),
    ]
    keys_by_name = dict(result.films.select("name", "film_key").iter_rows())
    assert keys_by_name["Odd"] == film_key("Odd", None)
    assert result.entries["film_key"].to_list() == [
        keys_by_name["Arrival"],
        keys_by_name["Arrival"],
        keys_by_name["Odd"],
    ]


def test_same_title_different_years_are_different_films():
    films = _parse({"diary.csv": _diary(GOOD, "2024-02-02,Arrival,1991,https://boxd.it/a9,,,,2024-02-01")}).films

    assert films.select("name", "year").rows() == [("Arrival", 1991), ("Arrival", 2016)]


@pytest.mark.parametrize("name", [" ", "   ", "\t", " \t "])
def test_a_blank_title_is_quarantined(name):
    record = f"2024-01-02,{name},2016,https://boxd.it/b,,,,2024-01-01"
    files = {
        "diary.csv": _diary(GOOD, record),
        "watched.csv": f"Date,Name,Year,Letterboxd URI\n2024-01-01,{name},2016,https://boxd.it/w\n",
    }
    result = _parse(files)

    assert result.entries["line"].to_list() == [2]
    assert result.films["name"].to_list() == ["Arrival"]
    assert _reasons(files) == {
        ("diary.csv", 3): "Name is blank (only white space)",
        ("watched.csv", 2): "Name is blank (only white space)",
    }
