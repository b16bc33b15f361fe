"""The data folder and the film database, as one resource."""

from functools import cache
from pathlib import Path

import dagster as dg
from sqlalchemy.engine import Engine

from movie_pipeline.database import make_engine
from movie_pipeline.settings import PipelineSettings


@cache
def _engine_for(url: str) -> Engine:
    # One engine (and pool) per process and URL: sensors tick often and must not re-create the schema each time.
    return make_engine(url)


class PipelineStorage(dg.ConfigurableResource):
    """Where uploads, overrides and reports live, and the SQLAlchemy URL of the film database."""

    data_dir: str
    database_url: str

    @property
    def settings(self) -> PipelineSettings:
        return PipelineSettings(data_dir=Path(self.data_dir), database_url=self.database_url)

    def engine(self) -> Engine:
        return _engine_for(self.database_url)
