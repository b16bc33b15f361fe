"""compute_stats on hand-made diaries; every expected value is worked out by hand in the comments."""

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from movie_pipeline.letterboxd.parse import ENTRIES_SCHEMA
from movie_pipeline.stats.compute import STATS_SCHEMA, ViewingStats, compute_stats, milestone_numbers
from movie_pipeline_tests.test_stats.frames import (
    DETAIL_SCHEMA,
    details_frame,
    diary,
    entries_frame,
    film,
    lag_diary,
    tmdb,
)


@pytest.fixture(scope="module")
def stats() -> ViewingStats:
    return compute_stats(*diary())


def counts(stats: ViewingStats, section: str, period: str = "all") -> dict[str, int]:
    return {row["item"]: row["count"] for row in stats.section(section, period).iter_rows(named=True)}


def row_of(stats: ViewingStats, section: str, item: str, period: str = "all") -> dict[str, Any]:
    row = stats.get(section, item, period)
    assert row is not None, f"no {section} / {item} row for {period}"
    return row


def ranked(stats: ViewingStats, section: str, period: str = "all") -> list[tuple[str, int]]:
    return [(row["item"], row["rank"]) for row in stats.section(section, period).iter_rows(named=True)]


def test_table_has_the_movie_stats_columns_and_unique_keys(stats: ViewingStats) -> None:
    assert stats.table.schema == pl.Schema(STATS_SCHEMA)
    assert stats.table.select("period", "section", "item").is_duplicated().sum() == 0


def test_rewatches_count_as_entries_but_not_as_films(stats: ViewingStats) -> None:
    # 12 diary lines; distinct films alpha, beta, gamma, delta, eps, zeta = 6 (omega has no entry);
    # rewatches are lines 5, 9 and 12.
    assert counts(stats, "headline")["entries"] == 12
    assert counts(stats, "headline")["films"] == 6
    assert counts(stats, "headline")["rewatches"] == 3


def test_watch_years_are_periods_and_the_watched_date_decides(stats: ViewingStats) -> None:
    assert stats.years == ["2021", "2022"]
    # 2021: lines 2-8 = 7 entries. Line 8 was logged on 2022-01-02 but watched on 2021-12-31.
    assert counts(stats, "headline", "2021")["entries"] == 7
    assert counts(stats, "headline", "2022")["entries"] == 5
    # 2021 films: all six; 2022 films: beta, gamma, delta, alpha, eps = 5.
    assert counts(stats, "headline", "2021")["films"] == 6
    assert counts(stats, "headline", "2022")["films"] == 5
    assert counts(stats, "headline", "2021")["rewatches"] == 1  # line 5
    assert row_of(stats, "first_last", "last", "2021")["label"] == "Zeta (1999) · 2021-12-31"
    assert row_of(stats, "first_last", "first", "2022")["label"] == "Beta (2021) · 2022-01-01"


def test_unrated_entries_are_left_out_of_means(stats: ViewingStats) -> None:
    # Rated entries: 4 + 3 + 5 + 2 + 4.5 + 5 + 3.5 + 1 = 28 over 8 -> 3.5; lines 4, 7, 11, 13 are unrated.
    mean = row_of(stats, "ratings", "mean")
    assert (mean["value"], mean["count"]) == (3.5, 8)
    # 2022: 5 + 3.5 + 1 = 9.5 over 3 rated entries.
    assert row_of(stats, "ratings", "mean", "2022")["value"] == pytest.approx(9.5 / 3)
    # Films with a rated entry: all but Epsilon -> 5 of 6.
    rated = row_of(stats, "headline", "rated_share")
    assert (rated["count"], rated["value"]) == (5, pytest.approx(5 / 6))
    assert row_of(stats, "headline", "reviewed_share")["value"] == pytest.approx(1 / 6)  # Beta only


