"""enrichment_sweep_sensor: every ~10 s, re-run enrichment for uploads that still have pending films.

Dagster cron is minute-granular, so the 10-second cadence is a sensor with minimum_interval_seconds=10."""

import dagster as dg
from sqlalchemy import select

from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.database import film_matches
from movie_pipeline.jobs import enrichment_sweep_job
from movie_pipeline.resources import PipelineStorage, TmdbResource
from movie_pipeline.sensors.runs import enriching_runs_in_flight, uploads_of


def uploads_with_pending_films(storage: PipelineStorage) -> set[str]:
    query = select(film_matches.c.upload).where(film_matches.c.status == "pending").distinct()
    with storage.engine().connect() as conn:
        return set(conn.scalars(query))


@dg.sensor(
    name="enrichment_sweep_sensor",
    job=enrichment_sweep_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-runs enriched_movies + movie_stats for uploads with pending films, one sweep at a time.",
)
def enrichment_sweep_sensor(
    context: dg.SensorEvaluationContext, storage: PipelineStorage, tmdb: TmdbResource
) -> dg.SensorResult | dg.SkipReason:
    missing = tmdb.config().missing_credentials_reason()
    if missing:
        return dg.SkipReason(missing)

    in_flight = enriching_runs_in_flight(context.instance)
    sweeping = [run.run_id for run in in_flight if run.job_name == enrichment_sweep_job.name]
    if sweeping:
        return dg.SkipReason(f"sweep run {sweeping[0]} is still in flight; not starting another")

    known = set(context.instance.get_dynamic_partitions(uploads_partitions.name))
    pending = uploads_with_pending_films(storage) & known
    busy = uploads_of(in_flight)
    ready = sorted(pending - busy)
    if not ready:
        detail = f" ({len(pending)} already have a run in flight)" if pending else ""
        return dg.SkipReason(f"no upload with pending films{detail}")
    return dg.SensorResult(run_requests=[dg.RunRequest(partition_key=key, tags={"movie_pipeline/trigger": "sweep"}) for key in ready])
