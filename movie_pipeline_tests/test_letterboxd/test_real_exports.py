"""Every real export in the fixtures, read and parsed, compared with the csv module's own reading."""

import csv
import io
from datetime import date
from functools import cache

import polars as pl
import pytest

from movie_pipeline.letterboxd.parse import ParsedExport, parse_export
from movie_pipeline.letterboxd.reader import RawRead, open_upload, read_raw_rows
from movie_pipeline_tests.test_letterboxd.real_exports import (
    DIARY_ROWS_IN_SOURCES,
    EXPORTS,
    film_pairs,
    root_files,
    upload_path,
)

ALL_EXPORTS = sorted(EXPORTS)


@cache
def read(export: str) -> RawRead:
    return read_raw_rows(open_upload(upload_path(export)))


@cache
def parsed(export: str) -> ParsedExport:
    return parse_export(read(export).rows)


def _year_text(year: int | None) -> str:
    return "" if year is None else str(year)


@pytest.mark.parametrize("export", ALL_EXPORTS)
def test_every_diary_record_is_an_entry_or_quarantined(export):
    diary_records = len(root_files(export)["diary.csv"].records)
    result = parsed(export)
    quarantined = result.quarantine.filter(pl.col("source_file") == "diary.csv").height

    assert diary_records == DIARY_ROWS_IN_SOURCES[export]
    assert result.entries.height + quarantined == diary_records
    # Letterboxd's own files have no bad rows; the semicolon copy is recovered in full.
    assert result.entries.height == diary_records


@pytest.mark.parametrize("export", ALL_EXPORTS)
def test_films_are_the_distinct_name_year_pairs(export):
    films = parsed(export).films
    found = {(name, _year_text(year)) for name, year in films.select("name", "year").iter_rows()}

    assert films.height == len(film_pairs(export))
    assert found == film_pairs(export)
    assert films["film_key"].n_unique() == films.height


@pytest.mark.parametrize("export", ALL_EXPORTS)
def test_raw_rows_per_file_match_the_csv_module(export):
    counts = dict(read(export).rows.group_by("source_file").len().iter_rows())

    assert counts == {name: len(file.records) for name, file in root_files(export).items() if file.records}


@pytest.mark.parametrize("export", ALL_EXPORTS)
def test_line_and_raw_point_at_the_records_text(export):
    rows = read(export).rows
    delimiter = ";" if "semicolon" in export else ","
    for source_file, file in root_files(export).items():
        physical_lines = file.text.replace("\r\n", "\n").split("\n")
        file_rows = rows.filter(pl.col("source_file") == source_file).sort("line")
        for line, raw, name in file_rows.select("line", "raw", "name").iter_rows():
            assert physical_lines[line - 1] == raw.replace("\r\n", "\n").split("\n")[0]
            assert next(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter))[1] == (name or "")
        assert file_rows["name"].fill_null("").to_list() == [record["Name"] for record in file.records]


@pytest.mark.parametrize("export", ALL_EXPORTS)
def test_entry_values_follow_the_diary(export):
    records = root_files(export)["diary.csv"].records
    entries = parsed(export).entries.sort("line")

    assert entries["name"].to_list() == [r["Name"] for r in records]
    assert entries["year"].to_list() == [int(r["Year"]) if r["Year"] else None for r in records]
    assert entries["letterboxd_uri"].to_list() == [r["Letterboxd URI"] or None for r in records]
    assert entries["rating"].to_list() == [float(r["Rating"]) if r["Rating"] else None for r in records]
    assert entries["rewatch"].to_list() == [r.get("Rewatch") == "Yes" for r in records]
    assert entries["tags"].to_list() == [r["Tags"].split(", ") if r["Tags"] else [] for r in records]
    assert entries["logged_date"].to_list() == [date.fromisoformat(r["Date"]) for r in records]
    assert entries["watched_date"].to_list() == [date.fromisoformat(r["Watched Date"] or r["Date"]) for r in records]


@pytest.mark.parametrize("export", ALL_EXPORTS)
def test_film_uri_rating_and_in_diary_come_from_the_right_files(export):
    files = root_files(export)

    def first_by_film(file_name: str, column: str) -> dict[tuple[str, str], str]:
        found: dict[tuple[str, str], str] = {}
        for record in files[file_name].records if file_name in files else []:
            if record[column]:
                found.setdefault((record["Name"], record["Year"]), record[column])
        return found

    film_uris = {**first_by_film("ratings.csv", "Letterboxd URI"), **first_by_film("watched.csv", "Letterboxd URI")}
    ratings = first_by_film("ratings.csv", "Rating")
    diary = {(r["Name"], r["Year"]) for r in files["diary.csv"].records}
    for name, year, uri, rating, in_diary in (
        parsed(export).films.select("name", "year", "letterboxd_uri", "rating", "in_diary").iter_rows()
    ):
        film = (name, _year_text(year))
        assert uri == film_uris.get(film)
        assert rating == (float(ratings[film]) if film in ratings else None)
        assert in_diary == (film in diary)


