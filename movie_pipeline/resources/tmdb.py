"""TMDB access: the settings as Dagster sees them, and the clients built from them. Credentials arrive through
EnvVar, so run config never holds a secret."""

from collections.abc import Mapping

import dagster as dg
from sqlalchemy.engine import Engine

from movie_pipeline.tmdb.budget import FilmDatabaseBudgetStore
from movie_pipeline.tmdb.client import RateLimitedTmdbClient
from movie_pipeline.tmdb.config import CREDENTIAL_VARIABLES, TmdbConfig


class TmdbResource(dg.ConfigurableResource):
    """TMDB API root, credentials and request limits; hands out clients on the deployment's one budget.

    Each field is the TmdbConfig field of the same name; one left unset takes TmdbConfig's default, which is
    stated there and nowhere else."""

    base_url: str | None = None
    api_key: str | None = None
    read_access_token: str | None = None
    max_concurrency: int | None = None
    max_rate: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "TmdbResource":
        """The resource for the TMDB_* environment variables, read (and checked) by TmdbConfig.from_env."""
        config = TmdbConfig.from_env(environ)
        # EnvVar fails resource init when the variable is unset, so only the set ones are wired;
        # an unset pair is reported by TmdbConfig.missing_credentials_reason instead.
        secrets = {
            field: dg.EnvVar(variable) for field, variable in CREDENTIAL_VARIABLES.items() if getattr(config, field)
        }
        return cls(
            base_url=config.base_url, max_concurrency=config.max_concurrency, max_rate=config.max_rate, **secrets
        )

    def config(self) -> TmdbConfig:
        given = {field: getattr(self, field) for field in type(self).model_fields}
        return TmdbConfig(**{field: value for field, value in given.items() if value is not None})

    def client(self, engine: Engine) -> RateLimitedTmdbClient:
        """A client whose starts and connections come from the budget in the film database, shared by every run."""
        return RateLimitedTmdbClient(self.config(), budget=FilmDatabaseBudgetStore(engine))
