"""Dagster resources: the film database and data folder, and TMDB access."""

from movie_pipeline.resources.storage import PipelineStorage
from movie_pipeline.resources.tmdb import TmdbResource

__all__ = ["PipelineStorage", "TmdbResource"]
