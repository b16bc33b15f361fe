"""Viewing statistics of one upload as one long table: a row per (period, section, item).

A period is "all" or a watch year. Every entry is scoped twice, into "all" and into its watch
year, so each section is a single group-by over the scoped frame instead of a loop over periods.

Conventions that hold for every section:
- the watched date is the date that counts; rewatches are entries but not further films;
- a film's rating in a period is the mean of its rated diary entries there; unrated entries
  never enter a mean;
- ranked lists break ties by count (or mean) descending, then by name ascending;
- stats that need TMDB details carry films_covered / films_total, so unenriched films show;
- per_day (the calendar) exists for watch years only: the all-time calendar is the years' ones.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

ALL_TIME = "all"
# The coverage item of a film without a film_matches row: enrichment has not run for it.
NOT_RUN = "not_run"

STATS_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "section": pl.String(),
    "item": pl.String(),
    "rank": pl.Int32(),
    "value": pl.Float64(),
    "count": pl.Int64(),
    "label": pl.String(),
    "films_covered": pl.Int64(),
    "films_total": pl.Int64(),
}

# The entries columns the statistics read.
ENTRIES_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.Int64(),
    "film_key": pl.String(),
    "name": pl.String(),
    "year": pl.Int32(),
    "watched_date": pl.Date(),
    "rating": pl.Float64(),
    "rewatch": pl.Boolean(),
    "has_review": pl.Boolean(),
}

# The film_details columns the statistics read; the rest of the frame is ignored.
DETAILS_SCHEMA: dict[str, pl.DataType] = {
    "film_key": pl.String(),
    "status": pl.String(),
    "release_date": pl.Date(),
    "genres": pl.List(pl.String()),
    "directors": pl.List(pl.String()),
    "top_cast": pl.List(pl.String()),
    "production_countries": pl.List(pl.String()),
    "original_language": pl.String(),
    "runtime": pl.Int64(),
    "vote_average": pl.Float64(),
    "vote_count": pl.Int64(),
    "popularity": pl.Float64(),
}

TOP_PEOPLE = 10
TOP_FILMS = 5
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RATING_STEPS = tuple(step / 2 for step in range(1, 11))
# Labels of dated film rows (first/last film, milestones) read "Film (Year) · 2021-03-04".
FILM_DATE_SEPARATOR = " · "

# Letterboxd back-fills give one date to hundreds of entries. A day is a placeholder when its
# entries could not have been watched in 24 hours (an unknown runtime counts as the upload's
# median runtime), or when it is a date that tools use for "unknown".
DAY_MINUTES = 24 * 60
DEFAULT_RUNTIME_MINUTES = 90
SENTINEL_DATES = (date(1970, 1, 1), date(2000, 1, 1))
EARLIEST_REAL_DATE = date(1900, 1, 2)

# Release-to-watch lag buckets: the first lag in days that is past each bucket (a month is 30.44
# days and a year 365.25, rounded down), then the open-ended last one. Items are short chart ticks.
LAG_BOUNDS_DAYS = (7, 30, 182, 365, 730, 1826, 3652, 9131, 18262)
LAG_BUCKETS = ("<1 wk", "1–4 wk", "1–6 mo", "6–12 mo", "1–2 yr", "2–5 yr", "5–10 yr", "10–25 yr", "25–50 yr", "50+ yr")

# Per-film attributes carried from film_details into the per-period film rows.
FILM_ATTRIBUTES = (
    "film",
    "release_year",
    "status",
    "genres",
    "directors",
    "top_cast",
    "production_countries",
    "original_language",
    "runtime",
    "vote_average",
    "vote_count",
    "popularity",
)

# (section prefix, film_details column): lists of names counted per film.
PEOPLE_AND_PLACES = (
    ("directors", "directors"),
    ("actors", "top_cast"),
    ("genres", "genres"),
    ("countries", "production_countries"),
    ("languages", "original_language"),
)


@dataclass(frozen=True)
class ViewingStats:
    """The long stats table (the `movie_stats` rows of one upload) with lookups for readers."""

    table: pl.DataFrame
    min_count: int

    @property
    def years(self) -> list[str]:
        return sorted(p for p in self.table["period"].unique().to_list() if p != ALL_TIME)

    def section(self, section: str, period: str = ALL_TIME) -> pl.DataFrame:
        rows = self.table.filter((pl.col("period") == period) & (pl.col("section") == section))
        return rows.sort(["rank", "item"], nulls_last=True)

    def get(self, section: str, item: str, period: str = ALL_TIME) -> dict[str, Any] | None:
        rows = self.section(section, period).filter(pl.col("item") == item)
        return rows.row(0, named=True) if rows.height else None

    def films_per_day(self, year: str) -> dict[date, int]:
        """The year's calendar: entries per real watch date."""
        return {
            date.fromisoformat(row["item"]): row["count"] for row in self.section("per_day", year).iter_rows(named=True)
        }


