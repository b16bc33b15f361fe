"""Where things live, read from the environment (see README: Configuration)."""

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PipelineSettings:
    data_dir: Path
    database_url: str

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def overrides_path(self) -> Path:
        return self.data_dir / "overrides.csv"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


def load_settings(environ: dict[str, str] | None = None) -> PipelineSettings:
    environ = os.environ if environ is None else environ
    data_dir = Path(environ.get("MOVIE_PIPELINE_DATA_DIR") or REPO_ROOT / "data")
    if not data_dir.is_absolute():
        data_dir = REPO_ROOT / data_dir
    database_url = environ.get("MOVIE_PIPELINE_DATABASE_URL") or f"sqlite:///{data_dir / 'movie_pipeline.db'}"
    return PipelineSettings(data_dir=data_dir, database_url=database_url)
