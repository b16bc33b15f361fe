"""overrides.csv: which rows pin which film, and problems that name the file, the line and the fix."""

from pathlib import Path

import pytest

from movie_pipeline.tmdb.overrides import film_keys, read_overrides
from movie_pipeline.tmdb.statuses import MediaType


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_no_overrides(tmp_path):
    assert len(read_overrides(tmp_path / "overrides.csv")) == 0


def test_rows_match_by_uri_or_by_name_and_year(tmp_path):
    path = write(
        tmp_path,
        "letterboxd_uri,name,year,tmdb_id,note\n"
        "https://letterboxd.com/film/batman/,,,2661,the 1966 one\n"
        ",Amélie,2001,194,\n"
        ",Heat,,949,no year in my export\n",
    )
    overrides = read_overrides(path)
    assert len(overrides) == 3
    by_uri = overrides.find("Batman", 1989, "https://letterboxd.com/film/batman")
    assert (by_uri.tmdb_id, by_uri.line) == (2661, 2)
    assert overrides.find("Amelie", 2001, None).tmdb_id == 194  # names compare like titles
    assert overrides.find("Amélie", 2002, None) is None
    assert overrides.find("Heat", None, None).tmdb_id == 949
    assert overrides.find("Batman", 1989, None) is None
    assert "overrides.csv line 3" in overrides.find("Amélie", 2001, None).reason


def test_byte_order_mark_and_blank_lines_are_fine(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_bytes("\ufeffname,year,tmdb_id\r\n\r\nOldboy,2013,87516\r\n".encode())
    override = read_overrides(path).find("Oldboy", 2013, None)
    assert (override.tmdb_id, override.line) == (87516, 3)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name,year,tmdb_id\nFoo,1999,abc\n", 2, ["tmdb_id is 'abc'", "themoviedb.org/movie"]),
        ("name,year,tmdb_id\nFoo,1999,-4\n", 2, ["tmdb_id is '-4'"]),
        ("name,year,tmdb_id,media_type\nFoo,1999,x,tv\n", 2, ["tmdb_id is 'x'", "themoviedb.org/tv"]),
        ("name,year,tmdb_id\nFoo,nineteen,4\n", 2, ["year is 'nineteen'"]),
        ("name,year,tmdb_id\n,2001,5\n", 2, ["letterboxd_uri or a name"]),
        ("name,year,tmdb_id\nFoo, Bar,1999,4\n", 2, ["4 fields where the header has 3", "quote"]),
        ("name,year,tmdb_id,media_type\nFoo,1999,4,show\n", 2, ["media_type is 'show'", "movie or tv"]),
    ],
)
def test_a_bad_line_is_left_out_and_reported_with_file_line_and_fix(tmp_path, text, line, words):
    columns = text.split("\n", 1)[0].count(",") + 1
    path = write(tmp_path, text + "Kept,2000,77" + "," * (columns - 3) + "\n")
    overrides = read_overrides(path)
    assert [row.tmdb_id for row in overrides.rows] == [77]
    assert overrides.readable
    [problem] = overrides.problems
    assert problem.line == line
    assert str(problem).startswith(f"{path}, line {line}:")
    for word in words:
        assert word in str(problem)


def test_a_bad_header_leaves_out_every_line(tmp_path):
    path = write(tmp_path, "title,tmdb\nFoo,1\n")
    overrides = read_overrides(path)
    assert len(overrides) == 0 and not overrides.readable
    [problem] = overrides.problems
    assert problem.line == 1
    assert "tmdb_id" in problem.message and "letterboxd_uri or name" in problem.message


def test_of_two_lines_for_one_film_the_first_is_used(tmp_path):
    path = write(tmp_path, "name,year,tmdb_id\nFoo,1999,4\nfoo,1999,5\n")
    overrides = read_overrides(path)
    assert overrides.find("Foo", 1999, None).tmdb_id == 4
    [problem] = overrides.problems
    assert problem.line == 3
    assert "same film as line 2" in problem.message and "keep one" in problem.message


def test_the_same_pin_twice_is_not_a_conflict(tmp_path):
    path = write(tmp_path, "name,year,tmdb_id\nFoo,1999,4\nFoo,1999,4\n")
    overrides = read_overrides(path)
    assert overrides.find("Foo", 1999, None).tmdb_id == 4
    assert overrides.problems == ()


def test_media_type_is_optional_and_defaults_to_movie(tmp_path):
    path = write(tmp_path, "name,year,tmdb_id,media_type\nChernobyl,2019,87108,TV\nHeat,1995,949,\n")
    overrides = read_overrides(path)
    chernobyl, heat = overrides.find("Chernobyl", 2019, None), overrides.find("Heat", 1995, None)
    assert (chernobyl.media_type, heat.media_type) == (MediaType.TV, MediaType.MOVIE)
    assert "TMDB TV 87108" in chernobyl.reason
    assert read_overrides(write(tmp_path, "name,tmdb_id\nHeat,949\n")).find("Heat", None, None).media_type == "movie"


def test_an_unreadable_file_is_a_problem_not_a_failure(tmp_path):
    folder = tmp_path / "overrides.csv"
    folder.mkdir()
    overrides = read_overrides(folder)
    assert len(overrides) == 0 and not overrides.readable
    assert overrides.problems[0].line == 1


def test_pins_say_which_film_goes_where_and_film_keys_find_them(tmp_path):
    path = write(
        tmp_path,
        "letterboxd_uri,name,year,tmdb_id,media_type\nhttps://letterboxd.com/film/batman/,,,2661,\n,Amélie,2001,194,\n",
    )
    pins = read_overrides(path).pins()
    assert sorted(pins.values()) == ["movie/194", "movie/2661"]
    assert set(film_keys("Batman", 1989, "letterboxd.com/film/batman")) & set(pins)
    assert set(film_keys("Amelie", 2001, None)) & set(pins)
    assert not set(film_keys("Amelie", 2002, None)) & set(pins)
