"""Raw rows -> diary entries, the upload's films, and the records rejected with a reason.

Every diary record becomes an entry or a quarantine row. Records of watched, ratings and reviews
csv only feed the film list; the ones that cannot name a film are quarantined too.
"""

import hashlib
from dataclasses import dataclass

import polars as pl

MIN_YEAR, MAX_YEAR = 1870, 2100
FILM_URI_FILES = ("watched.csv", "ratings.csv")  # their URI is the film's; diary/reviews URIs are viewings'
TAG_SEPARATOR = ", "
KEY_SEPARATOR = "\x1f"

ENTRIES_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.Int64(),
    "film_key": pl.String(),
    "name": pl.String(),
    "year": pl.Int32(),
    "letterboxd_uri": pl.String(),
    "logged_date": pl.Date(),
    "watched_date": pl.Date(),
    "rating": pl.Float64(),
    "rewatch": pl.Boolean(),
    "tags": pl.List(pl.String()),
    "has_review": pl.Boolean(),
}
FILMS_SCHEMA: dict[str, pl.DataType] = {
    "film_key": pl.String(),
    "name": pl.String(),
    "year": pl.Int32(),
    "letterboxd_uri": pl.String(),
    "rating": pl.Float64(),
    "in_diary": pl.Boolean(),
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "line": pl.Int64(),
    "reason": pl.String(),
    "raw": pl.String(),
}


@dataclass(frozen=True)
class ParsedExport:
    entries: pl.DataFrame  # ENTRIES_SCHEMA
    films: pl.DataFrame  # FILMS_SCHEMA
    quarantine: pl.DataFrame  # QUARANTINE_SCHEMA


def film_key(name: str, year: int | None) -> str:
    """The stable identity of a film within and across uploads: a digest of (Name, Year) as exported."""
    text = f"{name}{KEY_SEPARATOR}{'' if year is None else year}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def parse_export(raw: pl.DataFrame) -> ParsedExport:
    diary = _without_duplicates(_with_reason(raw.filter(pl.col("source_file") == "diary.csv"), _diary_checks()))
    others = raw.filter(pl.col("source_file") != "diary.csv")
    others = _with_reason(others, _film_checks())
    kept_diary = diary.filter(pl.col("reason").is_null())
    kept_others = others.filter(pl.col("reason").is_null())
    films = _films(pl.concat([kept_diary, kept_others]))
    entries = _entries(kept_diary, kept_others.filter(pl.col("source_file") == "reviews.csv"), films)
    quarantine = (
        pl.concat([diary, others])
        .filter(pl.col("reason").is_not_null())
        .select(list(QUARANTINE_SCHEMA))
        .sort("source_file", "line")
    )
    return ParsedExport(entries, films, quarantine)


# --- checks: each gives a reason naming the column and value, or null ---------------------


def _film_checks() -> list[pl.Expr]:
    """What every record must satisfy to name a film; a bad rating in ratings.csv too."""
    return [_empty_name(), _bad_year(), pl.when(pl.col("source_file") == "ratings.csv").then(_bad_rating())]


def _diary_checks() -> list[pl.Expr]:
    return [
        _empty_name(),
        _bad_year(),
        _bad_date("date", "Date"),
        _bad_date("watched_date", "Watched Date"),
        pl.when(pl.col("date").is_null() & pl.col("watched_date").is_null()).then(
            pl.lit("Date and Watched Date are both empty")
        ),
        _bad_rating(),
        pl.when(pl.col("rewatch").is_not_null() & (pl.col("rewatch") != "Yes")).then(
            pl.format("Rewatch '{}' is neither 'Yes' nor empty", pl.col("rewatch"))
        ),
    ]


def _with_reason(rows: pl.DataFrame, checks: list[pl.Expr]) -> pl.DataFrame:
    # A record with the wrong field count has its values shifted: its problem is the only reason.
    failed = pl.concat_str(checks, separator="; ", ignore_nulls=True)
    return rows.with_columns(
        reason=pl.coalesce(pl.col("problem"), pl.when(failed != "").then(failed)),
    )


def _empty_name() -> pl.Expr:
    name = pl.col("name")
    return (
        pl.when(name.is_null())
        .then(pl.lit("Name is empty"))
        .when(name.str.strip_chars() == "")
        .then(pl.lit("Name is blank (only white space)"))
    )


def _bad_year() -> pl.Expr:
    year = pl.col("year")
    valid = year.str.contains(r"^\d+$") & year.cast(pl.Int32, strict=False).is_between(MIN_YEAR, MAX_YEAR)
    return pl.when(year.is_not_null() & ~valid.fill_null(False)).then(
        pl.format("Year '{}' is not a whole year from {} to {}", year, pl.lit(MIN_YEAR), pl.lit(MAX_YEAR))
    )


