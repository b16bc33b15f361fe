"""overrides.csv: which rows pin which film, and errors that name the file, the line and the fix."""

from pathlib import Path

import pytest

from movie_pipeline.tmdb.overrides import OverridesError, read_overrides


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
        ("title,tmdb\nFoo,1\n", 1, ["tmdb_id", "letterboxd_uri or name"]),
        ("name,year,tmdb_id\nFoo,1999,abc\n", 2, ["tmdb_id is 'abc'", "themoviedb.org/movie"]),
        ("name,year,tmdb_id\nFoo,1999,-4\n", 2, ["tmdb_id is '-4'"]),
        ("name,year,tmdb_id\nFoo,nineteen,4\n", 2, ["year is 'nineteen'"]),
        ("name,year,tmdb_id\nFoo,1999,4\n,2001,5\n", 3, ["letterboxd_uri or a name"]),
        ("name,year,tmdb_id\nFoo, Bar,1999,4\n", 2, ["4 fields where the header has 3", "quote"]),
        ("name,year,tmdb_id\nFoo,1999,4\nfoo,1999,5\n", 3, ["same film as line 2", "keep one"]),
    ],
)
def test_bad_rows_are_reported_with_file_line_and_fix(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(OverridesError) as raised:
        read_overrides(path)
    message = str(raised.value)
    assert message.startswith(f"{path}, line {line}:")
    for word in words:
        assert word in message


def test_the_same_pin_twice_is_not_a_conflict(tmp_path):
    path = write(tmp_path, "name,year,tmdb_id\nFoo,1999,4\nFoo,1999,4\n")
    assert read_overrides(path).find("Foo", 1999, None).tmdb_id == 4