def compute_stats(entries: pl.DataFrame, film_details: pl.DataFrame, *, min_count: int = 3) -> ViewingStats:
    """All sections for "all" and every watch year. `min_count` is the number of rated films a
    director, actor, genre, country, language or decade needs to enter a "highest rated" list."""
    viewings = _scoped_viewings(_conform(entries, ENTRIES_SCHEMA), _conform(film_details, DETAILS_SCHEMA))
    films = _scoped_films(viewings)
    periods = pl.concat([pl.DataFrame({"period": [ALL_TIME]}), viewings.select("period")]).unique()
    totals = periods.join(films.group_by("period").agg(films_total=pl.len()), on="period", how="left").with_columns(
        pl.col("films_total").fill_null(0).cast(pl.Int64)
    )
    exploded = {prefix: _explode(films, column) for prefix, column in PEOPLE_AND_PLACES}
    dated = viewings.filter(pl.col("watched_date").is_not_null() & ~pl.col("placeholder"))
    sections = [
        *_headline(viewings, films, totals, exploded),
        *_coverage(films, totals),
        *_placeholders(viewings),
        *_time(dated),
        *_milestones(viewings),
        *_ratings(viewings, films, totals),
        *_favourites(films),
        *_release(films, totals, min_count),
        *_release_lag(viewings, totals),
        *(s for prefix, names in exploded.items() for s in _people(prefix, names, totals, min_count)),
        *_popularity(films, totals),
    ]
    table = pl.concat([_long(frame, name) for name, frame in sections])
    return ViewingStats(table.sort(["period", "section", "rank", "item"], nulls_last=True), min_count)


def _conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


def _long(frame: pl.DataFrame, section: str) -> pl.DataFrame:
    frame = frame.with_columns(section=pl.lit(section))
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in STATS_SCHEMA.items()
        ]
    )


def _film_label(name: str = "name", year: str = "year") -> pl.Expr:
    return (
        pl.when(pl.col(year).is_null()).then(pl.col(name)).otherwise(pl.format("{} ({})", pl.col(name), pl.col(year)))
    )


def _film_date_label() -> pl.Expr:
    when = pl.col("watched_date").dt.to_string().fill_null("undated")
    return pl.concat_str(pl.col("film"), pl.lit(FILM_DATE_SEPARATOR), when)


def split_film_date(label: str) -> tuple[str, str]:
    """(film, date) of a dated film label; the date never holds the separator, a title may."""
    film, _, when = label.rpartition(FILM_DATE_SEPARATOR)
    return film, when


def _ranked(frame: pl.DataFrame, by: Sequence[str], descending: Sequence[bool], top: int) -> pl.DataFrame:
    ordered = frame.sort(["period", *by], descending=[False, *descending], nulls_last=True)
    ranked = ordered.with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("period"))
    return ranked.filter(pl.col("rank") <= top)


