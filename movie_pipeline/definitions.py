"""The one place where assets, jobs, sensors, schedules and resources are wired together."""

import dagster as dg
import yaml

from movie_pipeline.assets.checks import enriched_movies_checks, parsed_movies_checks
from movie_pipeline.assets.enrichment import enriched_movies
from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.assets.stats import all_uploads_stats, movie_stats
from movie_pipeline.jobs import enrichment_sweep_job, tmdb_refresh_job, upload_job
from movie_pipeline.resources import PipelineStorage, TmdbResource
from movie_pipeline.schedules import tmdb_refresh_schedule
from movie_pipeline.sensors.all_uploads_automation_sensor import all_uploads_automation_sensor
from movie_pipeline.sensors.enrichment_sweep_sensor import enrichment_sweep_sensor
from movie_pipeline.sensors.overrides_sensor import overrides_sensor
from movie_pipeline.sensors.upload_sensor import upload_sensor
from movie_pipeline.settings import CELERY_CONFIG_PATH, PipelineSettings, load_settings


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {"storage": PipelineStorage.from_env(), "tmdb": TmdbResource.from_env()}


def build_executor(settings: PipelineSettings) -> dg.ExecutorDefinition:
    if settings.executor == "celery":
        from dagster_celery import celery_executor  # the `deploy` extra: only a Celery deployment installs it

        # The block the workers read too (`dagster-celery worker start -y`), so both name the same broker.
        config = yaml.safe_load(CELERY_CONFIG_PATH.read_text(encoding="utf-8"))["execution"]["config"]
        return celery_executor.configured(config)
    # One process per run instead of one per step: four short steps pay ~2 s of process start each otherwise.
    return dg.in_process_executor


defs = dg.Definitions(
    assets=[raw_diary, parsed_movies, enriched_movies, movie_stats, all_uploads_stats],
    asset_checks=[*parsed_movies_checks, *enriched_movies_checks],
    jobs=[upload_job, enrichment_sweep_job, tmdb_refresh_job],
    sensors=[upload_sensor, enrichment_sweep_sensor, overrides_sensor, all_uploads_automation_sensor],
    schedules=[tmdb_refresh_schedule],
    resources=build_resources(),
    executor=build_executor(load_settings()),
)