def test_rating_spread_counts_each_half_step(stats: ViewingStats) -> None:
    expected = {"0.5": 0, "1.0": 1, "1.5": 0, "2.0": 1, "2.5": 0, "3.0": 1, "3.5": 1, "4.0": 1, "4.5": 1, "5.0": 2}
    assert counts(stats, "rating_spread") == expected


def test_user_rating_is_compared_with_tmdb_on_films_with_votes(stats: ViewingStats) -> None:
    # Film ratings: Alpha (4 + 5 + 1) / 3 = 10/3, Beta (3 + 5) / 2 = 4, Zeta 4.5; Gamma has no TMDB votes.
    # Gaps (stars x 2 - vote_average): Alpha 20/3 - 7 = -1/3, Beta 8 - 6 = 2, Zeta 9 - 5 = 4.
    versus = row_of(stats, "ratings", "user_vs_tmdb")
    assert versus["value"] == pytest.approx((-1 / 3 + 2 + 4) / 3)
    assert (versus["films_covered"], versus["films_total"]) == (3, 5)  # 5 rated films
    assert ranked(stats, "rating_gap_above_tmdb") == [("Zeta (1999)", 1), ("Beta (2021)", 2)]
    assert ranked(stats, "rating_gap_below_tmdb") == [("Alpha (1999)", 1)]
    assert row_of(stats, "rating_gap_above_tmdb", "Zeta (1999)")["value"] == pytest.approx(4.0)


def test_hours_and_tmdb_stats_say_how_many_films_they_cover(stats: ViewingStats) -> None:
    # Runtime per entry: Alpha 3 x 100 + Beta 2 x 90 + Gamma 2 x 120 = 720 min = 12 h.
    # Zeta's runtime is 0 (unknown), Delta and Epsilon are not enriched: 3 of 6 films have a runtime.
    hours = row_of(stats, "headline", "hours")
    assert (hours["value"], hours["films_covered"], hours["films_total"]) == (12.0, 3, 6)
    assert hours["label"] == "12 h over 3 of 6 films"
    # 2021: Alpha 2 x 100 + Beta 90 + Gamma 120 = 410 min.
    assert row_of(stats, "headline", "hours", "2021")["value"] == pytest.approx(410 / 60)
    directors = row_of(stats, "headline", "directors")
    assert (directors["count"], directors["films_covered"], directors["films_total"]) == (2, 4, 6)
    countries = row_of(stats, "headline", "countries")
    assert (countries["count"], countries["films_covered"]) == (3, 4)  # US, FR, GB
    assert row_of(stats, "headline", "longest_film")["label"] == "Gamma (1985)"
    assert row_of(stats, "headline", "shortest_film")["label"] == "Beta (2021)"


def test_coverage_counts_match_statuses_of_diary_films(stats: ViewingStats) -> None:
    assert counts(stats, "coverage") == {"found": 3, "override": 1, "not_found": 1, "pending": 1}
    assert counts(stats, "coverage", "2022") == {"found": 2, "override": 1, "not_found": 1, "pending": 1}


def test_not_enriched_films_show_as_not_run() -> None:
    films = [film("a", "A", 2001), film("b", "B", 2002)]
    stats = compute_stats(
        entries_frame(films, [(2, "a", "2020-05-01", None, False, False), (3, "b", "2020-05-02", None, False, False)]),
        details_frame(films),
    )
    assert counts(stats, "coverage") == {"not_run": 2}
    assert row_of(stats, "headline", "hours")["label"] == "0 h over 0 of 2 films"
    assert stats.section("directors_most_watched").is_empty()


