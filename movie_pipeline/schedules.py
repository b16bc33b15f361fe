"""The slower cadence: once a day, refresh TMDB details older than a month, then the stats, per upload."""

import dagster as dg

from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.jobs import tmdb_refresh_job
from movie_pipeline.sensors.runs import enriching_runs_in_flight, uploads_of

REFRESH_OLDER_THAN_DAYS = 30


@dg.schedule(
    name="tmdb_refresh_schedule",
    cron_schedule="0 4 * * *",
    job=tmdb_refresh_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"Daily: re-fetch TMDB details cached more than {REFRESH_OLDER_THAN_DAYS} days ago, then recompute stats.",
)
def tmdb_refresh_schedule(context: dg.ScheduleEvaluationContext):
    uploads = context.instance.get_dynamic_partitions(uploads_partitions.name)
    busy = uploads_of(enriching_runs_in_flight(context.instance))
    ready = [key for key in uploads if key not in busy]
    if not ready:
        return dg.SkipReason("no upload to refresh" if not uploads else "every upload has a run in flight")
    config = {"ops": {"enriched_movies": {"config": {"refresh_older_than_days": REFRESH_OLDER_THAN_DAYS}}}}
    tick = context.scheduled_execution_time.strftime("%Y%m%d")
    return [dg.RunRequest(partition_key=key, run_key=f"refresh:{tick}:{key}", run_config=config) for key in ready]