@pytest.mark.parametrize("export", ["choicehoney-zip", "extratone", "patrickmjones"])
def test_has_review_matches_reviews_by_uri_or_name_year_and_watched_date(export):
    files = root_files(export)
    review_uris = {r["Letterboxd URI"] for r in files["reviews.csv"].records}
    review_viewings = {(r["Name"], r["Year"], r["Watched Date"]) for r in files["reviews.csv"].records}
    expected = [
        (r["Letterboxd URI"] != "" and r["Letterboxd URI"] in review_uris)
        or (r["Name"], r["Year"], r["Watched Date"]) in review_viewings
        for r in files["diary.csv"].records
    ]

    assert parsed(export).entries.sort("line")["has_review"].to_list() == expected
    assert any(expected)


def test_numeric_titles_stay_strings():
    names = set(parsed("patrickmjones").films["name"])

    assert {"1917", "1922", "41", "300"} <= names
    assert "3022" not in names  # only on the watchlist
    assert "1917" in set(parsed("patrickmjones").entries["name"])
    assert "11.22.63" in set(parsed("countingthedots").films["name"])


def test_titles_with_commas_and_quotes_are_whole():
    names = set(parsed("patrickmjones").films["name"])

    assert {"Salò, or the 120 Days of Sodom", "I, Daniel Blake", '"Deji" Meets Girl'} <= names
    assert "One of the Roughs, a Kosmos" in set(parsed("extratone").entries["name"])


def test_no_break_spaces_are_kept():
    names = set(parsed("afelka").films["name"]) | set(parsed("fsanchez83").films["name"])

    assert "Star Wars: Episode II –\u00a0Attack of the Clones" in names
    assert "Star Wars: Episode II -\u00a0Attack of the Clones" in names


def test_empty_year_and_empty_uri_are_null():
    entries = parsed("patrickmjones").entries
    no_year = entries.filter(pl.col("year").is_null())["name"].to_list()
    no_uri = entries.filter(pl.col("letterboxd_uri").is_null())
    diary = root_files("patrickmjones")["diary.csv"].records

    assert sorted(no_year) == sorted(r["Name"] for r in diary if not r["Year"])
    assert {"Never Hike in the Snow", "Deep-Fried Fingers"} <= set(no_year)
    assert no_uri.height == sum(1 for r in diary if not r["Letterboxd URI"]) == 10
    assert entries.filter(pl.col("name") == "Never Hike in the Snow")["film_key"].is_not_null().all()


def test_legacy_diary_without_rewatch_column():
    rows = read("quetzle-2016").rows.filter(pl.col("source_file") == "diary.csv")
    entries = parsed("quetzle-2016").entries

    assert rows["rewatch"].is_null().all()
    assert entries.height == 63
    assert not entries["rewatch"].any()
    assert entries["letterboxd_uri"][0] == "http://letterboxd.com/radbot/film/interstellar/"


def test_semicolon_diary_is_read_with_a_warning():
    warnings = read("guilhermelmoraes-semicolon").warnings

    assert parsed("guilhermelmoraes-semicolon").entries.height == 477
    assert len(warnings) == 1
    assert "diary.csv" in warnings[0] and "';'" in warnings[0]
    assert read("guilhermelmoraes-semicolon").rows["problem"].is_null().all()


def test_multi_line_reviews_count_once():
    reviews = read("patrickmjones").rows.filter(pl.col("source_file") == "reviews.csv")

    assert reviews.height == 162
    assert reviews["line"].max() <= 620
    assert reviews["raw"].str.contains("\n").sum() > 0


def test_person_and_export_date_from_profile_or_zip_name():
    choicehoney = open_upload(upload_path("choicehoney-zip"))
    extratone = open_upload(upload_path("extratone"))
    afelka = open_upload(upload_path("afelka"))

    assert (choicehoney.person, choicehoney.exported_at) == ("choicehoney", "2026-01-02")
    profile = (upload_path("extratone") / "profile.csv").read_text(encoding="utf-8")
    assert extratone.person == next(csv.DictReader(io.StringIO(profile, newline="")))["Username"]
    assert (afelka.person, afelka.exported_at) == (None, None)