def test_ties_break_by_count_then_name(stats: ViewingStats) -> None:
    # Directors: Ann Lee (Alpha, Beta) and Bo Chan (Gamma, Zeta) both 2 films -> by name.
    assert ranked(stats, "directors_most_watched") == [("Ann Lee", 1), ("Bo Chan", 2)]
    # Actors: Pat Roe (Alpha, Beta) 2, Quin Ash (Alpha, Gamma) 2.
    assert ranked(stats, "actors_most_watched") == [("Pat Roe", 1), ("Quin Ash", 2)]
    # Countries: US (Alpha, Gamma, Zeta) 3, then FR 1 and GB 1 by name.
    assert ranked(stats, "countries_most_watched") == [("US", 1), ("FR", 2), ("GB", 3)]
    assert counts(stats, "languages_most_watched") == {"en": 3, "fr": 1}
    # Busiest day: 2021-01-06 and 2022-01-03 both hold 2 entries -> the earlier, films in line order.
    busiest = stats.section("busiest_day").row(0, named=True)
    assert (busiest["item"], busiest["count"], busiest["label"]) == ("2021-01-06", 2, "Gamma (1985); Alpha (1999)")


def test_highest_rated_needs_min_count_rated_films() -> None:
    entries, details = diary()
    # Genres: Drama = Alpha 10/3, Beta 4, Zeta 4.5 -> 3 rated, mean 71/18; Comedy = Beta 4, Gamma 3.5 -> 2 rated.
    strict = compute_stats(entries, details, min_count=3)
    assert ranked(strict, "genres_highest_rated") == [("Drama", 1)]
    drama = row_of(strict, "genres_highest_rated", "Drama")
    assert (drama["value"], drama["count"], drama["label"]) == (pytest.approx(71 / 18), 3, "at least 3 rated films")
    assert strict.section("directors_highest_rated").is_empty()  # each director has 2 rated films
    # With 2: Comedy (4 + 3.5) / 2 = 3.75 joins; directors Bo Chan (3.5 + 4.5) / 2 = 4 > Ann Lee (10/3 + 4) / 2 = 11/3.
    loose = compute_stats(entries, details, min_count=2)
    assert ranked(loose, "genres_highest_rated") == [("Drama", 1), ("Comedy", 2)]
    assert ranked(loose, "directors_highest_rated") == [("Bo Chan", 1), ("Ann Lee", 2)]
    assert row_of(loose, "directors_highest_rated", "Ann Lee")["value"] == pytest.approx(11 / 3)
    # Decades with 2 rated films: 1990s (10/3 + 4.5) / 2 = 47/12; 2020s (Beta 4 + Delta 2) / 2 = 3; 1980s has 1.
    assert ranked(loose, "decade_highest_rated") == [("1990s", 1), ("2020s", 2)]
    assert strict.section("decade_highest_rated").is_empty()


def test_time_shapes(stats: ViewingStats) -> None:
    assert counts(stats, "per_weekday") == {"Mon": 4, "Tue": 1, "Wed": 3, "Fri": 2, "Sat": 1, "Sun": 1}
    assert counts(stats, "per_month") == {"2021-01": 5, "2021-03": 1, "2021-12": 1, "2022-01": 4, "2022-06": 1}
    # ISO weeks: 2021-12-27..2022-01-02 is 2021-W52, so 2022's first two viewings fall in it.
    assert counts(stats, "per_week") == {"2021-W01": 5, "2021-W09": 1, "2021-W52": 3, "2022-W01": 2, "2022-W24": 1}
    assert counts(stats, "per_week", "2022") == {"2021-W52": 2, "2022-W01": 2, "2022-W24": 1}
    # Consecutive days: 2021-12-31 .. 2022-01-03 (4) beats 2021-01-04 .. 01-06 (3); years split the run.
    assert row_of(stats, "streak", "longest")["count"] == 4
    assert row_of(stats, "streak", "longest")["label"] == "2021-12-31 → 2022-01-03"
    assert row_of(stats, "streak", "longest", "2021")["label"] == "2021-01-04 → 2021-01-06"
    assert row_of(stats, "streak", "longest", "2022")["count"] == 3


