"""render_report / write_reports: self-contained, escaped, attributed HTML pages."""

import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from movie_pipeline.letterboxd.parse import ENTRIES_SCHEMA
from movie_pipeline.stats.compute import ViewingStats, compute_stats
from movie_pipeline.stats.report import UnknownPeriodError, render_report, write_reports
from movie_pipeline_tests.test_stats.frames import (
    DETAIL_SCHEMA,
    FILMS,
    details_frame,
    diary,
    entries_frame,
    film,
    lag_diary,
)

HOSTILE_TITLE = "<script>alert('x')</script> & \"friends\""
ATTRIBUTION = "This product uses the TMDB API but is not endorsed or certified by TMDB"


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(page: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = TagCollector()
    collector.feed(page)
    return collector.tags


@pytest.fixture(scope="module")
def hostile_stats() -> ViewingStats:
    """The diary with a film and a director whose names are HTML."""
    films = [dict(f) for f in FILMS]
    films[0] |= {"name": "<img src=x onerror=alert(1)> & Co", "directors": ['<b>Ann</b> "Lee"']}
    entries, _ = diary()
    entries = entries.with_columns(
        name=pl.when(pl.col("film_key") == "alpha").then(pl.lit(films[0]["name"])).otherwise("name")
    )
    return compute_stats(entries, details_frame(films), min_count=2)


def test_page_loads_nothing_from_outside(hostile_stats: ViewingStats) -> None:
    for period in ("all", "2021"):
        page = render_report(hostile_stats, title=HOSTILE_TITLE, period=period)
        assert "http://" not in page and "https://" not in page
        for tag, attrs in tags_of(page):
            assert tag not in ("script", "img", "link", "iframe", "object", "embed")
            for name in ("src", "href"):
                value = attrs.get(name) or ""
                assert not re.match(r"\s*([a-z]+:|//)", value), (tag, attrs)
        assert "url(" not in page and "@import" not in page


def test_user_text_is_escaped(hostile_stats: ViewingStats) -> None:
    page = render_report(hostile_stats, title=HOSTILE_TITLE)
    assert "<script" not in page
    assert "<h1>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;friends&quot;</h1>" in page
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; Co (1999)" in page
    assert "&lt;b&gt;Ann&lt;/b&gt; &quot;Lee&quot;" in page
    assert "<img" not in page and "<b>Ann" not in page


def test_page_carries_the_attribution_and_the_numbers() -> None:
    stats = compute_stats(*diary())
    page = render_report(stats, title="Diary")
    assert ATTRIBUTION in page
    # Headline cards: 12 entries, 6 films, 3 rewatches, 12 hours.
    values = re.findall(r'<div class="value">([^<]*)</div><div class="caption">([^<]*)</div>', page)
    assert values[:3] == [("12", "diary entries"), ("6", "films"), ("12", "hours watched")]
    assert "TMDB details for 4 of 6 films (1 still pending, 1 not found on TMDB)." in page


def test_year_page_has_a_column_per_iso_week() -> None:
    page = render_report(compute_stats(*diary()), title="Diary", period="2021")
    # The Mondays of weeks touching 2021 run from 2020-12-28 to 2021-12-27: 53 weeks.
    assert page.count("week of ") == 53
    assert "week of 2020-12-28: 0 entries" in page and "week of 2021-01-04: 5 entries" in page


def test_write_reports_writes_linked_pages(tmp_path: Path) -> None:
    index = write_reports(compute_stats(*diary()), tmp_path / "reports", "upload-1", "Diary")
    assert index == (tmp_path / "reports" / "upload-1" / "index.html").resolve()
    assert index.is_absolute()
    assert sorted(p.name for p in index.parent.iterdir()) == [
        "2021.html",
        "2022.html",
        "card-2021.svg",
        "card-2022.svg",
        "index.html",
    ]
    periods = ["index.html", "2021.html", "2022.html"]
    assert links_of(index) == [*periods, "card-2021.svg", "card-2022.svg", "matches.html"]
    assert links_of(index.parent / "2022.html") == [*periods, "card-2022.svg", "matches.html"]


def links_of(page: Path) -> list[str | None]:
    return [attrs["href"] for tag, attrs in tags_of(page.read_text(encoding="utf-8")) if tag == "a"]


def test_write_reports_refuses_a_path_as_upload(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a plain folder name"):
        write_reports(compute_stats(*diary()), tmp_path, "../elsewhere", "Diary")


def test_unknown_period_is_an_error() -> None:
    with pytest.raises(UnknownPeriodError, match="choose 'all' or one of: 2021, 2022"):
        render_report(compute_stats(*diary()), title="Diary", period="1999")


def test_empty_upload_renders_a_page() -> None:
    stats = compute_stats(pl.DataFrame(schema=ENTRIES_SCHEMA), pl.DataFrame(schema=DETAIL_SCHEMA))
    page = render_report(stats, title="Nobody")
    assert "This upload has no diary entries." in page and ATTRIBUTION in page


def test_unenriched_upload_renders_without_tmdb_sections() -> None:
    films = [{"film_key": "a", "name": "A", "year": 2001, "status": None}]
    stats = compute_stats(entries_frame(films, [(2, "a", "2020-05-01", 4.0, False, False)]), details_frame(films))
    page = render_report(stats, title="Plain")
    assert "No TMDB details for these films yet." in page
    assert "TMDB details for 0 of 1 films (1 not looked up yet)." in page


def test_a_popularity_list_of_zeros_renders() -> None:
    # The stand-in (and TMDB, for obscure films) gives popularity 0: the bars must not divide by it.
    from movie_pipeline.stats.report import _popularity_list

    page = _popularity_list(pl.DataFrame({"item": ["Obscure (1931)"], "value": [0.0]}))
    assert "Obscure (1931)" in page and "width:0%" in page


def test_year_page_has_a_calendar_square_per_day() -> None:
    page = render_report(compute_stats(*diary()), title="Diary", period="2021")
    assert len(re.findall(r'<rect class="day l\d"', page)) == 365
    # 2021-01-06 holds lines 4 and 5; the other five viewing days one film each (see test_compute).
    assert '<rect class="day l2"' in page and "<title>2021-01-06: 2 films</title>" in page
    assert len(re.findall(r'<rect class="day l1"', page)) == 5
    assert "6 days with a film" in page


def test_all_time_page_has_every_years_calendar_newest_first() -> None:
    page = render_report(compute_stats(*diary()), title="Diary")
    # 365 squares for 2021 and 365 for 2022; headings newest first: 2022 has 4 viewing days, 2021 has 6.
    assert len(re.findall(r'<rect class="day l\d"', page)) == 730
    assert re.findall(r"<h3>(\d{4}) · (\d+) days with a film</h3>", page) == [("2022", "4"), ("2021", "6")]


def test_release_lag_panel_shows_the_median_and_the_films_seen_before_release() -> None:
    stats = compute_stats(*lag_diary())
    page = render_report(stats, title="Lag")
    # Median 198 days = 6.5 months of 30.44 days -> "7 months" (see test_compute for the 198).
    assert "<b>7 months</b> median, over 4 films seen on or after release" in page
    assert "105 days early" in page and "seen 2021-09-03, released 2021-12-17" in page
    assert (
        "over 7 films first watched; left out: 1 seen before release (listed apart), "
        "1 without a TMDB release date, 1 only on placeholder dates"
    ) in page
    year = render_report(stats, title="Lag", period="2022")
    assert "No film has a TMDB release date and a real watch date yet." in year


def test_your_films_lists_highest_rated_and_most_rewatched() -> None:
    page = render_report(compute_stats(*diary()), title="Diary", period="2021")
    rated = re.search(r"Highest rated</h3>(.*?)</article>", page)
    assert rated is not None
    # 2021 means: Alpha (4 + 5) / 2 = 4.5 over 2 ratings, Zeta 4.5 over 1, Beta 3, Delta 2 (see test_compute).
    names = re.findall(r'<span class="name" title="[^"]*">([^<]*)</span>', rated.group(1))
    assert names == ["Alpha (1999)", "Zeta (1999)", "Beta (2021)", "Delta (2020)"]
    assert '4.50★</span><span class="unit">2 ratings' in rated.group(1)
    rewatched = re.search(r"Most rewatched</h3>(.*?)</article>", page)
    assert rewatched is not None
    assert re.findall(r'<span class="name" title="[^"]*">([^<]*)</span>', rewatched.group(1)) == ["Alpha (1999)"]


def test_all_time_page_keeps_the_newest_ten_calendars() -> None:
    films = [film(f"y{year}", f"Film {year}", 2000) for year in range(2010, 2022)]
    rows = [(2 + i, f"y{year}", f"{year}-07-01", None, False, False) for i, year in enumerate(range(2010, 2022))]
    stats = compute_stats(entries_frame(films, rows), details_frame(films))
    page = render_report(stats, title="Twelve years")
    # 12 watch years: 2021 .. 2012 are drawn, 2011 and 2010 are left to their own pages.
    assert [year for year, _ in re.findall(r"<h3>(\d{4}) · (\d+) day", page)] == [str(y) for y in range(2021, 2011, -1)]
    assert "2 older years have their calendars on their own pages." in page
    assert len(re.findall(r'<rect class="day l\d"', render_report(stats, title="x", period="2010"))) == 365
