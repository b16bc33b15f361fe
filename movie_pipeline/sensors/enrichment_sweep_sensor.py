"""enrichment_sweep_sensor: every ~10 s, finish an upload left behind: by a run that died, or with pending films.

Dagster cron is minute-granular, so the 10-second cadence is a sensor with minimum_interval_seconds=10.
It starts one run at a time and only while no other enrichment runs, so sweeps never overlap, never pile up,
and never add a second TMDB client beside a running one (TMDB's limits are per IP, not per run).

Each tick first marks failed the enriching runs whose worker is gone (movie_pipeline/runs.py), so a killed process never
blocks enrichment, on any instance. An upload whose newest enriching run died is re-run: the whole chain while it has
no movie_stats yet, else enrichment and stats. Films already stored cost no request the second time."""

import dagster as dg
from sqlalchemy import func, select

from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.assets.stats import movie_stats
from movie_pipeline.database import film_matches
from movie_pipeline.jobs import enrichment_sweep_job, upload_job
from movie_pipeline.resources import PipelineStorage, TmdbResource
from movie_pipeline.runs import enriching_runs_in_flight, fail_dead_runs, uploads_left_by_dead_runs, uploads_of
from movie_pipeline.tmdb.statuses import MatchStatus


def uploads_with_pending_films(storage: PipelineStorage) -> list[str]:
    """Uploads with pending films, the one waiting longest first."""
    matches = film_matches.c
    query = (
        select(matches.upload)
        .where(matches.status == MatchStatus.PENDING)
        .group_by(matches.upload)
        .order_by(func.min(matches.updated_at), matches.upload)
    )
    with storage.engine().connect() as conn:
        return list(conn.scalars(query))


def recovery_request(instance: dg.DagsterInstance, upload: str) -> dg.RunRequest:
    has_stats = upload in instance.get_materialized_partitions(movie_stats.key)
    job = enrichment_sweep_job if has_stats else upload_job
    return dg.RunRequest(job_name=job.name, partition_key=upload, tags={"movie_pipeline/trigger": "recovery"})


@dg.sensor(
    name="enrichment_sweep_sensor",
    jobs=[enrichment_sweep_job, upload_job],
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-runs an upload whose run died, or enriched_movies + movie_stats for one with pending films; "
    "one run at a time.",
)
def enrichment_sweep_sensor(
    context: dg.SensorEvaluationContext, storage: PipelineStorage, tmdb: TmdbResource
) -> dg.SensorResult:
    missing = tmdb.config().missing_credentials_reason()
    if missing:
        return dg.SensorResult(skip_reason=missing)

    for run in fail_dead_runs(context.instance, storage.engine()):
        context.log.warning(
            f"{run.job_name} run {run.run_id} of {sorted(uploads_of([run]))}: worker gone; marked failed"
        )

    in_flight = enriching_runs_in_flight(context.instance)
    if in_flight:
        run = in_flight[0]
        return dg.SensorResult(skip_reason=f"{run.job_name} run {run.run_id} is still in flight; not starting another")

    known = set(uploads_partitions.get_partition_keys(dynamic_partitions_store=context.instance))
    stranded = uploads_left_by_dead_runs(context.instance, known)
    if stranded:
        context.log.info(f"{len(stranded)} upload(s) left by a run that died; re-running {stranded[0]}")
        return dg.SensorResult(run_requests=[recovery_request(context.instance, stranded[0])])

    pending = [upload for upload in uploads_with_pending_films(storage) if upload in known]
    if not pending:
        return dg.SensorResult(skip_reason="no upload with pending films")
    context.log.info(f"{len(pending)} upload(s) with pending films; sweeping {pending[0]}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                job_name=enrichment_sweep_job.name, partition_key=pending[0], tags={"movie_pipeline/trigger": "sweep"}
            )
        ]
    )