def test_release_years_decades_and_recency(stats: ViewingStats) -> None:
    assert counts(stats, "release_decade") == {"1980s": 1, "1990s": 2, "2020s": 3}
    assert counts(stats, "release_year") == {"1985": 1, "1999": 2, "2020": 1, "2021": 2}
    # First watched in the period vs release year: Beta and Epsilon (2021) first seen in 2021.
    assert counts(stats, "release_recency") == {"same_year": 2, "earlier": 4}
    assert counts(stats, "release_recency", "2022") == {"earlier": 5}


def test_popularity_lists_use_films_with_tmdb_popularity(stats: ViewingStats) -> None:
    assert ranked(stats, "most_popular")[:2] == [("Alpha (1999)", 1), ("Gamma (1985)", 2)]
    assert ranked(stats, "most_obscure")[:2] == [("Zeta (1999)", 1), ("Beta (2021)", 2)]
    first = stats.section("most_obscure").row(0, named=True)
    assert (first["value"], first["films_covered"], first["films_total"]) == (1.0, 4, 6)


def test_milestones_follow_watched_date_then_line() -> None:
    # 250 viewings, one a day from 2020-09-01, with lines numbered backwards so line order is not date order.
    films = [film(f"k{i}", f"Film {i}", 2000) for i in range(250)]
    rows = [
        (300 - i, f"k{i}", (date(2020, 9, 1) + timedelta(days=i)).isoformat(), None, False, False) for i in range(250)
    ]
    stats = compute_stats(entries_frame(films, rows), details_frame(films))
    # 100th: 2020-09-01 + 99 days = 2020-12-09.
    # 250th: + 249 days; Sep 30 + Oct 31 + Nov 30 + Dec 31 = 122 days to 2021-01-01, + 127 more = 2021-05-08.
    assert {row["item"]: row["label"] for row in stats.section("milestones").iter_rows(named=True)} == {
        "1": "Film 0 (2000) · 2020-09-01",
        "100": "Film 99 (2000) · 2020-12-09",
        "250": "Film 249 (2000) · 2021-05-08",
    }
    assert counts(stats, "milestones", "2021") == {"250": 250}
    # Two entries on one day: the lower line comes first.
    same_day = compute_stats(
        entries_frame(
            films[:2], [(7, "k0", "2020-01-01", None, False, False), (3, "k1", "2020-01-01", None, False, False)]
        ),
        details_frame(films[:2]),
    )
    assert row_of(same_day, "milestones", "1")["label"] == "Film 1 (2000) · 2020-01-01"


def test_milestone_numbers() -> None:
    assert milestone_numbers(99) == [1]
    assert milestone_numbers(2500) == [1, 100, 250, 500, 1000, 2000]


def test_placeholder_dates_stay_entries_but_leave_day_level_stats() -> None:
    films = [film("x", "Back-filled", 1990), film("y", "Real", 2001), film("z", "Sentinel", 1980)]
    bulk = [(100 + i, "x", "2023-05-01", None, False, False) for i in range(20)]
    real = [
        (2, "y", "2023-04-30", 3.0, False, False),
        (3, "y", "2023-05-02", 3.0, True, False),
        (4, "y", "2023-05-03", 3.0, True, False),
        (5, "y", "2023-05-03", 3.0, True, False),
        (6, "z", "2000-01-01", None, False, False),
    ]
    stats = compute_stats(entries_frame(films, bulk + real), details_frame(films))
    # No runtime is known, so each entry counts 90 min: 20 x 90 = 1800 min > 24 h on 2023-05-01.
    assert counts(stats, "placeholder_dates") == {"2000-01-01": 1, "2023-05-01": 20}
    assert row_of(stats, "notes", "placeholder_entries")["count"] == 21
    assert "the calendar, the release-to-watch lag" in row_of(stats, "notes", "placeholder_entries")["label"]
    assert counts(stats, "headline")["entries"] == 25  # kept as entries
    assert counts(stats, "headline", "2000")["entries"] == 1
    # Without 2023-05-01 the run 04-30..05-03 breaks: 05-02..05-03 is the longest (2 days).
    assert row_of(stats, "streak", "longest")["label"] == "2023-05-02 → 2023-05-03"
    assert stats.section("busiest_day")["item"].to_list() == ["2023-05-03"]
    assert counts(stats, "per_month") == {"2023-04": 1, "2023-05": 3}
    assert counts(stats, "per_day", "2023") == {"2023-04-30": 1, "2023-05-02": 1, "2023-05-03": 2}
    assert sum(counts(stats, "per_weekday").values()) == 4


