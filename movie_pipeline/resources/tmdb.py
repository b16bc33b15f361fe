"""TMDB access settings. Credentials arrive through EnvVar, so run config never holds a secret."""

import os
from collections.abc import Mapping
from typing import Optional

import dagster as dg
from sqlalchemy.engine import Engine

from movie_pipeline.tmdb.budget import FilmDatabaseBudgetStore
from movie_pipeline.tmdb.client import RateLimitedTmdbClient
from movie_pipeline.tmdb.config import DEFAULT_BASE_URL, TmdbConfig


class TmdbResource(dg.ConfigurableResource):
    """TMDB API root, credentials and request limits; hands out clients on the deployment's one budget."""

    base_url: str = DEFAULT_BASE_URL
    api_key: Optional[str] = None
    read_access_token: Optional[str] = None
    max_concurrency: int = 10
    max_rate: int = 40

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "TmdbResource":
        environ = os.environ if environ is None else environ
        # EnvVar fails resource init when the variable is unset, so only the set ones are wired;
        # an unset pair is reported by TmdbConfig.missing_credentials_reason instead.
        secrets = {
            field: dg.EnvVar(variable)
            for field, variable in (("api_key", "TMDB_API_KEY"), ("read_access_token", "TMDB_READ_ACCESS_TOKEN"))
            if environ.get(variable)
        }
        limits = TmdbConfig.from_env(environ)
        return cls(
            base_url=limits.base_url, max_concurrency=limits.max_concurrency, max_rate=limits.max_rate, **secrets
        )

    def config(self) -> TmdbConfig:
        return TmdbConfig(
            base_url=self.base_url,
            api_key=self.api_key,
            read_access_token=self.read_access_token,
            max_concurrency=self.max_concurrency,
            max_rate=self.max_rate,
        )

    def client(self, engine: Engine) -> RateLimitedTmdbClient:
        """A client whose starts and connections come from the budget in the film database, shared by every run."""
        return RateLimitedTmdbClient(self.config(), budget=FilmDatabaseBudgetStore(engine))
