"""Offline stand-in for api.themoviedb.org/3: the bundled corpus served over loopback HTTP, with faults."""

from movie_pipeline.tmdb.standin.corpus import CorpusFilm, StandinCorpus, load_corpus
from movie_pipeline.tmdb.standin.run import RunningStandin, StandinProcess, StandinThread, running_standin
from movie_pipeline.tmdb.standin.server import STATS_KEY, RequestRecord, StandinOptions, StandinStats, build_app

__all__ = [
    "STATS_KEY",
    "CorpusFilm",
    "RequestRecord",
    "RunningStandin",
    "StandinCorpus",
    "StandinOptions",
    "StandinProcess",
    "StandinStats",
    "StandinThread",
    "build_app",
    "load_corpus",
    "running_standin",
]
