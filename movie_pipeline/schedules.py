"""The slower cadence: once a day, refresh TMDB details older than a month, then the stats of the uploads holding them.

Only uploads holding a stale film get a run; each run refreshes its own upload's stale films, and a film two uploads
share is fetched once (the runs claim films in the database), then both uploads' stats are recomputed."""

import dagster as dg

from movie_pipeline.assets.partitions import uploads_partitions
from movie_pipeline.jobs import tmdb_refresh_job
from movie_pipeline.resources import PipelineStorage
from movie_pipeline.runs import enriching_runs_in_flight, uploads_of
from movie_pipeline.tmdb.enrich import uploads_with_stale_films

REFRESH_OLDER_THAN_DAYS = 30


@dg.schedule(
    name="tmdb_refresh_schedule",
    cron_schedule="0 4 * * *",
    job=tmdb_refresh_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        f"Daily: re-fetch TMDB details cached more than {REFRESH_OLDER_THAN_DAYS} days ago, then recompute stats."
    ),
)
def tmdb_refresh_schedule(
    context: dg.ScheduleEvaluationContext, storage: PipelineStorage
) -> dg.SkipReason | list[dg.RunRequest]:
    registered = set(uploads_partitions.get_partition_keys(dynamic_partitions_store=context.instance))
    stale = [key for key in uploads_with_stale_films(storage.engine(), REFRESH_OLDER_THAN_DAYS) if key in registered]
    busy = uploads_of(enriching_runs_in_flight(context.instance))
    ready = [key for key in stale if key not in busy]
    if not ready:
        return dg.SkipReason("no upload holds a stale TMDB film" if not stale else "every upload has a run in flight")
    config = {"ops": {"enriched_movies": {"config": {"refresh_older_than_days": REFRESH_OLDER_THAN_DAYS}}}}
    tick = context.scheduled_execution_time.strftime("%Y%m%d")
    return [dg.RunRequest(partition_key=key, run_key=f"refresh:{tick}:{key}", run_config=config) for key in ready]