def _with_totals(frame: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
    return frame.join(totals, on="period", how="left")


def _placeholder_days(entries: pl.DataFrame) -> pl.DataFrame:
    typical = pl.col("runtime").median().fill_null(DEFAULT_RUNTIME_MINUTES)
    days = (
        entries.filter(pl.col("watched_date").is_not_null())
        .with_columns(minutes=pl.col("runtime").fill_null(typical))
        .group_by("watched_date")
        .agg(count=pl.len(), minutes=pl.col("minutes").sum())
    )
    sentinel = pl.col("watched_date").is_in(SENTINEL_DATES) | (pl.col("watched_date") < EARLIEST_REAL_DATE)
    return days.filter(sentinel | (pl.col("minutes") > DAY_MINUTES)).with_columns(
        reason=pl.when(sentinel)
        .then(pl.lit("a date used for 'unknown'"))
        .otherwise(pl.format("{} entries, more than one day can hold", pl.col("count")))
    )


def _scoped_viewings(entries: pl.DataFrame, details: pl.DataFrame) -> pl.DataFrame:
    """Entries with their film's details, numbered in watch order, once for "all" and once for their year."""
    joined = entries.join(details, on="film_key", how="left").with_columns(
        film=_film_label(),
        release_year=pl.coalesce(pl.col("year"), pl.col("release_date").dt.year().cast(pl.Int32)),
        # TMDB stores unknown runtimes as 0.
        runtime=pl.when(pl.col("runtime") > 0).then(pl.col("runtime")),
    )
    placeholder_days = _placeholder_days(joined).select("watched_date", placeholder_reason="reason")
    joined = (
        joined.join(placeholder_days, on="watched_date", how="left")
        .sort(["watched_date", "line"], nulls_last=True)
        .with_columns(
            number=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
            placeholder=pl.col("placeholder_reason").is_not_null(),
        )
    )
    yearly = joined.filter(pl.col("watched_date").is_not_null()).with_columns(
        period=pl.col("watched_date").dt.year().cast(pl.String)
    )
    return pl.concat([joined.with_columns(period=pl.lit(ALL_TIME)), yearly])


def _scoped_films(viewings: pl.DataFrame) -> pl.DataFrame:
    return viewings.group_by("period", "film_key").agg(
        pl.col(FILM_ATTRIBUTES).first(),
        entries=pl.len(),
        rating=pl.col("rating").mean(),
        rated_entries=pl.col("rating").count(),
        reviewed=pl.col("has_review").any(),
        first_watched=pl.col("watched_date").min(),
    )


def _explode(films: pl.DataFrame, column: str) -> pl.DataFrame:
    """One row per (period, film, name) for a list column, or a scalar one such as original_language."""
    names = pl.col(column) if isinstance(DETAILS_SCHEMA[column], pl.List) else pl.concat_list(pl.col(column))
    return (
        films.select("period", "film_key", "rating", names.alias("item"))
        .explode("item")
        .filter(pl.col("item").is_not_null() & (pl.col("item") != ""))
        .unique(["period", "film_key", "item"])
    )


def _covered(frame: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
    """films_covered (distinct films in `frame`) and films_total per period, zero when absent."""
    covered = frame.group_by("period").agg(films_covered=pl.col("film_key").n_unique().cast(pl.Int64))
    return totals.join(covered, on="period", how="left").with_columns(pl.col("films_covered").fill_null(0))


Section = tuple[str, pl.DataFrame]


def _headline(
    viewings: pl.DataFrame, films: pl.DataFrame, totals: pl.DataFrame, exploded: dict[str, pl.DataFrame]
) -> list[Section]:
    per_entries = viewings.group_by("period").agg(
        entries=pl.len(), rewatches=pl.col("rewatch").sum().cast(pl.Int64), minutes=pl.col("runtime").sum()
    )
    per_films = films.group_by("period").agg(
        timed=pl.col("runtime").count().cast(pl.Int64),
        rated=pl.col("rating").count().cast(pl.Int64),
        reviewed=pl.col("reviewed").sum().cast(pl.Int64),
    )
    base = (
        totals.join(per_entries, on="period", how="left")
        .join(per_films, on="period", how="left")
        .with_columns(pl.col("entries", "rewatches", "minutes", "timed", "rated", "reviewed").fill_null(0))
    )
    hours = pl.col("minutes") / 60
    rows = [
        base.select("period", item=pl.lit("entries"), count="entries"),
        base.select("period", item=pl.lit("films"), count="films_total"),
        base.select("period", item=pl.lit("rewatches"), count="rewatches"),
        base.select(
            "period",
            "films_total",
            item=pl.lit("hours"),
            value=hours,
            films_covered="timed",
            label=pl.format("{} h over {} of {} films", hours.round(0).cast(pl.Int64), "timed", "films_total"),
        ),
        base.select("period", item=pl.lit("rated_share"), value=_share("rated"), count="rated"),
        base.select("period", item=pl.lit("reviewed_share"), value=_share("reviewed"), count="reviewed"),
    ]
    for prefix in ("directors", "countries"):
        distinct = exploded[prefix].group_by("period").agg(count=pl.col("item").n_unique().cast(pl.Int64))
        counted = _covered(exploded[prefix], totals).join(distinct, on="period", how="left")
        rows.append(counted.with_columns(item=pl.lit(prefix), count=pl.col("count").fill_null(0)))
    timed = films.filter(pl.col("runtime").is_not_null())
    timed = _with_totals(timed, base.select("period", "films_total", films_covered="timed"))
    for item, longest in (("longest_film", True), ("shortest_film", False)):
        top = _ranked(timed, ["runtime", "film"], [longest, False], 1)
        rows.append(
            top.select("period", "films_covered", "films_total", item=pl.lit(item), value="runtime", label="film")
        )
    return [("headline", pl.concat(rows, how="diagonal_relaxed"))]


def _share(part: str) -> pl.Expr:
    return pl.when(pl.col("films_total") > 0).then(pl.col(part) / pl.col("films_total"))


def _coverage(films: pl.DataFrame, totals: pl.DataFrame) -> list[Section]:
    statuses = films.group_by("period", item=pl.col("status").fill_null(NOT_RUN)).agg(count=pl.len())
    return [("coverage", _with_totals(statuses, totals))]


def _placeholders(viewings: pl.DataFrame) -> list[Section]:
    flagged = viewings.filter(pl.col("placeholder"))
    per_date = flagged.group_by("period", "watched_date").agg(
        count=pl.len(), label=pl.col("placeholder_reason").first()
    )
    per_date = per_date.select("period", "count", "label", item=pl.col("watched_date").dt.to_string())
    note = (
        flagged.group_by("period")
        .agg(count=pl.len(), dates=pl.col("watched_date").n_unique())
        .select(
            "period",
            "count",
            item=pl.lit("placeholder_entries"),
            label=pl.format(
                "{} entries on {} placeholder date(s) count as entries but are left out of streaks, "
                "the busiest day, the calendar, the release-to-watch lag and the week, month and weekday charts",
                "count",
                "dates",
            ),
        )
    )
    return [("placeholder_dates", per_date), ("notes", note)]


def _time(dated: pl.DataFrame) -> list[Section]:
    per_month = dated.group_by("period", item=pl.col("watched_date").dt.strftime("%Y-%m")).agg(count=pl.len())
    per_week = dated.group_by("period", item=pl.col("watched_date").dt.strftime("%G-W%V")).agg(count=pl.len())
    weekday = pl.col("watched_date").dt.weekday()
    per_weekday = (
        dated.group_by("period", rank=weekday.cast(pl.Int32))
        .agg(count=pl.len())
        .with_columns(item=pl.col("rank").replace_strict(range(1, 8), WEEKDAYS, return_dtype=pl.String))
    )
    busiest = dated.group_by("period", "watched_date").agg(
        count=pl.len(), label=pl.col("film").sort_by("line").str.join("; ")
    )
    busiest = _ranked(busiest, ["count", "watched_date"], [True, False], 1).with_columns(
        item=pl.col("watched_date").dt.to_string(), rank=None
    )
    in_order = dated.sort("period", "watched_date", "line")
    first_last = pl.concat(
        [
            in_order.group_by("period", maintain_order=True).first().with_columns(item=pl.lit("first")),
            in_order.group_by("period", maintain_order=True).last().with_columns(item=pl.lit("last")),
        ]
    ).select("period", "item", label=_film_date_label())
    per_day = (
        dated.filter(pl.col("period") != ALL_TIME)
        .group_by("period", item=pl.col("watched_date").dt.to_string())
        .agg(count=pl.len())
    )
    return [
        ("per_day", per_day),
        ("per_month", per_month),
        ("per_week", per_week),
        ("per_weekday", per_weekday),
        ("busiest_day", busiest),
        ("streak", _longest_streak(dated)),
        ("first_last", first_last),
    ]


def _longest_streak(dated: pl.DataFrame) -> pl.DataFrame:
    days = dated.select("period", "watched_date").unique().sort("period", "watched_date")
    gap = pl.col("watched_date").diff().dt.total_days().over("period")
    runs = (
        days.with_columns(run=(gap != 1).fill_null(True).cum_sum())
        .group_by("period", "run")
        .agg(count=pl.len().cast(pl.Int64), start=pl.col("watched_date").min(), end=pl.col("watched_date").max())
    )
    longest = _ranked(runs, ["count", "start"], [True, False], 1)
    return longest.select(
        "period",
        "count",
        item=pl.lit("longest"),
        label=pl.format("{} → {}", pl.col("start").dt.to_string(), pl.col("end").dt.to_string()),
    )


def milestone_numbers(entries: int) -> list[int]:
    """The entry numbers worth celebrating: 1st, 100th, 250th, 500th, then every 1000th."""
    return [n for n in (1, 100, 250, 500) if n <= entries] + list(range(1000, entries + 1, 1000))


def _milestones(viewings: pl.DataFrame) -> list[Section]:
    total = viewings.filter(pl.col("period") == ALL_TIME).height
    reached = viewings.filter(pl.col("number").is_in(milestone_numbers(total)))
    return [
        (
            "milestones",
            reached.select("period", item=pl.col("number").cast(pl.String), count="number", label=_film_date_label()),
        )
    ]


def _ratings(viewings: pl.DataFrame, films: pl.DataFrame, totals: pl.DataFrame) -> list[Section]:
    rated = viewings.filter(pl.col("rating").is_not_null())
    counts = rated.group_by("period", step=(pl.col("rating") * 2).round() / 2).agg(count=pl.len())
    steps = pl.DataFrame({"step": RATING_STEPS, "item": [f"{s:.1f}" for s in RATING_STEPS]})
    spread = totals.select("period").join(steps, how="cross").join(counts, on=["period", "step"], how="left")
    spread = spread.with_columns(pl.col("count").fill_null(0))
    mean = totals.join(
        rated.group_by("period").agg(value=pl.col("rating").mean(), count=pl.len().cast(pl.Int64)),
        on="period",
        how="left",
    ).select("period", "value", pl.col("count").fill_null(0), item=pl.lit("mean"))

    rated_films = films.filter(pl.col("rating").is_not_null())
    compared = rated_films.filter(pl.col("vote_average").is_not_null() & (pl.col("vote_count") > 0)).with_columns(
        gap=pl.col("rating") * 2 - pl.col("vote_average")
    )
    rated_totals = totals.select("period").join(
        rated_films.group_by("period").agg(films_total=pl.len()), on="period", how="left"
    )
    difference = _covered(compared, rated_totals.with_columns(pl.col("films_total").fill_null(0))).join(
        compared.group_by("period").agg(value=pl.col("gap").mean()), on="period", how="left"
    )
    difference = difference.select("period", "value", "films_covered", "films_total", item=pl.lit("user_vs_tmdb"))
    gap_label = pl.format("{}★ vs TMDB {}", pl.col("rating").round(2), pl.col("vote_average").round(1))

    def gaps(above: bool) -> pl.DataFrame:
        side = compared.filter(pl.col("gap") > 0 if above else pl.col("gap") < 0)
        return _ranked(side, ["gap", "film"], [above, False], TOP_FILMS).select(
            "period", "rank", item="film", value="gap", label=gap_label
        )

    return [
        ("rating_spread", spread),
        ("ratings", pl.concat([mean, difference], how="diagonal_relaxed")),
        ("rating_gap_above_tmdb", gaps(above=True)),
        ("rating_gap_below_tmdb", gaps(above=False)),
    ]


def _favourites(films: pl.DataFrame) -> list[Section]:
    """The period's highest-rated films, and the films with the most diary entries (at least two)."""
    rated = films.filter(pl.col("rating").is_not_null())
    highest = _ranked(rated, ["rating", "rated_entries", "film"], [True, True, False], TOP_PEOPLE)
    rewatched = _ranked(films.filter(pl.col("entries") >= 2), ["entries", "film"], [True, False], TOP_PEOPLE)
    return [
        ("films_highest_rated", highest.select("period", "rank", item="film", value="rating", count="rated_entries")),
        ("most_rewatched", rewatched.select("period", "rank", item="film", count="entries")),
    ]


def _release(films: pl.DataFrame, totals: pl.DataFrame, min_count: int) -> list[Section]:
    known = films.filter(pl.col("release_year").is_not_null())
    coverage = _covered(known, totals)
    per_year = known.group_by("period", item=pl.col("release_year").cast(pl.String)).agg(count=pl.len())
    decade = pl.format("{}s", (pl.col("release_year") // 10 * 10))
    per_decade = known.group_by("period", item=decade).agg(count=pl.len(), value=pl.col("rating").mean())
    rated_decades = (
        known.filter(pl.col("rating").is_not_null())
        .group_by("period", item=decade)
        .agg(count=pl.len(), value=pl.col("rating").mean())
        .filter(pl.col("count") >= min_count)
    )
    best_decades = _ranked(rated_decades, ["value", "count", "item"], [True, True, False], TOP_PEOPLE)
    watch_year = pl.col("first_watched").dt.year()
    recency = (
        pl.when(pl.col("release_year").is_null() | watch_year.is_null())
        .then(pl.lit("unknown"))
        .when(pl.col("release_year") == watch_year)
        .then(pl.lit("same_year"))
        .when(pl.col("release_year") < watch_year)
        .then(pl.lit("earlier"))
        .otherwise(pl.lit("later"))
    )
    return [
        ("release_year", _with_totals(per_year, coverage)),
        ("release_decade", _with_totals(per_decade, coverage)),
        ("decade_highest_rated", best_decades.with_columns(label=pl.lit(_threshold_label(min_count)))),
        ("release_recency", _with_totals(films.group_by("period", item=recency).agg(count=pl.len()), totals)),
    ]


def _release_lag(viewings: pl.DataFrame, totals: pl.DataFrame) -> list[Section]:
    """Days from a film's TMDB release date to its first real viewing (not on a placeholder date).

    A film counts once, in "all" and in the year of that first viewing. Films without a release date
    or without a real viewing are left out and counted; viewings before release (festival screenings)
    are kept out of the spread and the median and listed apart."""
    first = (
        viewings.filter(pl.col("period") == ALL_TIME)
        .group_by("film_key")
        .agg(
            pl.col("film", "release_date").first(),
            seen=pl.col("watched_date").filter(~pl.col("placeholder")).min(),
        )
        .with_columns(lag=(pl.col("seen") - pl.col("release_date")).dt.total_days())
    )
    films = pl.concat(
        [
            first.with_columns(period=pl.lit(ALL_TIME)),
            first.filter(pl.col("seen").is_not_null()).with_columns(period=pl.col("seen").dt.year().cast(pl.String)),
        ]
    )
    after = films.filter(pl.col("lag") >= 0)
    counted = (
        totals.select("period")
        .join(
            films.group_by("period").agg(
                films_total=pl.len(),
                films_covered=pl.col("lag").count(),
                median=pl.col("lag").filter(pl.col("lag") >= 0).median(),
                after=(pl.col("lag") >= 0).sum(),
                before=(pl.col("lag") < 0).sum(),
                no_release_date=(pl.col("seen").is_not_null() & pl.col("release_date").is_null()).sum(),
                no_watch_date=pl.col("seen").is_null().sum(),
            ),
            on="period",
            how="left",
        )
        .with_columns(pl.exclude("period", "median").fill_null(0).cast(pl.Int64))
    )
    coverage = ["period", "films_covered", "films_total"]
    summary = pl.concat(
        [
            counted.select(*coverage, item=pl.lit("median"), value="median", count="after"),
            *(
                counted.select(*coverage, item=pl.lit(item), count=item)
                for item in ("before", "no_release_date", "no_watch_date")
            ),
        ],
        how="diagonal_relaxed",
    )
    bounds = pl.lit(pl.Series(LAG_BOUNDS_DAYS))
    bucket = (bounds.search_sorted(pl.col("lag"), side="right") + 1).cast(pl.Int32)
    per_bucket = after.group_by("period", rank=bucket).agg(count=pl.len())
    buckets = pl.DataFrame(
        {"item": LAG_BUCKETS, "rank": range(1, len(LAG_BUCKETS) + 1)}, schema_overrides={"rank": pl.Int32}
    )
    spread = (
        counted.select(*coverage)
        .join(buckets, how="cross")
        .join(per_bucket, on=["period", "rank"], how="left")
        .with_columns(pl.col("count").fill_null(0))
    )
    early = films.filter(pl.col("lag") < 0).with_columns(days_early=-pl.col("lag"))
    before = _ranked(early, ["days_early", "film"], [True, False], TOP_PEOPLE).select(
        "period",
        "rank",
        item="film",
        value="days_early",
        label=pl.format("seen {}, released {}", pl.col("seen").dt.to_string(), pl.col("release_date").dt.to_string()),
    )
    return [("release_lag", summary), ("release_lag_spread", spread), ("before_release", before)]


def _threshold_label(min_count: int) -> str:
    return f"at least {min_count} rated films"


def _people(prefix: str, names: pl.DataFrame, totals: pl.DataFrame, min_count: int) -> list[Section]:
    coverage = _covered(names, totals)
    per_name = names.group_by("period", "item").agg(
        count=pl.len().cast(pl.Int64), value=pl.col("rating").mean(), rated=pl.col("rating").count()
    )
    most = _ranked(per_name, ["count", "item"], [True, False], TOP_PEOPLE)
    best = _ranked(
        per_name.filter(pl.col("rated") >= min_count).with_columns(count=pl.col("rated").cast(pl.Int64)),
        ["value", "count", "item"],
        [True, True, False],
        TOP_PEOPLE,
    ).with_columns(label=pl.lit(_threshold_label(min_count)))
    return [
        (f"{prefix}_most_watched", _with_totals(most, coverage)),
        (f"{prefix}_highest_rated", _with_totals(best, coverage)),
    ]


def _popularity(films: pl.DataFrame, totals: pl.DataFrame) -> list[Section]:
    known = films.filter(pl.col("popularity").is_not_null())
    coverage = _covered(known, totals)
    return [
        (
            section,
            _with_totals(
                _ranked(known, ["popularity", "film"], [popular, False], TOP_FILMS).select(
                    "period", "rank", item="film", value="popularity"
                ),
                coverage,
            ),
        )
        for section, popular in (("most_popular", True), ("most_obscure", False))
    ]
