"""A compact markdown summary of one period, for the Dagster UI."""

import re

import polars as pl

from movie_pipeline.stats.compute import ALL_TIME, ViewingStats
from movie_pipeline.stats.wording import (
    coverage_sentence,
    headline_count,
    lag_text,
    percent,
    period_title,
    plural,
    stars,
    whole,
)

TOP_LISTS = (
    ("Directors", "directors_most_watched"),
    ("Actors", "actors_most_watched"),
    ("Genres", "genres_most_watched"),
    ("Countries", "countries_most_watched"),
)
SUMMARY_TOP = 5
SUMMARY_PLACEHOLDER_DATES = 5

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def escape_markdown(text: str) -> str:
    """Film and people names are user data: nothing in them may turn into markup."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def summary_markdown(stats: ViewingStats, period: str = ALL_TIME) -> str:
    lines = [f"### {period_title(period)}", _headline_line(stats, period)]
    streak = stats.get("streak", "longest", period)
    if streak:
        lines.append(f"Longest streak: {whole(streak['count'])} days ({streak['label']})")
    lag = stats.get("release_lag", "median", period)
    if lag and lag["value"] is not None:
        lines.append(f"Release to first watch: median {lag_text(lag['value'])} over {plural(lag['count'], 'film')}")
    top_lists = [_top_line(title, stats.section(section, period)) for title, section in TOP_LISTS]
    lines += ["", *(line for line in top_lists if line), ""] if any(top_lists) else [""]
    lines.append(coverage_sentence(stats, period))
    placeholder = _placeholder_line(stats, period)
    if placeholder:
        lines.append(placeholder)
    return "\n".join(lines) + "\n"


def _top_line(title: str, rows: pl.DataFrame) -> str | None:
    top = rows.head(SUMMARY_TOP)
    if top.is_empty():
        return None
    names = ", ".join(f"{escape_markdown(row['item'])} ({row['count']})" for row in top.iter_rows(named=True))
    return f"- **{title}:** {names}"


def _placeholder_line(stats: ViewingStats, period: str) -> str | None:
    note = stats.get("notes", "placeholder_entries", period)
    if note is None:
        return None
    dates = stats.section("placeholder_dates", period).sort(["count", "item"], descending=[True, False])
    shown = ", ".join(
        f"{row['item']} ({whole(row['count'])})" for row in dates.head(SUMMARY_PLACEHOLDER_DATES).iter_rows(named=True)
    )
    more = dates.height - SUMMARY_PLACEHOLDER_DATES
    return f"{note['label']}: {shown}{f' and {more} more' if more > 0 else ''}."


def _headline_line(stats: ViewingStats, period: str) -> str:
    hours = stats.get("headline", "hours", period) or {}
    mean = stats.get("ratings", "mean", period) or {}
    rated = stats.get("headline", "rated_share", period) or {}
    parts = [
        f"{whole(headline_count(stats, 'entries', period))} entries",
        f"{whole(headline_count(stats, 'films', period))} films",
        f"{whole(headline_count(stats, 'rewatches', period))} rewatches",
        f"{whole(hours.get('value'))} h watched (runtime known for {whole(hours.get('films_covered'))} "
        f"of {whole(hours.get('films_total'))} films)",
        f"mean rating {stars(mean.get('value'))}",
        f"{percent(rated.get('value'))} of films rated",
    ]
    return " · ".join(parts)
