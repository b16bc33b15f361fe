"""Viewing statistics and the year-in-review report (pure: no Dagster import)."""

from movie_pipeline.stats.card import render_year_card
from movie_pipeline.stats.compute import ALL_TIME, STATS_SCHEMA, ViewingStats, compute_stats
from movie_pipeline.stats.markdown import summary_markdown
from movie_pipeline.stats.report import render_report, write_reports

__all__ = [
    "ALL_TIME",
    "STATS_SCHEMA",
    "ViewingStats",
    "compute_stats",
    "render_report",
    "render_year_card",
    "summary_markdown",
    "write_reports",
]
