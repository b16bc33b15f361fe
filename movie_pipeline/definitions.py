"""The one place where assets, jobs, sensors, schedules and resources are wired together."""

import os

import dagster as dg

from movie_pipeline.assets.enrichment import enriched_movies
from movie_pipeline.assets.ingest import parsed_movies, raw_diary
from movie_pipeline.assets.stats import all_uploads_stats, movie_stats
from movie_pipeline.jobs import enrichment_sweep_job, tmdb_refresh_job, upload_job
from movie_pipeline.resources import PipelineStorage, TmdbResource
from movie_pipeline.schedules import tmdb_refresh_schedule
from movie_pipeline.sensors.enrichment_sweep_sensor import enrichment_sweep_sensor
from movie_pipeline.sensors.upload_sensor import upload_sensor
from movie_pipeline.settings import load_settings


def build_resources() -> dict[str, dg.ConfigurableResource]:
    settings = load_settings()
    # A Postgres URL may carry a password: pass it by reference, like the TMDB credentials.
    database_url = dg.EnvVar("MOVIE_PIPELINE_DATABASE_URL") if os.environ.get("MOVIE_PIPELINE_DATABASE_URL") else settings.database_url
    return {
        "storage": PipelineStorage(data_dir=str(settings.data_dir), database_url=database_url),
        "tmdb": TmdbResource.from_env(),
    }


# Re-computes all_uploads_stats once any upload's stats change (its eager automation condition).
all_uploads_automation_sensor = dg.AutomationConditionSensorDefinition(
    "all_uploads_automation_sensor",
    target=dg.AssetSelection.assets(all_uploads_stats),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)

defs = dg.Definitions(
    assets=[raw_diary, parsed_movies, enriched_movies, movie_stats, all_uploads_stats],
    jobs=[upload_job, enrichment_sweep_job, tmdb_refresh_job],
    sensors=[upload_sensor, enrichment_sweep_sensor, all_uploads_automation_sensor],
    schedules=[tmdb_refresh_schedule],
    resources=build_resources(),
    # One process per run instead of one per step: four short steps pay ~2 s of process start each otherwise.
    executor=dg.in_process_executor,
)