def _bad_date(column: str, label: str) -> pl.Expr:
    value = pl.col(column)
    valid = value.str.contains(r"^\d{4}-\d{2}-\d{2}$") & value.str.to_date("%Y-%m-%d", strict=False).is_not_null()
    return pl.when(value.is_not_null() & ~valid.fill_null(False)).then(
        pl.format("{} '{}' is not a YYYY-MM-DD date", pl.lit(label), value)
    )


def _bad_rating() -> pl.Expr:
    rating = pl.col("rating")
    doubled = rating.cast(pl.Float64, strict=False) * 2
    valid = rating.str.contains(r"^\d+(\.\d+)?$") & doubled.is_between(1, 10) & (doubled == doubled.round())
    return pl.when(rating.is_not_null() & ~valid.fill_null(False)).then(
        pl.format("Rating '{}' is not 0.5 to 5 in half steps", rating)
    )


def _without_duplicates(diary: pl.DataFrame) -> pl.DataFrame:
    """Quarantine a valid record that repeats an earlier valid one; the first stays."""
    uri = pl.col("letterboxd_uri")
    same_fields = ("name", "year", "watched_date", "date", "rating")
    identity = (
        pl.when(uri.is_not_null())
        .then(pl.concat_str([pl.lit("uri"), uri], separator=KEY_SEPARATOR))
        .otherwise(pl.concat_str([pl.col(c).fill_null("") for c in same_fields], separator=KEY_SEPARATOR))
    )
    valid = diary.filter(pl.col("reason").is_null()).sort("line")
    first_line = pl.col("line").first().over(identity)
    duplicate_reason = pl.format(
        "duplicate of the entry at line {} ({})",
        first_line,
        pl.when(uri.is_not_null())
        .then(pl.format("same Letterboxd URI {}", uri))
        .otherwise(pl.lit("same Name, Year, Watched Date, Date and Rating, and no Letterboxd URI")),
    )
    checked = valid.with_columns(reason=pl.when(pl.col("line") != first_line).then(duplicate_reason))
    return pl.concat([checked, diary.filter(pl.col("reason").is_not_null())]).sort("line")


# --- frames --------------------------------------------------------------------------------


def _films(kept: pl.DataFrame) -> pl.DataFrame:
    source = pl.col("source_file")
    films = (
        kept.with_columns(pl.col("year").cast(pl.Int32))
        .group_by("name", "year")
        .agg(
            letterboxd_uri=pl.col("letterboxd_uri").filter(source.is_in(FILM_URI_FILES)).drop_nulls().first(),
            rating=pl.col("rating").filter(source == "ratings.csv").drop_nulls().first().cast(pl.Float64),
            in_diary=(source == "diary.csv").any(),
        )
        .sort("name", "year", nulls_last=True)
    )
    keys = [film_key(name, year) for name, year in films.select("name", "year").iter_rows()]
    return films.with_columns(film_key=pl.Series(keys, dtype=pl.String)).select(list(FILMS_SCHEMA))


def _entries(diary: pl.DataFrame, reviews: pl.DataFrame, films: pl.DataFrame) -> pl.DataFrame:
    logged_date = pl.col("date").str.to_date("%Y-%m-%d")
    review_key = _review_key()
    return (
        diary.with_columns(pl.col("year").cast(pl.Int32))
        .join(films.select("name", "year", "film_key"), on=["name", "year"], how="left", nulls_equal=True)
        .with_columns(
            logged_date=logged_date,
            watched_date=pl.coalesce(pl.col("watched_date").str.to_date("%Y-%m-%d"), logged_date),
            rating=pl.col("rating").cast(pl.Float64),
            rewatch=(pl.col("rewatch") == "Yes").fill_null(False),
            tags=pl.col("tags").str.split(TAG_SEPARATOR).fill_null(pl.lit([], dtype=pl.List(pl.String))),
            has_review=pl.col("letterboxd_uri").is_in(reviews["letterboxd_uri"].drop_nulls().implode()).fill_null(False)
            | review_key.is_in(reviews.select(review_key).to_series().implode()),
        )
        .sort("line")
        .select(list(ENTRIES_SCHEMA))
    )


def _review_key() -> pl.Expr:
    """Matches a review to its viewing when the URIs differ (older exports)."""
    return pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("") for c in ("name", "year", "watched_date")], separator=KEY_SEPARATOR
    )
