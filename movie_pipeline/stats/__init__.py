"""Viewing statistics and the year-in-review report (pure: no Dagster import)."""

from movie_pipeline.stats.compute import ALL_TIME, STATS_SCHEMA, ViewingStats, compute_stats

__all__ = ["ALL_TIME", "STATS_SCHEMA", "ViewingStats", "compute_stats"]