def test_a_busy_day_of_short_films_is_not_a_placeholder() -> None:
    shorts = [
        film(f"s{i}", f"Short {i}", 2010, "found", **tmdb([], [], [], [], "en", 10, 6.0, 5, 1.0)) for i in range(16)
    ]
    features = [
        film(f"f{i}", f"Feature {i}", 2010, "found", **tmdb([], [], [], [], "en", 100, 6.0, 5, 1.0)) for i in range(15)
    ]
    rows = [(2 + i, f"s{i}", "2023-01-07", None, False, False) for i in range(16)]
    rows += [(30 + i, f"f{i}", "2023-02-11", None, False, False) for i in range(15)]
    stats = compute_stats(entries_frame(shorts + features, rows), details_frame(shorts + features))
    # 16 x 10 min = 160 min fits a day; 15 x 100 min = 1500 min does not.
    assert counts(stats, "placeholder_dates") == {"2023-02-11": 15}
    assert stats.section("busiest_day")["item"].to_list() == ["2023-01-07"]


def test_empty_inputs_give_zero_headline_values() -> None:
    stats = compute_stats(pl.DataFrame(schema=ENTRIES_SCHEMA), pl.DataFrame(schema=DETAIL_SCHEMA))
    assert stats.years == []
    assert counts(stats, "headline") == {
        "entries": 0,
        "films": 0,
        "rewatches": 0,
        "hours": None,
        "rated_share": 0,
        "reviewed_share": 0,
        "directors": 0,
        "countries": 0,
    }
    assert row_of(stats, "headline", "hours")["value"] == 0.0
    assert row_of(stats, "headline", "rated_share")["value"] is None
    assert row_of(stats, "ratings", "mean")["value"] is None
    assert stats.section("per_month").is_empty()
    assert stats.table.schema == pl.Schema(STATS_SCHEMA)


def test_calendar_days_are_per_watch_year_without_placeholders(stats: ViewingStats) -> None:
    assert counts(stats, "per_day", "2021") == {
        "2021-01-04": 1,
        "2021-01-05": 1,
        "2021-01-06": 2,
        "2021-01-08": 1,
        "2021-03-01": 1,
        "2021-12-31": 1,
    }
    assert counts(stats, "per_day", "2022") == {"2022-01-01": 1, "2022-01-02": 1, "2022-01-03": 2, "2022-06-15": 1}
    assert stats.section("per_day").is_empty()  # the all-time calendar is the years' calendars


def test_most_rewatched_ranks_films_by_entries(stats: ViewingStats) -> None:
    # Alpha has 3 entries (lines 2, 5, 12); Beta, Gamma, Delta and Epsilon 2 each, then by name; Zeta 1 is out.
    assert ranked(stats, "most_rewatched") == [
        ("Alpha (1999)", 1),
        ("Beta (2021)", 2),
        ("Delta (2020)", 3),
        ("Epsilon (2021)", 4),
        ("Gamma (1985)", 5),
    ]
    assert row_of(stats, "most_rewatched", "Alpha (1999)")["count"] == 3
    assert ranked(stats, "most_rewatched", "2021") == [("Alpha (1999)", 1)]  # lines 2 and 5
    assert stats.section("most_rewatched", "2022").is_empty()  # one entry per film in 2022


