"""render_year_card: a 1080×1350 self-contained SVG with the year's numbers, genres and best films."""

import re
import xml.etree.ElementTree as ET

import pytest

from movie_pipeline.stats.card import card_file_name, render_year_card
from movie_pipeline.stats.compute import ViewingStats, compute_stats
from movie_pipeline_tests.test_stats.frames import FILMS, details_frame, diary, entries_frame, film

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE_TITLE = "<script>alert('x')</script> & \"friends\""


@pytest.fixture(scope="module")
def stats() -> ViewingStats:
    return compute_stats(*diary())


def texts(card: str) -> list[str]:
    """Every text element's words, tspans joined, in document order."""
    return ["".join(node.itertext()) for node in ET.fromstring(card).iter(f"{SVG}text")]


def test_card_is_a_portrait_svg_that_loads_nothing(stats: ViewingStats) -> None:
    card = render_year_card(stats, "2021", title=HOSTILE_TITLE)
    root = ET.fromstring(card)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("1080", "1350", "0 0 1080 1350")
    for node in root.iter():
        assert node.tag.removeprefix(SVG) not in ("script", "image", "foreignObject", "use", "a")
        assert not any("href" in name for name in node.attrib)
    assert re.findall(r"url\(([^)]*)\)", card) == ["#background"]
    assert "@import" not in card and "http" not in card.replace("http://www.w3.org/2000/svg", "")


def test_card_escapes_user_text(stats: ViewingStats) -> None:
    card = render_year_card(stats, "2021", title=HOSTILE_TITLE)
    assert "<script" not in card
    assert HOSTILE_TITLE in texts(card)  # arrives as text, whole: it fits the title line


def test_card_holds_the_years_headline_numbers(stats: ViewingStats) -> None:
    words = texts(render_year_card(stats, "2021", title="Diary"))
    # 2021 (see test_compute): 7 entries, 6 films, 410 min = 6.8 h -> 7, mean (4 + 3 + 5 + 2 + 4.5) / 5 = 3.70,
    # 6 viewing days, longest streak 2021-01-04 .. 01-06 = 3 days.
    numbers = words[words.index("Diary") + 1 : words.index("VIEWING DAYS")]
    assert list(zip(numbers[::2], numbers[1::2], strict=True)) == [
        ("7", "DIARY ENTRIES"),
        ("6", "FILMS"),
        ("7", "HOURS"),
        ("3.70★", "MEAN RATING"),
        ("6", "DAYS WITH A FILM"),
        ("3", "DAYS IN A ROW"),
    ]
    assert words[words.index("2021") + 1] == "Diary"


def test_card_lists_top_genres_and_highest_rated_films(stats: ViewingStats) -> None:
    words = texts(render_year_card(stats, "2021", title="Diary"))
    genres = words[words.index("TOP GENRES") + 1 : words.index("HIGHEST RATED")]
    # 2021 films: Drama = Alpha, Beta, Zeta; Comedy = Beta, Gamma; 4 of 6 films have genres (Delta, Epsilon none).
    assert genres == ["Drama", "3", "Comedy", "2", "films per genre, 4 of 6 films with genres"]
    rated = words[words.index("HIGHEST RATED") + 1 : words.index("HIGHEST RATED") + 9]
    assert rated == [
        "Alpha (1999)",
        "4.50★ · 2 ratings",
        "Zeta (1999)",
        "4.50★ · 1 rating",
        "Beta (2021)",
        "3.00★ · 1 rating",
        "Delta (2020)",
        "2.00★ · 1 rating",
    ]
    # The calendar: a square per day of 2021, six of them with a film.
    squares = re.findall(r'<rect class="day l(\d)"', render_year_card(stats, "2021", title="Diary"))
    assert len(squares) == 365 and len([s for s in squares if s != "0"]) == 6


def test_long_titles_are_cut_before_their_year() -> None:
    films = [film("long", "The Unbearably Long Title of a Film Nobody Finishes", 1971), FILMS[0]]
    stats = compute_stats(entries_frame(films, [(2, "long", "2020-02-02", 5.0, False, False)]), details_frame(films))
    words = texts(render_year_card(stats, "2020", title="x" * 60))
    # Estimated at 26px: " (1971)" takes 109 px of the column's 440; "The Unbearably Long…" 310 of the 331 left
    # (one more character, " o", would make 336).
    assert "The Unbearably Long… (1971)" in words
    assert "x" * 43 + "…" in words  # 44 characters x 0.62 em x 34 px = 927.5 px of the line's 936; 45 would be 949
    # Without TMDB details there are no genres, and no runtime: hours read "–".
    assert "Genres appear once films" in words and "–" in words


def test_card_for_a_year_without_entries_is_an_error(stats: ViewingStats) -> None:
    with pytest.raises(ValueError, match="cards exist for: 2021, 2022"):
        render_year_card(stats, "1999", title="Diary")
    assert card_file_name("2021") == "card-2021.svg"
