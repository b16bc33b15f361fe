"""Where things live, read from the environment (see README: Configuration). The one reader of MOVIE_PIPELINE_*."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_VARIABLE = "MOVIE_PIPELINE_DATA_DIR"
DATABASE_URL_VARIABLE = "MOVIE_PIPELINE_DATABASE_URL"
EXECUTOR_VARIABLE = "MOVIE_PIPELINE_EXECUTOR"
# in_process: one process per run. celery: each step a task for the Celery workers of deploy/celery.yaml.
EXECUTORS = ("in_process", "celery")
CELERY_CONFIG_PATH = REPO_ROOT / "deploy" / "celery.yaml"


class UnknownExecutor(ValueError):
    """MOVIE_PIPELINE_EXECUTOR names no executor this pipeline has."""


@dataclass(frozen=True)
class PipelineSettings:
    data_dir: Path
    database_url: str
    database_url_variable: str | None = None  # the variable the URL was read from, None for the default
    executor: str = "in_process"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def overrides_path(self) -> Path:
        return self.data_dir / "overrides.csv"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


def load_settings(environ: Mapping[str, str] | None = None) -> PipelineSettings:
    environ = os.environ if environ is None else environ
    data_dir = Path(environ.get(DATA_DIR_VARIABLE) or REPO_ROOT / "data")
    if not data_dir.is_absolute():
        data_dir = REPO_ROOT / data_dir
    executor = environ.get(EXECUTOR_VARIABLE) or "in_process"
    if executor not in EXECUTORS:
        raise UnknownExecutor(f"{EXECUTOR_VARIABLE}={executor!r}: expected one of {', '.join(EXECUTORS)}")
    if environ.get(DATABASE_URL_VARIABLE):
        return PipelineSettings(
            data_dir, environ[DATABASE_URL_VARIABLE], database_url_variable=DATABASE_URL_VARIABLE, executor=executor
        )
    return PipelineSettings(data_dir, f"sqlite:///{data_dir / 'movie_pipeline.db'}", executor=executor)