def test_highest_rated_films_rank_by_mean_then_rated_entries_then_name(stats: ViewingStats) -> None:
    # Film means: Zeta 4.5, Beta (3 + 5) / 2 = 4, Gamma 3.5 (line 4 unrated), Alpha 10/3, Delta 2; Epsilon unrated.
    assert ranked(stats, "films_highest_rated") == [
        ("Zeta (1999)", 1),
        ("Beta (2021)", 2),
        ("Gamma (1985)", 3),
        ("Alpha (1999)", 4),
        ("Delta (2020)", 5),
    ]
    beta = row_of(stats, "films_highest_rated", "Beta (2021)")
    assert (beta["value"], beta["count"]) == (4.0, 2)
    films = [film("a", "A", 2000), film("b", "B", 2000), film("c", "C", 2000)]
    rows = [
        (2, "c", "2020-01-01", 4.0, False, False),
        (3, "a", "2020-01-02", 4.0, False, False),
        (4, "b", "2020-01-03", 3.0, False, False),
        (5, "b", "2020-01-04", 5.0, True, False),
    ]
    tied = compute_stats(entries_frame(films, rows), details_frame(films))
    # All three have a mean of 4: B has two rated entries, then A before C by name.
    assert ranked(tied, "films_highest_rated") == [("B (2000)", 1), ("A (2000)", 2), ("C (2000)", 3)]


@pytest.fixture(scope="module")
def lag_stats() -> ViewingStats:
    return compute_stats(*lag_diary())


def test_release_lag_median_and_the_films_left_out(lag_stats: ViewingStats) -> None:
    # On or after release: A 5, G 30, B 366, E 26,058 -> median (30 + 366) / 2 = 198.
    median = row_of(lag_stats, "release_lag", "median")
    assert (median["value"], median["count"], median["films_covered"], median["films_total"]) == (198.0, 4, 5, 7)
    left_out = {item: row_of(lag_stats, "release_lag", item)["count"] for item in ("before", "no_release_date")}
    assert left_out == {"before": 1, "no_release_date": 1}  # C; D has no TMDB release date
    assert row_of(lag_stats, "release_lag", "no_watch_date")["count"] == 1  # F's only date is a placeholder
    # A film counts in the year of its first viewing: 2020 holds A, B and G -> median 30.
    assert row_of(lag_stats, "release_lag", "median", "2020")["value"] == 30.0
    in_2021 = row_of(lag_stats, "release_lag", "median", "2021")
    assert (in_2021["value"], in_2021["count"], in_2021["films_covered"], in_2021["films_total"]) == (26058.0, 1, 2, 3)
    assert row_of(lag_stats, "release_lag", "median", "2022")["value"] is None  # C was first seen in 2021
    assert row_of(lag_stats, "release_lag", "median", "1970")["films_total"] == 0


def test_release_lag_spread_has_every_bucket(lag_stats: ViewingStats) -> None:
    assert counts(lag_stats, "release_lag_spread") == {
        "<1 wk": 1,
        "1–4 wk": 0,
        "1–6 mo": 1,
        "6–12 mo": 0,
        "1–2 yr": 1,
        "2–5 yr": 0,
        "5–10 yr": 0,
        "10–25 yr": 0,
        "25–50 yr": 0,
        "50+ yr": 1,
    }
    assert [item for item, _ in ranked(lag_stats, "release_lag_spread", "2022")][:2] == ["<1 wk", "1–4 wk"]
    assert sum(counts(lag_stats, "release_lag_spread", "2020").values()) == 3


def test_viewings_before_release_are_listed_apart(lag_stats: ViewingStats) -> None:
    early = lag_stats.section("before_release")
    assert early.select("item", "value", "label").rows() == [
        ("C (2021)", 105.0, "seen 2021-09-03, released 2021-12-17")
    ]
    assert ranked(lag_stats, "before_release", "2021") == [("C (2021)", 1)]
    assert lag_stats.section("before_release", "2022").is_empty()
